"""A board's page of topics, put together from kept parts as the topic page is
(forum.boards.topic_page, forum.boards.kept_pages).

The list itself is asked on every request (one keyset statement on an index: a board has
no revision of its own). Each row is rendered once per (topic, revision, whether the
viewer follows it, why it is folded for them) and shared by every viewer with the same
facts: a topic's revision moves on with every reply, edit, move or removal in it, which
is everything its row shows. The page around the rows is kept per what it shows: the
board as it is now, the page's cursors, whether the viewer follows or muted the board.
"""

from __future__ import annotations

from flask import abort, current_app, get_template_attribute, render_template, session
from flask_login import current_user

from .. import permissions, queries
from ..chrome import CSRF_SLOT, VISITOR, Chrome, chrome_of, use_chrome
from ..members.views import topic_fold
from ..page_cache import PageCache
from ..personal_filters import NO_FILTERS, PersonalFilters
from ..services.follows import FollowState
from . import member_facts
from .kept_pages import CONTENT_SLOT, NAV_SLOT, fill, frame


def render(slug: str, after: str | None, before: str | None) -> str:
    """Board `slug`'s page of topics for the current viewer; 404 if they may not read it."""
    user = current_user._get_current_object()
    board = queries.board_by_slug(slug)
    if board is None or not permissions.can_read_board(user, board):
        abort(404)  # private boards do not reveal that they exist
    page = queries.topics_page(board.id, current_app.config["TOPICS_PER_PAGE"], after, before)
    chrome, filters, follows = VISITOR, NO_FILTERS, FollowState()
    if user.is_authenticated:
        facts = member_facts.for_board_page(user, board.id, [topic.id for topic in page.topics])
        chrome, filters, follows = (
            chrome_of(user, facts.unread_notices),
            facts.filters,
            facts.follows,
        )
        use_chrome(chrome)
    rows = "\n".join(_row(topic, follows, filters) for topic in page.topics)
    muted = filters.has_muted_board(board.id)
    cursors = (page.prev_cursor, page.next_cursor, bool(page.topics))
    key = ("board", tuple(board), cursors, chrome.signed_in, chrome.verified, follows.board, muted)

    def render_frame() -> str:
        return render_template(
            "boards/board.html",
            **_frame_context(board, page, chrome, follows.board, muted),
            rows_html=CONTENT_SLOT,
            nav_html=NAV_SLOT,
        )

    return fill(frame(key, "_flashes" not in session, render_frame), chrome, rows)


def _frame_context(
    board, page: queries.TopicPage, chrome: Chrome, follows: bool, muted: bool
) -> dict:
    return {
        "board": board,
        "prev_cursor": page.prev_cursor,
        "next_cursor": page.next_cursor,
        "has_topics": bool(page.topics),
        "chrome": chrome,
        "follows_board": follows,
        "muted_board": muted,
        "csrf": CSRF_SLOT,
    }


def _row(topic, follows: FollowState, filters: PersonalFilters) -> str:
    following = follows.follows_topic(topic.id)
    why = topic_fold(filters, topic)
    fold = tuple(sorted(why.items())) if why else None
    key = ("row", topic.id, topic.revision, following, fold)
    store: PageCache = current_app.extensions["post_fragments"]
    html = store.get(key)
    if html is None:
        topic_row = get_template_attribute("boards/_topic_row.html", "topic_row")
        html = str(topic_row(topic, following, why))
        store.put(key, html)
    return html
