"""Posting: topics, replies, edits and deletions, with their counters.

Counters, kept here in the same transaction as the change and nowhere else:
Topic.post_count counts the topic's published posts; Board.topic_count counts
its published topics and Board.post_count the published posts in them. A
topic is published while its first post is (or was deleted by its author,
leaving a placeholder). Every change of a post's status goes through
change_status(), which moves the counters.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for

from .. import permissions, personal_filters
from ..content import clean_body, clean_single_line, render_post
from ..extensions import db
from ..models import (
    Board,
    MailKind,
    Notice,
    Post,
    PostRevision,
    PostStatus,
    Topic,
    User,
    utcnow,
)
from . import PermissionDenied, ServiceError, audit, follows, moderation, notices, transaction

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
    return db.session.scalar(sa.select(Post).where(
        Post.author_id == author.id, Post.submission_key == submission_key))


def _is_same_form(post: Post, draft: Draft, *, board: Board | None = None,
                  topic: Topic | None = None) -> bool:
    """Whether `post` came from this very form with these very words. A page the browser
    kept (the back button) may send an old key with new words: that is a new post."""
    if post.body_source != draft.body_source:
        return False
    if topic is not None:
        return post.topic_id == topic.id
    return post.topic.board_id == board.id and post.topic.title == draft.title \
        and is_first_post(post)


def _sent_before(author: User, submission_key: str | None, draft: Draft,
                 **place) -> tuple[Post | None, str | None]:
    """(the post an earlier sending of this form made, or None; the key to store)."""
    earlier = _earlier_submission(author, submission_key)
    if earlier is None:
        return None, submission_key
    if _is_same_form(earlier, draft, **place):
        return earlier, submission_key
    return None, None  # the key is spent; these words go out as a post of their own


def _once(author: User, submission_key: str | None, draft: Draft, place: dict,
          screening: moderation.Screening, create) -> Submission:
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
    screening: moderation.Screening

    @property
    def is_waiting(self) -> bool:
        return self.post.status == PostStatus.PENDING


def create_topic(author: User, board: Board, title: str, body: str,
                 content_warning: str | None = None,
                 submission_key: str | None = None) -> Submission:
    """Start a topic. Sent again with the same `submission_key`, it returns the topic
    the first sending made."""
    if (refusal := permissions.why_cannot_post_in(author, board)) is not None:
        raise PermissionDenied(refusal)
    draft = prepare(body, content_warning, title=title, needs_title=True)
    screening = moderation.screen(author, board, draft)
    return _once(author, submission_key, draft, {"board": board}, screening,
                 lambda key: _create_topic(author, board, draft, screening, key))


def _create_topic(author: User, board: Board, draft: Draft, screening: moderation.Screening,
                  submission_key: str | None) -> Submission:
    with transaction():
        now = utcnow()
        status = PostStatus.PENDING if screening.hold else PostStatus.PUBLISHED
        published = status == PostStatus.PUBLISHED
        topic = Topic(board=board, author=author, title=draft.title, created_at=now,
                      last_post_at=now, post_count=int(published), status=status)
        db.session.add(topic)
        post = Post(topic=topic, author=author, body_source=draft.body_source,
                    body_html=draft.html, content_warning=draft.content_warning,
                    created_at=now, status=status, published_at=now if published else None,
                    submission_key=submission_key)
        db.session.add(post)
        db.session.flush()  # a repeated key fails here, before any counter moves
        if published:
            _bump_board(board.id, topics=1, posts=1, at=now)
        moderation.raise_for_new_post(post, board.id, screening)
        follows.auto_follow_topic(author, topic)
    return Submission(topic, post, screening)


def create_reply(author: User, topic: Topic, body: str, content_warning: str | None = None,
                 quote_of: Post | None = None, submission_key: str | None = None) -> Submission:
    """Reply to a topic. Sent again with the same `submission_key`, it returns the reply
    the first sending made."""
    if (refusal := permissions.why_cannot_reply(author, topic)) is not None:
        raise PermissionDenied(refusal)
    draft = prepare(body, content_warning)
    screening = moderation.screen(author, topic.board, draft)
    return _once(author, submission_key, draft, {"topic": topic}, screening,
                 lambda key: _create_reply(author, topic, draft, screening, quote_of, key))


def _create_reply(author: User, topic: Topic, draft: Draft, screening: moderation.Screening,
                  quote_of: Post | None, submission_key: str | None) -> Submission:
    with transaction():
        now = utcnow()
        status = PostStatus.PENDING if screening.hold else PostStatus.PUBLISHED
        post = Post(
            topic=topic, author=author, body_source=draft.body_source, body_html=draft.html,
            content_warning=draft.content_warning, created_at=now, status=status,
            published_at=now if status == PostStatus.PUBLISHED else None,
            quote_of_id=quote_of.id if quote_of is not None and quote_of.topic_id == topic.id
            else None, submission_key=submission_key,
        )
        db.session.add(post)
        db.session.flush()  # a repeated key fails here, before any counter moves
        if status == PostStatus.PUBLISHED:
            _count_published_reply(topic.id, topic.board_id, +1, at=now)
        moderation.raise_for_new_post(post, topic.board_id, screening)
        follows.auto_follow_topic(author, topic)
        if status == PostStatus.PUBLISHED:
            post_became_visible(post)
    return Submission(topic, post, screening)


def post_became_visible(post: Post) -> None:
    """Within the caller's transaction, when a reply first goes out to everyone (posted
    by a trusted member, or approved by a moderator): tell the topic's author and the
    author of the post it quotes.

    Nobody is told twice about one post (a post edited back into the queue and approved
    again went out before). The words name only the replier and the topic's title:
    nothing of the reply itself, which may carry a content warning. Nobody is told of a
    post they would rather not see: by a member they blocked, in a board they muted, or
    mentioning a word they muted (forum.personal_filters).
    """
    topic, replier = post.topic, post.author
    if replier is None or post.status != PostStatus.PUBLISHED or is_first_post(post) \
            or topic.status != PostStatus.PUBLISHED:  # a hidden topic's title stays quiet
        return
    link = _permalink(post.id)
    told = {replier.id}
    quoted = db.session.get(Post, post.quote_of_id) if post.quote_of_id else None
    readers = {quoted.author_id if quoted is not None else None, topic.author_id} - {None}
    for reader_id, filters in personal_filters.for_members(readers).items():
        # A topic's own title never silences replies to its author.
        title = topic.title if reader_id != topic.author_id else None
        if filters.hides(replier.id, topic.board_id, title, post.content_warning,
                         personal_filters.text_of_html(post.body_html)):
            told.add(reader_id)  # they would rather not hear of it: no notice, no mail
    if quoted is not None and quoted.status == PostStatus.PUBLISHED \
            and quoted.author is not None and quoted.author_id not in told:
        _notify_once(quoted.author, "quote", f"{replier.username} quoted you in “{topic.title}”",
                     f"{replier.username} quoted your post in “{topic.title}”.", link,
                     MailKind.QUOTE)
        told.add(quoted.author_id)
    if topic.author is not None and topic.author_id not in told \
            and follows.still_follows_topic(topic.author_id, topic.id):
        _notify_once(topic.author, "reply", f"New reply to “{topic.title}”",
                     f"{replier.username} replied to your topic “{topic.title}”.", link,
                     MailKind.REPLY)


def _permalink(post_id: int) -> str:
    if has_request_context():
        return url_for("boards.permalink", post_id=post_id)
    # Posts are also written outside requests (the demo, the CLI).
    return current_app.url_map.bind("localhost").build("boards.permalink", {"post_id": post_id})


def _notify_once(user: User, kind: str, subject: str, message: str, link: str,
                 mail_kind: MailKind) -> None:
    already = db.session.scalar(sa.select(Notice.id).where(
        Notice.user_id == user.id, Notice.kind == kind, Notice.link == link).limit(1))
    if already is None:
        notices.notify(user, kind, subject, message, link, mail_kind=mail_kind)


def _count_published_reply(topic_id: int, board_id: int, delta: int, at=None) -> None:
    # Counters move in SQL, not in Python, so concurrent replies cannot lose a count.
    values = {"post_count": Topic.post_count + delta}
    if at is not None:
        values["last_post_at"] = at
    db.session.execute(sa.update(Topic).where(Topic.id == topic_id).values(**values))
    # A reply in a topic that is not published is not counted on the board.
    topic_status = db.session.scalar(sa.select(Topic.status).where(Topic.id == topic_id))
    if topic_status == PostStatus.PUBLISHED:
        _bump_board(board_id, posts=delta, at=at)


def _topic_status(first_post_status: str, topic_was_listed: bool) -> str:
    """A topic is listed while its first post is published. A listed topic whose first
    post is deleted (by its author or a moderator) stays, with a placeholder, so its
    replies still read; one that never went out (withdrawn while waiting) does not."""
    if topic_was_listed and first_post_status in (PostStatus.DELETED, PostStatus.REMOVED):
        return PostStatus.PUBLISHED
    return first_post_status


def change_status(post: Post, new_status: str) -> None:
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
            _count_published_reply(topic.id, topic.board_id, +1 if counted else -1,
                                   at=now if counted else None)
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
        topic.last_post_at = now
    if topic_was_listed and topic_listed:
        if was_counted != counted:
            _bump_board(topic.board_id, posts=+1 if counted else -1)
    elif topic_listed:
        _bump_board(topic.board_id, topics=1, posts=topic.post_count, at=now)
    elif topic_was_listed:
        _bump_board(topic.board_id, topics=-1, posts=-(topic.post_count + int(was_counted)))


def move_topic(topic: Topic, target: Board) -> None:
    """Within a moderator's transaction: the topic and its counts go to another board."""
    # Counts as they are now, with the row locked: a reply posted since the page was
    # loaded must move with the topic.
    db.session.execute(sa.select(Topic.id).where(Topic.id == topic.id).with_for_update())
    db.session.refresh(topic)
    if topic.status == PostStatus.PUBLISHED:
        _bump_board(topic.board_id, topics=-1, posts=-topic.post_count)
        _bump_board(target.id, topics=1, posts=topic.post_count)
        db.session.execute(sa.update(Board).where(
            Board.id == target.id,
            sa.or_(Board.last_post_at.is_(None), Board.last_post_at < topic.last_post_at))
            .values(last_post_at=topic.last_post_at))
    topic.board_id = target.id


