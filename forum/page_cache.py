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
    """A least-recently-used store of pages, bounded by their total size."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0  # characters held: close enough to bytes for a budget
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()  # the development server is threaded

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: Hashable, page: str) -> None:
        # One page may take at most a tenth of the budget, so a few huge pages
        # cannot push out all the ordinary ones.
        if len(page) > self.max_bytes // 10:
            return
        with self._lock:
            if (old := self._pages.pop(key, None)) is not None:
                self.size -= len(old)
            self._pages[key] = page
            self.size += len(page)
            while self.size > self.max_bytes:
                _, evicted = self._pages.popitem(last=False)
                self.size -= len(evicted)

    def __len__(self) -> int:
        return len(self._pages)


def init_app(app: Flask) -> None:
    app.extensions["page_cache"] = PageCache(app.config["PAGE_CACHE_MB"] * 1024 * 1024)


def page_cache() -> PageCache:
    return current_app.extensions["page_cache"]
