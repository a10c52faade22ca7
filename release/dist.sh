#!/usr/bin/env bash
# `make dist`: every artifact a user installs, in dist/ (see docs/install.md).
#
#   release/dist.sh [--targets "x86_64 aarch64"]
#
# - smoke-ARCH-unknown-linux-musl.tar.gz: a static, stripped smoke (the generic plugins inside),
#   built with cargo-zigbuild; its README.
# - smoke-oci-ARCH.tar: a container image (OCI archive) of that binary and the build machine's
#   certificate authorities on an empty base, entrypoint smoke, built with buildah (vfs storage
#   under target/buildah).
# - install.sh: the one-line installer, which checks downloads against SHA256SUMS.
# - the SDKs: smoke_plugin-V.tar.gz and -py3-none-any.whl (Python), smoke-plugin-V.tgz (npm),
#   smoke-plugin-V.crate (Rust), each built from a copy so nothing is written into this tree.
# - SHA256SUMS of all of them.
#
# Expects the tools `make dist-tools` installs (PATH set by the Makefile) and the bundled plugins
# built (target/wasm32-wasip2/release/{openapi,mcp}.wasm).
set -euo pipefail
cd "$(dirname "$0")/.."

targets="x86_64 aarch64"
while [ $# -gt 0 ]; do
    case "$1" in
        --targets) targets="$2"; shift 2 ;;
        *) echo "dist.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

out=dist
version="$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "smoke"))')"
source_url="$(sed -n 's/^repository = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
for plugin in openapi mcp; do
    [ -s "target/wasm32-wasip2/release/$plugin.wasm" ] ||
        { echo "dist.sh: target/wasm32-wasip2/release/$plugin.wasm is missing (make build)" >&2; exit 1; }
done

# The SDKs are versioned with smoke and the contract: one version everywhere, or no release.
python_version="$(sed -n 's/^version = "\(.*\)"$/\1/p' plugins/sdk-python/pyproject.toml)"
js_version="$(node -p 'require("./plugins/sdk-js/package.json").version')"
if [ "$python_version" != "$version" ] || [ "$js_version" != "$version" ]; then
    echo "dist.sh: versions differ: smoke $version, Python SDK $python_version, JS SDK $js_version" >&2
    exit 1
fi

rm -rf "$out"
mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# A tar.gz whose bytes depend only on its files: sorted, no owners, fixed times.
pack() { # ARCHIVE DIR NAME
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$2" -cf - "$3" | gzip -n -9 >"$1"
}

buildah_() {
    buildah --root "$PWD/target/buildah/root" --runroot "$PWD/target/buildah/run" --storage-driver vfs "$@"
}

for arch in $targets; do
    triple="$arch-unknown-linux-musl"
    echo "== smoke $version for $triple"
    cargo zigbuild --locked --profile dist --target "$triple" -p smoke
    binary="target/$triple/dist/smoke"
    name="smoke-$version-$triple"
    mkdir -p "$stage/$name"
    cp "$binary" "$stage/$name/smoke"
    cp README.md "$stage/$name/README.md"
    pack "$out/smoke-$triple.tar.gz" "$stage" "$name"

    echo "== container image for $arch"
    case "$arch" in x86_64) platform=linux/amd64 ;; aarch64) platform=linux/arm64 ;; esac
    context="$stage/image-$arch"
    mkdir -p "$context"
    cp "$binary" "$context/smoke"
    cp /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt" ||
        { echo "dist.sh: /etc/ssl/certs/ca-certificates.crt is missing (Debian's ca-certificates)" >&2; exit 1; }
    buildah_ build --quiet --isolation chroot --platform "$platform" \
        --build-arg "VERSION=$version" --build-arg "SOURCE=$source_url" \
        --tag "localhost/smoke:$version-$arch" -f release/Containerfile "$context" >/dev/null
    buildah_ push --quiet "localhost/smoke:$version-$arch" "oci-archive:$out/smoke-oci-$arch.tar:smoke:$version"
done

echo "== install.sh"
cp release/install.sh "$out/install.sh"
chmod 0755 "$out/install.sh"

echo "== Python SDK (wheel and sdist)"
cp -r plugins/sdk-python "$stage/sdk-python"
rm -rf "$stage/sdk-python/build" "$stage/sdk-python"/*.egg-info
python3 -m build --sdist --wheel --outdir "$out" "$stage/sdk-python" >"$stage/python-build.log" 2>&1 ||
    { cat "$stage/python-build.log" >&2; exit 1; }

echo "== JavaScript SDK (npm tarball)"
(cd plugins/sdk-js && npm pack --silent --pack-destination "$OLDPWD/$out" >/dev/null)

echo "== Rust SDK (crate)"
cargo package --locked --allow-dirty -p smoke-plugin >"$stage/cargo-package.log" 2>&1 ||
    { cat "$stage/cargo-package.log" >&2; exit 1; }
cp "target/package/smoke-plugin-$version.crate" "$out/"

(cd "$out" && sha256sum -- *) >"$stage/SHA256SUMS"
mv "$stage/SHA256SUMS" "$out/SHA256SUMS"
echo "== dist/"
(cd "$out" && ls -l)
