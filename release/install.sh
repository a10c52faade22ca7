#!/bin/sh
# Install smoke: download the release archive for this machine, verify it against the release's
# SHA256SUMS, and put the binary in PREFIX/bin. POSIX sh; needs curl or wget, tar, and sha256sum
# or shasum.
#
#   curl -fsSL https://github.com/smoke-dev/smoke/releases/latest/download/install.sh | sh
#   sh install.sh --version 0.2.0 --prefix /usr/local
#
# Nothing is installed unless the archive's checksum is the one SHA256SUMS lists for it.
set -eu

REPOSITORY="https://github.com/smoke-dev/smoke"
prefix=""
prefix_given=false
base_url=""
version=""

usage() {
    cat <<EOF
Usage: install.sh [--version V] [--base-url URL] [--prefix DIR]

  --version V     install release V (e.g. 0.2.0) [default: the latest release]
  --base-url URL  where the release's files are (SHA256SUMS and the archives)
                  [default: $REPOSITORY/releases/latest/download,
                   or .../releases/download/vV with --version]
  --prefix DIR    install into DIR/bin [default: ~/.local]
EOF
}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
        --version) [ $# -ge 2 ] || die "--version needs a value"; version="$2"; shift 2 ;;
        --version=*) version="${1#*=}"; shift ;;
        --base-url) [ $# -ge 2 ] || die "--base-url needs a value"; base_url="$2"; shift 2 ;;
        --base-url=*) base_url="${1#*=}"; shift ;;
        --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; prefix="$2"; prefix_given=true; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; prefix_given=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

if [ "$prefix_given" = false ]; then
    [ -n "${HOME:-}" ] || die "HOME is not set; pass --prefix DIR"
    prefix="$HOME/.local"
fi
[ -n "$prefix" ] || die "--prefix is empty"

if [ -z "$base_url" ]; then
    if [ -n "$version" ]; then
        base_url="$REPOSITORY/releases/download/v${version#v}"
    else
        base_url="$REPOSITORY/releases/latest/download"
    fi
fi
base_url="${base_url%/}"

case "$(uname -s)" in
    Linux) ;;
    *) die "smoke's release binaries are for Linux; on $(uname -s), build from source (docs/install.md)" ;;
esac
case "$(uname -m)" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) die "no release binary for $(uname -m); build from source (docs/install.md)" ;;
esac
archive="smoke-$arch-unknown-linux-musl.tar.gz"

fetch() { # URL FILE
    if command -v curl >/dev/null 2>&1; then
        curl --proto '=https,http,file' -fsSL --retry 2 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1"
    else
        die "neither curl nor wget is installed"
    fi
}

sha256() { # FILE
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    else
        die "neither sha256sum nor shasum is installed: cannot verify the download"
    fi
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fetch "$base_url/SHA256SUMS" "$work/SHA256SUMS" || die "cannot download $base_url/SHA256SUMS"
# Lines are "HASH  NAME" (or "HASH *NAME"); CRLF line ends and upper-case hex are accepted.
expected="$(tr -d '\r' <"$work/SHA256SUMS" |
    awk -v f="$archive" 'NF == 2 && ($2 == f || $2 == "*" f) { print tolower($1); exit }')"
case "$expected" in
    "") die "$base_url/SHA256SUMS lists no $archive" ;;
    *[!0-9a-f]*) die "$base_url/SHA256SUMS lists a malformed sha256 for $archive: $expected" ;;
esac
[ "${#expected}" -eq 64 ] || die "$base_url/SHA256SUMS lists a malformed sha256 for $archive: $expected"
fetch "$base_url/$archive" "$work/$archive" || die "cannot download $base_url/$archive"
actual="$(sha256 "$work/$archive")"
if [ "$actual" != "$expected" ]; then
    die "checksum mismatch for $archive: SHA256SUMS says $expected, the download is $actual; nothing was installed"
fi

mkdir -p "$work/unpacked"
tar --no-same-owner -xzf "$work/$archive" -C "$work/unpacked" || die "cannot unpack $archive"
binary="$(find "$work/unpacked" -type f -name smoke | head -n 1)"
[ -n "$binary" ] || die "$archive holds no smoke binary"

version_line="$("$binary" --version 2>/dev/null | head -n 1)" ||
    die "the unpacked smoke does not run here ($(uname -m)); nothing was installed"
[ -n "$version_line" ] || die "the unpacked smoke does not run here ($(uname -m)); nothing was installed"

mkdir -p "$prefix/bin" 2>/dev/null || die "cannot create $prefix/bin (choose another --prefix, or run with the rights to write it)"
[ ! -d "$prefix/bin/smoke" ] || die "$prefix/bin/smoke is a directory; nothing was installed"
# Copy beside the target, then rename: a running smoke is never half-overwritten.
cp "$binary" "$prefix/bin/.smoke.new.$$" 2>/dev/null ||
    die "cannot write $prefix/bin (choose another --prefix, or run with the rights to write it)"
chmod 0755 "$prefix/bin/.smoke.new.$$"
mv -f "$prefix/bin/.smoke.new.$$" "$prefix/bin/smoke" || die "cannot replace $prefix/bin/smoke"

echo "installed $version_line to $prefix/bin/smoke (sha256 of $archive: $actual)"
case ":${PATH:-}:" in
    *":$prefix/bin:"*) ;;
    *) echo "note: $prefix/bin is not on PATH; add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" ;;
esac
