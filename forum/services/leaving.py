"""Leaving: "Delete my account", the two weeks' grace, and the erasure that follows.

schedule_deletion() asks for the password and the member's choice (remove their posts,
or keep them under "a former member"), sets deletion_due_at two weeks on, logs the
member out everywhere (a new session token) and mails them when it will happen.
Logging in before then cancels it (cancel_deletion, called by the login page).

erase_due() is what `flask --app wsgi forum erase-accounts` runs from cron. Each due
member is erased in a transaction of their own (a crash leaves the rest for the next
run; running it twice, or two copies at once, erases nobody twice):

- the account row stays, as a pseudonym ("former-member-1a2b3c4d") that the audit log,
  review history and reports keep pointing at; its email address becomes a placeholder
  that is not an address, its password hash one that no password matches, and every
  setting, follow, block (both ways), mute, reaction, token, notice, digest record and
  mail to or about the address is deleted; the audit log's and review history's words
  lose the address too;
- posts that never went out (waiting, or returned by a moderator) are withdrawn as
  their author would withdraw them; with "remove", every post is deleted as by its
  author (the words erased, a placeholder kept so threads still read) and the titles of
  topics they started are replaced; with "keep", published posts stay, shown as by
  "a former member";
- a post under a moderation item that is still open (a report, a member at risk) keeps
  its words, earlier versions and link to the pseudonym only until that item is decided:
  every run finishes such posts once their item is closed (forum.services.left_posts).

Counters move through post_state.change_status, and every post and topic change goes
through the ORM, so topic revisions (cached pages) and the search index follow.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from .. import mail
from ..extensions import db
from ..models import (
    AccountToken,
    AuditEntry,
    Block,
    BoardModerator,
    BoardMute,
    DigestDelivery,
    Follow,
    MailSettings,
    MutedPhrase,
    Notice,
    NoticeKind,
    OutboxMessage,
    Reaction,
    ReviewEvent,
    ReviewItem,
    ReviewReason,
    Role,
    User,
    new_session_token,
    utcnow,
)
from ..models.revisions import move_on_topics_written_by
from . import ServiceError, accounts, left_posts, rows_changed, transaction

GRACE = timedelta(days=14)
PSEUDONYM_PREFIX = "former-member-"
# Not an argon2 hash: verifying any password against it fails (and authenticate()
# treats an erased account as an unknown one, hash check and all).
ERASED_PASSWORD = "!erased"
ERASED_ADDRESS = "[address erased]"
BATCH_SIZE = 50


def erased_email(user_id: int) -> str:
    """Unique (the column is) and not an address: nothing can be mailed to it."""
    return f"erased-{user_id}"


# --- scheduling and cancelling ----------------------------------------------------------


def why_cannot_leave(member: User) -> str | None:
    """Admins step down first (another admin takes away their role): the site must keep
    someone who can run it. Everyone who can log in may leave, suspended members too."""
    if member.role == Role.ADMIN:
        return (
            "Admins can't delete their account. Ask another admin to take away your "
            "admin role first, then come back here."
        )
    return None


def schedule_deletion(
    member: User, password: str, keep_posts: bool, now: datetime | None = None
) -> datetime:
    """Schedule the member's erasure two weeks from `now`; return when it falls due.

    Every session of the member ends (a new session token). The mail saying when, and
    that logging in cancels it, goes to a confirmed address after the response.
    """
    if (refusal := why_cannot_leave(member)) is not None:
        raise ServiceError(refusal)
    try:
        accounts.password_hasher.verify(member.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise ServiceError(
            "That isn't your password. Please type it again.", field="password"
        ) from None
    now = now or utcnow()
    due = now + GRACE
    with transaction():
        member.deletion_requested_at = now
        member.deletion_due_at = due
        member.keep_posts_on_deletion = bool(keep_posts)
        member.session_token = new_session_token()
        message = _scheduled_message(member, due) if member.is_verified else None
    if message is not None:
        mail.deliver_after_response(message)
    return due


def _scheduled_message(member: User, due: datetime):
    from ..digests.schedule import zone

    settings = db.session.get(MailSettings, member.id)
    zone_name = settings.timezone if settings is not None else "UTC"
    local = due.astimezone(zone(zone_name))
    return mail.build_message(
        member.email,
        "Your account will be deleted in 14 days",
        "account_deletion",
        username=member.username,
        keep_posts=member.keep_posts_on_deletion,
        when=f"{local:%A %-d %B %Y, %H:%M} ({zone_name.replace('_', ' ')})",
        login_link=mail.url_for_mail("auth.login"),
    )


def cancel_deletion(member: User) -> bool:
    """Logging in cancels a scheduled deletion. False when there was nothing to cancel,
    or the account was erased meanwhile (the login must then fail)."""
    with transaction():
        cancelled = (
            rows_changed(
                sa.update(User)
                .where(
                    User.id == member.id,
                    User.erased_at.is_(None),
                    User.deletion_due_at.is_not(None),
                )
                .values(
                    deletion_due_at=None, deletion_requested_at=None, keep_posts_on_deletion=False
                )
                .execution_options(synchronize_session=False)
            )
            == 1
        )
    db.session.refresh(member)
    return cancelled


# --- erasure --------------------------------------------------------------------------------


@dataclass
class ErasureReport:
    erased: int = 0  # accounts erased in this run
    failed: int = 0  # accounts that could not be erased (logged; tried again next run)
    posts_finished: int = 0  # posts whose moderation item had closed, finished now


def erase_due(
    now: datetime | None = None, *, batch_size: int = BATCH_SIZE, limit: int | None = None
) -> ErasureReport:
    """Erase every account whose deletion is due at `now` (the clock, unless a test or
    an operator sets it), then finish posts that were waiting for a moderator."""
    now = now or utcnow()
    report = ErasureReport()
    after_id = 0
    while limit is None or report.erased < limit:
        size = batch_size if limit is None else min(batch_size, limit - report.erased)
        ids = list(
            db.session.scalars(
                sa.select(User.id)
                .where(User.deletion_due_at <= now, User.erased_at.is_(None), User.id > after_id)
                .order_by(User.id)
                .limit(size)
            )
        )
        db.session.rollback()  # the read ends here; each member's transaction is its own
        if not ids:
            break
        for user_id in ids:
            try:
                report.erased += erase_account(user_id, now)
            except Exception:  # one account must not stop the others; it stays due
                current_app.logger.exception("could not erase account %s", user_id)
                report.failed += 1
        after_id = ids[-1]
    report.posts_finished = left_posts.finish_left_posts(batch_size=batch_size)
    return report


def erase_account(user_id: int, now: datetime) -> bool:
    """Erase one member if their deletion is still due: True if this call did it."""
    with transaction():
        # The claim is a write, so it takes the row (PostgreSQL) or the database
        # (SQLite) before anything is read: a login cancelling now, or another copy of
        # the command, waits, and then finds the condition no longer holds.
        claimed = (
            rows_changed(
                sa.update(User)
                .where(User.id == user_id, User.deletion_due_at <= now, User.erased_at.is_(None))
                .values(deletion_due_at=User.deletion_due_at)
                .execution_options(synchronize_session=False)
            )
            == 1
        )
        if not claimed:
            return False
        member = db.session.get_one(User, user_id)  # the claim above found the row
        db.session.refresh(member)
        address, pseudonym = member.email, _new_pseudonym()
        left_posts.withdraw_and_delete_posts(member, now)
        _delete_personal_rows(member, address)
        _erase_address_from_records(member, address, pseudonym)
        _unname_in_others_notices(member.username)
        member.email = erased_email(member.id)
        member.username = member.username_key = pseudonym
        member.password_hash = ERASED_PASSWORD
        member.email_verified_at = None
        member.session_token = new_session_token()
        member.role = Role.MEMBER
        member.moderates_all_boards = False
        member.hides_recent_posts = True
        member.deletion_due_at = None
        member.erased_at = now
        # Every thread the member wrote in shows them as "a former member" from now on,
        # also those whose posts stay linked for an open moderation item.
        move_on_topics_written_by(db.session, member.id)
        db.session.flush()
        left_posts.finish_member_posts(member.id)
    current_app.logger.info("erased account %s", user_id)
    return True


def _new_pseudonym() -> str:
    while True:
        name = f"{PSEUDONYM_PREFIX}{secrets.token_hex(4)}"
        taken = db.session.scalar(sa.select(User.id).where(User.username_key == name))
        if taken is None:
            return name


def _delete_personal_rows(member: User, address: str) -> None:
    user_id = member.id
    for statement in (
        sa.delete(AccountToken).where(AccountToken.user_id == user_id),
        sa.delete(MailSettings).where(MailSettings.user_id == user_id),
        sa.delete(Follow).where(Follow.user_id == user_id),
        sa.delete(Block).where(sa.or_(Block.blocker_id == user_id, Block.blocked_id == user_id)),
        sa.delete(MutedPhrase).where(MutedPhrase.user_id == user_id),
        sa.delete(BoardMute).where(BoardMute.user_id == user_id),
        sa.delete(Reaction).where(Reaction.user_id == user_id),
        sa.delete(Notice).where(Notice.user_id == user_id),
        sa.delete(DigestDelivery).where(DigestDelivery.user_id == user_id),
        # Mail to the member, sent or waiting, including account mail queued without a
        # member id; the messages' bodies go with them (ON DELETE CASCADE).
        sa.delete(OutboxMessage).where(
            sa.or_(OutboxMessage.user_id == user_id, OutboxMessage.recipient == address)
        ),
        sa.delete(BoardModerator).where(BoardModerator.user_id == user_id),
    ):
        db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.execute(
        sa.update(ReviewItem)
        .where(ReviewItem.claimed_by_id == user_id)
        .values(claimed_by_id=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )


def _unname_in_others_notices(username: str) -> None:
    """Other members' reply and quote notices begin with the leaver's name ("wren replied
    to your topic …", forum.services.reply_notices.post_became_visible): they say "A former member"
    from now on. (Mail already sent cannot be called back; the outbox forgets it after
    outbox.KEEP_SENT.)"""
    prefix = f"{username} "
    for column in (Notice.subject, Notice.message):
        db.session.execute(
            sa.update(Notice)
            .where(
                Notice.kind.in_((NoticeKind.REPLY, NoticeKind.QUOTE)),
                sa.func.substr(column, 1, len(prefix)) == prefix,
            )
            .values(
                {
                    column: sa.literal("A former member ", sa.String).concat(
                        sa.func.substr(column, len(prefix) + 1)
                    )
                }
            )
            .execution_options(synchronize_session=False)
        )


def _erase_address_from_records(member: User, address: str, pseudonym: str) -> None:
    """The audit log names the pseudonym from now on; wherever a moderator or a report
    wrote the address down, it is taken out."""
    db.session.execute(
        sa.update(AuditEntry)
        .where(AuditEntry.actor_id == member.id)
        .values(actor_name=pseudonym)
        .execution_options(synchronize_session=False)
    )
    needle = _like_in_any_case(address)
    pattern = re.compile(re.escape(address), re.IGNORECASE)
    for model, columns in (
        (AuditEntry, ("before", "after", "reason")),
        (ReviewReason, ("detail",)),
        (ReviewEvent, ("note",)),
    ):
        for name in columns:
            column = getattr(model, name)
            # A JSON column (the audit log's before and after) is searched as its text;
            # the address holds no character JSON escapes, so the edited text is JSON.
            is_json = isinstance(column.type, sa.JSON)
            text_of = sa.cast(column, sa.Text) if is_json else column
            found = db.session.execute(
                sa.select(model.id, text_of).where(sa.func.lower(text_of).like(needle, escape="\\"))
            ).all()
            for row_id, text in found:
                erased = pattern.sub(ERASED_ADDRESS, text)
                if erased == text:  # only like it (a wildcard letter): not the address
                    continue
                db.session.execute(
                    sa.update(model)
                    .where(model.id == row_id)
                    .values({name: json.loads(erased) if is_json else erased})
                    .execution_options(synchronize_session=False)
                )


def _like_in_any_case(address: str) -> str:
    """A LIKE pattern, compared with lower(column), that finds `address` in any letter
    case on both databases. SQLite's lower() folds only ASCII, so each other letter
    matches any one character there; Python's case-blind match then decides."""
    escaped = _escape_like(address.lower())
    return "%" + "".join(char if char.isascii() else "_" for char in escaped) + "%"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
