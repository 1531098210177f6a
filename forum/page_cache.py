"""What topic and board pages are made of, kept in each app process.

A logged-out visitor's topic page is the same for everyone, and it is the page
most often read; rendering it is most of its cost (bench/README.md). Members' pages
differ, but are put together from parts that most members share: the thread's rows
(forum.boards.threads), each post and board row as a viewer with given facts sees it
(forum.boards.post_fragments, forum.boards.board_page) and the page around them
(forum.boards.kept_pages). Whatever shows a topic or its posts is keyed by the topic's
revision, which every change to the topic or its posts moves on in the same transaction
(forum.models.revisions, a session hook), so a copy is never older than what it claims
to show; a frame is keyed by everything it shows (the board as it is now included).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from flask import Flask, current_app

# What one entry costs beyond its own characters (its key and the store's bookkeeping),
# roughly: an empty entry must count too, or a store could grow without bound.
ENTRY_OVERHEAD = 256


class PageCache:
    """A least-recently-used store of pages (or other values), bounded by their total
    size: a string's length, or the size the caller gives, plus ENTRY_OVERHEAD each. The
    budget counts characters, a rough measure of memory (text beyond Latin-1 takes two
    or four bytes a character in Python); a budget of 0 keeps nothing."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._pages: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()  # the development server is threaded

    def get(self, key: Hashable) -> Any:
        with self._lock:
            found = self._pages.get(key)
            if found is None:
                return None
            self._pages.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, page: Any, size: int | None = None) -> None:
        size = (len(page) if size is None else size) + ENTRY_OVERHEAD
        # One page may take at most a tenth of the budget, so a few huge pages
        # cannot push out all the ordinary ones.
        if size > self.max_bytes // 10:
            return
        with self._lock:
            if (old := self._pages.pop(key, None)) is not None:
                self.size -= old[1]
            self._pages[key] = (page, size)
            self.size += size
            while self.size > self.max_bytes:
                _, (_, evicted) = self._pages.popitem(last=False)
                self.size -= evicted

    def __len__(self) -> int:
        return len(self._pages)


def init_app(app: Flask) -> None:
    budget = app.config["PAGE_CACHE_MB"] * 1024 * 1024
    app.extensions["page_cache"] = PageCache(budget)
    # The parts members' pages are put together from, each as large as the visitors' pages
    # and off with them (PAGE_CACHE_MB=0): posts and board rows per (topic revision, viewer
    # facts) (forum.boards.post_fragments, board_page), a thread's rows per revision and
    # page (forum.boards.threads), the pages around them (forum.boards.kept_pages).
    for parts in ("post_fragments", "thread_pages", "page_frames"):
        app.extensions[parts] = PageCache(budget)


def page_cache() -> PageCache:
    return current_app.extensions["page_cache"]
