"""Pages put together from kept parts: the frame kept per what it shows, the slots filled
per request (forum.boards.topic_page and forum.boards.board_page).

A frame is a page rendered with markers where the parts that differ per request go: the
menu (NAV_SLOT, forum.chrome), the page's own list of posts or topics (CONTENT_SLOT), the
reply form's submission key (KEY_SLOT) and every form's CSRF field (forum.chrome's
CSRF_SLOT). Escaped titles and names cannot hold "<", and the content (sanitised posts,
put in last) holds no comment and no <input>, so these markers only ever come from a
template.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from flask import current_app, session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from ..chrome import CSRF_SLOT, Chrome, nav_html
from ..page_cache import PageCache
from ..services.posting import new_submission_key

CONTENT_SLOT = Markup("<!--kindred:content-->")
NAV_SLOT = Markup("<!--kindred:nav-->")
# The submission key's field as WTForms writes it (forms.ReplyForm.submission_key).
KEY_FIELD = '<input id="submission_key" name="submission_key" type="hidden" value="{}">'
KEY_SLOT = Markup(KEY_FIELD.format("key-slot"))


def frame(key: Hashable, keep: bool, render: Callable[[], str]) -> str:
    """The frame kept under `key`, else `render()`'s, kept if `keep` (a page showing a
    flashed message or something else of this request only must not be kept)."""
    store: PageCache = current_app.extensions["page_frames"]
    found = store.get(key) if keep else None
    if found is None:
        found = render()
        if keep:
            store.put(key, found)
    return found


# Signed CSRF tokens by (secret key, the session's CSRF secret). Flask-WTF signs the
# session's secret anew on every request (an HMAC and a timestamp: a tenth of a member's
# page); with WTF_CSRF_TIME_LIMIT off the timestamp is never checked, so the token signed
# once serves that session for as long as it lasts.
_SIGNED_TOKENS = PageCache(1024 * 1024)


def csrf_token() -> str:
    """generate_csrf's token for this session, signed once per process."""
    secret = session.get("csrf_token")
    if secret is None or current_app.config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()
    key = (current_app.secret_key, secret)
    token = _SIGNED_TOKENS.get(key)
    if token is None:
        token = generate_csrf()
        _SIGNED_TOKENS.put(key, token)
    return token


def fill(page_frame: str, chrome: Chrome, content: str) -> str:
    """The frame with this request's menu, content, submission key and CSRF field."""
    if chrome.signed_in:
        csrf = f'<input type="hidden" name="csrf_token" value="{escape(csrf_token())}">'
    else:
        csrf = ""  # a visitor's page has no form that posts
    # The content (posts, board rows) has no form of its own and goes in last.
    return (
        page_frame.replace(KEY_SLOT, KEY_FIELD.format(new_submission_key()), 1)
        .replace(NAV_SLOT, nav_html(chrome), 1)
        .replace(CSRF_SLOT, csrf)
        .replace(CONTENT_SLOT, content, 1)
    )
