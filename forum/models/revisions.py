"""Topic revisions: the number cached copies of a topic's pages are keyed by."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from ..extensions import db
from ..listeners import Listener, attach_once
from .posts import Post, Topic


def _bump_topic_revisions(session: Session, flush_context, instances) -> None:
    """Any ORM change to a post or a topic moves its topic's revision on.

    This is what keeps cached topic pages honest: a reply, an edit, a deletion,
    a post hidden by a moderator or a renamed topic can never be served from a
    stale copy, whichever service made the change. (Bulk sa.update() statements
    on posts bypass the ORM: a service that uses one must bump the revision too.)
    """
    changed: set[int] = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, Post):
            topic_id = instance.topic_id
            if topic_id is None and instance.topic is not None:
                topic_id = instance.topic.id  # None for a topic being created: nothing cached
            if topic_id is not None:
                changed.add(topic_id)
        elif (
            isinstance(instance, Topic)
            and instance.id is not None
            and session.is_modified(instance, include_collections=False)
        ):
            changed.add(instance.id)
    if not changed:
        return
    with session.no_autoflush:
        for topic_id in changed:
            topic = session.get(Topic, topic_id)
            if topic is not None:
                topic.revision = Topic.revision + 1


def move_on_topics_written_by(session: Session | scoped_session, member_id: int) -> None:
    """Within the caller's transaction: every thread the member wrote in shows something
    of them that is about to change (their name, or whether others may block them), so
    kept copies of its pages must not be served again. A bulk UPDATE: the ORM hook above
    does not see it."""
    session.execute(
        sa.update(Topic)
        .where(Topic.id.in_(sa.select(Post.topic_id).where(Post.author_id == member_id)))
        .values(revision=Topic.revision + 1)
        .execution_options(synchronize_session=False)
    )


def move_on_every_topic() -> None:
    """Within the caller's transaction (a repair of the database): every kept copy of a
    page is made from rows the caller changed behind the ORM's back."""
    db.session.execute(
        sa.update(Topic)
        .values(revision=Topic.revision + 1)
        .execution_options(synchronize_session=False)
    )


LISTENERS: tuple[Listener, ...] = ((Session, "before_flush", _bump_topic_revisions),)


def attach_listeners() -> None:
    """Called by forum.session_hooks; a second call adds nothing."""
    attach_once(LISTENERS)
