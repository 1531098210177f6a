"""What reaches the review queue: new members' posts, pre-moderated and locked
boards, and members' reports. (Watched words, personal details and crisis
language are in test_safety.py; the queue and its actions in
test_moderation_queue.py.)"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import mail, safety
from forum.extensions import db
from forum.models import (
    Board,
    Post,
    PostStatus,
    ReviewEvent,
    ReviewItem,
    ReviewReason,
    Topic,
    User,
    utcnow,
)
from forum.moderation_defaults import DEFAULT_MODERATION_HOURS
from tests.helpers.app import page_text
from tests.helpers.moderation import (
    act,
    assert_counters_right,
    count,
    decide,
    field_error,
    first_post_id,
    item_for,
    latest_post_id,
    new_client,
    notices_of,
    post_status,
    report,
    update,
)


def topic_id_from(response) -> int:
    return int(re.search(r"/t/(\d+)", response.headers["Location"]).group(1))


# --- new members -------------------------------------------------------------------------


def test_a_new_members_topic_waits_and_only_they_see_it(client, make, auth, app):
    board = make.board("anxiety", "Anxiety")
    moderator = make.user("warden", role="moderator", moderates=(board,))
    auth.login(make.user("sapling", trusted=False))
    response = client.post(
        "/b/anxiety/new",
        data={
            "title": "First time here",
            "body": "Hello, I am new and nervous.",
            "submit": "Start topic",
        },
    )
    assert response.status_code == 302
    topic_id = topic_id_from(response)
    own = page_text(client.get(response.headers["Location"]))
    assert "Your post is waiting for a moderator" in own
    assert DEFAULT_MODERATION_HOURS in own
    assert "Welcome! A moderator looks at new members' first posts" in own
    assert "Hello, I am new and nervous." in own
    post_id = first_post_id(app, topic_id)
    item = item_for(app, post_id)
    assert (item.kind, item.category, item.status, item.board_id) == (
        "held_post",
        "new_member",
        "pending",
        board.id,
    )

    member, anonymous = new_client(app, make.user("oak")), app.test_client()
    for browser in (member, anonymous):
        assert "First time here" not in browser.get("/b/anxiety").text
        assert browser.get(f"/t/{topic_id}").status_code == 404
        assert browser.get(f"/p/{post_id}").status_code == 404
    # The board's moderator can open it (that is how they review it in context).
    assert new_client(app, moderator).get(f"/t/{topic_id}").status_code == 200
    assert_counters_right(app)


def test_a_new_members_reply_never_reaches_others_even_from_the_visitors_cache(
    client, make, auth, app
):
    board = make.board()
    topic = make.topic(make.user("elm"), board, body="Opening words")
    anonymous, member = app.test_client(), new_client(app, make.user("oak"))
    assert "Opening words" in anonymous.get(f"/t/{topic.id}").text  # now cached for visitors

    auth.login(make.user("sapling", trusted=False))
    response = client.post(
        f"/t/{topic.id}/reply",
        data={"body": "My very first reply, hello all", "submit": "Post reply"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("#waiting")
    own = page_text(client.get(f"/t/{topic.id}"))
    assert "My very first reply" in own and "waiting for a moderator" in own
    reply_id = latest_post_id(app)
    assert post_status(app, reply_id) == PostStatus.PENDING

    for browser in (anonymous, member):
        page = browser.get(f"/t/{topic.id}")
        assert page.status_code == 200
        assert "My very first reply" not in page.text and "waiting" not in page.text
        assert browser.get(f"/p/{reply_id}").status_code == 404

    moderator = make.user("warden", role="moderator", moderates=(board,))
    decide(app, moderator, item_for(app, reply_id).id, "approve")
    assert "My very first reply" in anonymous.get(f"/t/{topic.id}").text
    assert "My very first reply" in member.get(f"/t/{topic.id}").text
    assert_counters_right(app)


def test_after_enough_approved_posts_a_member_is_trusted_and_posts_go_out_at_once(
    client, make, auth, app
):
    needed = app.config["NEW_MEMBER_REVIEW_POSTS"]
    assert needed == 3
    board = make.board()
    topic = make.topic(make.user("elm"), board)
    moderator = make.user("warden", role="moderator", moderates=(board,))
    moderator_browser = new_client(app, moderator)
    newbie = make.user("sapling", trusted=False)
    auth.login(newbie)

    def reply(text):
        response = client.post(f"/t/{topic.id}/reply", data={"body": text, "submit": "Post"})
        assert response.status_code == 302
        return latest_post_id(app)

    # A rejected post does not count towards trust; only approvals do.
    rejected = reply("Buy my course")
    assert (
        act(
            moderator_browser,
            item_for(app, rejected).id,
            "reject",
            reason="No advertising, please.",
        ).status_code
        == 302
    )
    for number in range(needed):
        post_id = reply(f"Post number {number}")
        assert post_status(app, post_id) == PostStatus.PENDING, f"post {number} went out"
        assert act(moderator_browser, item_for(app, post_id).id, "approve").status_code == 302
        assert post_status(app, post_id) == PostStatus.PUBLISHED

    trusted_now = reply("Now I am one of you")
    assert post_status(app, trusted_now) == PostStatus.PUBLISHED
    assert item_for(app, trusted_now) is None
    page = page_text(client.get(f"/t/{topic.id}"))
    assert "waiting for a moderator" not in page and "Now I am one of you" in page
    assert [notice.kind for notice in notices_of(app, newbie)] == [
        "rejected",
        "approved",
        "approved",
        "approved",
    ]
    assert_counters_right(app)


# --- boards ------------------------------------------------------------------------------


def test_a_premoderated_board_holds_every_members_post_but_not_staff_posts(client, make, auth, app):
    board = make.board("vent", "Vent")
    update(app, Board, board.id, mode="premoderated")
    moderator = make.user("warden", role="moderator", moderates=(board,))
    admin = make.user("root", role="admin")
    staff_topic = make.topic(moderator, board, title="Welcome to Vent")
    admin_topic = make.topic(admin, board, title="House rules")
    assert (staff_topic.status, admin_topic.status) == ("published", "published")

    auth.login(make.user("oak"))  # trusted: in an open board this would go out at once
    response = client.post(
        "/b/vent/new",
        data={"title": "Long day", "body": "Needed to get this off my chest.", "submit": "Start"},
    )
    assert response.status_code == 302
    page = page_text(client.get(response.headers["Location"]))
    assert "Every post in this board is seen by a moderator first." in page
    assert "waiting for a moderator" in page
    held = item_for(app, first_post_id(app, topic_id_from(response)))
    assert (held.kind, held.category) == ("held_post", "premoderated")

    response = client.post(f"/t/{staff_topic.id}/reply", data={"body": "Thank you", "submit": "Go"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#waiting")
    assert post_status(app, latest_post_id(app)) == PostStatus.PENDING
    listing = new_client(app, make.user("ash")).get("/b/vent").text
    assert "Long day" not in listing and "Welcome to Vent" in listing
    assert_counters_right(app)


def test_a_locked_board_is_read_only(client, make, auth, app):
    board = make.board("archive", "Archive")
    topic = make.topic(make.user("elm"), board, title="Old times", body="Kept for reading")
    update(app, Board, board.id, mode="locked")
    auth.login(make.user("oak"))
    assert "Old times" in client.get("/b/archive").text
    assert "Kept for reading" in client.get(f"/t/{topic.id}").text
    refusals = [
        client.get("/b/archive/new"),
        client.post("/b/archive/new", data={"title": "New", "body": "Hello", "submit": "Go"}),
        client.post(f"/t/{topic.id}/reply", data={"body": "Hello", "submit": "Go"}),
    ]
    for response in refusals:
        assert response.status_code == 403
        assert "This board is read-only." in page_text(response)
    assert count(app, Post) == 1 and count(app, Topic) == 1


# --- reports -----------------------------------------------------------------------------


@pytest.fixture
def reported_scene(make, app):
    """A published reply by quietfern in elm's topic, and its id."""
    board = make.board()
    topic = make.topic(make.user("elm"), board, title="Evenings", body="How are your evenings?")
    reply = make.reply(make.user("quietfern"), topic, "Something some people dislike")
    return board, topic, reply.id


