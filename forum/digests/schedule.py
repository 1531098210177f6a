"""When a member's digest falls due, in UTC, from their hour, day and timezone.

A member chooses "daily at 8" or "weekly on Monday at 8" in their own timezone;
the schedule turns that into instants, so that daylight-saving changes and
midnight in far zones are handled by zoneinfo, once, here. An hour that does
not exist on a spring-forward day (02:30 in Europe/London) falls due at the
first moment after the gap; an hour that happens twice falls due the first time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..models import DigestFrequency

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PERIOD_LENGTH = {DigestFrequency.DAILY: timedelta(days=1),
                 DigestFrequency.WEEKLY: timedelta(days=7)}


@cache
def timezone_names() -> tuple[str, ...]:
    """The IANA zones a member may choose, sorted (UTC first)."""
    names = sorted(name for name in available_timezones()
                   if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/",
                                                           "right/")))
    return ("UTC", *names)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _at_local_hour(day: date, hour: int, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(hour), tzinfo=tz)
    # A time inside a spring-forward gap: zoneinfo reads it with the offset from
    # before the gap, which lands after the gap once in UTC. Round trips agree.
    return local.astimezone(UTC)


def next_due(frequency: str, hour: int, weekday: int, timezone: str,
             after: datetime) -> datetime | None:
    """The first scheduled instant strictly after `after` (None for no digest)."""
    if frequency not in PERIOD_LENGTH:
        return None
    tz = zone(timezone)
    day = after.astimezone(tz).date() - timedelta(days=1)
    for _ in range(10):  # at most 8 days ahead for weekly; a margin for odd zones
        if frequency == DigestFrequency.DAILY or day.weekday() == weekday:
            due = _at_local_hour(day, hour, tz)
            if due > after:
                return due
        day += timedelta(days=1)
    raise AssertionError("no due time within ten days")  # pragma: no cover


def period_key(frequency: str, due: datetime, timezone: str) -> str:
    """Names the period a digest due at `due` covers: the member's local day or ISO week."""
    local = due.astimezone(zone(timezone)).date()
    if frequency == DigestFrequency.WEEKLY:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.isoformat()
