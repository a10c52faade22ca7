"""What the benchmarks share: free ports, waiting for a server, and smoke's own peak memory."""

import re
import socket
import time

# smoke quiet (-q) but for the lines it logs of itself at its end, `memory: peak N MiB` among them.
SMOKE_LOG = {"RUST_LOG": "error,smoke::cli=info", "NO_COLOR": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int, seconds: float = 10) -> bool:
    """Whether something accepts connections on 127.0.0.1:port within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


def peak_mb(stderr: str) -> float | None:
    """smoke's peak memory in MB, as it logged it (VmHWM at its end), run with SMOKE_LOG.

    Not the child's ru_maxrss: Linux counts in it the memory of the process it was forked from
    (the bench, holding the plan it wrote) up to its exec."""
    peak = re.search(r"memory: peak (\d+) MiB", stderr)
    return None if peak is None else int(peak.group(1)) * 1.048576
