"""Reading a member's public profile: who may see it, and their recent posts.

A profile reveals nothing that posts do not already: it exists, for a viewer, only
when the member has at least one published post that viewer may read (or the
viewer is the member). So /u/<name> cannot be used to learn whether someone
has an account, and a private board's posts never show to logged-out visitors.
An erased account (forum.services erasure) has no profile: 404, like a name
that was never taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from .. import queries
from ..digests.build import excerpt_of
from ..extensions import db
from ..models import Board, Post, Topic, User
from ..personal_filters import text_of_html
from ..services.accounts import USERNAME_MAX, username_key

POSTS_PER_PAGE = 20


def _visible_posts(viewer, member_id: int):
    """Published posts by the member in published topics of boards the viewer may read."""
    return (
        sa.select(Post.id)
        .join(Topic, Topic.id == Post.topic_id)
        .join(Board, Board.id == Topic.board_id)
        .where(
            Post.author_id == member_id,
            queries.published_in_published_topic(),
            queries.readable_boards_filter(viewer),
        )
    )


def find_member(name: str) -> User | None:
    """The member with this username (any case), unless erased."""
    if not name or len(name) > 2 * USERNAME_MAX or "\x00" in name:
        return None
    member = db.session.scalar(sa.select(User).where(User.username_key == username_key(name)))
    if member is None or member.erased_at is not None:
        return None
    return member


def visible_member(viewer, name: str) -> User | None:
    """The member whose profile the viewer may open, else None (shown as 404)."""
    member = find_member(name)
    if member is None:
        return None
    if viewer is not None and viewer.is_authenticated and viewer.id == member.id:
        return member
    if db.session.scalar(sa.select(_visible_posts(viewer, member.id).exists())):
        return member
    return None


@dataclass(frozen=True)
class RecentPost:
    post_id: int
    topic_id: int
    topic_title: str
    board_name: str
    board_slug: str
    created_at: datetime
    content_warning: str | None
    excerpt: str
    text: str  # for matching the viewer's muted phrases


@dataclass(frozen=True)
class RecentPage:
    posts: list[RecentPost]
    before: int | None  # the cursor for older posts, if there are any


def recent_posts(
    viewer,
    member: User,
    muted_board_ids=frozenset(),
    before: int | None = None,
    per_page: int = POSTS_PER_PAGE,
) -> RecentPage:
    """Newest first, keyset-paginated on post id (ix_posts_author_status finds them).

    Boards the viewer muted are left out here as in every list."""
    query = _recent_query(viewer, member.id).order_by(Post.id.desc()).limit(per_page + 1)
    if muted_board_ids:
        query = query.where(Board.id.not_in(sorted(muted_board_ids)))
    if before is not None:
        query = query.where(Post.id < before)
    rows = db.session.execute(query).all()
    posts = [_recent_post(row) for row in rows[:per_page]]
    return RecentPage(posts, posts[-1].post_id if len(rows) > per_page else None)


def _recent_query(viewer, member_id: int) -> sa.Select:
    return (
        sa.select(
            Post.id,
            Post.topic_id,
            Topic.title,
            Board.name,
            Board.slug,
            Post.created_at,
            Post.content_warning,
            Post.body_html,
        )
        .join(Topic, Topic.id == Post.topic_id)
        .join(Board, Board.id == Topic.board_id)
        .where(
            Post.author_id == member_id,
            queries.published_in_published_topic(),
            queries.readable_boards_filter(viewer),
        )
    )


def _recent_post(row: sa.Row) -> RecentPost:
    return RecentPost(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        "" if row[6] else excerpt_of(row[7]),
        text_of_html(row[7]),
    )
