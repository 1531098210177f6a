"""Full-text search over published posts and topic titles, behind one interface.

Two engines, one behaviour: an FTS5 table on SQLite, a tsvector table with a GIN index
on PostgreSQL (forum.search.schema). The 'simple' configuration on PostgreSQL: members
write in many languages, which an English stemmer would mangle, and the English
stop-word list drops words that matter here ("no", "not", "me too"); 'simple' only
lowercases, as unicode61 does, and diacritics are folded in Python (forum.search.words),
so both engines find the same posts without the unaccent extension.

- forum.search.words: what a query's words are (only ever words, never query syntax),
  folding, a post's plain text and its excerpt;
- forum.search.indexing: what is findable (every published post in a published topic)
  and writing it into the index, or rebuilding it all (`flask --app wsgi forum reindex`);
- forum.search.hooks: the session hooks that re-index what each transaction changed,
  just before its commit (attached by forum.session_hooks);
- forum.search.ranking: a page of matching ids, best first, from the index alone;
- forum.search.results: search(), the ranked ids' posts as results (two statements).
"""

from __future__ import annotations

from .hooks import LISTENERS, attach_listeners
from .indexing import entry_count, findable_rows, index_posts, index_topics, insert_entries, reindex
from .ranking import CANDIDATES
from .results import MAX_TERMS, Result, ResultsPage, search
from .schema import TABLE, create_statements, drop_statements, include_object
from .words import EXCERPT_CHARS, MAX_QUERY_CHARS, excerpt, fold, plain_text, terms

__all__ = [
    "CANDIDATES",
    "EXCERPT_CHARS",
    "LISTENERS",
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "TABLE",
    "Result",
    "ResultsPage",
    "attach_listeners",
    "create_statements",
    "drop_statements",
    "entry_count",
    "excerpt",
    "findable_rows",
    "fold",
    "include_object",
    "index_posts",
    "index_topics",
    "insert_entries",
    "plain_text",
    "reindex",
    "search",
    "terms",
]
