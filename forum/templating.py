"""Template filters and globals."""

from __future__ import annotations

import hashlib
import textwrap
from datetime import datetime, tzinfo
from functools import cache, lru_cache
from pathlib import Path
from typing import cast

from flask import Flask, url_for
from markupsafe import Markup, escape


def timestamp(value: datetime | None) -> Markup:
    """A <time> element: machine-readable UTC, readable text for people."""
    if value is None:
        return Markup("")
    # An f-string over escaped parts: Markup.format costs three times as much, per post.
    readable = escape(value.strftime("%-d %b %Y, %H:%M UTC"))
    # To the second: repeated for every post, and nobody reads microseconds.
    machine = escape(value.isoformat(timespec="seconds"))
    return Markup(f'<time datetime="{machine}">{readable}</time>')


@lru_cache(maxsize=4096)
def wrap_for_mail(text: str, width: int = 72, indent: str = "") -> str:
    """Plain text wrapped for the text part of a mail, lines after the first indented.

    Cached: a digest run wraps the same excerpt for every member who sees it, and
    textwrap is the slowest step of rendering a digest.
    """
    return ("\n" + indent).join(textwrap.wrap(text, width - len(indent)))


@lru_cache(maxsize=16384)
def local_time(moment: datetime, zone: tzinfo) -> str:
    """A moment as a member reads it in their own timezone (mail, where pages can't
    run a script to do it). Cached: a digest run shows each post to many members."""
    return moment.astimezone(zone).strftime("%a %-d %b, %H:%M")


@cache
def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def init_app(app: Flask) -> None:
    app.add_template_filter(timestamp)
    app.add_template_filter(wrap_for_mail)
    app.add_template_filter(local_time)
    # Static URLs carry a fingerprint of the file (SEND_FILE_MAX_AGE_DEFAULT lets
    # browsers keep them for a year): a changed file gets a new URL.
    static_folder = Path(cast(str, app.static_folder))  # create_app always names one

    @app.template_global()
    def asset_url(filename: str) -> str:
        return url_for("static", filename=filename, v=_fingerprint(static_folder / filename))

    @app.context_processor
    def site():
        return {"site_name": app.config["SITE_NAME"]}
