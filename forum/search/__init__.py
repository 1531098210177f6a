"""Full-text search over published posts and topic titles, behind one interface.

Two engines, one behaviour:

- SQLite (the embedded default): an FTS5 table ``search_entries`` (rowid = post id;
  columns title, body, and board and author as one token each, so that board and block
  filters are part of the MATCH) with the unicode61 tokenizer, diacritics removed. A
  trigger drops a post's entry when its row is deleted.
- PostgreSQL: a table ``search_entries`` (post_id, board_id, author_id, document
  tsvector) with a GIN index, kept narrow (no text: excerpts come from the posts); the
  foreign key drops a deleted post's entry. The 'simple' configuration: members write
  in many languages, which an English stemmer would mangle, and the English stop-word
  list drops words that matter here ("no", "not", "me too"); 'simple' only lowercases,
  as unicode61 does, so both engines find the same posts. Diacritics are folded in
  Python (fold()) on the way in and on the way out, which is what remove_diacritics does
  on SQLite, without needing the unaccent extension.

A search is two statements: the ranked ids of one page, read from the index alone (best
first: bm25 or ts_rank, title words weighing more than body words; then newest), then
those posts' details. The newest CANDIDATES matches (as many as the pages can show) are
ranked, not every match of a common word: ranking tens of thousands (ts_rank reads each
one's whole tsvector) cost ten times as much, and ranking never joins other tables.

What is indexed: every published post in a published topic, its text as readers see it
(tags dropped, quoted posts left out: a quote of a post that is later hidden must not
find it), the topic's title with the topic's first post. Nothing else is ever in the
index, and the query checks statuses again.

Keeping it current: the session hooks at the bottom note every post and topic whose
searchable state a flush or a bulk UPDATE changes, and re-index them just before the
commit, in the same transaction. No service can forget, and a rolled-back change
leaves the index as it was. `flask --app wsgi forum reindex` rebuilds it all.

Search input is only ever words (terms()): quotes, brackets, operators such as NEAR,
AND or *, and anything else that is not a letter, mark or digit separate words and
are otherwise ignored, so no input is query syntax.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import nh3
import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Board, Post, PostStatus, Topic, User

TABLE = "search_entries"
#: How many words of a query are used; the rest are left out (and the page says so).
MAX_TERMS = 10
#: How much of a query is read at all (the form's maxlength says the same).
MAX_QUERY_CHARS = 200
EXCERPT_CHARS = 240
#: A search ranks the newest this many matches: as many as its pages can show (25 of 20).
#: Ranking every match of a common word (tens of thousands) costs ten times as much.
CANDIDATES = 500
_BATCH = 500


# --- schema ---------------------------------------------------------------------------------

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


def create_statements(dialect: str) -> tuple[str, ...]:
    return SQLITE_DDL if dialect == "sqlite" else POSTGRESQL_DDL


def drop_statements(dialect: str) -> tuple[str, ...]:
    return SQLITE_DROP if dialect == "sqlite" else POSTGRESQL_DROP


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's comparisons: the search index is made by migration 0007 and is not
    a model (FTS5 makes shadow tables named search_entries_*)."""
    if type_ == "table" and name is not None and \
            (name == TABLE or name.startswith(TABLE + "_")):
        return False
    if type_ == "index" and name is not None and name.startswith(f"ix_{TABLE}_"):
        return False
    return True


@sa.event.listens_for(db.metadata, "after_create")
def _create_with_metadata(target, connection, **kwargs) -> None:
    """db.create_all() (some tests, scratch databases) makes the index too."""
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


@sa.event.listens_for(db.metadata, "before_drop")
def _drop_with_metadata(target, connection, **kwargs) -> None:
    for statement in drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


# --- words -----------------------------------------------------------------------------------

