#!/usr/bin/env bash
# The Action's first step: which smoke release to install, and where (cached by version).
# Inputs: INPUT_VERSION (empty: the Action's own tag when it is a version, else the latest
# release); ACTION_REF (github.action_ref). Outputs: version, dir, cacheable.
set -euo pipefail

version="${INPUT_VERSION:-}"
if [ -z "$version" ] && [[ "${ACTION_REF:-}" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    version="${ACTION_REF#v}"
fi
version="${version#v}"
if [ -z "$version" ] || [ "$version" = latest ]; then
    version=latest
    cacheable=false
elif [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
    cacheable=true
else
    echo "::error title=smoke action::version \"$version\" is not a release version (e.g. 0.2.0) or latest"
    exit 2
fi
dir="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:?RUNNER_TEMP is not set}}/smoke/$version/$(uname -m)"
{
    echo "version=$version"
    echo "dir=$dir"
    echo "cacheable=$cacheable"
} >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
echo "smoke $version for $(uname -m) in $dir"
