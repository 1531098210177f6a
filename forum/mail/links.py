"""Links in mail: absolute, from BASE_URL, in a request or not (the CLI)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, current_app
from flask.globals import app_ctx
from werkzeug.routing import MapAdapter


def absolute_url(path: str) -> str:
    """Links in mail come from BASE_URL, never from the request's Host header."""
    return current_app.config["BASE_URL"] + path


def url_for_mail(endpoint: str, **values) -> str:
    """An absolute link to a route, from BASE_URL, in a request or not (the CLI).

    flask.url_for needs a request (or SERVER_NAME, which would also change which
    Host headers the app answers) and would follow the request's Host header.
    """
    return _url_adapter(app_ctx.app, current_app.config["BASE_URL"]).build(
        endpoint, values, force_external=True
    )


@lru_cache(maxsize=8)
def _url_adapter(app: Flask, base_url: str) -> MapAdapter:
    """Bound once per app and address: binding costs more than building a link, and a
    digest run builds hundreds of thousands."""
    base = urlsplit(base_url)
    return app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