def _is_word_char(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LNM" or category == "Co"


def terms(query: str) -> list[str]:
    """The words of a query: runs of letters, marks and digits, in order, no repeats.

    Everything else (spaces, punctuation, quotes, symbols, emoji, NUL) separates words.
    """
    found: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFC", query[:MAX_QUERY_CHARS]) + " ":
        if _is_word_char(char):
            current.append(char)
        elif current:
            word = "".join(current)
            if fold(word) not in (fold(seen) for seen in found):
                found.append(word)
            current = []
    return found


def fold(text: str) -> str:
    """Lowercase, compatibility forms unified, diacritics removed (é -> e, ﬁ -> fi)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if unicodedata.category(char) != "Mn")
    return unicodedata.normalize("NFKC", stripped.casefold())


def plain_text(body_html: str) -> str:
    """What readers read of a post: tags dropped, quoted posts left out, one line."""
    # Sanitised HTML has no bare "<" in text: a space before each tag keeps
    # "<p>one</p><p>two</p>" as two words.
    text = nh3.clean(body_html.replace("<", " <"), tags=set(), attributes={},
                     clean_content_tags={"blockquote"})
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


# --- keeping the index current ---------------------------------------------------------------

_FIRST_POST_IDS = (sa.select(sa.func.min(Post.id).label("id"))
                   .group_by(Post.topic_id).scalar_subquery())


def _delete_entries(session: Session, post_ids: list[int]) -> None:
    dialect = session.get_bind().dialect.name
    key = "rowid" if dialect == "sqlite" else "post_id"
    session.execute(sa.text(f"DELETE FROM {TABLE} WHERE {key} IN :ids")
                    .bindparams(sa.bindparam("ids", expanding=True)), {"ids": post_ids})


def _findable_rows(session: Session, post_ids: list[int] | None = None,
                   after_id: int = 0, limit: int | None = None) -> list[sa.Row]:
    """(id, title or None, body_html, board_id, author_id) of findable posts: the given
    ones, or a batch."""
    first = sa.select(sa.func.min(Post.id)).where(Post.topic_id == Topic.id) \
        .correlate(Topic).scalar_subquery()
    query = (sa.select(Post.id, sa.case((Post.id == first, Topic.title), else_=None),
                       Post.body_html, Topic.board_id, Post.author_id)
             .join(Topic, Topic.id == Post.topic_id)
             .where(Post.status == PostStatus.PUBLISHED, Topic.status == PostStatus.PUBLISHED))
    if post_ids is not None:
        query = query.where(Post.id.in_(post_ids))
    else:
        query = query.where(Post.id > after_id).order_by(Post.id).limit(limit)
    return list(session.execute(query))


def _insert_entries(session: Session, rows: Iterable[sa.Row]) -> int:
    dialect = session.get_bind().dialect.name
    params = []
    for post_id, title, body_html, board_id, author_id in rows:
        params.append({"id": post_id, "title": title or "", "body": plain_text(body_html),
                       "board_id": board_id, "author_id": author_id})
    if not params:
        return 0
    if dialect == "sqlite":
        for row in params:
            row["board"] = f"b{row['board_id']}"
            row["author"] = f"m{row['author_id']}" if row["author_id"] is not None else ""
        session.execute(sa.text(f"INSERT INTO {TABLE} (rowid, title, body, board, author) "
                                "VALUES (:id, :title, :body, :board, :author)"), params)
    else:
        for row in params:
            row["folded_title"], row["folded_body"] = fold(row["title"]), fold(row["body"])
        session.execute(sa.text(
            f"INSERT INTO {TABLE} (post_id, board_id, author_id, document) "
            "VALUES (:id, :board_id, :author_id, "
            "setweight(to_tsvector('simple', :folded_title), 'A') || "
            "setweight(to_tsvector('simple', :folded_body), 'B'))"), params)
    return len(params)


def index_posts(session: Session, post_ids: Iterable[int]) -> None:
    """Make the entries of these posts match what they are now (within the caller's
    transaction): findable ones (re-)indexed, the others taken out."""
    ids = sorted(set(post_ids))
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start:start + _BATCH]
        _delete_entries(session, chunk)
        _insert_entries(session, _findable_rows(session, chunk))


def index_topics(session: Session, topic_ids: Iterable[int]) -> None:
    ids = sorted(set(topic_ids))
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start:start + _BATCH]
        index_posts(session, session.scalars(sa.select(Post.id).where(Post.topic_id.in_(chunk))))


def reindex(progress: Callable[[int, int], None] | None = None, batch: int = 2000) -> int:
    """Rebuild the whole index in one transaction; return how many posts it holds.

    `progress(done, total)` is called after each batch.
    """
    session = db.session
    total = session.scalar(sa.select(sa.func.count()).select_from(Post)
                           .join(Topic, Topic.id == Post.topic_id)
                           .where(Post.status == PostStatus.PUBLISHED,
                                  Topic.status == PostStatus.PUBLISHED)) or 0
    dialect = session.get_bind().dialect.name
    try:
        if dialect == "sqlite":
            session.execute(sa.text(f"DELETE FROM {TABLE}"))
        else:
            session.execute(sa.text(f"TRUNCATE {TABLE}"))
        done, after_id = 0, 0
        while rows := _findable_rows(session, after_id=after_id, limit=batch):
            done += _insert_entries(session, rows)
            after_id = rows[-1][0]
            if progress is not None:
                progress(done, total)
        if dialect == "sqlite":
            # One b-tree instead of one per batch: faster queries.
            session.execute(sa.text(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')"))
        session.info.pop(_POSTS, None)
        session.info.pop(_TOPICS, None)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if dialect != "sqlite":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT") \
                .exec_driver_sql(f"ANALYZE {TABLE}")
    return done


def entry_count() -> int:
    return db.session.scalar(sa.text(f"SELECT count(*) FROM {TABLE}")) or 0


# The session hooks: note what changed, index it just before the commit.

_POSTS, _TOPICS = "search_post_ids", "search_topic_ids"
_POST_FIELDS = {"status", "body_html", "topic_id", "author_id"}
_TOPIC_FIELDS = {"status", "title", "board_id"}


def _changed(instance, fields: set[str]) -> bool:
    state = sa.inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in fields)


@sa.event.listens_for(Session, "after_flush")
def _note_flushed_changes(session: Session, flush_context) -> None:
    posts = session.info.setdefault(_POSTS, set())
    topics = session.info.setdefault(_TOPICS, set())
    for instance in session.new:
        if isinstance(instance, Post):
            posts.add(instance.id)
    for instance in session.dirty:
        if isinstance(instance, Post) and _changed(instance, _POST_FIELDS):
            posts.add(instance.id)
        elif isinstance(instance, Topic) and _changed(instance, _TOPIC_FIELDS):
            topics.add(instance.id)
    # Deleted posts: the trigger (SQLite) or the foreign key (PostgreSQL) drops their entry.


def _set_columns(statement) -> set[str] | None:
    """The columns an UPDATE sets, or None when that cannot be told."""
    values = getattr(statement, "_values", None) or getattr(statement, "_ordered_values", None)
    if not values:
        return None
    items = values.items() if hasattr(values, "items") else values
    names = set()
    for key, _value in items:
        name = key if isinstance(key, str) else getattr(key, "key", None)
        if name is None:
            return None
        names.add(name)
    return names


@sa.event.listens_for(Session, "do_orm_execute")
def _note_bulk_updates(state) -> None:
    """A bulk UPDATE of posts or topics bypasses the flush: note the rows it will touch."""
    if not state.is_update:
        return
    statement = state.statement
    table = getattr(statement, "table", None)
    name = getattr(table, "name", None)
    if name not in ("posts", "topics"):
        return
    fields = _POST_FIELDS if name == "posts" else _TOPIC_FIELDS
    columns = _set_columns(statement)
    if columns is not None and not columns & fields:
        return
    model = Post if name == "posts" else Topic
    query = sa.select(model.id)
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    ids = set(state.session.scalars(query))
    state.session.info.setdefault(_POSTS if name == "posts" else _TOPICS, set()).update(ids)


@sa.event.listens_for(Session, "before_commit")
def _index_before_commit(session: Session) -> None:
    if not session.info.get(_POSTS) and not session.info.get(_TOPICS) and not session.dirty \
            and not session.new:
        return
    session.flush()
    posts, topics = session.info.pop(_POSTS, set()), session.info.pop(_TOPICS, set())
    if not posts and not topics:
        return
    if posts:
        index_posts(session, posts)
    if topics:
        index_topics(session, topics)


@sa.event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_POSTS, None)
    session.info.pop(_TOPICS, None)


# --- searching ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    post_id: int
    topic_id: int
    title: str
    board_name: str
    board_slug: str
    author_name: str | None  # None: a former member
    created_at: object
    content_warning: str | None
    excerpt: Markup
    muted_phrase: str | None


@dataclass(frozen=True)
class ResultsPage:
    terms: list[str]
    results: list[Result]
    page: int
    has_next: bool
    terms_dropped: bool  # the query had more than MAX_TERMS words


_entries = sa.table(TABLE, sa.column("rowid"), sa.column("post_id"), sa.column("document"),
                    sa.column("board_id"), sa.column("author_id"))


def _any_of(column: str, tokens: list[str]) -> str:
    return f"{column} : (" + " OR ".join(f'"{token}"' for token in tokens) + ")"


def _ranked_ids(dialect: str, words: list[str], board_id: int | None,
                excluded_board_ids: list[int], blocked_ids: list[int]) -> sa.Select:
    """Post ids matching every word, in the board (or not in the excluded ones), not by
    blocked members: the newest CANDIDATES of them (ids follow time), best first, then
    newest. Only the index is read: no join, no text carried along."""
    if dialect == "sqlite":
        key = _entries.c.rowid
        # Each word a quoted string: FTS5 reads it as a word, never as syntax. The
        # filters are ours: tokens made of a letter and an id. The words are matched
        # in title and body only: else "b12" would list a board and "m7" a member's
        # posts (even one who hides them on their profile).
        expression = "({title body} : (" + " ".join(
            '"' + word.replace('"', '""') + '"' for word in words) + "))"
        if board_id is not None:
            expression = f"({expression} AND {_any_of('board', [f'b{board_id}'])})"
        if excluded_board_ids:
            boards = [f"b{number}" for number in excluded_board_ids]
            expression = f"({expression} NOT {_any_of('board', boards)})"
        if blocked_ids:
            members = [f"m{number}" for number in blocked_ids]
            expression = f"({expression} NOT {_any_of('author', members)})"
        match = sa.literal_column(TABLE).op("MATCH")(expression)
        # Title words weigh more than body words (bm25 is lower for better).
        relevance = sa.func.bm25(sa.literal_column(TABLE), 4.0, 1.0, 0.0, 0.0)
        candidates = (sa.select(key.label("id"), relevance.label("relevance"))
                      .select_from(_entries).where(match)
                      .order_by(key.desc()).limit(CANDIDATES).subquery())
        return sa.select(candidates.c.id).order_by(candidates.c.relevance,
                                                   candidates.c.id.desc())
    else:
        key = _entries.c.post_id
        query = sa.func.plainto_tsquery(sa.literal_column("'simple'::regconfig"),
                                        " ".join(fold(word) for word in words))
        where = [_entries.c.document.op("@@")(query)]
        if board_id is not None:
            where.append(_entries.c.board_id == board_id)
        if excluded_board_ids:
            where.append(_entries.c.board_id.not_in(excluded_board_ids))
        if blocked_ids:
            where.append(sa.or_(_entries.c.author_id.is_(None),
                                _entries.c.author_id.not_in(blocked_ids)))
        candidates = (sa.select(key, _entries.c.document).select_from(_entries).where(*where)
                      .order_by(key.desc()).limit(CANDIDATES).subquery())
        return sa.select(candidates.c.post_id.label("id")).order_by(
            sa.func.ts_rank(candidates.c.document, query).desc(), candidates.c.post_id.desc())


def search(query: str, filters, *, board_id: int | None = None,
           excluded_board_ids: Iterable[int] = (), page: int = 1,
           per_page: int = 20) -> ResultsPage:
    """One page of findable posts matching every word of `query`, best first, then
    newest: in one board, or in all but the excluded ones. Two statements whatever the
    number of matches.

    The caller excludes the boards the viewer may not read and those they muted;
    `filters` (forum.personal_filters) leaves out members they blocked, and names a
    muted phrase a result contains so the page can fold it.
    """
    words = terms(query)
    dropped = len(words) > MAX_TERMS
    words = words[:MAX_TERMS]
    if not words:
        return ResultsPage(words, [], page, False, dropped)
    dialect = db.session.get_bind().dialect.name
    ranked = _ranked_ids(dialect, words, board_id, sorted(set(excluded_board_ids)),
                         sorted(filters.blocked_ids))
    ids = list(db.session.scalars(ranked.offset((page - 1) * per_page).limit(per_page + 1)))
    has_next = len(ids) > per_page
    ids = ids[:per_page]
    if not ids:
        return ResultsPage(words, [], page, False, dropped)
    key = _entries.c.rowid if dialect == "sqlite" else _entries.c.post_id
    rows = {row[0]: row for row in db.session.execute(
        sa.select(Post.id, Post.topic_id, Topic.title, Board.name, Board.slug,
                  sa.case((User.erased_at.is_(None), User.username), else_=None),
                  Post.created_at, Post.content_warning, Post.body_html)
        .select_from(_entries)
        .join(Post, Post.id == key)
        .join(Topic, Topic.id == Post.topic_id)
        .join(Board, Board.id == Topic.board_id)
        .outerjoin(User, User.id == Post.author_id)
        # Checked again: the index never holds anything else, and this says so.
        .where(key.in_(ids), Post.status == PostStatus.PUBLISHED,
               Topic.status == PostStatus.PUBLISHED))}
    folded = {fold(word) for word in words}
    results = []
    for row in (rows.get(post_id) for post_id in ids):
        if row is None:
            continue
        text = plain_text(row[8])
        results.append(Result(
            post_id=row[0], topic_id=row[1], title=row[2], board_name=row[3],
            board_slug=row[4], author_name=row[5], created_at=row[6],
            content_warning=row[7], excerpt=excerpt(text, folded),
            muted_phrase=filters.muted_phrase_in(row[2], row[7], text)))
    return ResultsPage(words, results, page, has_next, dropped)


def _tokens(text: str):
    """(start, end) of each word in the text, as terms() splits words."""
    start = None
    for index, char in enumerate(text):
        if _is_word_char(char):
            if start is None:
                start = index
        elif start is not None:
            yield start, index
            start = None
    if start is not None:
        yield start, len(text)


def excerpt(text: str, folded_terms: set[str], limit: int = EXCERPT_CHARS) -> Markup:
    """Escaped text around the first matching word, the matches in <mark>."""
    spans = []
    first = None
    for start, end in _tokens(text):
        if first is not None and start > first + limit:
            break
        if fold(text[start:end]) in folded_terms:
            spans.append((start, end))
            if first is None:
                first = start
    if first is None:  # only the title matched
        begin = 0
    else:
        begin = max(0, first - limit // 3)
        if begin:
            space = text.rfind(" ", 0, begin)
            begin = space + 1 if space >= 0 and begin - space < 30 else begin
    end = min(len(text), begin + limit)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > begin + limit // 2 else end
    parts = [Markup("…") if begin else Markup("")]
    position = begin
    for start, stop in spans:
        if start < begin or stop > end:
            continue
        parts.append(escape(text[position:start]))
        parts.append(Markup("<mark>") + escape(text[start:stop]) + Markup("</mark>"))
        position = stop
    parts.append(escape(text[position:end]))
    if end < len(text):
        parts.append(Markup("…"))
    return Markup("").join(parts)
