"""Rendered topic pages for logged-out visitors, kept in each app process.

A logged-out visitor's topic page is the same for everyone, and it is the page
most often read; rendering it is most of its cost (bench/README.md). Copies are
keyed by the topic's revision, which every change to the topic or its posts
moves on in the same transaction (forum.models._bump_topic_revisions), so a
copy is never older than what it claims to show.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from flask import Flask, current_app


class PageCache:
    """A least-recently-used store of a bounded number of pages."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()  # the development server is threaded

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: Hashable, page: str) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.capacity:
                self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


def init_app(app: Flask) -> None:
    app.extensions["page_cache"] = PageCache(app.config["PAGE_CACHE_SIZE"])


def page_cache() -> PageCache:
    return current_app.extensions["page_cache"]
