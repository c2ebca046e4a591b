"""Waiting on a condition with a deadline: the one loop behind every wait of the suite.

Never a sleep as synchronisation: ``poll_until`` asks again until the condition holds or the
deadline passes, and the caller decides what a miss means (an error with evidence, or a
``False`` a check asserts on).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(attempt: Callable[[], T | None], timeout_s: float, interval_s: float = 0.1) -> T | None:
    """``attempt()`` until it returns something truthy (returned), or None at the deadline.

    It is always tried at least once, and once more at the deadline, so a condition that
    came true during the last interval is not missed. An exception from ``attempt`` stops
    the wait (a container that exited, say) and reaches the caller.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = attempt()
        if result:
            return result
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(interval_s, left))
