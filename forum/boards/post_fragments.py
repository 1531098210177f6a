"""The posts of a topic page, each rendered once per what makes it differ for a viewer.

A post's HTML (templates/macros/posts.html) is a function of the post as it stands at
the topic's revision and of a few facts about the viewer: whether it is their own post,
folded for them (a block or a muted phrase), which reaction buttons they have, whether
they moderate the board... The macro reads nothing but its arguments, so its output is
kept under (topic, revision, post, those facts) and served to every viewer whose facts
are the same: most posts look alike to most members, and a member reading a thread
again gets every post from memory. Nothing of the session is in a post: its buttons
belong to the page's one form, which carries the CSRF field. Pending and hidden posts
never reach here (forum.queries.posts_page reads only a thread's statuses), so nothing
kept can show one.

The facts are worked out per post as a plain tuple (the cache key); the Viewer the
macro reads is only built from it when a post is rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app, get_template_attribute

from ..members.views import fold_reason, may_block
from ..models import PostStatus
from ..page_cache import PageCache
from ..personal_filters import PersonalFilters
from ..services.reactions import KINDS, LABELS, Button, ReactionState
from .threads import TopicFacts


@dataclass(frozen=True)
class Viewer:
    """Everything about the viewer that one post's HTML depends on (what the macro reads)."""

    signed_in: bool = False
    own: bool = False
    may_report: bool = False
    moderates: bool = False
    why_folded: dict | None = None  # post_filter's answer
    block: str | None = None  # "block", "unblock" or None (no button)
    received: tuple[tuple[str, int], ...] = ()
    buttons: tuple[Button, ...] = ()
    sent: tuple[str, ...] = ()


VISITOR = Viewer()


@dataclass(frozen=True)
class Reader:
    """What holds for the signed-in viewer over the whole page, worked out once."""

    user_id: int
    verified: bool
    moderates: bool
    filters: PersonalFilters
    reactions: ReactionState


# The facts of one published post for a signed-in reader, as a tuple (the cache key):
# own, fold (("blocked",), ("phrase", the muted phrase) or None), block button, may
# report, may send reactions, kinds sent, counts received.
Facts = tuple


def _facts(post, reader: Reader) -> Facts:
    own = post.author_id == reader.user_id
    why = fold_reason(reader.filters, post)
    fold = (
        None if why is None else ("blocked",) if why.get("blocked") else ("phrase", why["phrase"])
    )
    block = None
    if may_block(reader.user_id, post):
        block = "unblock" if reader.filters.has_blocked(post.author_id) else "block"
    reactions = reader.reactions
    sent = reactions.given.get(post.id)
    return (
        own,
        fold,
        block,
        not own and reader.verified,
        post.id in reactions.open,
        tuple(kind for kind in KINDS if kind in sent) if sent else (),
        tuple(sorted(reactions.counts[post.id].items())) if own else (),
    )


def _why_folded(fold: tuple | None) -> dict | None:
    """fold_reason's answer again, from the fold in a post's facts (a phrase muted by a
    member can be any word, "blocked" too: the two kinds never share a key)."""
    if fold is None:
        return None
    return {"blocked": True} if fold[0] == "blocked" else {"phrase": fold[1]}


def _viewer(facts: Facts, reader: Reader) -> Viewer:
    own, fold, block, may_report, may_send, sent, received = facts
    counts = dict(received)
    return Viewer(
        signed_in=True,
        own=own,
        may_report=may_report,
        moderates=reader.moderates,
        why_folded=_why_folded(fold),
        block=block,
        received=tuple((LABELS[kind], counts[kind]) for kind in KINDS if counts.get(kind)),
        buttons=tuple(
            Button(kind, LABELS[kind], kind in sent) for kind in KINDS if may_send or kind in sent
        ),
        sent=tuple(LABELS[kind] for kind in sent),
    )


def render_posts(topic: TopicFacts, posts: Sequence, reader: Reader | None) -> str:
    """The page's <article>s for the reader (None for a logged-out visitor)."""
    store: PageCache = current_app.extensions["post_fragments"]
    page = (topic.id, topic.revision, reader.moderates) if reader else topic.id
    parts = []
    for post in posts:
        if reader is None or post.status != PostStatus.PUBLISHED:
            facts: Facts | None = None  # a visitor, or a placeholder: the same for everyone
            key: tuple = (topic.id, topic.revision, post.id)
        else:
            facts = _facts(post, reader)
            key = (page, post.id, facts)
        html = store.get(key)
        if html is None:
            viewer = VISITOR if facts is None or reader is None else _viewer(facts, reader)
            article = get_template_attribute("macros/posts.html", "post_article")
            html = str(article(post, topic, viewer))
            store.put(key, html)
        parts.append(html)
    return "\n".join(parts)
