"""Members in control: blocks, muted phrases and boards, reactions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model, UTCDateTime, utcnow
from .enums import ReactionKind


class Block(Model):
    """blocker_id no longer sees blocked_id's posts (collapsed) or notices from them.

    The blocked member is never told. Moderators see how many members blocked
    someone, never who (the index on blocked_id counts it).
    """

    __tablename__ = "blocks"
    __table_args__ = (sa.Index("ix_blocks_blocked_id", "blocked_id"),)

    blocker_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MutedPhrase(Model):
    """A member's own muted word or phrase: posts containing it show collapsed for them."""

    __tablename__ = "muted_phrases"
    __table_args__ = (sa.UniqueConstraint("user_id", "phrase_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    phrase: Mapped[str] = mapped_column(sa.String(100))  # as the member wrote it
    phrase_key: Mapped[str] = mapped_column(sa.String(300))  # forum.safety.phrase_key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BoardMute(Model):
    """A board the member does not want in lists, search results or digests."""

    __tablename__ = "board_mutes"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    board_id: Mapped[int] = mapped_column(
        sa.ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reaction(Model):
    """One of each kind per member per post (the primary key)."""

    __tablename__ = "reactions"
    __table_args__ = (sa.Index("ix_reactions_user_id", "user_id"),)

    post_id: Mapped[int] = mapped_column(
        sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[ReactionKind] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
