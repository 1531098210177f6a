"""SQLite's connection settings, set on every new connection (PostgreSQL needs none)."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from .listeners import Listener, attach_once


def _tune_sqlite(dbapi_connection, connection_record) -> None:
    """WAL lets readers work while one member writes; the busy timeout makes writers queue."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


LISTENERS: tuple[Listener, ...] = ((sa.Engine, "connect", _tune_sqlite),)


def attach_listeners() -> None:
    """Called by forum.session_hooks; a second call adds nothing."""
    attach_once(LISTENERS)
