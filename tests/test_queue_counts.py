"""The queue's waiting counts (review_queue_counts) always equal a COUNT(*) of the items.

forum.services.queue_counts keeps a count per (board, kind) in the same flush as each
change to an item; these tests take every path that changes what waits and compare
the table with the items after each step, and with what the queue page shows.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from forum.extensions import db
from forum.models import Post, ReviewItem, User, utcnow
from forum.moderation.queue import waiting_now
from forum.services import leaving, moderation, posting, queue_counts
from tests.helpers.moderation import decide, item_for, new_client, report, update


def stored_and_actual(app):
    with app.app_context():
        stored = {key: n for key, n in queue_counts.stored_counts(db.session).items() if n}
        return stored, queue_counts.actual_counts(db.session)


def assert_counts_exact(app, admin=None):
    stored, actual = stored_and_actual(app)
    assert stored == actual
    if admin is not None:  # and the page's figures are the same numbers
        with app.test_request_context():
            waiting, _ = waiting_now(db.session.get(User, admin.id))
        by_kind: dict[str, int] = {}
        for (_, kind), count in actual.items():
            by_kind[kind] = by_kind.get(kind, 0) + count
        assert {kind: n for kind, n in waiting.items() if n} == by_kind
    return actual


@pytest.fixture
def forum(make, app):
    board, other = make.board("general", "General"), make.board("other", "Other")
    admin = make.user("root", role="admin")
    moderator = make.user("warden", role="moderator", moderates_all=True)
    topic = make.topic(make.user("elm"), board, title="Evenings", body="How are evenings?")
    return {"board": board, "other": other, "admin": admin, "moderator": moderator, "topic": topic}


def test_every_action_keeps_the_counts_equal_to_the_items(make, app, forum):
    board, other, admin = forum["board"], forum["other"], forum["admin"]
    moderator, topic = forum["moderator"], forum["topic"]
    newbie = make.user("sapling", trusted=False)
    author = make.user("quietfern")

    # Raised on posting: a new member's post is held; crisis words from a trusted
    # member are flagged; an address is held as personal details.
    held = make.reply(newbie, topic, "My first words here")
    assert assert_counts_exact(app, admin) == {(board.id, "held_post"): 1}
    flagged = make.reply(author, topic, "Some nights I want to die")
    make.reply(author, topic, "Ring me on 07700 900123")  # personal details: held
    assert assert_counts_exact(app, admin) == {
        (board.id, "held_post"): 2,
        (board.id, "flagged_post"): 1,
    }

    # Reported: a new item, then a second report on the same item (no new item).
    rude = make.reply(author, topic, "Words someone reported")
    rude_item = report(app, make.user("ash"), rude.id, "harassment")
    report(app, make.user("oak"), rude.id, "spam")
    assert assert_counts_exact(app, admin)[(board.id, "reported_post")] == 1

    # A claim changes nothing that is counted.
    with app.test_request_context():
        assert moderation.claim(
            db.session.get(User, moderator.id), db.session.get(ReviewItem, rude_item)
        )
    assert_counts_exact(app, admin)

    # Decided: approve, dismiss, reject (three rejections raise an account item with no
    # board), hide, delete.
    decide(app, moderator, item_for(app, held.id).id, "approve")
    decide(app, moderator, item_for(app, flagged.id).id, "dismiss")
    assert assert_counts_exact(app, admin) == {
        (board.id, "held_post"): 1,
        (board.id, "reported_post"): 1,
    }
    rejected = [
        make.reply(make.user(f"new{n}", trusted=False), topic, f"Spam {n}") for n in range(2)
    ]
    loud = make.user("loud", trusted=False)
    loud_posts = [make.reply(loud, topic, f"Loud {n}") for n in range(3)]
    for post in [*rejected, *loud_posts]:
        decide(app, moderator, item_for(app, post.id).id, "reject", reason="Not here")
    counts = assert_counts_exact(app, admin)
    assert counts[(queue_counts.NO_BOARD, "account")] == 1
    assert counts[(board.id, "held_post")] == 1
    decide(app, moderator, rude_item, "hide", reason="Unkind")
    assert (board.id, "reported_post") not in assert_counts_exact(app, admin)

    # Reopened: a new report on a dismissed item brings it back as a reported post.
    reopened = report(app, make.user("birch"), flagged.id, "harassment")
    assert reopened == item_for(app, flagged.id).id
    assert assert_counts_exact(app, admin)[(board.id, "reported_post")] == 1
    decide(app, moderator, reopened, "dismiss")

    # The account item decided (suspend closes it).
    with app.app_context():
        account_item = db.session.scalar(
            sa.select(ReviewItem.id).where(ReviewItem.account_id == loud.id)
        )
    decide(app, moderator, account_item, "suspend", reason="Spam", days=1)
    assert (queue_counts.NO_BOARD, "account") not in assert_counts_exact(app, admin)

    # Moving a topic moves every waiting item in it to the new board, whichever item
    # the move was made from.
    waiting_reply = make.reply(make.user("seedling", trusted=False), topic, "Hello all")
    reported_reply = make.reply(author, topic, "Off topic here")
    moved_from = report(app, make.user("pine"), reported_reply.id, "other", "Wrong board")
    decide(app, moderator, moved_from, "move", board_id=other.id)
    counts = assert_counts_exact(app, admin)
    assert counts == {(other.id, "held_post"): 2, (other.id, "reported_post"): 1}
    decide(app, moderator, item_for(app, waiting_reply.id).id, "approve")
    assert assert_counts_exact(app, admin)[(other.id, "held_post")] == 1

    # Bulk approve and reject (a spam wave), one of them stale.
    wave = [make.reply(make.user(f"wave{n}", trusted=False), topic, f"Wave {n}") for n in range(4)]
    selection = [(item.id, item.version) for item in (item_for(app, post.id) for post in wave)]
    selection[-1] = (selection[-1][0], selection[-1][1] - 1)  # someone acted meanwhile
    with app.test_request_context():
        result = moderation.decide_many(
            db.session.get(User, moderator.id), selection[:2], "approve"
        )
        assert len(result.done) == 2
        result = moderation.decide_many(
            db.session.get(User, moderator.id), selection[2:], "reject", reason="Spam"
        )
        assert (len(result.done), len(result.changed)) == (1, 1)
    assert assert_counts_exact(app, admin)[(other.id, "held_post")] == 2

    # The author withdraws a waiting post (its item is dismissed), deletes a reported one
    # (its item stays for the moderators), and edits a published post into the queue.
    withdrawn = make.reply(newbie, forum["topic"], "Second thoughts")
    before = assert_counts_exact(app, admin)
    with app.test_request_context():
        posting.withdraw_post(db.session.get(User, newbie.id), db.session.get(Post, withdrawn.id))
    before[(other.id, "held_post")] -= 1
    assert assert_counts_exact(app, admin) == before
    with app.test_request_context():
        posting.delete_post(
            db.session.get(User, author.id), db.session.get(Post, reported_reply.id)
        )
    assert assert_counts_exact(app, admin) == before
    plain = make.reply(author, topic, "A plain reply")
    with app.test_request_context():
        posting.edit_post(
            db.session.get(User, author.id),
            db.session.get(Post, plain.id),
            "Some nights I want to die",
        )
    assert assert_counts_exact(app, admin)[(other.id, "flagged_post")] == 1


def test_an_erased_account_leaves_the_counts_exact(make, app, forum):
    newbie = make.user("sapling", trusted=False)
    posts = [make.reply(newbie, forum["topic"], f"Words {n}") for n in range(2)]
    at_risk = make.reply(newbie, forum["topic"], "I want to die")
    assert assert_counts_exact(app, forum["admin"])[(forum["board"].id, "held_post")] == 3
    now = utcnow()
    update(app, User, newbie.id, deletion_due_at=now - timedelta(minutes=1))
    with app.test_request_context():
        assert leaving.erase_account(newbie.id, now)
    # The plain held posts leave the queue with the account; the one about a member at
    # risk stays for a moderator.
    counts = assert_counts_exact(app, forum["admin"])
    assert counts == {(forum["board"].id, "held_post"): 1}
    assert item_for(app, at_risk.id).status == "pending"
    assert all(item_for(app, post.id).status == "dismissed" for post in posts)


def test_a_change_rolled_back_changes_no_count(make, app, forum):
    newbie = make.user("sapling", trusted=False)
    held = make.reply(newbie, forum["topic"], "My first words here")
    item_id = item_for(app, held.id).id
    key = (forum["board"].id, "held_post")
    before = assert_counts_exact(app)
    assert before == {key: 1}
    with app.app_context():
        db.session.get(ReviewItem, item_id).status = "approved"
        db.session.flush()  # counted in the flush...
        assert queue_counts.stored_counts(db.session)[key] == 0
        db.session.rollback()  # ...and uncounted with it
    assert assert_counts_exact(app) == before
    with app.app_context():
        # A second item for the same post fails inside a savepoint (as two reports racing
        # to make a post's item do): the savepoint's count goes with it.
        with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
            db.session.add(
                ReviewItem(
                    kind="held_post", category="other", post_id=held.id, board_id=forum["board"].id
                )
            )
            db.session.flush()
        db.session.commit()
    assert assert_counts_exact(app) == before


def test_items_changed_behind_the_services_back_are_found_and_repaired(make, app, forum, runner):
    newbie = make.user("sapling", trusted=False)
    held = make.reply(newbie, forum["topic"], "My first words here")
    item_id = item_for(app, held.id).id
    with app.app_context():  # a bulk statement no service would make
        db.session.execute(
            sa.update(ReviewItem).where(ReviewItem.id == item_id).values(board_id=forum["other"].id)
        )
        db.session.commit()
    result = runner.invoke(args=["forum", "check"])
    assert result.exit_code == 1
    board, other = forum["board"].id, forum["other"].id
    assert (
        f"review queue, board {board}: held post items waiting counted as 1, but 0 wait"
        in result.output
    )
    assert (
        f"review queue, board {other}: held post items waiting counted as 0, but 1 wait"
        in result.output
    )
    result = runner.invoke(args=["forum", "check", "--repair"])
    assert "Repaired: review queue" in result.output
    # (The item's board is put back from its post's topic, then the counts follow it.)
    assert runner.invoke(args=["forum", "check"]).output == "The database is consistent.\n"
    assert assert_counts_exact(app, forum["admin"]) == {(board, "held_post"): 1}


def test_the_migration_fills_the_counts_from_the_items_already_there(make, app, forum):
    newbie = make.user("sapling", trusted=False)
    make.reply(newbie, forum["topic"], "My first words here")
    rude = make.reply(make.user("quietfern"), forum["topic"], "Words someone reported")
    report(app, make.user("ash"), rude.id, "harassment")
    expected = assert_counts_exact(app)
    with app.app_context():
        downgrade(revision="0007")
        assert "review_queue_counts" not in sa.inspect(db.engine).get_table_names()
        upgrade()
    stored, actual = stored_and_actual(app)
    assert stored == actual == expected


def test_the_queue_shows_the_counts_and_the_oldest_item_for_each_viewer(make, app, forum):
    other = forum["other"]
    keeper = make.user("keeper", role="moderator", moderates=(other,))
    general_topic, other_topic = forum["topic"], make.topic(make.user("ash"), other, "Else")
    old = make.reply(make.user("sapling", trusted=False), general_topic, "Old words")
    make.reply(make.user("sprout", trusted=False), other_topic, "Newer words")
    update(app, ReviewItem, item_for(app, old.id).id, opened_at=utcnow() - timedelta(days=2))
    # The keeper's own post, reported: never counted for them, counted for the admin.
    own = make.reply(keeper, other_topic, "My own words")
    report(app, make.user("oak"), own.id, "spam")
    admin_page = new_client(app, forum["admin"]).get("/review").text
    keeper_page = new_client(app, keeper).get("/review").text
    assert "<dt>Held posts waiting</dt><dd>2</dd>" in admin_page
    assert "<dt>Reported posts waiting</dt><dd>1</dd>" in admin_page
    assert "<dd>2 days</dd>" in admin_page
    assert "<dt>Held posts waiting</dt><dd>1</dd>" in keeper_page
    assert "<dt>Reported posts waiting</dt><dd>0</dd>" in keeper_page
    assert "<dd>2 days</dd>" not in keeper_page and "<dd>under a minute</dd>" in keeper_page
