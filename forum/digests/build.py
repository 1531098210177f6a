"""What goes in each member's digest, for a whole batch of members at once.

A batch is loaded in a fixed number of queries, whatever its size: the members'
follows; the most recently active topics of every board they follow (the top
TOPICS_PER_BOARD of each board, enough for any member's top TOPICS_PER_DIGEST);
the followed topics that moved; the newest published posts of those topics;
and each board's newest topics still waiting for a first reply. Each member's
digest is then picked out in Python.

Only published posts in published topics are read, so nothing pending, hidden,
rejected or deleted can reach a digest. There are no popularity counts. Each
member's blocks and mutes (forum.personal_filters, loaded for the whole batch in
one query) leave out boards they muted, topics and posts by members they
blocked, and topics or posts that mention a word they muted.
"""

from __future__ import annotations

import heapq
import html
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import nh3
import sqlalchemy as sa

from .. import mail, personal_filters
from ..extensions import db
from ..models import Board, Follow, Post, PostStatus, Topic, User

TOPICS_PER_DIGEST = 10
POSTS_PER_TOPIC = 3
UNANSWERED_PER_DIGEST = 5
# Each board's most recently active topics loaded for a batch: a member's top
# TOPICS_PER_DIGEST always come from these, even if some are their own posts or
# they left some of them.
TOPICS_PER_BOARD = 3 * TOPICS_PER_DIGEST
UNANSWERED_WITHIN = timedelta(days=7)
EXCERPT_CHARS = 280
FORMER_MEMBER = "a former member"


@dataclass(frozen=True)
class Member:
    """What a batch needs to know about one member."""

    user_id: int
    username: str
    covered_from: datetime
    covered_until: datetime


@dataclass(frozen=True)
class DigestPost:
    post_id: int
    author: str
    published_at: datetime
    excerpt: str  # plain text taken from the stored, sanitised HTML
    content_warning: str | None
    url: str


@dataclass
class DigestTopic:
    topic_id: int
    title: str
    board_name: str
    board_slug: str
    url: str
    is_new: bool  # started within the period
    posts: list[DigestPost] = field(default_factory=list)


@dataclass
class Digest:
    member: Member
    topics: list[DigestTopic]
    unanswered: list[DigestTopic]

    @property
    def is_empty(self) -> bool:
        return not self.topics and not self.unanswered


def excerpt_of(body_html: str, limit: int = EXCERPT_CHARS) -> str:
    """A short plain-text excerpt from a post's sanitised HTML (tags dropped, not escaped:
    the templates escape it).

    Quoted text is left out: it is someone else's post, which may have carried a content
    warning or have been hidden or deleted since.
    """
    text = html.unescape(nh3.clean(body_html, tags=set(), attributes={},
                                   clean_content_tags={"blockquote"}))
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut + "…"


class RunCache:
    """What stays true for a whole run, however many batches it has: the links to
    topics and posts (they depend on the id alone) and each post's excerpt, keyed by
    the post and a hash of its HTML, so an edit made mid-run is cut again (the HTML
    itself, up to 20,000 characters a post, would make a large key to keep). Most members of a
    board see the same posts, batch after batch; cutting an excerpt (an HTML parse)
    was a tenth of a batch's time.

    What may change mid-run (which posts are published, titles, usernames, content
    warnings) is read again by every batch, never kept here.
    """

    KEEP = 20_000  # entries of each kind; past that the cache starts again (memory flat)

    def __init__(self) -> None:
        self._excerpts: dict[tuple[int, int], str] = {}
        self._topic_urls: dict[int, str] = {}
        self._post_urls: dict[int, str] = {}

    def excerpt(self, post_id: int, body_html: str) -> str:
        return self._remember(self._excerpts, (post_id, hash(body_html)),
                              lambda key: excerpt_of(body_html))

    def topic_url(self, topic_id: int) -> str:
        return self._remember(self._topic_urls, topic_id,
                              lambda key: mail.url_for_mail("boards.topic", topic_id=key))

    def post_url(self, post_id: int) -> str:
        return self._remember(self._post_urls, post_id,
                              lambda key: mail.url_for_mail("boards.permalink", post_id=key))

    def _remember(self, store: dict, key, work):
        found = store.get(key)
        if found is None:
            if len(store) >= self.KEEP:
                store.clear()
            found = store[key] = work(key)
        return found


