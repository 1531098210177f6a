"""Members' mail choices: reading and changing them, and the signed links that change
them without logging in (the unsubscribe page and the one-click POST of RFC 8058).

A change to what a kind of mail does (the digest's frequency or time, a notice
switched off, a pause) moves that kind's number in MailSettings.link_versions on,
which retires the unsubscribe links of that kind in mail sent before it ("links
expire only when the member changes the setting again"); other kinds' links stay
good, so a member who stopped one kind can still stop another from an older mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, Serializer, URLSafeSerializer
from itsdangerous.encoding import base64_encode
from sqlalchemy.dialects import postgresql, sqlite

from .. import mail, mail_rules
from ..digests import schedule
from ..extensions import db
from ..models import DigestFrequency, MailKind, MailSettings, User, utcnow
from . import ServiceError, transaction

_SALT = "kindred.unsubscribe"
PAUSE = timedelta(days=14)


def settings_for(user: User) -> MailSettings:
    """The member's settings row, made (with the defaults) if they have none yet."""
    settings = db.session.get(MailSettings, user.id)
    if settings is not None:
        return settings
    # Two notices to one member at once (two replies) may both get here: the second
    # insert does nothing and reads the first's row, instead of failing its request.
    insert = (postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert)(
        MailSettings
    )
    db.session.execute(
        insert.values(
            user_id=user.id,
            digest=DigestFrequency.NONE,
            digest_hour=8,
            digest_weekday=0,
            timezone="UTC",
            notify_reply=True,
            notify_quote=True,
            notify_moderation=True,
            version=1,
            link_versions={},
        ).on_conflict_do_nothing()
    )
    # The row is there now: this request made it, or the other one did.
    return db.session.get_one(MailSettings, user.id)


def wants_mail(user: User, kind: str, now: datetime | None = None) -> bool:
    """Would this member like this kind of mail now? (Account mail is not asked here.)"""
    return mail_rules.member_wants(
        user, db.session.get(MailSettings, user.id), kind, now or utcnow()
    )


def reschedule(settings: MailSettings, now: datetime | None = None) -> None:
    """Work out next_digest_at again after a change (call inside the caller's transaction):
    due now when this period's hour has passed without a digest (schedule.reschedule)."""
    schedule.reschedule(settings, now or utcnow())


def digest_due_now(settings: MailSettings | None, now: datetime | None = None) -> bool:
    """Is the member's next digest already due (it goes with the next run)?"""
    return schedule.digest_due_now(settings, now or utcnow())


# --- signed links -----------------------------------------------------------------------


class _LinkSerializer(URLSafeSerializer):
    """URL-safe signed tokens, without the attempt to compress them first.

    A link's payload is a few dozen bytes, which zlib never shortens, so the tokens
    are the same as URLSafeSerializer's (and old links still load); trying cost more
    than signing, once for every mail of a digest run."""

    def dump_payload(self, obj) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


def _serializer() -> URLSafeSerializer:
    return _LinkSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def unsubscribe_token(settings: MailSettings, kind: str) -> str:
    """Names the member, the kind of mail and that kind's link version (no expiry: the
    link stops working only when the member changes that kind's setting again)."""
    return _serializer().dumps([settings.user_id, str(kind), _link_version(settings, kind)])


def _link_version(settings: MailSettings, kind: str) -> int:
    return (settings.link_versions or {}).get(str(kind), 0)


def _link_state(settings: MailSettings) -> dict[str, tuple]:
    """What each kind of mail does now: a change to a kind's entry retires its links."""
    pause = settings.paused_until
    return {
        MailKind.DIGEST: (
            settings.digest,
            settings.digest_hour,
            settings.digest_weekday,
            settings.timezone,
            pause,
        ),
        MailKind.REPLY: (settings.notify_reply, pause),
        MailKind.QUOTE: (settings.notify_quote, pause),
        MailKind.MODERATION: (settings.notify_moderation, pause),
    }


def _token_parts(token: str) -> tuple[int, MailKind, int] | None:
    try:
        user_id, kind, version = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if kind not in set(MailKind) or not isinstance(user_id, int) or not isinstance(version, int):
        return None
    return user_id, MailKind(kind), version


