"""Claiming outbox rows: which waiting rows this sender won, and whether their
mail is still wanted when their turn comes. Core statements on the tables, built
once: a digest run sends thousands of messages, three statements each, and
building ORM statements cost more than running them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from .. import mail_rules
from ..models import MailKind, MailSettings, OutboxBody, OutboxMessage, User, UTCDateTime
from ..models.base import Model

CLAIM_EXPIRES = timedelta(minutes=10)


def table_of(model: type[Model]) -> sa.Table:
    """A model's Table, for Core statements (declarative types __table__ only as a
    FromClause, which update() and delete() do not take)."""
    table = model.__table__
    assert isinstance(table, sa.Table)  # every model here maps one plain table
    return table


OUTBOX, _bodies = table_of(OutboxMessage), table_of(OutboxBody)
NOT_DONE = sa.and_(OUTBOX.c.sent_at.is_(None), OUTBOX.c.failed_at.is_(None))
WAITING = sa.and_(
    NOT_DONE,
    sa.or_(OUTBOX.c.claimed_at.is_(None), OUTBOX.c.claimed_at < sa.bindparam("stale_before")),
)
_CLAIM = (
    sa.update(OUTBOX)
    .where(OUTBOX.c.id.in_(sa.bindparam("outbox_ids", expanding=True)), WAITING)
    .values(claimed_at=sa.bindparam("now", type_=UTCDateTime()))
    .returning(
        OUTBOX.c.id, OUTBOX.c.user_id, OUTBOX.c.kind, OUTBOX.c.recipient, OUTBOX.c.created_at
    )
)
_BODIES = sa.select(_bodies.c.outbox_id, _bodies.c.message).where(
    _bodies.c.outbox_id.in_(sa.bindparam("outbox_ids", expanding=True))
)


@dataclass(frozen=True)
class Claimed:
    id: int
    user_id: int | None
    kind: MailKind
    recipient: str
    created_at: datetime
    message: bytes


def claim(database: sa.Connection, outbox_ids: Sequence[int], now: datetime) -> list[Claimed]:
    """The rows of these that this sender won (the UPDATE matched), oldest first, each
    with its message: read after the claim is committed, in one query for them all."""
    won = database.execute(
        _CLAIM, {"outbox_ids": outbox_ids, "now": now, "stale_before": now - CLAIM_EXPIRES}
    ).all()
    database.commit()
    if not won:
        return []
    messages = dict(database.execute(_BODIES, {"outbox_ids": [row.id for row in won]}).all())
    database.commit()
    # A row whose body is gone was deleted since the claim (its member's account was
    # erased): there is nothing left to send, nor to record.
    return [
        Claimed(row.id, row.user_id, row.kind, row.recipient, row.created_at, messages[row.id])
        for row in sorted(won, key=lambda row: row.id)
        if row.id in messages
    ]


_users, _settings = table_of(User), table_of(MailSettings)
_RECIPIENTS = (
    sa.select(
        _users.c.id,
        _users.c.email,
        _users.c.email_verified_at,
        _users.c.banned_at,
        _users.c.deletion_due_at,
        _settings.c.user_id.label("has_settings"),
        _settings.c.digest,
        _settings.c.notify_reply,
        _settings.c.notify_quote,
        _settings.c.notify_moderation,
        _settings.c.paused_until,
    )
    .select_from(_users.outerjoin(_settings, _settings.c.user_id == _users.c.id))
    .where(_users.c.id.in_(sa.bindparam("user_ids", expanding=True)))
)


def still_wanted(database: sa.Connection, rows: list[Claimed], now: datetime) -> list[Claimed]:
    """Ask again when the messages' turn comes: mail that waited (the server was down)
    must not reach a member who has since said stop, paused, been banned, or moved to
    another address. Such a message is dropped (kept a while as failed, then pruned)."""
    user_ids = sorted({row.user_id for row in rows if row.user_id is not None})
    members = (
        {member.id: member for member in database.execute(_RECIPIENTS, {"user_ids": user_ids})}
        if user_ids
        else {}
    )
    database.commit()
    wanted = []
    for row in rows:
        member = members.get(row.user_id)
        if row.user_id is None or (
            member is not None
            and member.email == row.recipient
            and mail_rules.mail_wanted(
                row.kind,
                address=member.email,
                verified=member.email_verified_at is not None,
                banned=member.banned_at is not None,
                leaving=member.deletion_due_at is not None,
                settings=member if member.has_settings is not None else None,
                now=now,
            )
        ):
            wanted.append(row)
        else:
            record(
                database,
                row,
                failed_at=now,
                claimed_at=None,
                last_error="not sent: the member no longer wants this mail, or moved",
            )
    return wanted


def record(database: sa.Connection, row: Claimed, *, count_attempt: bool = True, **values) -> None:
    if count_attempt:
        values["attempts"] = OUTBOX.c.attempts + 1
    database.execute(sa.update(OUTBOX).where(OUTBOX.c.id == row.id).values(**values))
    database.commit()
