"""Every SQLAlchemy event listener Kindred relies on, attached in one place, in one order.

The listeners are process-wide (on the Session and Engine classes and on the models'
metadata), so `init_app` attaches each one once however many apps a process builds;
each module's `attach_listeners()` checks before it adds (tests build an app per test,
and a listener attached twice would bump a revision or count a review item twice).

The order, and why. SQLAlchemy calls the listeners of one event in the order they were
attached; which event comes first (before_flush, after_flush, before_commit,
after_commit) is SQLAlchemy's own sequence and does not depend on this list.

1. SQLite tuning (forum.sqlite_tuning, Engine ``connect``): first, because every
   statement the other hooks run goes over a connection, and each must already have
   its foreign keys on, WAL and its busy timeout.
2. Topic revision bumps (forum.models.revisions, ``before_flush``): they add the
   revision change to the flush being made, so the cached page of a topic is stale in
   the same transaction that changed it, before the search index looks at that flush.
3. Review queue counts (forum.services.queue_counts, ``before_flush``): after the
   revision bumps, which touch only topics; the counts read review items only, so the
   two never see each other's writes and either order would count the same.
4. The search index (forum.search.hooks): after_flush notes the posts and topics each flush
   changed (the bumps above included, which it ignores: a revision is not searchable),
   and before_commit writes the index last of all writers, in the same transaction; its
   final flush runs hooks 2 and 3 again, so nothing it flushes escapes them.
5. Notice mail (forum.services.notices): last. after_commit sends the mail only once
   everything above, index included, is committed; after_rollback forgets it, as the
   search index forgets what it noted.
"""

from __future__ import annotations

from types import ModuleType

from flask import Flask

from . import sqlite_tuning
from .listeners import Listener
from .models import revisions
from .search import hooks as search_index
from .services import notices, queue_counts


def init_app(app: Flask) -> None:
    """Attach every listener, in the order above, once per process (`app` changes
    nothing about them: they serve every app and every session)."""
    for module in _in_order():
        module.attach_listeners()


def listeners() -> list[Listener]:
    """Every listener init_app attaches, in its order."""
    return [listener for module in _in_order() for listener in module.LISTENERS]


def _in_order() -> tuple[ModuleType, ...]:
    return (sqlite_tuning, revisions, queue_counts, search_index, notices)
