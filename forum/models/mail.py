"""Mail: members' mail settings, follows, digests and the outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Model, UTCDateTime, utcnow
from .enums import DigestFrequency, DigestStatus, MailKind


class MailSettings(Model):
    """One member's choices about mail (defaults apply while there is no row).

    next_digest_at is when the next digest falls due, in UTC, worked out from the
    member's hour, day and timezone by forum.digests.schedule whenever a choice
    changes or a digest is done: `flask digests send` finds due members with an
    indexed comparison, and claims their rows.
    """

    __tablename__ = "mail_settings"
    __table_args__ = (sa.Index("ix_mail_settings_due", "next_digest_at"),)

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[DigestFrequency] = mapped_column(default=DigestFrequency.NONE)
    digest_hour: Mapped[int] = mapped_column(default=8)  # 0-23, member's local time
    digest_weekday: Mapped[int] = mapped_column(default=0)  # 0 = Monday, for weekly
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")  # IANA name
    notify_reply: Mapped[bool] = mapped_column(default=True)
    notify_quote: Mapped[bool] = mapped_column(default=True)
    notify_moderation: Mapped[bool] = mapped_column(default=True)
    # "Pause for two weeks": no digest or notice mail before this time.
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Goes up with every change of these settings.
    version: Mapped[int] = mapped_column(default=1)
    # Unsubscribe links carry their kind's number from here ({"digest": 2, ...}, missing
    # = 0): a change to what a kind of mail does retires that kind's links, and only those.
    link_versions: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    next_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The end of the period the last digest covered: the next one starts there.
    digest_covered_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Follow(Model):
    """A member following a board or a topic.

    following=False records an explicit "unfollow", so replying again to a topic
    the member left does not quietly follow it again.
    """

    __tablename__ = "follows"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "board_id", name="uq_follows_user_board"),
        sa.UniqueConstraint("user_id", "topic_id", name="uq_follows_user_topic"),
        sa.CheckConstraint("(board_id IS NULL) != (topic_id IS NULL)", name="one_target"),
        sa.Index("ix_follows_topic", "topic_id", "following"),
        sa.Index("ix_follows_board", "board_id", "following"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    board_id: Mapped[int | None] = mapped_column(sa.ForeignKey("boards.id", ondelete="CASCADE"))
    topic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("topics.id", ondelete="CASCADE"))
    following: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestDelivery(Model):
    """One member's digest for one period, recorded once (the unique key) whether it
    had news (status "queued", its mail in the outbox) or not ("empty")."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (sa.UniqueConstraint("user_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(sa.String(16))  # "2026-11-26" daily, "2026-W48" weekly
    status: Mapped[DigestStatus]
    covered_from: Mapped[datetime] = mapped_column(UTCDateTime)
    covered_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Model):
    """A mail written in the same transaction as what it reports, sent afterwards.

    Sent by forum.outbox over one SMTP connection per batch. A message the server
    has not accepted (a connection error, a 4xx answer) stays here for the next run;
    sent_at is set as soon as the server accepts it; a permanent refusal (5xx) sets
    failed_at. Nothing is sent twice or lost.

    The message itself is in its OutboxBody, not in this row: senders update this row
    twice per message (the claim, then sent_at or a refusal), and SQLite rewrites all
    of a row's overflow pages on every update, so a 36 KB digest kept here was written
    three times. Deleting the row deletes its body (the foreign key's ON DELETE CASCADE).
    """

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_waiting", "sent_at", "failed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[MailKind]
    recipient: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    # Set by the sender that took the message; one whose sender died is taken again later.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Added with the row (one session.add). The database's cascade deletes it with the
    # row (bulk deletes in prune and erasure go round the ORM), so the ORM is told to
    # leave that to it rather than load 36 KB only to delete it.
    body: Mapped[OutboxBody] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class OutboxBody(Model):
    """An outbox message's bytes, written once when it is queued and never updated."""

    __tablename__ = "outbox_bodies"

    outbox_id: Mapped[int] = mapped_column(
        sa.ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True
    )
    message: Mapped[bytes] = mapped_column(sa.LargeBinary)  # the whole RFC 5322 message, CRLF
