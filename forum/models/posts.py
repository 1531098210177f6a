"""Topics, their posts and the earlier versions of edited posts.

Counters on Topic count published posts only; the posting service keeps them
right inside the same transaction as the write.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Model, UTCDateTime, utcnow
from .boards import Board
from .enums import PostStatus


class Topic(Model):
    __tablename__ = "topics"
    __table_args__ = (
        # The board page's keyset: pinned first, then latest activity.
        sa.Index(
            "ix_topics_board_listing", "board_id", "status", "is_pinned", "last_post_at", "id"
        ),
        sa.Index("ix_topics_author_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(sa.ForeignKey("boards.id"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(sa.String(150))
    # The topic's opening post (its lowest id), set by posting.create_topic in the
    # transaction that writes both; the one answer to "which post opened this topic".
    # use_alter: topics and posts point at each other, so this key is added after both
    # tables exist. Posts are never deleted, only given a status; SET NULL is what
    # `forum check --repair` does should one go missing all the same.
    first_post_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("posts.id", use_alter=True, ondelete="SET NULL")
    )
    # Follows the status of the topic's first post: only published topics are listed.
    status: Mapped[PostStatus] = mapped_column(default=PostStatus.PUBLISHED)
    is_pinned: Mapped[bool] = mapped_column(default=False)
    is_locked: Mapped[bool] = mapped_column(default=False)
    post_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_post_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Goes up whenever the topic or any of its posts changes (see _bump_topic_revisions);
    # cached copies of the topic's pages are keyed by it.
    revision: Mapped[int] = mapped_column(default=0)

    board: Mapped[Board] = relationship()
    author: Mapped[User | None] = relationship()


class Post(Model):
    __tablename__ = "posts"
    __table_args__ = (
        sa.Index("ix_posts_topic_thread", "topic_id", "id"),
        sa.Index("ix_posts_author_id", "author_id"),
        sa.Index("ix_posts_author_status", "author_id", "status"),
        # A topic's newest published posts, ranked without reading the posts (digests).
        sa.Index("ix_posts_topic_published", "topic_id", "status", "published_at", "id"),
        # One post per form sent: a double click or a browser retry finds the first.
        sa.UniqueConstraint(
            "author_id", "submission_key", name="uq_posts_author_id_submission_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topics.id"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    quote_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("posts.id", ondelete="SET NULL"))
    status: Mapped[PostStatus] = mapped_column(default=PostStatus.PUBLISHED)
    body_source: Mapped[str] = mapped_column(sa.Text)
    # Made from body_source by forum.content.render_post, the only HTML made from user text.
    body_html: Mapped[str] = mapped_column(sa.Text)
    content_warning: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When everyone could first read it: at once, or when a moderator approved it. Digests
    # go by this, so a post that waited for review is news when it comes out.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The one-time key of the form that made the post (see posting.SUBMISSION_KEY).
    submission_key: Mapped[str | None] = mapped_column(sa.String(64))

    topic: Mapped[Topic] = relationship(foreign_keys=[topic_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])

    @property
    def is_deleted(self) -> bool:
        return self.status == PostStatus.DELETED

    @property
    def is_published_in_published_topic(self) -> bool:
        """What other members see, are told of and are mailed, for a post in memory:
        queries.published_in_published_topic is the same rule in SQL (a test holds the
        two together)."""
        return self.status == PostStatus.PUBLISHED and self.topic.status == PostStatus.PUBLISHED


class PostRevision(Model):
    """An earlier version of an edited post, kept for moderators."""

    __tablename__ = "post_revisions"
    __table_args__ = (sa.Index("ix_post_revisions_post_id", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(sa.String(150))
    body_source: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    content_warning: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when this version was written
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
