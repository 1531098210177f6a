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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .. import permissions, viewer_rows
from ..extensions import db
from ..models import Post, PostStatus, Reaction, ReactionKind, User, utcnow
from . import PermissionDenied, ServiceError, rows_changed, transaction

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
    insert = (
        postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    statement = (
        insert(Reaction)
        .values(post_id=post.id, user_id=user.id, kind=kind, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["post_id", "user_id", "kind"])
    )
    with transaction():
        return rows_changed(statement) == 1


def remove(user: User, post: Post, kind: str) -> bool:
    """Take a reaction back; True if there was one. Always allowed for one's own reaction
    (even while suspended, or after the topic was locked)."""
    kind = _kind_or_error(kind)
    if not permissions.is_member(user):
        raise PermissionDenied("Please log in.")
    with transaction():
        removed = rows_changed(
            sa.delete(Reaction).where(
                Reaction.post_id == post.id, Reaction.user_id == user.id, Reaction.kind == kind
            )
        )
        return removed == 1


def toggle(user: User, post: Post, kind: str) -> bool:
    """Send the reaction if the member has not, else take it back; True if it is now sent.

    Pages send add or remove (what the button showed), so that a double click does not
    undo itself; this is for callers that only know "the other way".
    """
    kind = _kind_or_error(kind)
    given = db.session.scalar(
        sa.select(sa.literal(True)).where(
            Reaction.post_id == post.id, Reaction.user_id == user.id, Reaction.kind == kind
        )
    )
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


def page_part() -> sa.Select:
    """The viewer's own reactions on a page of a thread's posts, and every reaction on
    their own posts there, in forum.viewer_rows' shape ("r"): the post in `a`, how many
    in `b`, 1 in `c` if the viewer sent one, the kind in `s1`. Parameters (from
    page_parameters): "viewer", "topic_id", and the page's first and last post ids (a
    page is a run of the thread's posts in id order)."""
    mine = sa.func.max(sa.case((Reaction.user_id == sa.bindparam("viewer"), 1), else_=0))
    return (
        sa.select(*viewer_rows.row("r", Reaction.post_id, sa.func.count(), mine, Reaction.kind))
        .join(Post, Post.id == Reaction.post_id)
        .where(
            Post.topic_id == sa.bindparam("topic_id"),
            Post.id.between(sa.bindparam("first_id"), sa.bindparam("last_id")),
            Post.status == PostStatus.PUBLISHED,
            sa.or_(
                Reaction.user_id == sa.bindparam("viewer"),
                Post.author_id == sa.bindparam("viewer"),
            ),
        )
        .group_by(Reaction.post_id, Reaction.kind)
    )


def page_parameters(user: User, topic_id: int, posts: Sequence) -> dict[str, object]:
    """page_part's parameters for a page of a thread's posts (rows with id, in order)."""
    return {
        "viewer": user.id,
        "topic_id": topic_id,
        "first_id": posts[0].id if posts else 0,
        "last_id": posts[-1].id if posts else 0,
    }


def state_from(
    user: User, topic: permissions.TopicLike, posts: Iterable, rows: Iterable[Sequence]
) -> ReactionState:
    """The ReactionState from page_part's rows, without their kind letter: (post, how
    many, sent by the viewer, kind)."""
    viewer = user.id  # read once: an ORM attribute costs a call per read
    published = [
        (post.id, post.author_id == viewer) for post in posts if post.status == PostStatus.PUBLISHED
    ]
    # The answer depends on the post only through whether it is the viewer's own (all
    # are published): asked at most twice, not once per post.
    open_to = {
        own: permissions.why_cannot_react_to(
            user, topic, PostStatus.PUBLISHED, viewer if own else None
        )
        is None
        for own in (True, False)
    }
    open_ids = frozenset(post_id for post_id, own in published if open_to[own])
    given: dict[int, set[str]] = defaultdict(set)
    counts: dict[int, dict[str, int]] = {post_id: {} for post_id, own in published if own}
    for post_id, number, mine, kind in rows:
        if mine:
            given[post_id].add(kind)
        if post_id in counts:
            counts[post_id][kind] = number
    return ReactionState(
        given={post_id: frozenset(kinds) for post_id, kinds in given.items()},
        counts=counts,
        open=open_ids,
    )


def kinds_sent(user: User, post: Post) -> frozenset[str]:
    """The kinds this member sent to one post (for the answer to a script's request)."""
    return frozenset(
        db.session.scalars(
            sa.select(Reaction.kind).where(Reaction.post_id == post.id, Reaction.user_id == user.id)
        )
    )
