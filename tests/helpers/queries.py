"""Counting the SQL statements a page costs."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from forum.extensions import db


@contextmanager
def count_queries(app):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def queries_for(app, client, path: str) -> list[str]:
    with count_queries(app) as statements:
        assert client.get(path).status_code == 200
    return statements
