"""Boards and who moderates them.

Counters on Board count published posts only; the posting service keeps them
right inside the same transaction as the write.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model, UTCDateTime, utcnow
from .enums import BoardMode


class Board(Model):
    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    position: Mapped[int] = mapped_column(default=0)
    # Public boards can be read by logged-out visitors; others by members only.
    is_public: Mapped[bool] = mapped_column(default=True)
    mode: Mapped[BoardMode] = mapped_column(default=BoardMode.OPEN)
    topic_count: Mapped[int] = mapped_column(default=0)
    post_count: Mapped[int] = mapped_column(default=0)
    last_post_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BoardModerator(Model):
    __tablename__ = "board_moderators"
    __table_args__ = (sa.Index("ix_board_moderators_board_id", "board_id"),)

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    board_id: Mapped[int] = mapped_column(
        sa.ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True
    )
