"""When a member's digest falls due, in UTC, from their hour, day and timezone, and
whether a member is due now (reschedule: this period's hour has passed and they have
not had this period's digest, had_periods_digest, which the digest run asks too).

A member chooses "daily at 8" or "weekly on Monday at 8" in their own timezone;
the schedule turns that into instants, so that daylight-saving changes and
midnight in far zones are handled by zoneinfo, once, here. An hour that does
not exist on a spring-forward day (02:30 in Europe/London) falls due at the
first moment after the gap; an hour that happens twice falls due the first time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa

from .. import mail_rules
from ..extensions import db
from ..models import DigestDelivery, DigestFrequency, MailSettings

#: A digest recorded for a member: the period it was for, and when its news ended.
Delivery = tuple[str, datetime]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PERIOD_LENGTH = {
    DigestFrequency.DAILY: timedelta(days=1),
    DigestFrequency.WEEKLY: timedelta(days=7),
}


@cache
def timezone_names() -> tuple[str, ...]:
    """The IANA zones a member may choose, sorted (UTC first)."""
    names = sorted(
        name
        for name in available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/"))
    )
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


def next_due(
    frequency: str, hour: int, weekday: int, timezone: str, after: datetime
) -> datetime | None:
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


def this_periods_due(
    frequency: str, hour: int, weekday: int, timezone: str, now: datetime
) -> datetime | None:
    """The scheduled instant of the period `now` is in, if it has come by `now`.

    None when it is still to come in this period (or for no digest): a member who
    chooses "daily at 9" at 15:00 has today's 09:00 here; at 08:00, nothing.
    """
    if frequency not in PERIOD_LENGTH:
        return None
    tz = zone(timezone)
    day = now.astimezone(tz).date()
    if frequency == DigestFrequency.WEEKLY:
        day += timedelta(days=weekday - day.weekday())
    due = _at_local_hour(day, hour, tz)
    # A spring-forward gap may push the instant past the period's end: not this period's.
    same_period = period_key(frequency, due, timezone) == period_key(frequency, now, timezone)
    return due if due <= now and same_period else None


def period_start(frequency: str, now: datetime, timezone: str) -> datetime:
    """When the period `now` is in began: the member's local midnight, or Monday's."""
    tz = zone(timezone)
    day = now.astimezone(tz).date()
    if frequency == DigestFrequency.WEEKLY:
        day -= timedelta(days=day.weekday())
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def period_key(frequency: str, due: datetime, timezone: str) -> str:
    """Names the period a digest due at `due` covers: the member's local day or ISO week."""
    local = due.astimezone(zone(timezone)).date()
    if frequency == DigestFrequency.WEEKLY:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.isoformat()


# --- a member's next digest -------------------------------------------------------------


def reschedule(settings: MailSettings, now: datetime) -> None:
    """Work out next_digest_at again after a change of the member's settings.

    A member who has had no digest in this period and whose hour in it has passed is due
    now (README: "each member's hour has passed in their timezone and they have not had
    this period's digest"); otherwise at the next scheduled time. A paused member's next
    digest comes at the first scheduled time after the pause.
    """
    due_now = None if mail_rules.is_paused(settings, now) else _due_in_this_period(settings, now)
    if due_now is None:
        _set_next(settings, _next_scheduled(settings, now), now)
    else:
        # A first digest sent now holds what the digest at this period's hour would have:
        # the period before it. Covering from `now` would leave it empty and unsent.
        _set_next(settings, due_now, due_now - PERIOD_LENGTH[settings.digest])


def move_on(settings: MailSettings, now: datetime) -> None:
    """After a digest run has dealt with the member: the first scheduled time after `now`
    (never this period again, also for a member it skipped)."""
    _set_next(settings, _next_scheduled(settings, now), now)


def _set_next(settings: MailSettings, due: datetime | None, covered_from: datetime) -> None:
    """A member's first digest covers news from `covered_from` on; later ones carry on
    from where the last one stopped."""
    settings.next_digest_at = due
    if due is not None and settings.digest_covered_until is None:
        settings.digest_covered_until = covered_from


def _next_scheduled(settings: MailSettings, now: datetime) -> datetime | None:
    """The first scheduled time after `now`, or after the pause if that is later."""
    start = max(now, settings.paused_until) if settings.paused_until else now
    return next_due(
        settings.digest, settings.digest_hour, settings.digest_weekday, settings.timezone, start
    )


def _due_in_this_period(settings: MailSettings, now: datetime) -> datetime | None:
    """This period's scheduled time if it has passed and the member has not had this
    period's digest."""
    due = this_periods_due(
        settings.digest, settings.digest_hour, settings.digest_weekday, settings.timezone, now
    )
    if due is None:
        return None
    period = period_key(settings.digest, due, settings.timezone)
    had = deliveries_of([settings.user_id]).get(settings.user_id, [])
    return None if had_periods_digest(had, period, due) else due


def had_periods_digest(deliveries: Iterable[Delivery], period: str, due: datetime) -> bool:
    """Whether a member has had the digest of `period`, whose hour is `due`, given the
    digests recorded for them: one recorded for that period, or any digest sent since
    that hour (a daily digest this week counts for a member who has just moved to
    weekly). Yesterday's digest sent late, after midnight but before today's hour, is
    not today's. Both the digest run and reschedule ask this."""
    return any(key == period or covered_until >= due for key, covered_until in deliveries)


def deliveries_of(user_ids: Iterable[int]) -> dict[int, list[Delivery]]:
    """The digests recorded for each of these members, as had_periods_digest reads them
    (one query)."""
    recorded: dict[int, list[Delivery]] = {}
    for user_id, period, covered_until in db.session.execute(
        sa.select(
            DigestDelivery.user_id, DigestDelivery.period, DigestDelivery.covered_until
        ).where(DigestDelivery.user_id.in_(list(user_ids)))
    ):
        recorded.setdefault(user_id, []).append((period, covered_until))
    return recorded


def digest_due_now(settings: MailSettings | None, now: datetime) -> bool:
    """Is the member's next digest already due (it goes with the next run)?"""
    return (
        settings is not None
        and settings.next_digest_at is not None
        and settings.next_digest_at <= now
    )
