#!/usr/bin/env bash
# The Action's install step: the release binary for this runner, checksum verified by the
# release's install.sh, into DIR/bin (skipped when the cache restored it), put on PATH.
# Inputs: SMOKE_VERSION, SMOKE_DIR (from setup.sh), INPUT_DOWNLOAD_URL (where the release's
# files are; default: the project's GitHub releases).
set -euo pipefail

dir="${SMOKE_DIR:?SMOKE_DIR is not set}"
if [ "$SMOKE_VERSION" != latest ] && [ -x "$dir/bin/smoke" ]; then
    echo "smoke $SMOKE_VERSION restored from the cache: $("$dir/bin/smoke" --version | head -n 1)"
else
    args=(--prefix "$dir")
    if [ -n "${INPUT_DOWNLOAD_URL:-}" ]; then
        args+=(--base-url "$INPUT_DOWNLOAD_URL")
    elif [ "$SMOKE_VERSION" != latest ]; then
        args+=(--version "$SMOKE_VERSION")
    fi
    sh "$(dirname "$0")/../install.sh" "${args[@]}"
fi
# What was installed or restored is the version asked for (a stale cache, or a download URL
# serving another release, is an error, not a silent substitute).
installed="$("$dir/bin/smoke" --version | head -n 1)"
if [ "$SMOKE_VERSION" != latest ] && [[ "$installed" != "smoke $SMOKE_VERSION "* ]]; then
    echo "::error title=smoke action::asked for smoke $SMOKE_VERSION, got: ${installed//%/%25}"
    exit 2
fi
echo "$dir/bin" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
echo "path=$dir/bin/smoke" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
