"""Suspending and banning a member: a moderator's action on the author of a post under
review, or on an account to review, within the decision's transaction. Moderators cannot
suspend or ban staff.
"""

from __future__ import annotations

from datetime import timedelta

from .. import permissions
from ..models import NoticeKind, User, new_session_token, utcnow
from . import PermissionDenied, ServiceError, notices
from .review_items import with_reason

SUSPENSION_DAYS = (1, 3, 7, 30)


def suspend(moderator: User, member: User | None, reason: str, days: int | None) -> str:
    """The member can still read, but not post or report, for `days`."""
    member = _may_act_on(moderator, member)
    if days not in SUSPENSION_DAYS:
        raise ServiceError("Choose how long the suspension lasts.", field="days")
    member.suspended_until = utcnow() + timedelta(days=days)
    plural = "s" if days != 1 else ""
    notices.notify(
        member,
        NoticeKind.SUSPENDED,
        "Your account is suspended",
        with_reason(
            f"A moderator suspended your account for {days} day{plural}, until "
            f"{member.suspended_until:%d %B %Y, %H:%M} UTC. You can "
            "still read, but not post or report.",
            reason,
        ),
    )
    return f"{member.username} is suspended for {days} day{plural}."


def ban(moderator: User, member: User | None, reason: str) -> str:
    """The member can no longer log in, and is signed out everywhere."""
    member = _may_act_on(moderator, member)
    member.banned_at = utcnow()
    member.session_token = new_session_token()
    notices.notify(
        member,
        NoticeKind.BANNED,
        "Your account has been closed",
        with_reason("A moderator closed your account: you can no longer log in.", reason),
    )
    return f"{member.username} is banned and signed out."


def _may_act_on(moderator: User, member: User | None) -> User:
    if member is None:
        raise ServiceError("This post's author has left.", field="action")
    if not permissions.can_suspend(moderator, member):
        raise PermissionDenied("Moderators cannot suspend or ban staff.")
    return member
