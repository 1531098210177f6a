"""Supportive reactions: "Thinking of you", "I hear you", "This helped me", "Me too".

One of each kind per member per post (the primary key), undoable. Only a post's
author ever sees how many it got, per kind; nobody sees who sent them, and nothing
is sorted or ranked by them. Writes are single statements on the primary key, so a
double click or two tabs at once end in one row (INSERT ... ON CONFLICT DO NOTHING),
never an IntegrityError.

Reactions from members the author blocked still count: the author sees counts,
never names, so there is nothing to hide, and refusing them would tell the blocked
member they were blocked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .. import permissions
from ..extensions import db
from ..models import Post, PostStatus, Reaction, ReactionKind, Topic, User, utcnow
from . import PermissionDenied, ServiceError, transaction

#: What members read on the buttons, in the order they are shown.
LABELS: dict[str, str] = {
    ReactionKind.THINKING_OF_YOU: "Thinking of you",
    ReactionKind.I_HEAR_YOU: "I hear you",
    ReactionKind.HELPED_ME: "This helped me",
    ReactionKind.ME_TOO: "Me too",
}
KINDS: tuple[str, ...] = tuple(LABELS)


def _kind_or_error(kind: str | None) -> str:
    if kind not in LABELS:
        raise ServiceError("Choose one of the reactions shown under the post.", field="kind")
    return kind


def add(user: User, post: Post, kind: str) -> bool:
    """Send one reaction; True if it is new, False if the member had already sent it."""
    kind = _kind_or_error(kind)
    if (refusal := permissions.why_cannot_react(user, post)) is not None:
        raise PermissionDenied(refusal)
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    statement = (insert(Reaction)
                 .values(post_id=post.id, user_id=user.id, kind=kind, created_at=utcnow())
                 .on_conflict_do_nothing(index_elements=["post_id", "user_id", "kind"]))
    with transaction():
        return db.session.execute(statement).rowcount == 1


def remove(user: User, post: Post, kind: str) -> bool:
    """Take a reaction back; True if there was one. Always allowed for one's own reaction
    (even while suspended, or after the topic was locked)."""
    kind = _kind_or_error(kind)
    if not permissions.is_member(user):
        raise PermissionDenied("Please log in.")
    with transaction():
        result = db.session.execute(sa.delete(Reaction).where(
            Reaction.post_id == post.id, Reaction.user_id == user.id, Reaction.kind == kind))
        return result.rowcount == 1


def toggle(user: User, post: Post, kind: str) -> bool:
    """Send the reaction if the member has not, else take it back; True if it is now sent.

    Pages send add or remove (what the button showed), so that a double click does not
    undo itself; this is for callers that only know "the other way".
    """
    kind = _kind_or_error(kind)
    given = db.session.scalar(sa.select(sa.literal(True)).where(
        Reaction.post_id == post.id, Reaction.user_id == user.id, Reaction.kind == kind))
    if given:
        remove(user, post, kind)
        return False
    add(user, post, kind)
    return True


# --- reading, for the topic page ---------------------------------------------------------

@dataclass(frozen=True)
class Button:
    kind: str
    label: str
    pressed: bool  # the viewer sent it: pressing takes it back


@dataclass(frozen=True)
class ReactionState:
    """What one viewer may know about the reactions on one page of posts.

    `given` holds the kinds the viewer sent, per post; `counts` holds per-kind counts
    for the viewer's own posts only, so a template cannot show anyone else's; `open`
    the posts the viewer may send a reaction to.
    """

    given: dict[int, frozenset[str]] = field(default_factory=dict)
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    open: frozenset[int] = frozenset()

    def sent_labels(self, post_id: int) -> list[str]:
        sent = self.given.get(post_id, frozenset())
        return [LABELS[kind] for kind in KINDS if kind in sent]

    def buttons(self, post_id: int) -> list[Button]:
        """The viewer's buttons for a post: every kind where they may send one, else only
        those they sent (to take back), else none."""
        sent = self.given.get(post_id, frozenset())
        may_send = post_id in self.open
        return [Button(kind, LABELS[kind], kind in sent) for kind in KINDS
                if may_send or kind in sent]

    def received(self, post_id: int) -> list[tuple[str, int]]:
        """(label, count) of each kind the post got, in button order, if the viewer wrote
        it; else nothing."""
        counts = self.counts.get(post_id, {})
        return [(LABELS[kind], counts[kind]) for kind in KINDS if counts.get(kind)]


NO_REACTIONS = ReactionState()


def state_for(user: User | None, topic: Topic, posts: Iterable) -> ReactionState:
    """The viewer's reactions and (on their own posts) the counts, for a page of posts.

    `posts` are rows with id, author_id and status (forum.queries.posts_page). One query
    whatever the number of posts, none for a logged-out visitor.
    """
    if not permissions.is_member(user):
        return NO_REACTIONS
    published = [post for post in posts if post.status == PostStatus.PUBLISHED]
    if not published:
        return ReactionState()
    post_ids = [post.id for post in published]
    own_ids = [post.id for post in published if post.author_id == user.id]
    open_ids = frozenset(
        post.id for post in published if permissions.why_cannot_react(
            user, SimpleNamespace(status=post.status, author_id=post.author_id,
                                  topic=topic)) is None)
    condition = Reaction.user_id == user.id
    if own_ids:
        condition = sa.or_(condition, Reaction.post_id.in_(own_ids))
    rows = db.session.execute(
        sa.select(Reaction.post_id, Reaction.kind, sa.func.count(),
                  sa.func.max(sa.case((Reaction.user_id == user.id, 1), else_=0)))
        .where(Reaction.post_id.in_(post_ids), condition)
        .group_by(Reaction.post_id, Reaction.kind))
    given: dict[int, set[str]] = defaultdict(set)
    counts: dict[int, dict[str, int]] = {post_id: {} for post_id in own_ids}
    for post_id, kind, number, mine in rows:
        if mine:
            given[post_id].add(kind)
        if post_id in counts:
            counts[post_id][kind] = number
    return ReactionState(given={post_id: frozenset(kinds) for post_id, kinds in given.items()},
                         counts=counts, open=open_ids)


def kinds_sent(user: User, post: Post) -> frozenset[str]:
    """The kinds this member sent to one post (for the answer to a script's request)."""
    return frozenset(db.session.scalars(sa.select(Reaction.kind).where(
        Reaction.post_id == post.id, Reaction.user_id == user.id)))