@pytest.mark.parametrize("reason", list(safety.REPORT_REASONS))
def test_a_verified_member_reports_a_post_for_each_reason(
    client, auth, make, app, reported_scene, reason
):
    _, topic, post_id = reported_scene
    reporter = make.user("oak")
    auth.login(reporter)
    form = client.get(f"/p/{post_id}/report")
    assert form.status_code == 200
    assert "its author is never told who reported it" in page_text(form)
    note = "It links to a shop" if reason == "other" else ""
    response = client.post(f"/p/{post_id}/report", data={"reason": reason, "note": note})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/t/{topic.id}")
    assert "Thank you for telling us" in page_text(client.get(response.headers["Location"]))

    item = item_for(app, post_id)
    assert (item.kind, item.status, item.category, item.report_count) == (
        "reported_post",
        "pending",
        reason,
        1,
    )
    assert item.priority == safety.priority_of(reason)
    assert item.is_sensitive == (reason in ("at_risk", "harassment"))
    with app.app_context():
        reasons = db.session.execute(
            sa.select(ReviewReason.category, ReviewReason.reporter_id, ReviewReason.detail)
        ).all()
    assert reasons == [(reason, reporter.id, note)]
    assert post_status(app, post_id) == PostStatus.PUBLISHED  # one report hides nothing


