"""Progress lines for long phases (image builds, downloads), so a cold run never looks hung."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

HEARTBEAT_S = 15.0


def say(message: str) -> None:
    sys.stderr.write(f"[codex-conformance] {message}\n")
    sys.stderr.flush()


@contextmanager
def phase(name: str, expect: str = "") -> Iterator[None]:
    """Announce a phase, repeat a heartbeat while it runs, and report its duration."""
    start = time.monotonic()
    say(f"{name}{f' (expect {expect})' if expect else ''}...")
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(HEARTBEAT_S):
            say(f"  still {name}: {time.monotonic() - start:.0f} s")

    thread = threading.Thread(target=heartbeat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        say(f"{name}: {time.monotonic() - start:.1f} s")
