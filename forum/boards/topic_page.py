"""The topic page, put together from kept parts.

A logged-out visitor's page is the same for every visitor: it is kept whole, per topic
revision and page (forum.page_cache). A member's page differs by a few facts about
them, so it is put together from parts that members share:

* the thread's rows at the topic's revision (forum.boards.threads);
* each post as a viewer with the same facts sees it (forum.boards.post_fragments);
* the page around the posts (templates/boards/topic.html), kept per what it shows: the
  topic at its revision, the page, the board as it is now, whether the member follows
  the topic, whether (or why not) they may reply, whether their address is confirmed;
* the menu (forum.chrome), kept per the member's name, unread notices and role.

The session's CSRF field and a fresh submission key then go into the slots. A page
with a flashed message, or with the member's own posts waiting for a moderator, is
rendered whole and not kept: both are rare, and personal.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, render_template, session
from flask_login import current_user
from markupsafe import Markup

from .. import permissions, queries
from ..chrome import CSRF_SLOT, VISITOR, Chrome, chrome_of, use_chrome
from ..models import PostStatus, User
from ..moderation.queue import my_waiting_posts
from ..page_cache import page_cache
from ..services import admin
from . import member_facts
from .forms import ReplyForm
from .kept_pages import CONTENT_SLOT, KEY_SLOT, NAV_SLOT, fill, frame
from .post_fragments import Reader, render_posts
from .threads import ThreadPage, thread_page


def render(topic_id: int, requested_page: int) -> str:
    """The page of topic `topic_id` for the current viewer; 404 if they may not see it."""
    user = current_user._get_current_object()
    stamp = queries.topic_stamp(topic_id, in_session=user.is_authenticated)
    if stamp is None:
        abort(404)
    visitor_key = None
    # A logged-out visitor with no message waiting sees what every such visitor sees.
    if not user.is_authenticated and "_flashes" not in session:
        if not stamp.is_public or stamp.status != PostStatus.PUBLISHED:
            abort(404)
        per_page = current_app.config["POSTS_PER_PAGE"]
        # The board's name and slug show too (breadcrumb), and a renamed board does not
        # move its topics' revisions.
        visitor_key = (
            topic_id,
            requested_page,
            per_page,
            stamp.revision,
            stamp.board_slug,
            stamp.board_name,
        )
        if (cached := page_cache().get(visitor_key)) is not None:
            return cached
    thread = thread_page(topic_id, stamp, requested_page)
    if thread is None or not permissions.can_see_topic(user, thread.topic):
        abort(404)  # private boards and waiting topics do not reveal that they exist
    if user.is_authenticated:
        return _member_page(user, thread)
    html = render_template(
        "boards/topic.html",
        **_frame_context(thread, VISITOR, follows_topic=False, cannot_reply="", waiting=[]),
        posts_html=Markup(render_posts(thread.topic, thread.posts, None)),
    )
    # Only real pages: ?page=9999 shows the last page, and must not keep a copy per number.
    if visitor_key is not None and thread.page == requested_page:
        page_cache().put(visitor_key, html)
    return html


@dataclass(frozen=True)
class _FrameFacts:
    """Everything the page around a member's posts shows (the kept frame's key)."""

    topic_id: int
    revision: int
    page: int
    board: object  # threads.BoardFacts, as the stamp gave it
    verified: bool
    follows_topic: bool
    cannot_reply: str | None


def _member_page(user: User, thread: ThreadPage) -> str:
    topic = thread.topic
    facts = member_facts.for_topic_page(user, thread)
    # A topic that is not published cannot be followed (its page shows no button).
    follows_topic = topic.status == PostStatus.PUBLISHED and facts.follows.follows_topic(topic.id)
    chrome = chrome_of(user, unread=facts.unread_notices)
    use_chrome(chrome)
    reader = Reader(
        user_id=user.id,
        verified=user.is_verified,
        moderates=permissions.moderates(user, topic.board_id),
        filters=facts.filters,
        reactions=facts.reactions,
    )
    posts_html = render_posts(topic, thread.posts, reader)
    cannot_reply = permissions.why_cannot_reply(user, topic)
    waiting = my_waiting_posts(user, topic.id) if facts.waiting_posts else []
    frame_facts = _FrameFacts(
        topic.id,
        topic.revision,
        thread.page,
        topic.board,
        chrome.verified,
        follows_topic,
        cannot_reply,
    )
    keep = not waiting and "_flashes" not in session

    def render_frame() -> str:
        return render_template(
            "boards/topic.html",
            **_frame_context(thread, chrome, follows_topic, cannot_reply, waiting),
            posts_html=CONTENT_SLOT,
            nav_html=NAV_SLOT,
        )

    return fill(frame(frame_facts, keep, render_frame), chrome, posts_html)


def _frame_context(
    thread: ThreadPage,
    chrome: Chrome,
    follows_topic: bool,
    cannot_reply: str | None,
    waiting: list,
) -> dict:
    return {
        "topic": thread.topic,
        "page": thread.page,
        "page_count": thread.page_count,
        "chrome": chrome,
        "follows_topic": follows_topic,
        # Only members who may post get the form, so nobody types a reply that cannot be sent.
        "reply_form": ReplyForm(formdata=None) if cannot_reply is None else None,
        "cannot_reply": cannot_reply,
        "waiting": waiting,
        "moderation_hours": admin.moderation_hours() if waiting else "",
        "csrf": CSRF_SLOT,
        "submission_key": KEY_SLOT,
    }
