"""Template filters and globals."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from pathlib import Path

from flask import Flask, url_for
from markupsafe import Markup, escape


def timestamp(value: datetime | None) -> Markup:
    """A <time> element: machine-readable UTC, readable text for people."""
    if value is None:
        return Markup("")
    # An f-string over escaped parts: Markup.format costs three times as much, per post.
    readable = escape(value.strftime("%-d %b %Y, %H:%M UTC"))
    return Markup(f'<time datetime="{escape(value.isoformat())}">{readable}</time>')


@cache
def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def init_app(app: Flask) -> None:
    app.add_template_filter(timestamp)
    # Static URLs carry a fingerprint of the file (SEND_FILE_MAX_AGE_DEFAULT lets
    # browsers keep them for a year): a changed file gets a new URL.
    static_folder = Path(app.static_folder)

    @app.template_global()
    def asset_url(filename: str) -> str:
        return url_for("static", filename=filename, v=_fingerprint(static_folder / filename))

    @app.context_processor
    def site():
        return {"site_name": app.config["SITE_NAME"]}
