"""Deterministic ids, the same as the Rust SDK's: a plan must not depend on when it is made."""


def seed(n: int) -> str:
    """``00000000-0000-4000-8000-00000000000n``: an id for a record the plan creates."""
    return f"00000000-0000-4000-8000-{n:012d}"


def missing(n: int) -> str:
    """``99999999-9999-4000-8000-00000000000n``: an id that must not exist."""
    return f"99999999-9999-4000-8000-{n:012d}"
