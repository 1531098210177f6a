"""The moderators' review queue: items, their reasons, their history, the counts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Model, UTCDateTime, utcnow
from .boards import Board
from .enums import ReviewCategory, ReviewKind, ReviewStatus
from .posts import Post


class ReviewItem(Model):
    """One row per thing a moderator must look at: a post, or an account.

    A post has at most one item (unique post_id): a second report adds a reason
    to it and raises its priority, and a report on a decided item reopens it.
    `version` goes up with every change; an action names the version it was
    taken on and is refused if the item moved on meanwhile.
    """

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReviewKind] = mapped_column()
    status: Mapped[ReviewStatus] = mapped_column(default=ReviewStatus.PENDING)
    priority: Mapped[int] = mapped_column(default=0)
    # The most urgent reason's category (forum.safety.CATEGORIES), shown as "why".
    category: Mapped[ReviewCategory] = mapped_column()
    # Self-harm or violence: the content stays collapsed until a moderator opens it.
    is_sensitive: Mapped[bool] = mapped_column(default=False)
    post_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("posts.id", ondelete="CASCADE"), unique=True
    )
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    # Copied from the post's topic so that the queue filters by board on an index.
    board_id: Mapped[int | None] = mapped_column(sa.ForeignKey("boards.id", ondelete="SET NULL"))
    report_count: Mapped[int] = mapped_column(default=0)
    # The post was hidden because enough trusted members reported it.
    hidden_by_reports: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    claimed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it last came (back) into the queue: its age in the queue counts from here.
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # Seconds from opened_at to decided_at, for the queue's median time to decision.
    decision_seconds: Mapped[int | None] = mapped_column()

    # After the columns, not first as elsewhere: the queue's order needs the priority
    # column itself, descending.
    __table_args__ = (
        # The queue's order, priority then age, with each filter in front; see
        # moderation.queue.queue_page.
        sa.Index("ix_review_queue", "status", priority.desc(), "opened_at", "id"),
        sa.Index("ix_review_queue_board", "status", "board_id", priority.desc(), "opened_at", "id"),
        sa.Index(
            "ix_review_queue_board_kind",
            "status",
            "board_id",
            "kind",
            priority.desc(),
            "opened_at",
            "id",
        ),
        sa.Index("ix_review_queue_kind", "status", "kind", priority.desc(), "opened_at", "id"),
        sa.Index("ix_review_items_decided_at", "decided_at"),
        sa.Index("ix_review_items_opened_at", "opened_at"),
        # The oldest waiting item of a board: one index probe per board (moderation.queue).
        sa.Index("ix_review_items_waiting_since", "status", "board_id", "opened_at"),
    )

    post: Mapped[Post | None] = relationship()
    account: Mapped[User | None] = relationship(foreign_keys=[account_id])
    board: Mapped[Board | None] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class ReviewQueueCount(Model):
    """How many items wait, per board and kind: the queue's numbers without counting.

    Kept by forum.services.queue_counts in the same transaction (the same flush) as
    every change to an item's status, kind or board, so it always equals a COUNT(*)
    of the pending items; `forum check` compares the two and repairs. board_key is
    the board's id, or 0 for items with no board (accounts to review).
    """

    __tablename__ = "review_queue_counts"

    board_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[ReviewKind] = mapped_column(primary_key=True)
    waiting: Mapped[int] = mapped_column(default=0)


class ReviewReason(Model):
    """Why an item is in the queue: a member's report or a check made on posting."""

    __tablename__ = "review_reasons"
    __table_args__ = (
        sa.Index("ix_review_reasons_item_id", "item_id"),
        sa.Index("ix_review_reasons_reporter_id", "reporter_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("review_items.id", ondelete="CASCADE"))
    category: Mapped[ReviewCategory] = mapped_column()
    # For a system reason, what matched (a watched word, "phone number"); for a report, the note.
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
    # Never shown to the post's author.
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reporter_trusted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reporter: Mapped[User | None] = relationship()


class ReviewEvent(Model):
    """The item's history: raised, reported again, claimed, decided, reopened."""

    __tablename__ = "review_events"
    __table_args__ = (sa.Index("ix_review_events_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("review_items.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(32))
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()