def build_digests(members: list[Member], cache: RunCache | None = None) -> list[Digest]:
    """Each member's digest; `cache` carries what one batch works out to the next."""
    if not members:
        return []
    ids = [member.user_id for member in members]
    since = min(member.covered_from for member in members)
    until = max(member.covered_until for member in members)

    boards_of: dict[int, set[int]] = defaultdict(set)
    topics_of: dict[int, set[int]] = defaultdict(set)
    left_by: dict[int, set[int]] = defaultdict(set)
    for user_id, board_id, topic_id, following in db.session.execute(
            sa.select(Follow.user_id, Follow.board_id, Follow.topic_id, Follow.following)
            .where(Follow.user_id.in_(ids))):
        if board_id is not None and following:
            boards_of[user_id].add(board_id)
        elif topic_id is not None:
            (topics_of if following else left_by)[user_id].add(topic_id)

    filters_of = personal_filters.for_members(ids)
    all_boards = set().union(*boards_of.values())
    all_topics = set().union(*topics_of.values())
    topics = _active_topics(all_boards, all_topics, since, until)
    posts = _newest_posts(list(topics), since, until)
    unanswered = _unanswered_topics(all_boards, until)

    # Each board's topics, most recently active first: a member's candidates are merged
    # from their boards' lists and taken only until the digest is full.
    by_board: dict[int, list[_Topic]] = defaultdict(list)
    for topic in sorted(topics.values(), key=_last_post_at, reverse=True):
        by_board[topic.board_id].append(topic)

    digests, prepared = [], _Prepared(cache or RunCache())
    for member in members:
        uid = member.user_id
        filters = filters_of.get(uid, personal_filters.NO_FILTERS)

        def wanted(topic: _Topic, filters=filters) -> bool:
            return filters.is_empty or not filters.hides(topic.author_id, topic.board_id,
                                                         topic.title)

        boards = boards_of[uid]
        followed_elsewhere = sorted(
            (topics[topic_id] for topic_id in topics_of[uid]
             if topic_id in topics and topics[topic_id].board_id not in boards),
            key=_last_post_at, reverse=True)
        candidates = heapq.merge(*(by_board[board_id] for board_id in boards),
                                 followed_elsewhere, key=_last_post_at, reverse=True)
        chosen = []
        for topic in candidates:
            if topic.topic_id in left_by[uid] or not wanted(topic):
                continue
            if topic.post_count == 1:
                continue  # nobody has answered yet: an invitation below, not news
            news = [post for post in posts.get(topic.topic_id, ())
                    if post.author_id != uid
                    and member.covered_from <= post.published_at < member.covered_until
                    and not filters.has_blocked(post.author_id)
                    and (not filters.muted_phrases
                         or filters.muted_phrase_in(prepared.text(post)) is None)]
            if not news:
                continue
            chosen.append(topic.for_digest(news[:POSTS_PER_TOPIC], member, prepared))
            if len(chosen) == TOPICS_PER_DIGEST:
                break
        shown = {topic.topic_id for topic in chosen}
        invitations = [topic.for_digest([], member, prepared) for topic in unanswered
                       if topic.board_id in boards_of[uid] and topic.author_id != uid
                       and topic.topic_id not in shown and topic.topic_id not in left_by[uid]
                       and topic.created_at < member.covered_until and wanted(topic)]
        digests.append(Digest(member, chosen, invitations[:UNANSWERED_PER_DIGEST]))
    return digests


def _last_post_at(topic: _Topic) -> datetime:
    return topic.last_post_at


# --- the batch's queries -----------------------------------------------------------------

@dataclass(frozen=True)
class _Topic:
    topic_id: int
    board_id: int
    author_id: int | None
    title: str
    board_name: str
    board_slug: str
    created_at: datetime
    last_post_at: datetime
    post_count: int  # published posts

    def for_digest(self, news: list[_Post], member: Member, prepared: _Prepared) -> DigestTopic:
        return DigestTopic(
            self.topic_id, self.title, self.board_name, self.board_slug,
            prepared.topic_url(self.topic_id), is_new=self.created_at >= member.covered_from,
            posts=[prepared.post(post) for post in news])


class _Prepared:
    """What a batch works out once, however many members see it: each post as a digest
    shows it, and its words for muted phrases."""

    def __init__(self, cache: RunCache) -> None:
        self._cache = cache
        self._posts: dict[int, DigestPost] = {}
        self._texts: dict[int, str] = {}

    def post(self, post: _Post) -> DigestPost:
        if post.post_id not in self._posts:
            self._posts[post.post_id] = DigestPost(
                post.post_id, post.author, post.published_at,
                "" if post.content_warning else self._cache.excerpt(post.post_id, post.body_html),
                post.content_warning, self._cache.post_url(post.post_id))
        return self._posts[post.post_id]

    def text(self, post: _Post) -> str:
        """The post's words (content warning and body, tags dropped), for muted phrases."""
        if post.post_id not in self._texts:
            self._texts[post.post_id] = " ".join(
                (post.content_warning or "", personal_filters.text_of_html(post.body_html)))
        return self._texts[post.post_id]

    def topic_url(self, topic_id: int) -> str:
        return self._cache.topic_url(topic_id)


