"""Counters and last-post times: derived from the published posts in published topics.

Topic and board counters, the last-post times boards and topics are sorted by, and the
publication time every published post needs (digests select on it).
"""

from __future__ import annotations

import sqlalchemy as sa

from ...extensions import db
from ...models import Board, Post, PostStatus, Topic
from ...queries import published_in_published_topic
from .problems import Problem, count_of


def _topic_count() -> sa.ScalarSelect:
    """What a topic's post count should be, per Topic row: its published posts."""
    return (
        sa.select(sa.func.count())
        .where(Post.topic_id == Topic.id, Post.status == PostStatus.PUBLISHED)
        .scalar_subquery()
    )


def find_topic_counts() -> list[Problem]:
    actual = _topic_count()
    wrong = (
        sa.select(Topic.id, Topic.post_count, actual)
        .where(Topic.post_count != actual)
        .order_by(Topic.id)
    )
    return [
        Problem(
            f"topic {topic_id}: post count is {stored}, but it has "
            f"{count_of(published, 'published post')}",
            True,
        )
        for topic_id, stored, published in db.session.execute(wrong)
    ]


def fix_topic_counts() -> None:
    correct = _topic_count()
    db.session.execute(
        sa.update(Topic)
        .where(Topic.post_count != correct)
        .values(post_count=correct)
        .execution_options(synchronize_session=False)
    )


def _board_counts() -> tuple[sa.ScalarSelect, sa.ScalarSelect]:
    """What a board's counters should be, per Board row: its listed topics, and the
    published posts in them."""
    listed_topics = (
        sa.select(sa.func.count())
        .where(Topic.board_id == Board.id, Topic.status == PostStatus.PUBLISHED)
        .scalar_subquery()
    )
    listed_posts = (
        sa.select(sa.func.count())
        .select_from(Post)
        .join(Topic, Topic.id == Post.topic_id)
        .where(Topic.board_id == Board.id, published_in_published_topic())
        .scalar_subquery()
    )
    return listed_topics, listed_posts


def find_board_counts() -> list[Problem]:
    topics, posts = _board_counts()
    rows = db.session.execute(
        sa.select(Board.id, Board.topic_count, topics, Board.post_count, posts)
        .where(sa.or_(Board.topic_count != topics, Board.post_count != posts))
        .order_by(Board.id)
    )
    problems = []
    for board_id, stored_topics, actual_topics, stored_posts, actual_posts in rows:
        if stored_topics != actual_topics:
            problems.append(
                Problem(
                    f"board {board_id}: topic count is {stored_topics}, but it "
                    f"lists {count_of(actual_topics, 'published topic')}",
                    True,
                )
            )
        if stored_posts != actual_posts:
            problems.append(
                Problem(
                    f"board {board_id}: post count is {stored_posts}, but its "
                    f"listed topics hold {count_of(actual_posts, 'published post')}",
                    True,
                )
            )
    return problems


def fix_board_counts() -> None:
    topics, posts = _board_counts()
    db.session.execute(
        sa.update(Board)
        .where(sa.or_(Board.topic_count != topics, Board.post_count != posts))
        .values(topic_count=topics, post_count=posts)
        .execution_options(synchronize_session=False)
    )


# Last-post times move forward when a post goes out and stay when one is later hidden
# (the topic keeps its place), so the rule is "not older than the newest published post".


def _newest_in_topic():
    return (
        sa.select(sa.func.max(Post.published_at))
        .where(Post.topic_id == Topic.id, Post.status == PostStatus.PUBLISHED)
        .scalar_subquery()
    )


def _newest_in_board():
    return (
        sa.select(sa.func.max(Post.published_at))
        .select_from(Post)
        .join(Topic, Topic.id == Post.topic_id)
        .where(
            Topic.board_id == Board.id,
            published_in_published_topic(),
        )
        .scalar_subquery()
    )


def _stale(stored, newest):
    return sa.and_(newest.is_not(None), sa.or_(stored.is_(None), stored < newest))


def find_topic_times() -> list[Problem]:
    rows = db.session.execute(
        sa.select(Topic.id).where(_stale(Topic.last_post_at, _newest_in_topic())).order_by(Topic.id)
    )
    return [
        Problem(f"topic {topic_id}: last-post time is older than its newest published post", True)
        for (topic_id,) in rows
    ]


def fix_topic_times() -> None:
    newest = _newest_in_topic()
    db.session.execute(
        sa.update(Topic)
        .where(_stale(Topic.last_post_at, newest))
        .values(last_post_at=newest)
        .execution_options(synchronize_session=False)
    )


def find_board_times() -> list[Problem]:
    rows = db.session.execute(
        sa.select(Board.id).where(_stale(Board.last_post_at, _newest_in_board())).order_by(Board.id)
    )
    return [
        Problem(f"board {board_id}: last-post time is older than its newest published post", True)
        for (board_id,) in rows
    ]


def fix_board_times() -> None:
    newest = _newest_in_board()
    db.session.execute(
        sa.update(Board)
        .where(_stale(Board.last_post_at, newest))
        .values(last_post_at=newest)
        .execution_options(synchronize_session=False)
    )


def find_unstamped_posts() -> list[Problem]:
    rows = db.session.execute(
        sa.select(Post.id)
        .where(Post.status == PostStatus.PUBLISHED, Post.published_at.is_(None))
        .order_by(Post.id)
    )
    return [
        Problem(
            f"post {post_id}: published, but without a publication time (digests "
            "miss it; repair uses the time it was written)",
            True,
        )
        for (post_id,) in rows
    ]


def fix_unstamped_posts() -> None:
    db.session.execute(
        sa.update(Post)
        .where(Post.status == PostStatus.PUBLISHED, Post.published_at.is_(None))
        .values(published_at=Post.created_at)
        .execution_options(synchronize_session=False)
    )
