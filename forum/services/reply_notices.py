"""Telling members when a reply first goes out to everyone: the topic's author ("New
reply to …") and the author of the post it quotes ("… quoted you").

Nobody is told twice about one post (a post edited back into the queue and approved
again went out before). The words name only the replier and the topic's title: nothing
of the reply itself, which may carry a content warning. Nobody is told of a post they
would rather not see: by a member they blocked, in a board they muted, or mentioning a
word they muted (forum.personal_filters).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for

from .. import personal_filters
from ..extensions import db
from ..models import MailKind, Notice, NoticeKind, Post, User
from . import follows, notices
from .post_state import is_first_post


def post_became_visible(post: Post) -> None:
    """Within the caller's transaction, when a reply first goes out to everyone (posted
    by a trusted member, or approved by a moderator): tell whom it concerns."""
    topic, replier = post.topic, post.author
    # Not in a topic others cannot see either: a hidden topic's title stays quiet.
    if replier is None or not post.is_published_in_published_topic or is_first_post(post):
        return
    link = _permalink(post.id)
    quoted = db.session.get(Post, post.quote_of_id) if post.quote_of_id else None
    quoted_author_id = quoted.author_id if quoted is not None else None
    readers = {reader for reader in (quoted_author_id, topic.author_id) if reader is not None}
    told = {replier.id} | _would_rather_not_hear(post, readers)
    if (
        quoted is not None
        and quoted.is_published_in_published_topic  # in this topic (posting checks)
        and quoted.author is not None
        and quoted.author_id not in told
    ):
        _notify_once(
            quoted.author,
            NoticeKind.QUOTE,
            f"{replier.username} quoted you in “{topic.title}”",
            f"{replier.username} quoted your post in “{topic.title}”.",
            link,
            MailKind.QUOTE,
        )
        told.add(quoted.author.id)
    if (
        topic.author is not None
        and topic.author_id not in told
        and follows.still_follows_topic(topic.author.id, topic.id)
    ):
        _notify_once(
            topic.author,
            NoticeKind.REPLY,
            f"New reply to “{topic.title}”",
            f"{replier.username} replied to your topic “{topic.title}”.",
            link,
            MailKind.REPLY,
        )


def _would_rather_not_hear(post: Post, reader_ids: set[int]) -> set[int]:
    """The readers whose blocks or mutes hide this post: no notice, no mail for them."""
    topic = post.topic
    text = personal_filters.text_of_html(post.body_html)
    hidden_from = set()
    for reader_id, filters in personal_filters.for_members(reader_ids).items():
        # A topic's own title never silences replies to its author.
        title = topic.title if reader_id != topic.author_id else None
        if filters.hides(post.author_id, topic.board_id, title, post.content_warning, text):
            hidden_from.add(reader_id)
    return hidden_from


def _permalink(post_id: int) -> str:
    if has_request_context():
        return url_for("boards.permalink", post_id=post_id)
    # Posts are also written outside requests (the demo, the CLI).
    return current_app.url_map.bind("localhost").build("boards.permalink", {"post_id": post_id})


def _notify_once(
    user: User, kind: NoticeKind, subject: str, message: str, link: str, mail_kind: MailKind
) -> None:
    already = db.session.scalar(
        sa.select(Notice.id)
        .where(Notice.user_id == user.id, Notice.kind == kind, Notice.link == link)
        .limit(1)
    )
    if already is None:
        notices.notify(user, kind, subject, message, link, mail_kind=mail_kind)
