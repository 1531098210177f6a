"""What goes in each member's digest, for a whole batch of members at once.

The batch's posts and topics are loaded in a fixed number of queries, whatever its
size (forum.digests.load); each member's digest is then picked out in Python. There
are no popularity counts. Each member's blocks and mutes (forum.personal_filters,
loaded for the whole batch in one query) leave out boards they muted, topics and
posts by members they blocked, and topics or posts that mention a word they muted.
"""

from __future__ import annotations

import heapq
import html
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import nh3

from .. import mail, personal_filters
from ..personal_filters import PersonalFilters
from . import POSTS_PER_TOPIC, TOPICS_PER_DIGEST, UNANSWERED_PER_DIGEST, load
from .load import PostRow, TopicRow

EXCERPT_CHARS = 280


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
    # The opening post's, for a topic waiting for a first reply (its only post, shown as
    # the topic alone): the label goes with the topic's link.
    content_warning: str | None = None


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
    text = html.unescape(
        nh3.clean(body_html, tags=set(), attributes={}, clean_content_tags={"blockquote"})
    )
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
        return self._remember(
            self._excerpts, (post_id, hash(body_html)), lambda key: excerpt_of(body_html)
        )

    def topic_url(self, topic_id: int) -> str:
        return self._remember(
            self._topic_urls, topic_id, lambda key: mail.url_for_mail("boards.topic", topic_id=key)
        )

    def post_url(self, post_id: int) -> str:
        return self._remember(
            self._post_urls, post_id, lambda key: mail.url_for_mail("boards.permalink", post_id=key)
        )

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
    batch = _Batch.read(members, cache or RunCache())
    return [batch.digest_for(member) for member in members]


@dataclass
class _Batch:
    """Everything a batch's digests are picked from, loaded once for all its members."""

    followed: load.Followed
    filters_of: dict[int, PersonalFilters]
    topics: dict[int, TopicRow]
    posts: dict[int, list[PostRow]]
    unanswered: list[TopicRow]
    # Each board's topics, most recently active first: a member's candidates are merged
    # from their boards' lists and taken only until the digest is full.
    by_board: dict[int, list[TopicRow]]
    prepared: _Prepared

    @classmethod
    def read(cls, members: list[Member], cache: RunCache) -> _Batch:
        ids = [member.user_id for member in members]
        since = min(member.covered_from for member in members)
        until = max(member.covered_until for member in members)
        followed = load.follows_of(ids)
        all_boards = set().union(*followed.boards_of.values())
        all_topics = set().union(*followed.topics_of.values())
        topics = load.active_topics(all_boards, all_topics, since, until)
        by_board: dict[int, list[TopicRow]] = defaultdict(list)
        for topic in sorted(topics.values(), key=_last_post_at, reverse=True):
            by_board[topic.board_id].append(topic)
        return cls(
            followed,
            personal_filters.for_members(ids),
            topics,
            load.newest_posts(list(topics), since, until),
            load.unanswered_topics(all_boards, until),
            by_board,
            _Prepared(cache),
        )

    def digest_for(self, member: Member) -> Digest:
        filters = self.filters_of.get(member.user_id, personal_filters.NO_FILTERS)
        chosen = self._news(member, filters)
        shown = {topic.topic_id for topic in chosen}
        return Digest(member, chosen, self._invitations(member, filters, shown))

    def _candidates(self, member: Member) -> Iterable[TopicRow]:
        """The member's boards' topics and the topics they follow elsewhere, most
        recently active first."""
        boards = self.followed.boards_of[member.user_id]
        followed_elsewhere = sorted(
            (
                self.topics[topic_id]
                for topic_id in self.followed.topics_of[member.user_id]
                if topic_id in self.topics and self.topics[topic_id].board_id not in boards
            ),
            key=_last_post_at,
            reverse=True,
        )
        return heapq.merge(
            *(self.by_board[board_id] for board_id in boards),
            followed_elsewhere,
            key=_last_post_at,
            reverse=True,
        )

    def _news(self, member: Member, filters: PersonalFilters) -> list[DigestTopic]:
        """Topics with replies new to the member, until the digest is full."""
        left = self.followed.left_by[member.user_id]
        chosen = []
        for topic in self._candidates(member):
            if topic.topic_id in left or not _wanted(topic, filters):
                continue
            if topic.post_count == 1:
                continue  # nobody has answered yet: an invitation below, not news
            news = [  # inline, not a call per post: this runs for every post of a batch
                post
                for post in self.posts.get(topic.topic_id, ())
                if post.author_id != member.user_id
                and member.covered_from <= post.published_at < member.covered_until
                and not filters.has_blocked(post.author_id)
                and (
                    not filters.muted_phrases
                    or filters.muted_phrase_in(self.prepared.text(post)) is None
                )
            ]
            if not news:
                continue
            chosen.append(self.prepared.topic(topic, news[:POSTS_PER_TOPIC], member))
            if len(chosen) == TOPICS_PER_DIGEST:
                break
        return chosen

    def _invitations(
        self, member: Member, filters: PersonalFilters, shown: set[int]
    ) -> list[DigestTopic]:
        """The newest topics in the member's boards that nobody has answered yet."""
        uid = member.user_id
        invitations = [
            self.prepared.topic(topic, [], member)
            for topic in self.unanswered
            if topic.board_id in self.followed.boards_of[uid]
            and topic.author_id != uid
            and topic.topic_id not in shown
            and topic.topic_id not in self.followed.left_by[uid]
            and topic.created_at < member.covered_until
            and _wanted(topic, filters)
        ]
        return invitations[:UNANSWERED_PER_DIGEST]


def _wanted(topic: TopicRow, filters: PersonalFilters) -> bool:
    return filters.is_empty or not filters.hides(topic.author_id, topic.board_id, topic.title)


def _last_post_at(topic: TopicRow) -> datetime:
    return topic.last_post_at


class _Prepared:
    """What a batch works out once, however many members see it: each post as a digest
    shows it, and its words for muted phrases."""

    def __init__(self, cache: RunCache) -> None:
        self._cache = cache
        self._posts: dict[int, DigestPost] = {}
        self._texts: dict[int, str] = {}

    def post(self, post: PostRow) -> DigestPost:
        if post.post_id not in self._posts:
            self._posts[post.post_id] = DigestPost(
                post.post_id,
                post.author,
                post.published_at,
                "" if post.content_warning else self._cache.excerpt(post.post_id, post.body_html),
                post.content_warning,
                self._cache.post_url(post.post_id),
            )
        return self._posts[post.post_id]

    def text(self, post: PostRow) -> str:
        """The post's words (content warning and body, tags dropped), for muted phrases."""
        if post.post_id not in self._texts:
            self._texts[post.post_id] = " ".join(
                (post.content_warning or "", personal_filters.text_of_html(post.body_html))
            )
        return self._texts[post.post_id]

    def topic(self, topic: TopicRow, news: list[PostRow], member: Member) -> DigestTopic:
        return DigestTopic(
            topic.topic_id,
            topic.title,
            topic.board_name,
            topic.board_slug,
            self._cache.topic_url(topic.topic_id),
            is_new=topic.created_at >= member.covered_from,
            posts=[self.post(post) for post in news],
            content_warning=topic.content_warning,
        )
