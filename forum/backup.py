"""An online copy of the SQLite database, taken while members keep writing.

SQLite's backup API (sqlite3.Connection.backup) copies the database page by page
from inside a read transaction; in WAL mode writers go on meanwhile, and the copy
is the database as it stood when the read began: every transaction wholly in it or
wholly out of it. The copy is made all in one step: a stepwise copy restarts each
time another connection writes, so on a busy forum it might never finish.

PostgreSQL has its own tool for this (pg_dump), see README.md "Backups and restore".
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa


class BackupRefused(Exception):
    """The backup cannot be taken; the message says why and what to do instead."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int  # bytes
    pages: int


def backup_sqlite(engine: sa.Engine, target: Path, overwrite: bool = False) -> BackupResult:
    """Copy the live database at `engine` to `target`, atomically.

    The copy is written to a temporary file beside `target`, checked with SQLite's
    integrity check and only then renamed into place, so `target` is never a
    half-written file (an earlier backup there survives a failed one).
    """
    if engine.dialect.name != "sqlite":
        # pg_dump takes libpq's URL: without SQLAlchemy's "+psycopg", password hidden.
        url = engine.url.set(drivername=engine.dialect.name).render_as_string(hide_password=True)
        raise BackupRefused(
            f"forum backup copies SQLite databases; this one is {engine.dialect.name}. "
            f"Use pg_dump instead, for example: pg_dump -Fc -f kindred.dump '{url}' "
            '(restore with pg_restore; see README.md, "Backups and restore").'
        )
    target = target.expanduser().absolute()
    live = engine.url.database
    if live and Path(live).absolute() == target:
        raise BackupRefused("That is the live database itself; give another path.")
    if target.exists() and not overwrite:
        raise BackupRefused(f"{target} exists already; choose a new name, or add --overwrite.")
    if not target.parent.is_dir():
        raise BackupRefused(f"The folder {target.parent} does not exist.")

    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".partial", dir=target.parent
    )
    os.close(handle)
    try:
        verdict, pages = _copy_into(engine, temporary)
        if verdict != "ok":
            raise BackupRefused(f"The copy failed SQLite's integrity check: {verdict}")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return BackupResult(path=target, size=target.stat().st_size, pages=pages)


def _copy_into(engine: sa.Engine, temporary: str) -> tuple[str, int]:
    """Copy the live SQLite database into `temporary`: SQLite's verdict on the copy
    ("ok" or what is wrong) and its size in pages."""
    raw = engine.raw_connection()
    try:
        live_database = raw.driver_connection
        assert isinstance(live_database, sqlite3.Connection)  # backup_sqlite checked the dialect
        copy = sqlite3.connect(temporary)
        try:
            live_database.backup(copy)  # pages=-1: one step, one snapshot
            # A copy that stands alone: no -wal file is needed beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            pages = copy.execute("PRAGMA page_count").fetchone()[0]
        finally:
            copy.close()
    finally:
        raw.close()
    return verdict, pages