@dataclass(frozen=True)
class _Post:
    post_id: int
    topic_id: int
    author_id: int | None
    author: str
    published_at: datetime
    body_html: str
    content_warning: str | None


_TOPIC_COLUMNS = (Topic.id, Topic.board_id, Topic.author_id, Topic.title, Board.name,
                  Board.slug, Topic.created_at, Topic.last_post_at, Topic.post_count)


def _listed(query):
    return query.join(Board, Board.id == Topic.board_id).where(
        Topic.status == PostStatus.PUBLISHED)


def _active_topics(board_ids: set[int], topic_ids: set[int], since: datetime,
                   until: datetime) -> dict[int, _Topic]:
    """Each followed board's most recently active topics, and the followed topics that
    moved, in the period (two queries)."""
    found: dict[int, _Topic] = {}
    if board_ids:
        rank = sa.func.row_number().over(partition_by=Topic.board_id,
                                         order_by=Topic.last_post_at.desc()).label("rank")
        ranked = _listed(sa.select(*_TOPIC_COLUMNS, rank)).where(
            Topic.board_id.in_(sorted(board_ids)), Topic.last_post_at >= since,
            Topic.created_at < until).subquery()
        rows = db.session.execute(sa.select(*[column for column in ranked.c
                                              if column.name != "rank"])
                                  .where(ranked.c.rank <= TOPICS_PER_BOARD))
        found.update((row[0], _Topic(*row)) for row in rows)
    wanted = sorted(topic_ids - found.keys())
    for chunk in _chunks(wanted, 1000):
        rows = db.session.execute(_listed(sa.select(*_TOPIC_COLUMNS)).where(
            Topic.id.in_(chunk), Topic.last_post_at >= since))
        found.update((row[0], _Topic(*row)) for row in rows)
    return found


def _newest_posts(topic_ids: list[int], since: datetime,
                  until: datetime) -> dict[int, list[_Post]]:
    """The newest published posts of each topic in the period, newest first.

    A few more than a digest shows, so that a member's own posts can be left out.
    They are ranked from an index alone (ix_posts_topic_published); only the few
    kept are read from the table: reading every post of a batch's topics, bodies
    and all, to rank them was most of a batch's time.
    """
    found: dict[int, list[_Post]] = defaultdict(list)
    author = sa.func.coalesce(User.username, FORMER_MEMBER).label("author")
    for chunk in _chunks(sorted(topic_ids), 1000):
        rank = sa.func.row_number().over(partition_by=Post.topic_id,
                                         order_by=(Post.published_at.desc(), Post.id.desc())
                                         ).label("rank")
        ranked = (sa.select(Post.id, rank)
                  .where(Post.topic_id.in_(chunk), Post.status == PostStatus.PUBLISHED,
                         Post.published_at >= since, Post.published_at < until)
                  .subquery())
        rows = db.session.execute(
            sa.select(Post.id, Post.topic_id, Post.author_id, author, Post.published_at,
                      Post.body_html, Post.content_warning)
            .join(ranked, ranked.c.id == Post.id)
            .outerjoin(User, User.id == Post.author_id)
            .where(ranked.c.rank <= 2 * POSTS_PER_TOPIC)
            .order_by(Post.topic_id, Post.published_at.desc(), Post.id.desc()))
        for row in rows:
            found[row.topic_id].append(_Post(*row))
    return found


def _unanswered_topics(board_ids: set[int], until: datetime) -> list[_Topic]:
    """Each followed board's newest topics that nobody has answered yet (one query)."""
    if not board_ids:
        return []
    rank = sa.func.row_number().over(partition_by=Topic.board_id,
                                     order_by=Topic.created_at.desc()).label("rank")
    ranked = _listed(sa.select(*_TOPIC_COLUMNS, rank)).where(
        Topic.board_id.in_(sorted(board_ids)), Topic.post_count == 1,
        Topic.created_at >= until - UNANSWERED_WITHIN, Topic.created_at < until).subquery()
    rows = db.session.execute(
        sa.select(*[column for column in ranked.c if column.name != "rank"])
        .where(ranked.c.rank <= 2 * UNANSWERED_PER_DIGEST)
        .order_by(ranked.c.created_at.desc()))
    return [_Topic(*row) for row in rows]


def _chunks(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
