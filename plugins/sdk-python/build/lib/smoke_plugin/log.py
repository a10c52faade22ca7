"""Log lines shown by the host with the plugin's name (on stderr when run natively, in tests)."""

import sys


def _emit(level: str, message: str) -> None:
    try:
        from wit_world.imports import host  # present inside a built component
    except ImportError:
        print(f"[{level}] {message}", file=sys.stderr)
        return
    host.log(getattr(host.Level, level.upper()), message)


def debug(message: str) -> None:
    _emit("debug", message)


def info(message: str) -> None:
    _emit("info", message)


def warn(message: str) -> None:
    _emit("warn", message)


def error(message: str) -> None:
    _emit("error", message)
