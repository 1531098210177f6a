"""Writing the index: what is findable, and putting it in (or taking it out).

What is indexed: every published post in a published topic, its text as readers see it
(tags dropped, quoted posts left out: a quote of a post that is later hidden must not
find it), the topic's title with the topic's first post. Nothing else is ever in the
index. The session hooks (forum.search.hooks) call index_posts() and index_topics()
before each commit; `flask --app wsgi forum reindex` calls reindex().
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Post, Topic
from ..queries import published_in_published_topic
from .schema import TABLE, entry_key
from .words import fold, plain_text

_BATCH = 500

#: Where a session keeps the posts and topics to re-index before its commit.
PENDING_POSTS, PENDING_TOPICS = "search_post_ids", "search_topic_ids"


def forget_pending(session: Session) -> None:
    session.info.pop(PENDING_POSTS, None)
    session.info.pop(PENDING_TOPICS, None)


def _delete_entries(session: Session, post_ids: list[int]) -> None:
    key = entry_key(session.get_bind().dialect.name).name
    session.execute(
        sa.text(f"DELETE FROM {TABLE} WHERE {key} IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        ),
        {"ids": post_ids},
    )


def findable_rows(
    session: Session,
    post_ids: list[int] | None = None,
    after_id: int = 0,
    limit: int | None = None,
    first_post_id: sa.ColumnElement[int | None] | None = None,
) -> list[sa.Row]:
    """(id, title or None, body_html, board_id, author_id) of findable posts: the given
    ones, or a batch. `first_post_id` is for migrations run before topics had that
    column (0007 fills the index), which say how to find the first post then."""
    first = Topic.first_post_id if first_post_id is None else first_post_id
    query = (
        sa.select(
            Post.id,
            sa.case((Post.id == first, Topic.title), else_=None),
            Post.body_html,
            Topic.board_id,
            Post.author_id,
        )
        .join(Topic, Topic.id == Post.topic_id)
        .where(published_in_published_topic())
    )
    if post_ids is not None:
        query = query.where(Post.id.in_(post_ids))
    else:
        query = query.where(Post.id > after_id).order_by(Post.id).limit(limit)
    return list(session.execute(query))


_SQLITE_INSERT = sa.text(
    f"INSERT INTO {TABLE} (rowid, title, body, board, author) "
    "VALUES (:id, :title, :body, :board, :author)"
)
_POSTGRESQL_INSERT = sa.text(
    f"INSERT INTO {TABLE} (post_id, board_id, author_id, document) "
    "VALUES (:id, :board_id, :author_id, "
    "setweight(to_tsvector('simple', :folded_title), 'A') || "
    "setweight(to_tsvector('simple', :folded_body), 'B'))"
)


def insert_entries(session: Session, rows: Iterable[sa.Row]) -> int:
    """Index these findable_rows(); how many were indexed."""
    params = [
        {
            "id": post_id,
            "title": title or "",
            "body": plain_text(body_html),
            "board_id": board_id,
            "author_id": author_id,
        }
        for post_id, title, body_html, board_id, author_id in rows
    ]
    if not params:
        return 0
    if session.get_bind().dialect.name == "sqlite":
        for row in params:
            row["board"] = f"b{row['board_id']}"
            row["author"] = f"m{row['author_id']}" if row["author_id"] is not None else ""
        session.execute(_SQLITE_INSERT, params)
    else:
        for row in params:
            row["folded_title"], row["folded_body"] = fold(row["title"]), fold(row["body"])
        session.execute(_POSTGRESQL_INSERT, params)
    return len(params)


def index_posts(session: Session, post_ids: Iterable[int]) -> None:
    """Make the entries of these posts match what they are now (within the caller's
    transaction): findable ones (re-)indexed, the others taken out."""
    ids = sorted(set(post_ids))
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        _delete_entries(session, chunk)
        insert_entries(session, findable_rows(session, chunk))


def index_topics(session: Session, topic_ids: Iterable[int]) -> None:
    ids = sorted(set(topic_ids))
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        index_posts(session, session.scalars(sa.select(Post.id).where(Post.topic_id.in_(chunk))))


def reindex(progress: Callable[[int, int], None] | None = None, batch: int = 2000) -> int:
    """Rebuild the whole index in one transaction; return how many posts it holds.

    `progress(done, total)` is called after each batch.
    """
    session = db.session()  # this request's (or command's) session itself, not the proxy
    total = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Post)
            .join(Topic, Topic.id == Post.topic_id)
            .where(published_in_published_topic())
        )
        or 0
    )
    dialect = session.get_bind().dialect.name
    try:
        session.execute(
            sa.text(f"DELETE FROM {TABLE}" if dialect == "sqlite" else f"TRUNCATE {TABLE}")
        )
        done, after_id = 0, 0
        while rows := findable_rows(session, after_id=after_id, limit=batch):
            done += insert_entries(session, rows)
            after_id = rows[-1][0]
            if progress is not None:
                progress(done, total)
        if dialect == "sqlite":
            # One b-tree instead of one per batch: faster queries.
            session.execute(sa.text(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')"))
        forget_pending(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if dialect != "sqlite":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                f"ANALYZE {TABLE}"
            )
    return done


def entry_count() -> int:
    return db.session.scalar(sa.text(f"SELECT count(*) FROM {TABLE}")) or 0
