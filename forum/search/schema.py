"""The index's table on each engine: made by migration 0007 and by db.create_all().

SQLite: an FTS5 table (rowid = post id; columns title, body, and board and author as one
token each, so that board and block filters are part of the MATCH) with the unicode61
tokenizer, diacritics removed, and a trigger that drops a post's entry when its row is
deleted. PostgreSQL: a narrow table (post_id, board_id, author_id, document tsvector)
with a GIN index; the foreign key drops a deleted post's entry.
"""

from __future__ import annotations

import sqlalchemy as sa

TABLE = "search_entries"

SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
    # board and author hold one token each ("b12", "m345"): filters are part of the MATCH,
    # so FTS5 intersects lists instead of reading every match's row.
    "title, body, board, author, tokenize = 'unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER {TABLE}_post_deleted AFTER DELETE ON posts "
    f"BEGIN DELETE FROM {TABLE} WHERE rowid = old.id; END",
)
SQLITE_DROP = (f"DROP TRIGGER IF EXISTS {TABLE}_post_deleted", f"DROP TABLE IF EXISTS {TABLE}")

POSTGRESQL_DDL = (
    f"CREATE TABLE {TABLE} ("
    "post_id INTEGER NOT NULL PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE, "
    "board_id INTEGER NOT NULL, author_id INTEGER, document TSVECTOR NOT NULL)",
    f"CREATE INDEX ix_{TABLE}_document ON {TABLE} USING gin (document)",
)
POSTGRESQL_DROP = (f"DROP TABLE IF EXISTS {TABLE}",)

#: The index as SQLAlchemy sees it, for queries (not a model: Alembic leaves it alone).
entries = sa.table(
    TABLE,
    sa.column("rowid"),
    sa.column("post_id"),
    sa.column("document"),
    sa.column("board_id"),
    sa.column("author_id"),
)


def entry_key(dialect: str) -> sa.ColumnClause:
    """The column holding an entry's post id."""
    return entries.c.rowid if dialect == "sqlite" else entries.c.post_id


def create_statements(dialect: str) -> tuple[str, ...]:
    return SQLITE_DDL if dialect == "sqlite" else POSTGRESQL_DDL


def drop_statements(dialect: str) -> tuple[str, ...]:
    return SQLITE_DROP if dialect == "sqlite" else POSTGRESQL_DROP


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's comparisons: the search index is made by migration 0007 and is not
    a model (FTS5 makes shadow tables named search_entries_*)."""
    if type_ == "table" and name is not None and (name == TABLE or name.startswith(TABLE + "_")):
        return False
    if type_ == "index" and name is not None and name.startswith(f"ix_{TABLE}_"):
        return False
    return True


def create_with_metadata(target, connection, **kwargs) -> None:
    """db.create_all() (some tests, scratch databases) makes the index too."""
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def drop_with_metadata(target, connection, **kwargs) -> None:
    for statement in drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)
