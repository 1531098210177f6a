"""A post's state, changed inside the caller's transaction: its checked text, its status and
the counters that follow it, its earlier versions, and the board its topic is in.

Counters, kept here in the same transaction as the change and nowhere else:
Topic.post_count counts the topic's published posts; Board.topic_count counts
its published topics and Board.post_count the published posts in them. A
topic is published while its first post is (or was deleted by its author,
leaving a placeholder). Every change of a post's status goes through
change_status(), which moves the counters.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..content import clean_body, clean_single_line, render_post
from ..extensions import db
from ..models import Board, Post, PostRevision, PostStatus, Topic, utcnow
from . import ServiceError, StaleItem, rows_changed

TITLE_MAX = 150
BODY_MAX = 20_000
HTML_MAX = 100_000
CONTENT_WARNING_MAX = 100


@dataclass(frozen=True)
class Draft:
    """What a member typed, cleaned and checked; `html` is the sanitised rendering."""

    body_source: str
    html: str
    content_warning: str | None
    title: str | None = None


def prepare(
    body: str,
    content_warning: str | None = None,
    title: str | None = None,
    needs_title: bool = False,
) -> Draft:
    """Validate and render; raise ServiceError naming the field at fault."""
    if title is not None or needs_title:
        title = clean_single_line(title or "")
        if not title:
            raise ServiceError("Give your topic a title.", field="title")
        if len(title) > TITLE_MAX:
            raise ServiceError(
                f"Keep the title to {TITLE_MAX} characters or fewer (it has {len(title)}).",
                field="title",
            )
    source = clean_body(body or "")
    if not source.strip():
        raise ServiceError("Write something before posting.", field="body")
    if len(source) > BODY_MAX:
        raise ServiceError(
            f"Posts can be up to {BODY_MAX:,} characters; this one has "
            f"{len(source):,}. Could you split it into two?",
            field="body",
        )
    html = render_post(source)
    if len(html) > HTML_MAX:
        # Markdown can grow many times over as HTML (thousands of bare links);
        # every reader's page and mail carries it.
        raise ServiceError(
            "This post has too many links or too much formatting to show. "
            "Could you shorten it or split it into two?",
            field="body",
        )
    warning = clean_single_line(content_warning or "") or None
    if warning and len(warning) > CONTENT_WARNING_MAX:
        raise ServiceError(
            f"Keep the content warning to {CONTENT_WARNING_MAX} characters or fewer.",
            field="content_warning",
        )
    return Draft(body_source=source, html=html, content_warning=warning, title=title)


def _later_of(column, at):
    """`at` if it is later than what the column holds: a reply whose transaction began
    first may commit last, and must not move a topic's or board's last-post time back."""
    return sa.case((sa.or_(column.is_(None), column < at), at), else_=column)


def count_published_reply(topic_id: int, board_id: int, delta: int, at=None) -> None:
    # Counters move in SQL, not in Python, so concurrent replies cannot lose a count.
    values = {"post_count": Topic.post_count + delta}
    if at is not None:
        values["last_post_at"] = _later_of(Topic.last_post_at, at)
    db.session.execute(sa.update(Topic).where(Topic.id == topic_id).values(**values))
    # A reply in a topic that is not published is not counted on the board.
    topic_status = db.session.scalar(sa.select(Topic.status).where(Topic.id == topic_id))
    if topic_status == PostStatus.PUBLISHED:
        bump_board(board_id, posts=delta, at=at)


def _topic_status(first_post_status: PostStatus, topic_was_listed: bool) -> PostStatus:
    """A topic is listed while its first post is published. A listed topic whose first
    post is deleted (by its author or a moderator) stays, with a placeholder, so its
    replies still read; one that never went out (withdrawn while waiting) does not."""
    if topic_was_listed and first_post_status in (PostStatus.DELETED, PostStatus.REMOVED):
        return PostStatus.PUBLISHED
    return first_post_status


def change_status(post: Post, new_status: PostStatus) -> None:
    """Move a post to a new status, keeping every counter and its topic's status right.

    Call inside a transaction, with the post's row current (see lock_if_status).
    """
    old_status = post.status
    if old_status == new_status:
        return
    topic = post.topic
    now = utcnow()
    was_counted = old_status == PostStatus.PUBLISHED
    counted = new_status == PostStatus.PUBLISHED
    post.status = new_status
    if counted and post.published_at is None:
        post.published_at = now
    if not is_first_post(post):
        if was_counted != counted:
            count_published_reply(
                topic.id, topic.board_id, +1 if counted else -1, at=now if counted else None
            )
        return
    # The first post: its status decides whether the whole topic is listed.
    db.session.flush()
    db.session.refresh(topic)
    topic_was_listed = topic.status == PostStatus.PUBLISHED
    topic.status = _topic_status(new_status, topic_was_listed)
    topic_listed = topic.status == PostStatus.PUBLISHED
    if was_counted != counted:
        topic.post_count += 1 if counted else -1
    if counted:
        db.session.execute(
            sa.update(Topic)
            .where(Topic.id == topic.id)
            .values(last_post_at=_later_of(Topic.last_post_at, now))
            .execution_options(synchronize_session=False)
        )
        db.session.expire(topic, ["last_post_at"])
    if topic_was_listed and topic_listed:
        if was_counted != counted:
            bump_board(topic.board_id, posts=+1 if counted else -1)
    elif topic_listed:
        bump_board(topic.board_id, topics=1, posts=topic.post_count, at=now)
    elif topic_was_listed:
        bump_board(topic.board_id, topics=-1, posts=-(topic.post_count + int(was_counted)))


def move_topic(topic: Topic, target: Board) -> None:
    """Within a moderator's transaction: the topic and its counts go to another board."""
    # Counts as they are now, with the row locked: a reply posted since the page was
    # loaded must move with the topic.
    db.session.execute(sa.select(Topic.id).where(Topic.id == topic.id).with_for_update())
    db.session.refresh(topic)
    if topic.status == PostStatus.PUBLISHED:
        bump_board(topic.board_id, topics=-1, posts=-topic.post_count)
        bump_board(target.id, topics=1, posts=topic.post_count)
        db.session.execute(
            sa.update(Board)
            .where(
                Board.id == target.id,
                sa.or_(Board.last_post_at.is_(None), Board.last_post_at < topic.last_post_at),
            )
            .values(last_post_at=topic.last_post_at)
        )
    topic.board_id = target.id


