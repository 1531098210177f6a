"""Posting: topics, replies, edits and deletions, with their counters.

Board.topic_count/post_count and Topic.post_count count published posts;
they change here, in the same transaction as the post, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..content import clean_body, clean_single_line, render_post
from ..extensions import db
from ..models import Board, Post, PostRevision, PostStatus, Topic, User, utcnow
from . import PermissionDenied, ServiceError, transaction

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


def prepare(body: str, content_warning: str | None = None, title: str | None = None,
            needs_title: bool = False) -> Draft:
    """Validate and render; raise ServiceError naming the field at fault."""
    if title is not None or needs_title:
        title = clean_single_line(title or "")
        if not title:
            raise ServiceError("Give your topic a title.", field="title")
        if len(title) > TITLE_MAX:
            raise ServiceError(f"Keep the title to {TITLE_MAX} characters or fewer "
                               f"(it has {len(title)}).", field="title")
    source = clean_body(body or "")
    if not source.strip():
        raise ServiceError("Write something before posting.", field="body")
    if len(source) > BODY_MAX:
        raise ServiceError(f"Posts can be up to {BODY_MAX:,} characters; this one has "
                           f"{len(source):,}. Could you split it into two?", field="body")
    html = render_post(source)
    if len(html) > HTML_MAX:
        # Markdown can grow many times over as HTML (thousands of bare links);
        # every reader's page and mail carries it.
        raise ServiceError("This post has too many links or too much formatting to show. "
                           "Could you shorten it or split it into two?", field="body")
    warning = clean_single_line(content_warning or "") or None
    if warning and len(warning) > CONTENT_WARNING_MAX:
        raise ServiceError(f"Keep the content warning to {CONTENT_WARNING_MAX} characters "
                           "or fewer.", field="content_warning")
    return Draft(body_source=source, html=html, content_warning=warning,
                 title=title)


def _require_can_post(author: User) -> None:
    if not author.is_verified:
        raise PermissionDenied("Please confirm your email address before posting.")


def create_topic(author: User, board: Board, title: str, body: str,
                 content_warning: str | None = None) -> Topic:
    _require_can_post(author)
    draft = prepare(body, content_warning, title=title, needs_title=True)
    with transaction():
        now = utcnow()
        topic = Topic(board=board, author=author, title=draft.title, created_at=now,
                      last_post_at=now, post_count=1)
        db.session.add(topic)
        db.session.add(Post(
            topic=topic, author=author, body_source=draft.body_source, body_html=draft.html,
            content_warning=draft.content_warning, created_at=now,
        ))
        _bump_board(board.id, topics=1, posts=1, at=now)
    return topic


def create_reply(author: User, topic: Topic, body: str, content_warning: str | None = None,
                 quote_of: Post | None = None) -> Post:
    _require_can_post(author)
    if topic.is_locked:
        raise PermissionDenied("This topic is locked: it can be read but not replied to.")
    draft = prepare(body, content_warning)
    with transaction():
        now = utcnow()
        post = Post(
            topic=topic, author=author, body_source=draft.body_source, body_html=draft.html,
            content_warning=draft.content_warning, created_at=now,
            quote_of_id=quote_of.id if quote_of is not None and quote_of.topic_id == topic.id
            else None,
        )
        db.session.add(post)
        # Counters move in SQL, not in Python, so concurrent replies cannot lose a count.
        db.session.execute(
            sa.update(Topic).where(Topic.id == topic.id)
            .values(post_count=Topic.post_count + 1, last_post_at=now)
        )
        _bump_board(topic.board_id, posts=1, at=now)
    return post


def _bump_board(board_id: int, topics: int = 0, posts: int = 0, at=None) -> None:
    values = {"topic_count": Board.topic_count + topics, "post_count": Board.post_count + posts}
    if at is not None:
        values["last_post_at"] = at
    db.session.execute(sa.update(Board).where(Board.id == board_id).values(**values))


def is_first_post(post: Post) -> bool:
    first_id = db.session.scalar(
        sa.select(sa.func.min(Post.id)).where(Post.topic_id == post.topic_id))
    return first_id == post.id


def can_edit(user: User | None, post: Post) -> bool:
    """The author may edit or delete their own post while it stands and the topic is open."""
    return (user is not None and user.is_authenticated and post.author_id == user.id
            and not post.is_deleted and not post.topic.is_locked)


def _claim_published(post: Post) -> bool:
    """Take the post's row for this transaction if it still stands; reload it if so.

    The WHERE is judged under the write lock, so of two requests racing (a
    double-click, an edit against a delete) the second sees what the first did.
    """
    claimed = db.session.execute(
        sa.update(Post).where(Post.id == post.id, Post.status == PostStatus.PUBLISHED)
        .values(status=Post.status).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return False
    db.session.refresh(post)
    return True


def edit_post(editor: User, post: Post, body: str, content_warning: str | None = None,
              title: str | None = None) -> Post:
    """Replace the text; the earlier version is kept as a PostRevision for moderators."""
    if not can_edit(editor, post):
        raise PermissionDenied("You can only edit your own posts.")
    first = is_first_post(post)
    draft = prepare(body, content_warning, title=title if first else None, needs_title=first)
    with transaction():
        if not _claim_published(post):
            raise PermissionDenied("This post was removed, so it can no longer be edited.")
        db.session.add(PostRevision(
            post_id=post.id, title=post.topic.title if first else None,
            body_source=post.body_source, body_html=post.body_html,
            content_warning=post.content_warning,
            created_at=post.edited_at or post.created_at,
        ))
        post.body_source, post.body_html = draft.body_source, draft.html
        post.content_warning = draft.content_warning
        post.edited_at = utcnow()
        if first:
            post.topic.title = draft.title
    return post


def delete_post(user: User, post: Post) -> Post:
    """The author removes their post: a placeholder stays so the thread still reads.

    The text and its earlier versions are erased, not hidden: a member who
    deletes something should not find it kept. Deleting twice (a double-click)
    changes nothing the second time.
    """
    if not can_edit(user, post):
        raise PermissionDenied("You can only delete your own posts.")
    with transaction():
        if _claim_published(post):
            post.status = PostStatus.DELETED
            post.deleted_at = utcnow()
            post.body_source = ""
            post.body_html = ""
            post.content_warning = None
            db.session.execute(sa.delete(PostRevision).where(PostRevision.post_id == post.id))
            db.session.execute(
                sa.update(Topic).where(Topic.id == post.topic_id)
                .values(post_count=Topic.post_count - 1))
            _bump_board(post.topic.board_id, posts=-1)
    return post


def create_board(slug: str, name: str, description: str = "", is_public: bool = True,
                 position: int | None = None) -> Board:
    slug = slug.strip().lower()
    if not slug or not all(char.isascii() and (char.isalnum() or char == "-") for char in slug):
        raise ServiceError("A board's slug uses lower-case letters, digits and dashes.",
                           field="slug")
    with transaction():
        if db.session.scalar(sa.select(Board.id).where(Board.slug == slug)) is not None:
            raise ServiceError(f"A board with the slug {slug!r} exists already.", field="slug")
        if position is None:
            position = (db.session.scalar(sa.select(sa.func.max(Board.position))) or 0) + 1
        board = Board(slug=slug, name=clean_single_line(name),
                      description=clean_single_line(description), is_public=is_public,
                      position=position)
        db.session.add(board)
    return board
