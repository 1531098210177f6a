"""Choosing digests, following boards, running the digest sender and reading what it sent."""

from __future__ import annotations

from datetime import timedelta
from email import policy
from email.parser import BytesParser

from forum import mail
from forum.digests import run, schedule
from forum.extensions import db
from forum.models import (
    Follow,
    User,
    utcnow,
)
from forum.services import mail_settings


def subscribe(
    app,
    user,
    *,
    digest="daily",
    hour=8,
    weekday=0,
    zone="UTC",
    now=None,
    due_now=False,
    covered_from=None,
) -> None:
    """Choose a digest for a member, as the settings page would; `due_now` makes it due at
    once, covering from `covered_from` (an hour ago by default).

    A digest made due at once is the one of the period whose hour came last, as if the
    sender had not run since: the tests then pass at any hour of the day (a due time of
    "a second ago" at 01:00 would name today's period, whose 08:00 digest it then is)."""
    with app.app_context():
        settings = mail_settings.settings_for(db.session.get(User, user.id))
        settings.digest, settings.digest_hour, settings.digest_weekday = digest, hour, weekday
        settings.timezone = zone
        mail_settings.reschedule(settings, now or utcnow())
        if due_now:
            settings.next_digest_at = _last_scheduled(settings, utcnow())
            settings.digest_covered_until = covered_from or utcnow() - timedelta(hours=1)
        db.session.commit()


def _last_scheduled(settings, now):
    """The member's latest scheduled instant at or before `now`."""
    period = schedule.PERIOD_LENGTH[settings.digest]
    return schedule.next_due(
        settings.digest,
        settings.digest_hour,
        settings.digest_weekday,
        settings.timezone,
        now - period,
    )


def follow_board(app, user, board) -> None:
    with app.app_context():
        db.session.add(Follow(user_id=user.id, board_id=board.id))
        db.session.commit()


def send(app, now=None, **options) -> run.RunReport:
    with app.app_context():
        return run.send_due(now or utcnow(), **options)


def digests_to(address: str) -> list:
    return [
        message
        for message in mail.outbox
        if message["To"].addresses[0].addr_spec == address and "digest" in message["Subject"]
    ]


def parts(message) -> tuple[str, str]:
    """The plain-text and HTML parts, parsed again from the bytes sent."""
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    html = parsed.get_body(preferencelist=("html",)).get_content()
    return text, html