def _bump_board(board_id: int, topics: int = 0, posts: int = 0, at=None) -> None:
    values = {"topic_count": Board.topic_count + topics, "post_count": Board.post_count + posts}
    if at is not None:
        values["last_post_at"] = at
    db.session.execute(sa.update(Board).where(Board.id == board_id).values(**values))


def is_first_post(post: Post) -> bool:
    first_id = db.session.scalar(
        sa.select(sa.func.min(Post.id)).where(Post.topic_id == post.topic_id))
    return first_id == post.id


def lock_if_status(post: Post, *statuses: str) -> bool:
    """Take the post's row for this transaction if its status is one of `statuses`;
    reload it if so.

    The WHERE is judged under the write lock, so of two requests racing (a
    double-click, an edit against a delete) the second sees what the first did.
    """
    claimed = db.session.execute(
        sa.update(Post).where(Post.id == post.id, Post.status.in_(statuses))
        .values(status=Post.status).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return False
    db.session.refresh(post)
    return True


def _claim_published(post: Post) -> bool:
    return lock_if_status(post, PostStatus.PUBLISHED)


def keep_revision(post: Post, first: bool) -> None:
    """Store the post's current text as an earlier version, for moderators."""
    db.session.add(PostRevision(
        post_id=post.id, title=post.topic.title if first else None,
        body_source=post.body_source, body_html=post.body_html,
        content_warning=post.content_warning,
        created_at=post.edited_at or post.created_at,
    ))


def edit_post(editor: User, post: Post, body: str, content_warning: str | None = None,
              title: str | None = None) -> Submission:
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
    screening = moderation.screen(editor, post.topic.board, draft, is_edit=True)
    with transaction():
        if not _claim_published(post):
            raise PermissionDenied("This post was removed, so it can no longer be edited.")
        before = audit.snapshot(post, "edited_at", "content_warning")
        replace_text(post, draft, first)
        if by_author:
            moderation.note_author_edited(post, editor)
        if screening.hold:
            change_status(post, PostStatus.PENDING)
        moderation.raise_for_edited_post(post, post.topic.board_id, screening)
        if not by_author:
            audit.record(editor, "post.edit", "post", post.id, before=before,
                         after=audit.snapshot(post, "edited_at", "content_warning"))
    return Submission(post.topic, post, screening)


def has_earlier_version(post: Post) -> bool:
    return db.session.scalar(sa.select(PostRevision.id).where(PostRevision.post_id == post.id)
                             .limit(1)) is not None


def restore_earlier_version(post: Post) -> str:
    """Put back the post's latest earlier version (a turned-down edit); return the
    text that is taken out, for its author."""
    revision = db.session.scalar(sa.select(PostRevision).where(PostRevision.post_id == post.id)
                                 .order_by(PostRevision.id.desc()).limit(1))
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


def delete_post(user: User, post: Post) -> Post:
    """The author removes their post: a placeholder stays so the thread still reads.

    The text and its earlier versions are erased, not hidden: a member who
    deletes something should not find it kept. Deleting twice (a double-click)
    changes nothing the second time.
    """
    if not permissions.can_delete_own_post(user, post):
        raise PermissionDenied("You can only delete your own posts.")
    with transaction():
        if _claim_published(post):
            change_status(post, PostStatus.DELETED)
            post.deleted_at = utcnow()
            # A post moderators are looking at keeps its words until they decide
            # (a harasser must not erase the evidence); moderation erases them then.
            if not moderation.note_author_deleted(post, user):
                erase_text(post)
    return post


def withdraw_post(user: User, post: Post) -> Post:
    """The author takes back a post that is waiting or was rejected; its words are erased
    (unless moderators are looking at it for a member's safety or for reports)."""
    if not permissions.can_withdraw(user, post):
        raise PermissionDenied("You can only withdraw your own waiting or returned posts.")
    with transaction():
        if lock_if_status(post, PostStatus.PENDING, PostStatus.REJECTED):
            change_status(post, PostStatus.DELETED)
            post.deleted_at = utcnow()
            if not moderation.note_author_withdrew(post, user):
                erase_text(post)
    return post


def erase_text(post: Post) -> None:
    post.body_source = ""
    post.body_html = ""
    post.content_warning = None
    db.session.execute(sa.delete(PostRevision).where(PostRevision.post_id == post.id))
