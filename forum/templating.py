"""Template filters and globals."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from markupsafe import Markup, escape


def timestamp(value: datetime | None) -> Markup:
    """A <time> element: machine-readable UTC, readable text for people."""
    if value is None:
        return Markup("")
    readable = value.strftime("%-d %b %Y, %H:%M UTC")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), escape(readable))


def init_app(app: Flask) -> None:
    app.add_template_filter(timestamp)

    @app.context_processor
    def site():
        return {"site_name": app.config["SITE_NAME"]}
