#!/usr/bin/env python3
"""What a user downloads, and what the bundled plugin costs them: the size of each release
binary and archive in dist/ (`make dist`, or `make dist-host` for this machine's only), and the
time `smoke plan --plugin openapi` takes with the dist binary on its first use (the bundled
component written to an empty cache and compiled) and on later uses (loaded from the cache).

Figures, not pass/fail. Environment: REPEAT (default 5): the median of REPEAT runs each; SPEC:
the OpenAPI document [default: examples/shop-api/openapi.json].
"""

import os
import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
REPEAT = int(os.environ.get("REPEAT", "5"))
SPEC = os.environ.get("SPEC", str(ROOT / "examples" / "shop-api" / "openapi.json"))


def mib(n):
    return f"{n / (1 << 20):.1f} MiB"


def sizes():
    archives = sorted(DIST.glob("smoke-*-unknown-linux-musl.tar.gz"))
    if not archives:
        raise SystemExit("dist/ holds no release archive: run `make dist` (or `make dist-host`)")
    print("release artifacts (dist/):")
    binaries = {}
    for archive in archives:
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("/smoke"))
            binaries[archive.name] = member.size
        print(f"  {archive.name:48} archive {mib(archive.stat().st_size):>10}   binary {mib(member.size):>10}")
    for image in sorted(DIST.glob("smoke-oci-*.tar")):
        print(f"  {image.name:48} image   {mib(image.stat().st_size):>10}")
    unstripped = ROOT / "target" / "release" / "smoke"
    if unstripped.is_file():
        print(f"  (target/release/smoke, unstripped, glibc: {mib(unstripped.stat().st_size)})")


def host_binary():
    """The dist binary for this machine, unpacked."""
    arch = os.uname().machine
    archive = DIST / f"smoke-{arch}-unknown-linux-musl.tar.gz"
    out = Path(tempfile.mkdtemp(prefix="smoke-bench-release-"))
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/smoke"))
        tar.extract(member, out, filter="data")
    return out / member.name


def plan(smoke, cache):
    env = dict(os.environ, SMOKE_CACHE_DIR=str(cache), NO_COLOR="1")
    start = time.perf_counter()
    subprocess.run(
        [str(smoke), "plan", "--plugin", "openapi", "--plugin-config", f"spec={SPEC}"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return (time.perf_counter() - start) * 1000


def timings():
    smoke = host_binary()
    first, later = [], []
    for _ in range(REPEAT):
        with tempfile.TemporaryDirectory() as cache:
            first.append(plan(smoke, cache))
            later.extend(plan(smoke, cache) for _ in range(3))
    print(f"bundled openapi plugin, `smoke plan` with {smoke.name} from dist/ ({REPEAT} fresh caches):")
    print(f"  first use (written to the cache, compiled): median {statistics.median(first):8.1f} ms")
    print(f"  later uses (loaded from the cache):         median {statistics.median(later):8.1f} ms")


if __name__ == "__main__":
    sizes()
    timings()
