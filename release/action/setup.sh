#!/usr/bin/env bash
# The Action's first step: which smoke release to install, and where (cached by version).
# Inputs: INPUT_VERSION (empty: the version of the Action itself, from its Cargo.toml, so the
# binary matches these scripts whatever ref the Action was used at; `latest`: the newest
# release). Outputs: version, dir, cacheable.
set -euo pipefail

# A value said in a workflow command: nothing in it may end the command or start another.
said() { local v="${1//%/%25}"; v="${v//$'\r'/%0D}"; printf '%s' "${v//$'\n'/%0A}"; }

version="${INPUT_VERSION:-}"
if [ -z "$version" ]; then
    version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}/Cargo.toml" 2>/dev/null | head -n 1)"
fi
version="${version#v}"
if [ -z "$version" ] || [ "$version" = latest ]; then
    version=latest
    cacheable=false
elif [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
    cacheable=true
else
    echo "::error title=smoke action::version \"$(said "$version")\" is not a release version (e.g. 0.2.0) or latest"
    exit 2
fi
dir="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:?RUNNER_TEMP is not set}}/smoke/$version/$(uname -m)"
{
    echo "version=$version"
    echo "dir=$dir"
    echo "cacheable=$cacheable"
} >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
echo "smoke $version for $(uname -m) in $dir"
