"""Posting: what members do with their own posts (topics, replies, edits, deletions and
withdrawals), each in one transaction.

The post's state and its counters change through forum.services.post_state; what the
checks make of the words is forum.services.screening.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from .. import permissions
from ..extensions import db
from ..models import Board, Post, PostStatus, Topic, User, utcnow
from . import PermissionDenied, audit, follows, review_items, transaction
from .post_state import (
    Draft,
    bump_board,
    change_status,
    count_published_reply,
    erase_text,
    is_first_post,
    lock_if_status,
    prepare,
    replace_text,
)
from .reply_notices import post_became_visible
from .screening import Screening, raise_for_edited_post, raise_for_new_post, screen

# --- one post per form sent ----------------------------------------------------
# Each new-topic and reply form carries a random one-time key. The post stores it,
# unique per author: the same form sent again (a double click, a browser retrying
# after a timeout) finds the post the first request made instead of making another.

SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_submission_key() -> str:
    return secrets.token_urlsafe(16)


def usable_submission_key(raw: str | None) -> str | None:
    """The key as sent, or None when it is missing or not one of ours (no protection,
    but no harm: the post is made as without a key)."""
    return raw if raw and SUBMISSION_KEY.fullmatch(raw) else None


def _earlier_submission(author: User, submission_key: str | None) -> Post | None:
    if submission_key is None:
        return None
    return db.session.scalar(
        sa.select(Post).where(Post.author_id == author.id, Post.submission_key == submission_key)
    )


def _is_same_form(
    post: Post, draft: Draft, *, board: Board | None = None, topic: Topic | None = None
) -> bool:
    """Whether `post` came from this very form with these very words. A page the browser
    kept (the back button) may send an old key with new words: that is a new post."""
    if post.body_source != draft.body_source:
        return False
    if topic is not None:
        return post.topic_id == topic.id
    assert board is not None, "a new topic's form names its board, a reply's its topic"
    return (
        post.topic.board_id == board.id and post.topic.title == draft.title and is_first_post(post)
    )


def _sent_before(
    author: User, submission_key: str | None, draft: Draft, **place
) -> tuple[Post | None, str | None]:
    """(the post an earlier sending of this form made, or None; the key to store)."""
    earlier = _earlier_submission(author, submission_key)
    if earlier is None:
        return None, submission_key
    if _is_same_form(earlier, draft, **place):
        return earlier, submission_key
    return None, None  # the key is spent; these words go out as a post of their own


def _once(
    author: User,
    submission_key: str | None,
    draft: Draft,
    place: dict,
    screening: Screening,
    create,
) -> Submission:
    """Run `create(key)` unless this form was sent before; then return what it made."""
    earlier, key = _sent_before(author, usable_submission_key(submission_key), draft, **place)
    if earlier is None:
        try:
            return create(key)
        except sa.exc.IntegrityError:
            if key is None:
                raise
            # Both sendings looked before either had written, and the other one won.
            earlier, key = _sent_before(author, key, draft, **place)
            if earlier is None:
                if key is not None:
                    raise  # not the key: some other constraint refused the post
                return create(None)  # the key went to other words meanwhile
    return Submission(earlier.topic, earlier, screening)


@dataclass(frozen=True)
class Submission:
    """A new post, and what the checks made of it (for the author's next page)."""

    topic: Topic
    post: Post
    screening: Screening

    @property
    def is_waiting(self) -> bool:
        return self.post.status == PostStatus.PENDING


def create_topic(
    author: User,
    board: Board,
    title: str,
    body: str,
    content_warning: str | None = None,
    submission_key: str | None = None,
) -> Submission:
    """Start a topic. Sent again with the same `submission_key`, it returns the topic
    the first sending made."""
    if (refusal := permissions.why_cannot_post_in(author, board)) is not None:
        raise PermissionDenied(refusal)
    draft = prepare(body, content_warning, title=title, needs_title=True)
    screening = screen(author, board, draft)
    return _once(
        author,
        submission_key,
        draft,
        {"board": board},
        screening,
        lambda key: _create_topic(author, board, draft, screening, key),
    )


def _create_topic(
    author: User,
    board: Board,
    draft: Draft,
    screening: Screening,
    submission_key: str | None,
) -> Submission:
    with transaction():
        now = utcnow()
        status = PostStatus.PENDING if screening.hold else PostStatus.PUBLISHED
        published = status == PostStatus.PUBLISHED
        topic = Topic(
            board=board,
            author=author,
            title=draft.title,
            created_at=now,
            last_post_at=now,
            post_count=int(published),
            status=status,
        )
        db.session.add(topic)
        post = Post(
            topic=topic,
            author=author,
            body_source=draft.body_source,
            body_html=draft.html,
            content_warning=draft.content_warning,
            created_at=now,
            status=status,
            published_at=now if published else None,
            submission_key=submission_key,
        )
        db.session.add(post)
        db.session.flush()  # a repeated key fails here, before any counter moves
        topic.first_post_id = post.id
        if published:
            bump_board(board.id, topics=1, posts=1, at=now)
        raise_for_new_post(post, board.id, screening)
        follows.auto_follow_topic(author, topic)
    return Submission(topic, post, screening)


def create_reply(
    author: User,
    topic: Topic,
    body: str,
    content_warning: str | None = None,
    quote_of: Post | None = None,
    submission_key: str | None = None,
) -> Submission:
    """Reply to a topic. Sent again with the same `submission_key`, it returns the reply
    the first sending made."""
    if (refusal := permissions.why_cannot_reply(author, topic)) is not None:
        raise PermissionDenied(refusal)
    draft = prepare(body, content_warning)
    screening = screen(author, topic.board, draft)
    return _once(
        author,
        submission_key,
        draft,
        {"topic": topic},
        screening,
        lambda key: _create_reply(author, topic, draft, screening, quote_of, key),
    )


def _create_reply(
    author: User,
    topic: Topic,
    draft: Draft,
    screening: Screening,
    quote_of: Post | None,
    submission_key: str | None,
) -> Submission:
    with transaction():
        now = utcnow()
        status = PostStatus.PENDING if screening.hold else PostStatus.PUBLISHED
        post = Post(
            topic=topic,
            author=author,
            body_source=draft.body_source,
            body_html=draft.html,
            content_warning=draft.content_warning,
            created_at=now,
            status=status,
            published_at=now if status == PostStatus.PUBLISHED else None,
            quote_of_id=quote_of.id
            if quote_of is not None and quote_of.topic_id == topic.id
            else None,
            submission_key=submission_key,
        )
        db.session.add(post)
        db.session.flush()  # a repeated key fails here, before any counter moves
        if status == PostStatus.PUBLISHED:
            count_published_reply(topic.id, topic.board_id, +1, at=now)
        raise_for_new_post(post, topic.board_id, screening)
        follows.auto_follow_topic(author, topic)
        if status == PostStatus.PUBLISHED:
            post_became_visible(post)
    return Submission(topic, post, screening)


def _claim_published(post: Post) -> bool:
    return lock_if_status(post, PostStatus.PUBLISHED)


def edit_post(
    editor: User,
    post: Post,
    body: str,
    content_warning: str | None = None,
    title: str | None = None,
) -> Submission:
    """Replace a post's text; the earlier version is kept for moderators.

    May edit = moderator of its board, or its author while the topic is open
    (permissions.can_edit_post). An author's new text is checked as a new post
    would be: words that would hold a new post send this one back to the queue.
    A moderator's edit is written to the audit log.
    """
    if not permissions.can_edit_post(editor, post):
        raise PermissionDenied("You can only edit your own posts.")
    first = is_first_post(post)
    draft = prepare(body, content_warning, title=title if first else None, needs_title=first)
    by_author = post.author_id == editor.id
    screening = screen(editor, post.topic.board, draft, is_edit=True)
    with transaction():
        if not _claim_published(post):
            raise PermissionDenied("This post was removed, so it can no longer be edited.")
        before = audit.snapshot(post, "edited_at", "content_warning")
        replace_text(post, draft, first)
        if by_author:
            review_items.note_author_edited(post, editor)
        if screening.hold:
            change_status(post, PostStatus.PENDING)
        raise_for_edited_post(post, post.topic.board_id, screening)
        if not by_author:
            audit.record(
                editor,
                "post.edit",
                "post",
                post.id,
                before=before,
                after=audit.snapshot(post, "edited_at", "content_warning"),
            )
    return Submission(post.topic, post, screening)


def delete_post(user: User, post: Post) -> Post:
    """The author removes their post: a placeholder stays so the thread still reads.

    The text and its earlier versions are erased, not hidden: a member who
    deletes something should not find it kept. Deleting twice (a double-click)
    changes nothing the second time.
    """
    if not permissions.can_delete_own_post(user, post):
        raise PermissionDenied("You can only delete your own posts.")
    with transaction():
        delete_as_author(user, post)
    return post


def withdraw_post(user: User, post: Post) -> Post:
    """The author takes back a post that is waiting or was rejected; its words are erased
    (unless moderators are looking at it for a member's safety or for reports)."""
    if not permissions.can_withdraw(user, post):
        raise PermissionDenied("You can only withdraw your own waiting or returned posts.")
    with transaction():
        withdraw_as_author(user, post)
    return post


def delete_as_author(
    author: User, post: Post, *, including_hidden: bool = False, at: datetime | None = None
) -> None:
    """Within the caller's transaction: what delete_post does once it may, and what leaving
    does to each published post of a member who chose to remove theirs; there
    `including_hidden`, so that a moderator dismissing a hidden post's reports cannot
    bring it back."""
    statuses = (
        (PostStatus.PUBLISHED, PostStatus.HIDDEN) if including_hidden else (PostStatus.PUBLISHED,)
    )
    if lock_if_status(post, *statuses):
        change_status(post, PostStatus.DELETED)
        post.deleted_at = at or utcnow()
        # A post moderators are looking at keeps its words until they decide
        # (a harasser must not erase the evidence); moderation erases them then.
        if not review_items.note_author_deleted(post, author):
            erase_text(post)


def withdraw_as_author(author: User, post: Post, *, at: datetime | None = None) -> None:
    """Within the caller's transaction: what withdraw_post does once it may, and what
    leaving does to each post of the member that never went out."""
    if lock_if_status(post, PostStatus.PENDING, PostStatus.REJECTED):
        change_status(post, PostStatus.DELETED)
        post.deleted_at = at or utcnow()
        if not review_items.note_author_withdrew(post, author):
            erase_text(post)
