"""Time helpers: the platform speaks RFC 3339 UTC everywhere (audit rows, overrides, results)."""

from __future__ import annotations

import datetime as dt
import time


def now() -> float:
    """Wall-clock seconds; one place to patch in tests."""
    return time.time()


def iso(ts: float | None = None) -> str:
    """RFC 3339 UTC with a ``Z`` suffix and second precision, like Go's ``time.RFC3339``."""
    moment = dt.datetime.fromtimestamp(now() if ts is None else ts, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(value: str, *, end_of_day: bool = False) -> float:
    """Parse ISO-8601 / RFC 3339 or ``YYYY-MM-DD`` (whole day, §2.9) into epoch seconds."""
    text = value.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        day = dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.UTC)
        if end_of_day:
            day += dt.timedelta(days=1)
        return day.timestamp()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def next_utc_midnight(ts: float | None = None) -> str:
    """``resets_at`` of the daily quota envelope (§3.6)."""
    moment = dt.datetime.fromtimestamp(now() if ts is None else ts, tz=dt.UTC)
    tomorrow = (moment + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return tomorrow.strftime("%Y-%m-%dT%H:%M:%SZ")
