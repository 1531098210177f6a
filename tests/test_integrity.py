"""`flask forum check [--repair]`: finding and fixing an inconsistent database.

The damage is done with raw SQL on a connection of its own with foreign keys switched
off (SQLite's pragma, PostgreSQL's replica role), as a crash, a bad restore or a
hand-edit would leave it; the same tests run on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import (
    Board,
    Follow,
    MailSettings,
    Post,
    PostStatus,
    ReviewItem,
    Topic,
    User,
    UTCDateTime,
)
from forum.services import moderation, posting


@pytest.fixture
def sabotage(app):
    """Run raw SQL as a careless operator would: no foreign keys, no services."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    engine = sa.create_engine(url)

    def run(statement: str, **params):
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            else:
                connection.exec_driver_sql("SET session_replication_role = replica")
            text = sa.text(statement)
            if "at" in params:
                text = text.bindparams(sa.bindparam("at", type_=UTCDateTime()))
            connection.execute(text, params)
            connection.commit()

    yield run
    engine.dispose()


def check(runner, *args):
    result = runner.invoke(args=["forum", "check", *args])
    return result.exit_code, result.output


@pytest.fixture
def forum(app, make):
    """Two boards with published, held, hidden, deleted and moved posts, all made
    through the services: a forum as it is after ordinary use."""
    anxiety, grief = make.board("anxiety"), make.board("grief")
    alice, bob = make.user("alice"), make.user("bob")
    moderator = make.user("mod", role="moderator", moderates_all=True)
    newcomer = make.user("newcomer", trusted=False)
    busy = make.topic(alice, anxiety, "Evenings are hard")
    replies = [make.reply(bob, busy, f"Reply {n}") for n in range(3)]
    moved = make.topic(bob, anxiety, "Wrong board")
    make.reply(alice, moved, "Still here")
    held = make.topic(newcomer, grief, "My first topic")
    with app.test_request_context():
        mod = db.session.get(User, moderator.id)
        # Hidden by a moderator, deleted by its author, a topic moved to another board.
        item = moderation.report(
            db.session.get(User, alice.id), db.session.get(Post, replies[0].id), "spam"
        )
        moderation.decide(mod, item, item.version, "hide", reason="Spam")
        posting.delete_post(db.session.get(User, bob.id), db.session.get(Post, replies[1].id))
        first_of_moved = db.session.scalar(
            sa.select(sa.func.min(Post.id)).where(Post.topic_id == moved.id)
        )
        item = moderation.report(
            db.session.get(User, alice.id),
            db.session.get(Post, first_of_moved),
            "other",
            "Wrong board",
        )
        moderation.decide(mod, item, item.version, "move", board_id=grief.id)
    return {
        "anxiety": anxiety,
        "grief": grief,
        "alice": alice,
        "bob": bob,
        "busy": busy,
        "replies": replies,
        "moved": moved,
        "held": held,
        "newcomer": newcomer,
    }


def test_a_forum_used_through_the_services_is_consistent(runner, forum):
    code, output = check(runner)
    assert code == 0, output
    assert output.strip() == "The database is consistent."
    code, output = check(runner, "--repair")
    assert code == 0 and "The database is consistent." in output


