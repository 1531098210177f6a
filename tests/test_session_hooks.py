"""The session hooks are attached once per process however many apps it builds.

A hook attached twice would run twice: one report would count as two items waiting in
the moderators' queue. And each hook still does its work when attached from create_app.
"""

from __future__ import annotations

import sqlalchemy as sa

from forum import create_app, session_hooks
from forum.extensions import db
from forum.models import Post, Topic
from forum.services import queue_counts
from tests.helpers.moderation import report


def times_attached(target, event: str, listener) -> int:
    """How many times SQLAlchemy would call `listener` (it has no public count)."""
    if target is sa.Engine:  # "connect" is a pool event: SQLAlchemy keeps it on Pool
        target = sa.pool.Pool
    collection = getattr(target.dispatch, event)
    if isinstance(target, type):
        collection = collection._clslevel[target]
    return list(collection).count(listener)


def test_every_hook_is_attached_once_after_two_more_apps(app_config):
    create_app(app_config)
    create_app(app_config)
    hooks = session_hooks.listeners()
    # The SQLite pragmas, revisions, queue counts, six for search, two for notice mail.
    assert len(hooks) == 11
    for target, event, listener in hooks:
        assert sa.event.contains(target, event, listener), listener.__qualname__
        assert times_attached(target, event, listener) == 1, listener.__qualname__


def test_each_change_is_counted_once_after_two_more_apps(app, app_config, make):
    create_app(app_config)
    create_app(app_config)
    topic = make.topic(make.user("elm"), make.board(), title="Evenings")
    with app.app_context():
        before = db.session.get(Topic, topic.id).revision
    make.reply(make.user("quietfern"), topic, "Mine are quiet")
    with app.app_context():
        assert db.session.get(Topic, topic.id).revision == before + 1
        post_id = db.session.scalar(sa.select(Post.id).where(Post.topic_id == topic.id))
    report(app, make.user("watcher"), post_id)
    with app.app_context():
        waiting = queue_counts.stored_counts(db.session)
    assert sum(waiting.values()) == 1
