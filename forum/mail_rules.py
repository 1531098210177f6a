"""Who may be sent which kind of mail: the one rule the settings service, the digest
run and the outbox all ask (the outbox asks again when a message's turn comes).

It sits below all three, on plain values, so the outbox needs nothing from
forum.services and a digest batch asks it for each member without a query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import DigestFrequency, MailKind, User


def mail_wanted(
    kind: str,
    *,
    address: str | None,
    verified: bool,
    banned: bool,
    settings: Any,
    now: datetime,
    leaving: bool = False,
) -> bool:
    """Would this member like this kind of mail now? (Account mail is not asked here.)

    `settings` is anything with MailSettings' attributes, or None for the defaults.
    """
    if not address or not verified:
        return False
    # A banned member still hears why their account was closed (they cannot log in to
    # read the notice), and nothing else.
    if banned and kind != MailKind.MODERATION:
        return False
    # A member waiting for their account's deletion asked to leave: no digests, no
    # notices (logging in cancels the deletion, and the mail comes back with it).
    if leaving:
        return False
    if settings is None:
        return kind != MailKind.DIGEST
    if is_paused(settings, now):
        return False
    if kind == MailKind.DIGEST:
        return settings.digest != DigestFrequency.NONE
    return bool(getattr(settings, f"notify_{kind}"))


def member_wants(user: User, settings: Any, kind: str, now: datetime) -> bool:
    """mail_wanted for a loaded member and their settings row (or None)."""
    return mail_wanted(
        kind,
        address=user.email,
        verified=user.is_verified,
        banned=user.is_banned,
        leaving=user.deletion_due_at is not None,
        settings=settings,
        now=now,
    )


def is_paused(settings: Any, now: datetime) -> bool:
    """Has the member paused all their digest and notice mail until after `now`?"""
    return (
        settings is not None and settings.paused_until is not None and settings.paused_until > now
    )