def test_check_reports_every_kind_of_damage_and_repair_fixes_what_can_be_derived(
    app, runner, forum, sabotage
):
    busy, anxiety, grief = forum["busy"], forum["anxiety"], forum["grief"]
    bob, held = forum["bob"], forum["held"]
    kept_reply = forum["replies"][2]
    with app.app_context():
        held_post = db.session.scalar(sa.select(Post.id).where(Post.topic_id == held.id))
        held_item = db.session.scalar(
            sa.select(ReviewItem.id).where(ReviewItem.post_id == held_post)
        )
        reported_item = db.session.scalar(
            sa.select(ReviewItem.id).where(ReviewItem.post_id == forum["replies"][0].id)
        )
        bobs_follows = db.session.scalar(
            sa.select(sa.func.count()).select_from(Follow).where(Follow.user_id == bob.id)
        )
        published_in_busy = db.session.scalar(
            sa.select(sa.func.count()).where(
                Post.topic_id == busy.id, Post.status == PostStatus.PUBLISHED
            )
        )
        board_posts = db.session.get(Board, anxiety.id).post_count
    # The first post and the one reply neither hidden nor deleted; the other topic moved.
    assert (published_in_busy, board_posts, bobs_follows > 0) == (2, 2, True)

    sabotage("UPDATE topics SET post_count = 40 WHERE id = :id", id=busy.id)
    sabotage(
        "UPDATE boards SET topic_count = 9, post_count = 0, last_post_at = NULL WHERE id = :id",
        id=anxiety.id,
    )
    sabotage(
        "UPDATE topics SET last_post_at = :at WHERE id = :id",
        at=datetime(2001, 1, 1, tzinfo=UTC),
        id=busy.id,
    )
    sabotage(
        "UPDATE review_items SET board_id = :board WHERE id = :id", board=grief.id, id=reported_item
    )
    sabotage("DELETE FROM users WHERE id = :id", id=bob.id)  # his posts and follows stay
    sabotage("DELETE FROM posts WHERE id = :id", id=held_post)  # topic without first post
    sabotage("UPDATE posts SET topic_id = 999999 WHERE id = :id", id=kept_reply.id)

    code, output = check(runner)
    assert code == 1
    lines = output.splitlines()
    # The kept reply now points at no topic, so one published post is left in it.
    assert f"topic {busy.id}: post count is 40, but it has 1 published post" in lines
    assert f"board {anxiety.id}: topic count is 9, but it lists 1 published topic" in lines
    assert (
        f"board {anxiety.id}: post count is 0, but its listed topics hold 1 published post" in lines
    )
    assert f"board {anxiety.id}: last-post time is older than its newest published post" in lines
    assert f"topic {busy.id}: last-post time is older than its newest published post" in lines
    assert (
        f"posts {kept_reply.id}: author_id points at users {bob.id}, which does not "
        "exist (repair clears author_id)" in lines
    )
    assert any(
        line.startswith("follows ") and f"user_id points at users {bob.id}" in line
        for line in lines
    )
    assert (
        f"review_items {held_item}: post_id points at posts {held_post}, which does not "
        "exist (repair removes the row)" in lines
    )
    assert (
        f"review item {reported_item}: filed under another board than its post's topic "
        "(moderators of that board do not see it)" in lines
    )
    not_repairable = [
        f"topic {held.id}: has no posts, so its first post is missing (cannot be repaired: "
        "decide by hand, or restore a backup)",
        f"posts {kept_reply.id}: topic_id points at topics 999999, which does not exist "
        "(cannot be repaired: decide by hand, or restore a backup)",
    ]
    assert all(line in lines for line in not_repairable)
    assert lines[-1].endswith(f"problems found; --repair can fix {len(lines) - 3} of them.")
    # Lines name rows by id, never by what members wrote.
    assert "Evenings are hard" not in output and "Reply" not in output

    code, output = check(runner, "--repair")
    assert code == 1
    assert f"Repaired: topic {busy.id}: post count is 40, but it has 1 published post" in output
    assert [
        line.removeprefix("Not repaired: ")
        for line in output.splitlines()
        if line.startswith("Not repaired: ")
    ] == sorted(not_repairable, key=lambda line: not line.startswith("posts"))
    with app.app_context():
        topic, board = db.session.get(Topic, busy.id), db.session.get(Board, anxiety.id)
        assert topic.post_count == 1 and (board.topic_count, board.post_count) == (1, 1)
        assert board.last_post_at is not None and topic.last_post_at.year > 2001
        assert db.session.get(Post, kept_reply.id).author_id is None  # as ON DELETE SET NULL
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Follow).where(Follow.user_id == bob.id)
            )
            == 0
        )
        assert db.session.get(ReviewItem, held_item) is None
        assert db.session.get(ReviewItem, reported_item).board_id == anxiety.id

    # What only a person can decide, decided by hand (leaving the newcomer's follow of the
    # empty topic behind, which repair clears): then the check is clean.
    sabotage("DELETE FROM posts WHERE id = :id", id=kept_reply.id)
    sabotage("DELETE FROM topics WHERE id = :id", id=held.id)
    code, output = check(runner, "--repair")
    assert code == 0, output
    assert output.splitlines()[-1] == "1 repaired; the database is consistent."
    assert check(runner) == (0, "The database is consistent.\n")