def read_unsubscribe_token(token: str) -> tuple[MailSettings, MailKind] | None:
    """The settings and kind a link is for, or None if forged, mangled or retired."""
    parts = _token_parts(token)
    if parts is None:
        return None
    user_id, kind, version = parts
    settings = db.session.get(MailSettings, user_id)
    if settings is None or _link_version(settings, kind) != version:
        return None
    return settings, kind


def unsubscribe_url(settings: MailSettings, kind: str) -> str:
    """Absolute, from BASE_URL (never the request's Host), also from the CLI."""
    return mail.url_for_mail("mail_settings.unsubscribe", token=unsubscribe_token(settings, kind))


# --- choosing ---------------------------------------------------------------------------

#: The settings column that turns each kind of notice mail on or off.
NOTICE_SWITCH = {
    MailKind.REPLY: "notify_reply",
    MailKind.QUOTE: "notify_quote",
    MailKind.MODERATION: "notify_moderation",
}


def has_chosen_timezone(user: User) -> bool:
    """Has the member chosen a timezone? Until then the settings page may suggest their
    browser's. A row can exist without a choice (notices make one with the defaults), so
    only a zone other than the default, or a change of settings since, counts."""
    settings = db.session.get(MailSettings, user.id)
    return settings is not None and (settings.timezone != "UTC" or settings.version > 1)


@dataclass(frozen=True)
class MailChoices:
    """The digest and timezone a member chose, checked."""

    digest: DigestFrequency
    timezone: str
    hour: int  # the digest's hour, in the member's timezone
    weekday: int  # a weekly digest's day, 0 for Monday


def check_choices(
    digest: str | None, timezone: str | None, hour: int | None = 8, weekday: int | None = 0
) -> MailChoices:
    """Refuse what the form could not have offered, naming the field at fault."""
    if digest is None or digest not in set(DigestFrequency):
        raise ServiceError("Choose no digest, a daily digest or a weekly one.", field="digest")
    if not isinstance(hour, int) or not 0 <= hour <= 23:
        raise ServiceError("Choose an hour from the list, 00:00 to 23:00.", field="digest_hour")
    if not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise ServiceError("Choose a day of the week from the list.", field="digest_weekday")
    if timezone is None or timezone not in schedule.timezone_names():
        raise ServiceError(
            "Choose your timezone from the list (for example Europe/London).", field="timezone"
        )
    return MailChoices(DigestFrequency(digest), timezone, hour, weekday)


def start_for_new_member(
    user: User, digest: str, timezone: str, now: datetime | None = None
) -> MailSettings:
    """Within the account's own transaction: the choice made at sign-up (checked first
    with check_choices)."""
    settings = settings_for(user)
    settings.digest = DigestFrequency(digest)
    settings.timezone = timezone
    reschedule(settings, now)
    return settings