def test_something_else_needs_a_note_and_a_report_needs_a_reason(
    client, auth, make, app, reported_scene
):
    _, _, post_id = reported_scene
    auth.login(make.user("oak"))
    response = client.post(f"/p/{post_id}/report", data={"reason": "other", "note": ""})
    assert response.status_code == 400
    assert "Tell the moderators what is wrong" in field_error(response, "note")
    response = client.post(f"/p/{post_id}/report", data={"note": "bad"})
    assert response.status_code == 400
    assert "Choose what is wrong with the post." in page_text(response)
    assert count(app, ReviewItem) == 0 and count(app, ReviewReason) == 0


def test_the_author_is_never_shown_who_reported_their_post(client, auth, make, app, reported_scene):
    board, topic, post_id = reported_scene
    reporter = make.user("watchfulowl")
    reporter_browser = new_client(app, reporter)
    response = reporter_browser.post(
        f"/p/{post_id}/report", data={"reason": "harassment", "note": "It was aimed at me"}
    )
    assert response.status_code == 302
    moderator_browser = new_client(app, make.user("warden", role="moderator", moderates=(board,)))
    item_id = item_for(app, post_id).id
    assert "watchfulowl" in moderator_browser.get(f"/review/{item_id}").text  # moderators see
    response = act(moderator_browser, item_id, "hide", reason="Please keep it kind.")
    assert response.status_code == 302

    auth.login("quietfern")
    pages = [client.get(path) for path in (f"/t/{topic.id}", "/notices", "/b/general", "/")]
    assert "A moderator hid your post" in pages[1].text and "Please keep it kind." in pages[1].text
    for page in pages:
        assert page.status_code == 200 and "watchfulowl" not in page.text.lower()
    to_author = [message for message in mail.outbox if message["To"] == "quietfern@example.org"]
    assert to_author, "the author got no mail"
    for message in to_author:
        assert "watchfulowl" not in message.as_string().lower()


def test_a_second_report_adds_to_the_same_item_and_raises_its_priority(
    make, app, reported_scene, client
):
    board, _, post_id = reported_scene

    def reporter(name):  # new members: their reports count, but never hide the post
        return make.user(name, trusted=False)

    first = report(app, reporter("oak"), post_id, "spam")
    assert item_for(app, post_id).priority == safety.priority_of("spam")
    second = report(app, reporter("ash"), post_id, "spam")
    assert first == second and count(app, ReviewItem) == 1
    item = item_for(app, post_id)
    assert item.report_count == 2 and item.priority > safety.priority_of("spam")
    # A more serious reason lifts the item to that category; more reports never
    # lift it past the next category up.
    report(app, reporter("birch"), post_id, "harassment")
    item = item_for(app, post_id)
    assert (item.category, item.report_count) == ("harassment", 3)
    assert safety.priority_of("harassment") < item.priority < safety.priority_of("at_risk")
    for number in range(10):
        report(app, reporter(f"extra{number}"), post_id, "spam")
    assert item_for(app, post_id).priority < safety.priority_of("at_risk")
    assert count(app, ReviewItem) == 1 and count(app, ReviewReason) == 13
    browser = new_client(app, make.user("warden", role="moderator", moderates=(board,)))
    assert "(13 reports)" in browser.get("/review").text


def test_reporting_the_same_post_twice_is_refused_with_a_message(
    client, auth, make, app, reported_scene
):
    _, _, post_id = reported_scene
    auth.login(make.user("oak"))
    assert client.post(f"/p/{post_id}/report", data={"reason": "spam"}).status_code == 302
    response = client.post(f"/p/{post_id}/report", data={"reason": "harassment"})
    assert response.status_code == 400
    assert "You have already reported this post" in page_text(response)
    item = item_for(app, post_id)
    assert (item.report_count, item.category) == (1, "spam")
    assert count(app, ReviewReason) == 1