def test_repair_puts_a_topics_status_back_in_line_with_its_first_post(app, runner, forum, sabotage):
    busy, anxiety = forum["busy"], forum["anxiety"]
    sabotage("UPDATE topics SET status = 'hidden' WHERE id = :id", id=busy.id)
    code, output = check(runner)
    assert code == 1
    assert f"topic {busy.id}: status is 'hidden', but its first post is 'published'" in output
    code, output = check(runner, "--repair")
    assert code == 0, output
    with app.app_context():
        assert db.session.get(Topic, busy.id).status == PostStatus.PUBLISHED
    # The board page lists it again.
    assert "Evenings are hard" in app.test_client().get(f"/b/{anxiety.slug}").text


def test_repair_schedules_a_digest_that_was_chosen_but_never_scheduled(app, runner, make):
    member = make.user("reader")
    with app.app_context():
        db.session.add(
            MailSettings(user_id=member.id, digest="daily", digest_hour=8, timezone="Europe/London")
        )
        db.session.commit()
    code, output = check(runner)
    assert code == 1
    assert (
        f"mail settings of member {member.id}: a digest is chosen but none is scheduled" in output
    )
    code, _ = check(runner, "--repair")
    assert code == 0
    with app.app_context():
        assert db.session.get(MailSettings, member.id).next_digest_at is not None


def test_repair_is_one_transaction(app, runner, forum, sabotage, monkeypatch):
    """A repair that fails halfway changes nothing."""
    from forum.services import integrity

    busy = forum["busy"]
    sabotage("UPDATE topics SET post_count = 40 WHERE id = :id", id=busy.id)
    sabotage("UPDATE boards SET topic_count = 9 WHERE id = :id", id=forum["anxiety"].id)

    def broken_fix():
        raise RuntimeError("disk full")

    checks = list(integrity._CHECKS)
    board_counts = next(
        index
        for index, check in enumerate(checks)
        if check.find is integrity.counters.find_board_counts
    )
    checks[board_counts] = integrity.Check(integrity.counters.find_board_counts, broken_fix)
    monkeypatch.setattr(integrity, "_CHECKS", tuple(checks))
    result = runner.invoke(args=["forum", "check", "--repair"])
    assert isinstance(result.exception, RuntimeError)
    monkeypatch.undo()
    with app.app_context():
        assert db.session.get(Topic, busy.id).post_count == 40  # rolled back with the rest


def test_repair_gives_a_topic_back_its_first_post(app, runner, forum, sabotage):
    busy, moved = forum["busy"], forum["moved"]
    with app.app_context():
        firsts = {
            topic.id: topic.first_post_id
            for topic in (db.session.get(Topic, busy.id), db.session.get(Topic, moved.id))
        }
    reply = forum["replies"][2].id
    sabotage("UPDATE topics SET first_post_id = :reply WHERE id = :id", reply=reply, id=busy.id)
    sabotage("UPDATE topics SET first_post_id = NULL WHERE id = :id", id=moved.id)
    code, output = check(runner)
    assert code == 1
    lines = output.splitlines()
    assert (
        f"topic {busy.id}: first_post_id is {reply}, but its first post is post {firsts[busy.id]}"
        in lines
    )
    assert (
        f"topic {moved.id}: first_post_id is empty, but its first post is post "
        f"{firsts[moved.id]}" in lines
    )
    code, output = check(runner, "--repair")
    assert code == 0, output
    with app.app_context():
        assert {
            topic_id: db.session.get(Topic, topic_id).first_post_id for topic_id in firsts
        } == firsts
    assert check(runner) == (0, "The database is consistent.\n")


def test_a_reply_that_began_first_but_commits_last_keeps_the_newest_last_post_time(
    app, runner, make, monkeypatch
):
    """Two members reply at once: the one whose transaction took its time first waits for
    the write lock and commits second. The topic and board keep the newer reply's time."""
    from forum.services import posting as posting_module

    board = make.board("anxiety")
    topic = make.topic(make.user("alice"), board, "Evenings are hard")
    make.reply(make.user("bob"), topic, "I hear you")
    with app.app_context():
        newest = db.session.scalar(sa.select(sa.func.max(Post.published_at)))
        slow_start = newest - timedelta(seconds=2)
        monkeypatch.setattr(posting_module, "utcnow", lambda: slow_start)
        posting.create_reply(
            db.session.get(User, make.user("carol").id), db.session.get(Topic, topic.id), "Me too"
        )
        monkeypatch.undo()
        db.session.expire_all()
        assert db.session.get(Topic, topic.id).last_post_at == newest
        assert db.session.get(Board, board.id).last_post_at == newest
    code, output = check(runner)
    assert code == 0, output