def _locked_settings(user_id: int) -> MailSettings | None:
    return db.session.scalar(
        sa.select(MailSettings)
        .where(MailSettings.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _changed(settings: MailSettings, now: datetime, before: dict[str, tuple]) -> None:
    """After any change: a new schedule, and the changed kinds' old links retired."""
    if settings.digest == DigestFrequency.NONE:
        # Asking for a digest again later starts afresh, not from the old one.
        settings.digest_covered_until = None
    reschedule(settings, now)
    settings.version = (settings.version or 1) + 1
    after = _link_state(settings)
    versions = dict(settings.link_versions or {})
    for kind, state in after.items():
        if before.get(kind) != state:
            versions[str(kind)] = versions.get(str(kind), 0) + 1
    settings.link_versions = versions  # a new dict: JSON columns do not see mutation


def save_settings(
    user: User,
    *,
    digest: str | None,
    digest_hour: int | None,
    digest_weekday: int | None,
    timezone: str | None,
    notify_reply: bool,
    notify_quote: bool,
    notify_moderation: bool,
    now: datetime | None = None,
) -> MailSettings:
    choices = check_choices(digest, timezone, digest_hour, digest_weekday)
    now = now or utcnow()
    with transaction():
        settings = _locked_settings(user.id) or settings_for(user)
        before = _link_state(settings)
        settings.digest = choices.digest
        settings.digest_hour = choices.hour
        settings.digest_weekday = choices.weekday
        settings.timezone = choices.timezone
        settings.notify_reply = bool(notify_reply)
        settings.notify_quote = bool(notify_quote)
        settings.notify_moderation = bool(notify_moderation)
        _changed(settings, now, before)
    return settings


def resume_now(user: User, now: datetime | None = None) -> MailSettings | None:
    now = now or utcnow()
    with transaction():
        settings = _locked_settings(user.id)
        if settings is None or settings.paused_until is None:
            return settings
        before = _link_state(settings)
        settings.paused_until = None
        _changed(settings, now, before)
    return settings


def is_paused(settings: MailSettings | None, now: datetime | None = None) -> bool:
    return mail_rules.is_paused(settings, now or utcnow())


# --- the unsubscribe page ------------------------------------------------------------------

LESS_OFTEN, PAUSE_ALL, STOP = "less_often", "pause", "stop"


def describe(settings: MailSettings, kind: MailKind) -> str:
    """The kind of mail a link is for, as the page names it."""
    if kind == MailKind.DIGEST:
        return {
            DigestFrequency.DAILY: "the daily digest",
            DigestFrequency.WEEKLY: "the weekly digest",
        }.get(settings.digest, "the digest")
    return {
        MailKind.REPLY: "mail when someone replies to your topic",
        MailKind.QUOTE: "mail when someone quotes your post",
        MailKind.MODERATION: "mail about moderators' decisions on your posts",
    }[kind]


def less_often_offer(settings: MailSettings, kind: MailKind) -> str | None:
    """What "less often" would mean for this mail, or None when there is no such step.

    A weekly digest is as seldom as digests come. Moderators' decisions are not in the
    digest, so there is no "in the digest instead" to offer for them.
    """
    if kind == MailKind.DIGEST:
        return "weekly" if settings.digest == DigestFrequency.DAILY else None
    if kind == MailKind.MODERATION:
        return None
    return "daily" if settings.digest == DigestFrequency.DAILY else "weekly"


@dataclass(frozen=True)
class Unsubscribed:
    """What a choice on the unsubscribe page did, for the page that confirms it."""

    choice: str
    kind: MailKind
    described: str  # the mail the link was for, named as it was before the change
    settings: MailSettings


def unsubscribe(token: str, choice: str, now: datetime | None = None) -> Unsubscribed | None:
    """Apply a choice made through a mailed link; None if the link is forged or retired.

    The row is locked and the link's version checked again under the lock: of two
    clicks at once, the second finds the link already retired.
    """
    parts = _token_parts(token)
    if parts is None:
        return None
    user_id, kind, version = parts
    now = now or utcnow()
    with transaction():
        settings = _locked_settings(user_id)
        if settings is None or _link_version(settings, kind) != version:
            return None
        before = _link_state(settings)
        described = describe(settings, kind)
        if choice == LESS_OFTEN:
            step = less_often_offer(settings, kind)
            if step is None:
                raise ServiceError("This mail has no “less often”: choose pause or stop.")
            if kind == MailKind.DIGEST:
                settings.digest = DigestFrequency.WEEKLY
            else:
                setattr(settings, NOTICE_SWITCH[kind], False)
                if settings.digest == DigestFrequency.NONE:
                    settings.digest = DigestFrequency.WEEKLY
        elif choice == PAUSE_ALL:
            settings.paused_until = now + PAUSE
        elif choice == STOP:
            _stop(settings, kind)
        else:
            raise ServiceError("Choose one of the buttons.")
        _changed(settings, now, before)
    return Unsubscribed(choice, kind, described, settings)


def _stop(settings: MailSettings, kind: MailKind) -> None:
    if kind == MailKind.DIGEST:
        settings.digest = DigestFrequency.NONE
    else:
        setattr(settings, NOTICE_SWITCH[kind], False)


def one_click_unsubscribe(token: str, now: datetime | None = None) -> Unsubscribed | None:
    """RFC 8058: a mail client's POST stops that kind of mail, for that member only."""
    return unsubscribe(token, STOP, now)