def test_enough_trusted_reporters_hide_a_post_until_a_moderator_decides(
    client, auth, make, app, reported_scene
):
    assert app.config["REPORTS_TO_HIDE"] == 3
    _, topic, post_id = reported_scene
    for number in range(4):  # new members' reports are heard, but do not hide a post
        report(app, make.user(f"newcomer{number}", trusted=False), post_id, "harassment")
    for number in range(2):
        report(app, make.user(f"regular{number}"), post_id, "harassment")
    assert post_status(app, post_id) == PostStatus.PUBLISHED
    assert not item_for(app, post_id).hidden_by_reports

    auth.login(make.user("regular2"))
    assert client.post(f"/p/{post_id}/report", data={"reason": "harassment"}).status_code == 302
    assert post_status(app, post_id) == PostStatus.HIDDEN
    item = item_for(app, post_id)
    assert item.hidden_by_reports and item.status == "pending" and item.report_count == 7
    for browser in (client, app.test_client()):
        page = browser.get(f"/t/{topic.id}")
        assert page.status_code == 200 and "Something some people dislike" not in page.text
        assert browser.get(f"/p/{post_id}").status_code == 404
    with app.app_context():
        history = db.session.scalars(
            sa.select(ReviewEvent.action).where(ReviewEvent.item_id == item.id)
        ).all()
    assert "hidden by reports" in history
    assert_counters_right(app)


def test_a_new_report_reopens_a_decided_item(make, app, reported_scene):
    board, _, post_id = reported_scene
    moderator = make.user("warden", role="moderator", moderates=(board,))
    item_id = report(app, make.user("oak"), post_id, "spam")
    decide(app, moderator, item_id, "dismiss")
    item = item_for(app, post_id)
    assert (item.status, item.decided_by_id) == ("dismissed", moderator.id)

    assert report(app, make.user("ash"), post_id, "harassment") == item_id
    item = item_for(app, post_id)
    assert (item.status, item.kind, item.category, item.report_count) == (
        "pending",
        "reported_post",
        "harassment",
        1,
    )
    assert item.decided_at is None and item.decided_by_id is None
    assert item.priority == safety.priority_of("harassment")
    with app.app_context():
        history = db.session.scalars(
            sa.select(ReviewEvent.action)
            .where(ReviewEvent.item_id == item_id)
            .order_by(ReviewEvent.id)
        ).all()
    assert history == ["reported", "Dismiss the reports", "reopened", "reported"]
    assert count(app, ReviewItem) == 1


def test_members_cannot_report_their_own_posts(client, auth, make, app, reported_scene):
    _, topic, post_id = reported_scene
    auth.login("quietfern")
    page = client.get(f"/t/{topic.id}").text
    assert f"/p/{post_id}/report" not in page
    assert client.get(f"/p/{post_id}/report").status_code == 403
    assert client.post(f"/p/{post_id}/report", data={"reason": "spam"}).status_code == 403
    assert count(app, ReviewItem) == 0


def test_suspended_and_unverified_members_cannot_report(client, auth, make, app, reported_scene):
    _, _, post_id = reported_scene
    suspended = make.user("oak")
    update(app, User, suspended.id, suspended_until=utcnow() + timedelta(days=3))
    auth.login(suspended)
    assert client.get(f"/p/{post_id}/report").status_code == 403
    assert client.post(f"/p/{post_id}/report", data={"reason": "spam"}).status_code == 403
    auth.logout()
    auth.login(make.user("fresh", verified=False))
    response = client.post(f"/p/{post_id}/report", data={"reason": "spam"})
    assert response.status_code == 302 and "/account" in response.headers["Location"]
    assert count(app, ReviewItem) == 0


def test_only_published_posts_can_be_reported(client, auth, make, app):
    board = make.board()
    topic = make.topic(make.user("elm"), board)
    held = make.reply(make.user("sapling", trusted=False), topic, "Waiting here")
    auth.login(make.user("oak"))
    assert client.get(f"/p/{held.id}/report").status_code == 404
    assert client.post(f"/p/{held.id}/report", data={"reason": "spam"}).status_code == 404
    with app.app_context():
        assert (
            db.session.scalar(sa.select(ReviewItem.kind).where(ReviewItem.post_id == held.id))
            == "held_post"
        )
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(ReviewReason)
                .where(ReviewReason.reporter_id.is_not(None))
            )
            == 0
        )
