"""Who may use a route: every view is wrapped by exactly one of these.

`tests/test_access.py` walks the URL map and fails for any view without one,
so a new route cannot forget to say who it is for.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.wrappers.response import Response

from . import permissions

PUBLIC = "public"
ANONYMOUS = "anonymous"  # pages that only make sense logged out (log in, register)
MEMBER = "member"  # logged in, verified or not
VERIFIED = "verified"  # logged in with a confirmed email address: may post
MODERATOR = "moderator"
ADMIN = "admin"


def _login_redirect() -> Response:
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _allowed(level: str) -> Response | None:
    """None when the current visitor may proceed, else the response to give."""
    if level == PUBLIC:
        return None
    if level == ANONYMOUS:
        return redirect(url_for("boards.index")) if current_user.is_authenticated else None
    if not current_user.is_authenticated:
        return _login_redirect()
    if level == MEMBER:
        return None
    if level == VERIFIED:
        if current_user.is_verified:
            return None
        flash(
            "Please confirm your email address before posting. "
            "We can send the link again from your account page.",
            "warning",
        )
        return redirect(url_for("auth.account"))
    if level == MODERATOR and permissions.is_staff(current_user):
        return None
    if level == ADMIN and permissions.is_admin(current_user):
        return None
    abort(403)


View = Callable[..., ResponseReturnValue]


def access(level: str) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: object, **kwargs: object) -> ResponseReturnValue:
            refusal = _allowed(level)
            if refusal is not None:
                return refusal
            return view(*args, **kwargs)

        # Read by the tests that walk the URL map; mypy cannot declare a function attribute.
        wrapped.access_level = level  # type: ignore[attr-defined]
        return wrapped

    return decorate