def bump_board(board_id: int, topics: int = 0, posts: int = 0, at=None) -> None:
    values = {"topic_count": Board.topic_count + topics, "post_count": Board.post_count + posts}
    if at is not None:
        values["last_post_at"] = _later_of(Board.last_post_at, at)
    db.session.execute(sa.update(Board).where(Board.id == board_id).values(**values))


def is_first_post(post: Post) -> bool:
    return post.topic.first_post_id == post.id


def lock_if_status(post: Post, *statuses: PostStatus) -> bool:
    """Take the post's row for this transaction if its status is one of `statuses`;
    reload it if so.

    The WHERE is judged under the write lock, so of two requests racing (a
    double-click, an edit against a delete) the second sees what the first did.
    """
    claimed = rows_changed(
        sa.update(Post)
        .where(Post.id == post.id, Post.status.in_(statuses))
        .values(status=Post.status)
        .execution_options(synchronize_session=False)
    )
    if claimed != 1:
        return False
    db.session.refresh(post)
    return True


def set_post_status(post: Post, expected: PostStatus, new_status: PostStatus) -> None:
    """A moderator's change: refused with StaleItem unless the post is still `expected`."""
    if not lock_if_status(post, expected):
        raise StaleItem(
            "The post changed while you were looking at it (its author may have "
            "edited or deleted it), so your action was not applied."
        )
    change_status(post, new_status)


def keep_revision(post: Post, first: bool) -> None:
    """Store the post's current text as an earlier version, for moderators."""
    db.session.add(
        PostRevision(
            post_id=post.id,
            title=post.topic.title if first else None,
            body_source=post.body_source,
            body_html=post.body_html,
            content_warning=post.content_warning,
            created_at=post.edited_at or post.created_at,
        )
    )


def has_earlier_version(post: Post) -> bool:
    return (
        db.session.scalar(
            sa.select(PostRevision.id).where(PostRevision.post_id == post.id).limit(1)
        )
        is not None
    )


def restore_earlier_version(post: Post) -> str:
    """Put back the post's latest earlier version (a turned-down edit); return the
    text that is taken out, for its author. Call only when has_earlier_version(post)."""
    revision = db.session.scalar(
        sa.select(PostRevision)
        .where(PostRevision.post_id == post.id)
        .order_by(PostRevision.id.desc())
        .limit(1)
    )
    assert revision is not None, "the caller checked has_earlier_version in this transaction"
    turned_down = post.body_source
    post.body_source, post.body_html = revision.body_source, revision.body_html
    post.content_warning = revision.content_warning
    if revision.title is not None:
        post.topic.title = revision.title
    post.edited_at = revision.created_at if revision.created_at != post.created_at else None
    db.session.delete(revision)
    return turned_down


def replace_text(post: Post, draft: Draft, first: bool) -> None:
    keep_revision(post, first)
    post.body_source, post.body_html = draft.body_source, draft.html
    post.content_warning = draft.content_warning
    post.edited_at = utcnow()
    if first and draft.title is not None:  # a moderator's edit of the text keeps the title
        post.topic.title = draft.title


def erase_text(post: Post) -> None:
    post.body_source = ""
    post.body_html = ""
    post.content_warning = None
    db.session.execute(sa.delete(PostRevision).where(PostRevision.post_id == post.id))
