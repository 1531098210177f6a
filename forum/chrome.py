"""The site's menu for the viewer ("chrome"): what every page shows of who is signed in.

It depends on a handful of facts (their name, unread notices, whether they are staff or
an admin, whether they confirmed their address), gathered once per request into a
Chrome. The menu is rendered from a Chrome alone (templates/macros/site_nav.html), so
its HTML is kept per Chrome and shared by every page a member opens until one of those
facts changes; the log-out form's CSRF field is a slot filled in per request.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, get_template_attribute
from flask_login import current_user
from markupsafe import Markup

from . import permissions
from .page_cache import PageCache
from .services import notices

#: Stands for the CSRF field in kept HTML. Sanitised posts cannot hold an <input>, and
#: titles and names are escaped, so this exact string only ever comes from a template.
CSRF_SLOT = Markup('<input type="hidden" name="csrf_token" value="csrf-slot">')

#: Menus are small and few (one per member's facts): a bounded store of its own.
NAV_CACHE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Chrome:
    """What the menu shows of the viewer; the default is a logged-out visitor."""

    username: str | None = None
    unread: int = 0
    staff: bool = False
    admin: bool = False
    verified: bool = True

    @property
    def signed_in(self) -> bool:
        return self.username is not None


VISITOR = Chrome()


def chrome_of(user, unread: int | None = None) -> Chrome:
    """The viewer's Chrome; `unread` if the caller counted their unread notices already
    (else one query counts them)."""
    if not permissions.is_member(user):
        return VISITOR
    return Chrome(
        username=user.username,
        unread=notices.unread_count(user) if unread is None else unread,
        staff=permissions.is_staff(user),
        admin=user.is_admin,
        verified=user.is_verified,
    )


def page_chrome() -> Chrome:
    """The current viewer's Chrome, worked out once per request."""
    if "chrome" not in g:
        g.chrome = chrome_of(current_user._get_current_object())
    return g.chrome


def use_chrome(chrome: Chrome) -> None:
    """This request's Chrome, worked out by a page that had the facts at hand."""
    g.chrome = chrome


def nav_html(chrome: Chrome) -> str:
    """The menu for `chrome`, with CSRF_SLOT where the log-out form's field goes."""
    store: PageCache = current_app.extensions["site_nav"]
    html = store.get(chrome)
    if html is None:
        html = str(get_template_attribute("macros/site_nav.html", "site_nav")(chrome, CSRF_SLOT))
        store.put(chrome, html)
    return html


def init_app(app: Flask) -> None:
    app.extensions["site_nav"] = PageCache(NAV_CACHE_BYTES)
    app.add_template_global(page_chrome)
