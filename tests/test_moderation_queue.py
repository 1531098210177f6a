"""The review queue: its order, filters and pages; the item page; every action,
alone and in bulk; two moderators at once; the numbers; the audit log; notices."""

from __future__ import annotations

import html
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from forum import mail
from forum.extensions import db
from forum.models import (
    AuditEntry,
    Board,
    Notice,
    Post,
    PostRevision,
    PostStatus,
    ReasonTemplate,
    ReviewEvent,
    ReviewItem,
    Topic,
    User,
    utcnow,
)
from forum.moderation.queue import queue_numbers
from tests.helpers.app import log_in, page_text
from tests.helpers.moderation import (
    EVERY_ACTION,
    act,
    assert_counters_right,
    audit_entries,
    count,
    decide,
    detached,
    field_error,
    item_for,
    new_client,
    notices_of,
    post_status,
    queue_item_ids,
    report,
    update,
    version_on,
    watch,
)


class Scene:
    """Two boards, a moderator of both (logged in on `browser`), a topic in
    "general", a trusted author and a new member."""

    def __init__(self, make, app):
        self.make, self.app = make, app
        self.board = make.board("general", "General")
        self.other = make.board("other", "Other")
        self.moderator = make.user("warden", role="moderator", moderates=(self.board, self.other))
        self.browser = new_client(app, self.moderator)
        self.author = make.user("quietfern")
        self.topic = make.topic(
            make.user("elm"), self.board, title="Evenings", body="How are your evenings?"
        )
        self.newbie = make.user("sapling", trusted=False)
        self._reporters = 0

    def held(self, text: str = "My first words here", author=None, topic=None):
        """A new member's reply, waiting: (post id, item id)."""
        post = self.make.reply(author or self.newbie, topic or self.topic, text)
        return post.id, item_for(self.app, post.id).id

    def reported(
        self,
        text: str = "Words someone reported",
        category: str = "harassment",
        author=None,
        topic=None,
    ):
        """A published reply, reported once by a new member: (post id, item id)."""
        post = self.make.reply(author or self.author, topic or self.topic, text)
        self._reporters += 1
        reporter = self.make.user(f"reporter{self._reporters}", trusted=False)
        return post.id, report(self.app, reporter, post.id, category)


@pytest.fixture
def scene(make, app):
    return Scene(make, app)


def set_opened(app, item_id: int, at: datetime) -> None:
    update(app, ReviewItem, item_id, opened_at=at, created_at=at)


def template_id(app, label: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(ReasonTemplate.id).where(ReasonTemplate.label == label))


def template_text(app, label: str) -> str:
    with app.app_context():
        return db.session.scalar(
            sa.select(ReasonTemplate.text).where(ReasonTemplate.label == label)
        )


# --- order, filters, scope, pages ----------------------------------------------------------


def test_the_queue_puts_the_most_urgent_first_then_the_oldest(scene, make, app):
    at_risk = scene.reported("I can't see a way forward", "at_risk")[1]
    harassment = scene.reported("You are pathetic", "harassment")[1]
    personal = scene.held("Ring me on 07700 900123", author=make.user("oak"))[1]
    # The newer of each pair is made first, so the order shown is not the ids'.
    held_newer = scene.held("Hello", author=make.user("newcomer2", trusted=False))[1]
    held_older = scene.held("Hello too", author=make.user("newcomer1", trusted=False))[1]
    spam_newer = scene.reported("Cheap watches", "spam")[1]
    spam_older = scene.reported("Buy followers now", "spam")[1]
    now = utcnow()
    for item_id, hours in (
        (at_risk, 0.1),
        (harassment, 5),
        (personal, 1),
        (held_older, 9),
        (held_newer, 2),
        (spam_older, 30),
        (spam_newer, 3),
    ):
        set_opened(app, item_id, now - timedelta(hours=hours))
    expected = [at_risk, harassment, personal, held_older, held_newer, spam_older, spam_newer]
    admin = new_client(app, make.user("root", role="admin"))
    assert queue_item_ids(admin.get("/review")) == expected
    assert queue_item_ids(scene.browser.get("/review")) == expected


def test_the_queue_filters_by_kind_and_by_board(scene, make, app):
    other_topic = make.topic(make.user("ash"), scene.other, title="Elsewhere")
    held_general = scene.held("General newcomer")[1]
    reported_general = scene.reported("General rudeness", "harassment")[1]
    held_other = scene.held(
        "Other newcomer", author=make.user("newcomer2", trusted=False), topic=other_topic
    )[1]
    reported_other = scene.reported("Other spam", "spam", topic=other_topic)[1]
    browser = scene.browser
    assert queue_item_ids(browser.get("/review?kind=held_post")) == [held_general, held_other]
    assert queue_item_ids(browser.get("/review?kind=reported_post")) == [
        reported_general,
        reported_other,
    ]
    assert queue_item_ids(browser.get(f"/review?board={scene.other.id}")) == [
        held_other,
        reported_other,
    ]
    assert queue_item_ids(browser.get(f"/review?kind=held_post&board={scene.board.id}")) == [
        held_general
    ]
    assert queue_item_ids(browser.get("/review?kind=flagged_post")) == []
    page = browser.get(f"/review?kind=held_post&board={scene.other.id}").text
    assert '<option value="held_post" selected>' in page
    assert f'<option value="{scene.other.id}" selected>' in page


def test_a_board_moderator_sees_and_acts_on_their_boards_items_only(scene, make, app):
    private = make.board("private", "Private")
    private_topic = make.topic(make.user("ash"), private, title="Private talk")
    mine = scene.held("In general")[1]
    theirs_post, theirs = scene.held(
        "In private", author=make.user("newcomer2", trusted=False), topic=private_topic
    )
    # Three rejections make an account item: it has no board.
    rejected = make.user("newcomer3", trusted=False)
    for number in range(3):
        decide(
            app,
            scene.moderator,
            scene.held(f"Spam {number}", author=rejected)[1],
            "reject",
            reason="Spam",
        )
    with app.app_context():
        account = db.session.scalar(
            sa.select(ReviewItem.id).where(ReviewItem.account_id == rejected.id)
        )
    assert account is not None

    browser = scene.browser  # moderates general and other, not private
    assert queue_item_ids(browser.get("/review")) == [mine]
    assert queue_item_ids(browser.get(f"/review?board={private.id}")) == []
    assert "Private" not in browser.get("/review").text.split('id="filter-board"')[1]
    for item_id in (theirs, account):
        assert browser.get(f"/review/{item_id}").status_code == 403
        assert act(browser, item_id, "approve", version=1).status_code == 403
        assert browser.post(f"/review/{item_id}/claim").status_code == 403
    response = browser.post("/review/bulk", data={"selected": [f"{theirs}:1"], "action": "approve"})
    assert response.status_code == 302
    assert post_status(app, theirs_post) == PostStatus.PENDING
    assert (
        count(
            app, AuditEntry, AuditEntry.target_type == "review_item", AuditEntry.target_id == theirs
        )
        == 0
    )

    admin = new_client(app, make.user("root", role="admin"))
    everywhere = new_client(app, make.user("overseer", role="moderator", moderates_all=True))
    for viewer in (admin, everywhere):
        assert sorted(queue_item_ids(viewer.get("/review"))) == sorted([mine, theirs, account])
        assert viewer.get(f"/review/{theirs}").status_code == 200
        assert viewer.get(f"/review/{account}").status_code == 200
    assert re.search(r"<dt>Held posts waiting</dt><dd>1</dd>", browser.get("/review").text)
    assert re.search(r"<dt>Held posts waiting</dt><dd>2</dd>", admin.get("/review").text)


def test_queue_pages_walk_every_item_once_in_order(scene, make, app):
    app.config["REVIEW_ITEMS_PER_PAGE"] = 4
    items = []
    for number in range(4):
        items.append(
            scene.held(f"Newcomer {number}", author=make.user(f"newcomer{number}", trusted=False))[
                1
            ]
        )
        items.append(scene.reported(f"Spam {number}", "spam")[1])
    items += [scene.reported(f"Rude {number}", "harassment")[1] for number in range(3)]
    # Ties on priority and age, so the id has to break them across page boundaries.
    same = utcnow().replace(microsecond=0) - timedelta(hours=1)
    for index, item_id in enumerate(items):
        set_opened(app, item_id, same if index % 3 else same - timedelta(minutes=index))
    with app.app_context():
        expected = db.session.scalars(
            sa.select(ReviewItem.id).order_by(
                ReviewItem.priority.desc(), ReviewItem.opened_at, ReviewItem.id
            )
        ).all()

    seen, url, pages = [], "/review", 0
    while url:
        response = scene.browser.get(url)
        assert response.status_code == 200
        on_page = queue_item_ids(response)
        assert 0 < len(on_page) <= 4
        seen += on_page
        pages += 1
        more = re.search(r'<a href="(/review\?[^"]*after=[^"]*)">Next items</a>', response.text)
        url = html.unescape(more.group(1)) if more else None
    assert seen == expected and len(set(seen)) == 11 and pages == 3
    # Filters keep their place through the pages.
    seen = []
    url = "/review?kind=reported_post"
    while url:
        response = scene.browser.get(url)
        seen += queue_item_ids(response)
        more = re.search(r'<a href="(/review\?[^"]*after=[^"]*)">Next items</a>', response.text)
        url = html.unescape(more.group(1)) if more else None
    assert seen == [item_id for item_id in expected if item_id not in items[0:8:2]]


# --- the item page --------------------------------------------------------------------------


def test_the_item_page_tells_the_posts_whole_story(scene, make, app, client, auth):
    earlier_post, earlier_item = scene.reported("An earlier unkind post", "harassment")
    decide(app, scene.moderator, earlier_item, "hide", reason="Please keep it kind.")
    auth.login(scene.author)
    post = make.reply(scene.author, scene.topic, "First version of my words")
    response = client.post(
        f"/p/{post.id}/edit", data={"body": "Second version of my words", "submit": "Save changes"}
    )
    assert response.status_code == 302
    report(app, make.user("oak", trusted=False), post.id, "harassment", "It was aimed at me")
    report(app, make.user("ash", trusted=False), post.id, "spam")
    item_id = item_for(app, post.id).id
    assert scene.browser.post(f"/review/{item_id}/claim").status_code == 302

    response = scene.browser.get(f"/review/{item_id}")
    page = page_text(response)
    assert "Second version of my words" in page
    versions = page.split("Earlier versions")[1].split("</section>")[0]
    assert "First version of my words" in versions
    assert f'href="/t/{scene.topic.id}">Evenings</a>' in page and "General" in page
    assert "Harassment or hate</strong>: It was aimed at me" in page
    assert "reported by oak" in page and "reported by ash" in page
    assert "<strong>Spam</strong>" in page
    assert "About quietfern" in page and "<dt>Joined</dt>" in page
    assert re.search(r"<dt>Posts approved by moderators</dt><dd>3</dd>", page)
    assert re.search(r"<dt>Posts rejected</dt><dd>0</dd>", page)
    assert re.search(r"<dt>Published posts</dt><dd>1</dd>", page)
    earlier = page.split("Earlier moderator actions")[1].split("</ul>")[0]
    assert f"warden, review.hide (item #{earlier_item}): Please keep it kind." in earlier
    history = page.split('id="history-heading"')[1]
    assert history.index(": reported") < history.index("claimed by warden")
    assert "You are handling this item." in page


# --- every action ---------------------------------------------------------------------------


def test_approve_publishes_the_post_and_tells_the_author(scene, app):
    post_id, item_id = scene.held("Glad to have found this place")
    response = act(scene.browser, item_id, "approve")
    assert response.status_code == 302 and response.headers["Location"].endswith("/review")
    assert "Approved: the post is visible to everyone." in page_text(scene.browser.get("/review"))
    assert post_status(app, post_id) == PostStatus.PUBLISHED
    assert "Glad to have found this place" in app.test_client().get(f"/t/{scene.topic.id}").text
    item = item_for(app, post_id)
    assert (item.status, item.decided_by_id) == ("approved", scene.moderator.id)
    assert item.decision_seconds is not None and item.decided_at is not None
    assert [notice.kind for notice in notices_of(app, scene.newbie)] == ["approved"]
    assert detached(app, User, scene.newbie.id).approved_post_count == 1
    assert_counters_right(app)


def test_approve_after_editing_publishes_the_edit_and_keeps_the_original(scene, make, app):
    newbie_topic = make.topic(
        scene.newbie,
        scene.board,
        title="Anyone to talk to?",
        body="Call me on 07700 900123 if you want to talk",
    )
    with app.app_context():
        post_id = db.session.scalar(sa.select(Post.id).where(Post.topic_id == newbie_topic.id))
    item_id = item_for(app, post_id).id
    response = act(scene.browser, item_id, "approve_edited", body="Reply here if you want to talk")
    assert response.status_code == 302
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert (post.status, post.body_source) == ("published", "Reply here if you want to talk")
        assert post.topic.title == "Anyone to talk to?" and post.topic.status == "published"
        revisions = db.session.scalars(
            sa.select(PostRevision.body_source).where(PostRevision.post_id == post_id)
        ).all()
    assert revisions == ["Call me on 07700 900123 if you want to talk"]
    public = app.test_client().get(f"/t/{newbie_topic.id}").text
    assert "Reply here if you want to talk" in public and "900123" not in public
    item_page = page_text(scene.browser.get(f"/review/{item_id}"))
    assert "Call me on 07700 900123" in item_page.split("Earlier versions")[1]

    # The same for a reply.
    reply_id, reply_item = scene.held(
        "My email is me@example.org, write!", author=make.user("newcomer2", trusted=False)
    )
    assert (
        act(scene.browser, reply_item, "approve_edited", body="Write to me here!").status_code
        == 302
    )
    assert post_status(app, reply_id) == PostStatus.PUBLISHED
    assert count(app, PostRevision, PostRevision.post_id == reply_id) == 1
    assert_counters_right(app)


def test_reject_tells_the_author_why_and_gives_their_text_back_privately(
    scene, make, app, client, auth
):
    text = "Here is what I wanted to say about my week"
    post_id, item_id = scene.held(text)
    off_topic = template_text(app, "Off topic")
    response = act(
        scene.browser,
        item_id,
        "reject",
        template=template_id(app, "Off topic"),
        reason="The sleep board would suit this.",
    )
    assert response.status_code == 302
    assert post_status(app, post_id) == PostStatus.REJECTED
    assert detached(app, User, scene.newbie.id).rejected_post_count == 1

    [notice] = notices_of(app, scene.newbie)
    assert notice.kind == "rejected" and notice.link == f"/p/{post_id}/returned"
    assert off_topic in notice.message and "The sleep board would suit this." in notice.message
    [message] = [mail_ for mail_ in mail.outbox if mail_["To"] == "sapling@example.org"]
    body = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Your post was not published"
    assert off_topic in body and "The sleep board would suit this." in body
    assert f"https://kindred.example/p/{post_id}/returned" in body

    auth.login(scene.newbie)
    notices = page_text(client.get("/notices"))
    assert "The sleep board would suit this." in notices and "Get your text back" in notices
    returned = client.get(f"/p/{post_id}/returned")
    assert returned.status_code == 200 and text in page_text(returned)
    assert scene.browser.get(f"/p/{post_id}/returned").status_code == 404
    assert new_client(app, make.user("oak")).get(f"/p/{post_id}/returned").status_code == 404
    assert app.test_client().get(f"/p/{post_id}/returned").status_code == 302  # log in first
    for browser in (app.test_client(), new_client(app, make.user("ash"))):
        for path in (f"/t/{scene.topic.id}", "/b/general", "/"):
            page = browser.get(path).text
            assert text not in page and "reject" not in page.lower()
        assert browser.get(f"/p/{post_id}").status_code == 404
    assert_counters_right(app)


def test_hide_takes_a_published_post_out_of_view(scene, app):
    post_id, item_id = scene.reported("Something cruel")
    assert "Something cruel" in app.test_client().get(f"/t/{scene.topic.id}").text
    # A template alone is a reason.
    response = act(scene.browser, item_id, "hide", template=template_id(app, "Harassment or hate"))
    assert response.status_code == 302
    assert post_status(app, post_id) == PostStatus.HIDDEN
    assert "Something cruel" not in app.test_client().get(f"/t/{scene.topic.id}").text
    [notice] = notices_of(app, scene.author)
    assert notice.kind == "hidden"
    assert template_text(app, "Harassment or hate") in notice.message
    assert item_for(app, post_id).status == "rejected"
    assert_counters_right(app)


def test_delete_leaves_a_placeholder_saying_a_moderator_removed_it(scene, app):
    post_id, item_id = scene.reported("Something vile")
    assert act(scene.browser, item_id, "delete", reason="Hate speech").status_code == 302
    assert post_status(app, post_id) == PostStatus.REMOVED
    page = page_text(app.test_client().get(f"/t/{scene.topic.id}"))
    assert "This post was removed by a moderator." in page and "Something vile" not in page
    [notice] = notices_of(app, scene.author)
    assert notice.kind == "removed" and "Hate speech" in notice.message
    assert_counters_right(app)


def test_dismiss_brings_back_a_post_hidden_by_reports(scene, make, app):
    post = make.reply(scene.author, scene.topic, "An unpopular but fair opinion")
    for number in range(3):
        item_id = report(app, make.user(f"regular{number}"), post.id, "harassment")
    assert post_status(app, post.id) == PostStatus.HIDDEN
    assert_counters_right(app)
    page = scene.browser.get(f"/review/{item_id}").text
    assert 'value="dismiss"' in page and 'value="approve"' not in page
    assert act(scene.browser, item_id, "dismiss", reason="It is fair comment.").status_code == 302
    assert post_status(app, post.id) == PostStatus.PUBLISHED
    assert item_for(app, post.id).status == "dismissed"
    assert "An unpopular but fair opinion" in app.test_client().get(f"/t/{scene.topic.id}").text
    assert_counters_right(app)


def test_hiding_a_first_post_hides_its_topic_and_deleting_it_leaves_a_placeholder(scene, make, app):
    topic = make.topic(scene.author, scene.board, title="Contested", body="Opening post")
    for number in range(2):
        make.reply(make.user(f"replier{number}"), topic, f"Reply {number}")
    with app.app_context():
        first = db.session.scalar(sa.select(sa.func.min(Post.id)).where(Post.topic_id == topic.id))
    assert (
        detached(app, Board, scene.board.id).topic_count,
        detached(app, Board, scene.board.id).post_count,
    ) == (2, 4)
    for number in range(3):
        item_id = report(app, make.user(f"regular{number}"), first, "harassment")
    assert detached(app, Topic, topic.id).status == PostStatus.HIDDEN
    assert "Contested" not in app.test_client().get("/b/general").text
    assert app.test_client().get(f"/t/{topic.id}").status_code == 404
    assert_counters_right(app)

    assert act(scene.browser, item_id, "dismiss").status_code == 302
    assert "Contested" in app.test_client().get("/b/general").text
    assert_counters_right(app)

    # Deleting the first post keeps the conversation: the replies stay, under a placeholder.
    item_id = report(app, make.user("another"), first, "spam")
    assert act(scene.browser, item_id, "delete", reason="Not allowed").status_code == 302
    assert detached(app, Topic, topic.id).status == PostStatus.PUBLISHED
    thread = app.test_client().get(f"/t/{topic.id}").text
    assert "removed by a moderator" in thread and "Opening post" not in thread
    assert "Reply 0" in thread and "Reply 1" in thread
    board = detached(app, Board, scene.board.id)
    assert (board.topic_count, board.post_count) == (2, 3)
    assert_counters_right(app)


def test_lock_and_unlock_the_topic_while_the_item_stays_open(scene, make, app):
    post_id, item_id = scene.reported("Heated words")
    member = new_client(app, make.user("oak"))
    assert act(scene.browser, item_id, "lock", reason="Cooling off").status_code == 302
    assert detached(app, Topic, scene.topic.id).is_locked
    assert item_for(app, post_id).status == "pending"
    response = member.post(f"/t/{scene.topic.id}/reply", data={"body": "More!", "submit": "Go"})
    assert response.status_code == 403 and "locked" in page_text(response)
    assert act(scene.browser, item_id, "unlock").status_code == 302
    assert not detached(app, Topic, scene.topic.id).is_locked
    response = member.post(f"/t/{scene.topic.id}/reply", data={"body": "Calmer", "submit": "Go"})
    assert response.status_code == 302
    assert_counters_right(app)


def test_move_takes_the_topic_and_its_counts_to_another_board(scene, make, app):
    post_id, item_id = scene.reported("This belongs elsewhere", "spam")
    scene.held("A waiting reply in the moved topic")
    before_general = detached(app, Board, scene.board.id)
    assert (before_general.topic_count, before_general.post_count) == (1, 2)
    third = make.board("third", "Third")  # warden does not moderate it
    response = act(scene.browser, item_id, "move", board=third.id, reason="Better there")
    assert response.status_code == 403
    assert detached(app, Topic, scene.topic.id).board_id == scene.board.id

    assert act(scene.browser, item_id, "move", board=scene.other.id).status_code == 302
    assert detached(app, Topic, scene.topic.id).board_id == scene.other.id
    general, other = detached(app, Board, scene.board.id), detached(app, Board, scene.other.id)
    assert (general.topic_count, general.post_count) == (0, 0)
    assert (other.topic_count, other.post_count) == (1, 2)
    with app.app_context():
        boards = set(db.session.scalars(sa.select(ReviewItem.board_id)))
    assert boards == {scene.other.id}
    assert "Evenings" in app.test_client().get("/b/other").text
    assert "Evenings" not in app.test_client().get("/b/general").text
    assert_counters_right(app)


def test_suspend_lets_the_member_read_but_not_post_or_report(scene, make, app, client, auth):
    post_id, item_id = scene.reported("Provoking people again")
    someone_elses = make.reply(make.user("oak"), scene.topic, "A calm reply")
    auth.login(scene.author)
    response = act(scene.browser, item_id, "suspend", days=7, reason="Cooling off, please.")
    assert response.status_code == 302
    until = detached(app, User, scene.author.id).suspended_until
    assert timedelta(days=6, hours=23) < until - utcnow() <= timedelta(days=7)

    assert client.get(f"/t/{scene.topic.id}").status_code == 200  # still reads
    posts_before = count(app, Post)
    for response in (
        client.get("/b/general/new"),
        client.post("/b/general/new", data={"title": "x", "body": "y", "submit": "Go"}),
        client.post(f"/t/{scene.topic.id}/reply", data={"body": "y", "submit": "Go"}),
    ):
        assert response.status_code == 403
        assert "Your account is suspended until" in page_text(response)
    assert client.post(f"/p/{someone_elses.id}/report", data={"reason": "spam"}).status_code == 403
    assert count(app, Post) == posts_before

    notices = page_text(client.get("/notices"))
    assert "Your account is suspended" in notices and "for 7 days" in notices
    assert "Cooling off, please." in notices
    assert any(
        message["Subject"] == "Your account is suspended"
        and "Cooling off, please." in message.get_body(("plain",)).get_content()
        for message in mail.outbox
        if message["To"] == "quietfern@example.org"
    )


def test_ban_ends_the_members_session_and_stops_them_logging_in(scene, app, client, auth):
    post_id, item_id = scene.reported("Threats")
    auth.login(scene.author)
    assert client.get("/notices").status_code == 200
    assert act(scene.browser, item_id, "ban", reason="Threats of violence").status_code == 302
    assert detached(app, User, scene.author.id).banned_at is not None
    response = client.get("/notices")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = log_in(client, "quietfern")
    assert response.status_code == 403
    assert "This account has been closed by the moderators." in page_text(response)
    assert [notice.kind for notice in notices_of(app, scene.author)] == ["banned"]
    assert any(
        "Threats of violence" in message.get_body(("plain",)).get_content()
        for message in mail.outbox
        if message["To"] == "quietfern@example.org"
    )


@pytest.mark.parametrize("action", ["reject", "hide", "delete", "suspend", "ban"])
def test_actions_that_touch_a_member_need_a_reason(scene, app, action):
    post_id, item_id = scene.held("Waiting words")
    version = item_for(app, post_id).version
    response = act(scene.browser, item_id, action, days=7)
    assert response.status_code == 400
    assert "Give a reason: the member will see it." in field_error(response, "reason")
    assert post_status(app, post_id) == PostStatus.PENDING
    item = item_for(app, post_id)
    assert (item.status, item.version) == ("pending", version)
    user = detached(app, User, scene.newbie.id)
    assert user.suspended_until is None and user.banned_at is None
    assert count(app, AuditEntry, AuditEntry.target_type == "review_item") == 0
    assert count(app, Notice) == 0


def _audit_case(name):
    """Per action: where the item comes from, extra form fields, and what must change."""
    return {
        "approve": ("held", {}, ("post", "status"), ("pending", "published")),
        "approve_edited": (
            "held",
            {"body": "Edited kindly"},
            ("post", "status"),
            ("pending", "published"),
        ),
        "reject": ("held", {}, ("post", "status"), ("pending", "rejected")),
        "hide": ("reported", {}, ("post", "status"), ("published", "hidden")),
        "delete": ("reported", {}, ("post", "status"), ("published", "removed")),
        "dismiss": ("reported", {}, ("status",), ("pending", "dismissed")),
        "lock": ("reported", {}, ("post", "topic_locked"), (False, True)),
        "unlock": ("reported", {}, ("post", "topic_locked"), (True, False)),
        "move": ("reported", {"board": "other"}, ("post", "board_id"), ("general", "other")),
        "suspend": ("reported", {"days": 3}, ("member", "suspended_until"), (None, "set")),
        "ban": ("reported", {}, ("member", "banned_at"), (None, "set")),
    }[name]


@pytest.mark.parametrize("action", EVERY_ACTION)
def test_every_action_is_audited_recorded_and_keeps_the_counters(scene, app, action):
    source, fields, path, (was, becomes) = _audit_case(action)
    post_id, item_id = scene.held() if source == "held" else scene.reported()
    if action == "unlock":
        update(app, Topic, scene.topic.id, is_locked=True)
    board_ids = {"general": scene.board.id, "other": scene.other.id}
    fields = {key: board_ids.get(value, value) for key, value in fields.items()}
    reason = f"Reason for {action}"
    response = act(scene.browser, item_id, action, reason=reason, **fields)
    assert response.status_code == 302, page_text(response)

    [entry] = audit_entries(app, target_type="review_item", target_id=item_id)
    assert (entry.actor_id, entry.actor_name, entry.action, entry.reason) == (
        scene.moderator.id,
        "warden",
        f"review.{action}",
        reason,
    )
    before, after = entry.before, entry.after
    for key in path:
        before, after = before[key], after[key]
    was, becomes = (board_ids.get(value, value) for value in (was, becomes))
    assert before == was
    assert after is not None if becomes == "set" else after == becomes
    with app.app_context():
        events = db.session.execute(
            sa.select(ReviewEvent.actor_id, ReviewEvent.note).where(
                ReviewEvent.item_id == item_id, ReviewEvent.actor_id.is_not(None)
            )
        ).all()
    assert events == [(scene.moderator.id, reason)]
    assert_counters_right(app)


# --- many at once -------------------------------------------------------------------------


def checkbox_values(response) -> list[str]:
    return re.findall(r'name="selected" value="(\d+:\d+)"', response.text)


def test_bulk_approve_skips_an_item_that_changed_meanwhile(scene, make, app):
    held = [
        scene.held(f"Hello number {number}", author=make.user(f"newcomer{number}", trusted=False))
        for number in range(4)
    ]
    selection = checkbox_values(scene.browser.get("/review"))
    assert len(selection) == 4
    # Another moderator acts on one of them after the page was loaded.
    other_moderator = make.user("keeper", role="moderator", moderates=(scene.board,))
    changed_post, changed_item = held[1]
    decide(app, other_moderator, changed_item, "lock")
    response = scene.browser.post("/review/bulk", data={"selected": selection, "action": "approve"})
    assert response.status_code == 302
    flash = page_text(scene.browser.get("/review"))
    assert "3 approved. 1 had been changed by someone else" in flash
    for post_id, item_id in held:
        expected = PostStatus.PENDING if item_id == changed_item else PostStatus.PUBLISHED
        assert post_status(app, post_id) == expected
    assert item_for(app, changed_post).status == "pending"
    assert queue_item_ids(scene.browser.get("/review")) == [changed_item]
    assert len(audit_entries(app, action="review.approve")) == 3
    assert_counters_right(app)


def test_bulk_reject_needs_a_reason_and_tells_each_member(scene, make, app):
    members = [make.user(f"spammer{number}", trusted=False) for number in range(3)]
    held = [scene.held(f"Buy now {number}", author=member) for number, member in enumerate(members)]
    selection = checkbox_values(scene.browser.get("/review"))
    response = scene.browser.post("/review/bulk", data={"selected": selection, "action": "reject"})
    assert response.status_code == 302
    assert "Give a reason" in page_text(scene.browser.get("/review"))
    assert all(post_status(app, post_id) == PostStatus.PENDING for post_id, _ in held)

    response = scene.browser.post(
        "/review/bulk",
        data={
            "selected": selection,
            "action": "reject",
            "template": template_id(app, "Spam or advertising"),
        },
    )
    assert response.status_code == 302
    assert "3 rejected." in page_text(scene.browser.get("/review"))
    assert all(post_status(app, post_id) == PostStatus.REJECTED for post_id, _ in held)
    spam_text = template_text(app, "Spam or advertising")
    for member in members:
        [notice] = notices_of(app, member)
        assert notice.kind == "rejected" and spam_text in notice.message
        assert any(
            message["To"] == member.email
            and spam_text in message.get_body(("plain",)).get_content()
            for message in mail.outbox
        )
    assert_counters_right(app)


# --- two moderators -------------------------------------------------------------------------


def test_a_claim_shows_other_moderators_who_is_handling_the_item(scene, make, app):
    post_id, item_id = scene.held()
    keeper = new_client(app, make.user("keeper", role="moderator", moderates=(scene.board,)))
    assert scene.browser.post(f"/review/{item_id}/claim").status_code == 302
    assert "You are handling this item" in page_text(scene.browser.get(f"/review/{item_id}"))
    assert "warden is handling this item" in page_text(keeper.get(f"/review/{item_id}"))
    row = keeper.get("/review").text.split(f'href="/review/{item_id}"')[1].split("</tr>")[0]
    assert "<td>warden</td>" in row
    keeper.post(f"/review/{item_id}/claim")
    assert "warden is already handling this item." in page_text(keeper.get("/review"))
    assert item_for(app, post_id).claimed_by_id == scene.moderator.id
    # A claim does not make anyone's open page stale.
    assert (
        act(keeper, item_id, "approve", version=item_for(app, post_id).version).status_code == 302
    )

    other_post, other_item = scene.held("Second one", author=make.user("newcomer2", trusted=False))
    scene.browser.post(f"/review/{other_item}/claim")
    scene.browser.post(f"/review/{other_item}/release")
    assert item_for(app, other_post).claimed_by_id is None
    keeper.post(f"/review/{other_item}/claim")
    assert item_for(app, other_post).claimed_by_id != scene.moderator.id


def test_an_action_on_an_item_that_moved_on_is_refused_with_the_fresh_state(scene, make, app):
    post_id, item_id = scene.reported("Heated words")
    keeper = new_client(app, make.user("keeper", role="moderator", moderates=(scene.board,)))
    seen_by_warden = version_on(scene.browser.get(f"/review/{item_id}"))
    seen_by_keeper = version_on(keeper.get(f"/review/{item_id}"))
    assert act(keeper, item_id, "lock", version=seen_by_keeper).status_code == 302

    response = act(scene.browser, item_id, "hide", version=seen_by_warden, reason="Too heated")
    assert response.status_code == 409
    page = page_text(response)
    assert "Another moderator changed this item" in page
    assert "(General, locked)" in page and 'value="unlock"' in page  # the fresh state
    assert version_on(response) == seen_by_warden + 1
    assert post_status(app, post_id) == PostStatus.PUBLISHED
    assert len(audit_entries(app, target_type="review_item", target_id=item_id)) == 1

    # A decision then a late second one: the late one is refused, not applied twice.
    assert (
        act(keeper, item_id, "hide", version=seen_by_warden + 1, reason="Too heated").status_code
        == 302
    )
    response = act(scene.browser, item_id, "delete", version=seen_by_warden + 1, reason="Vile")
    assert response.status_code == 409
    assert "Another moderator changed this item" in page_text(response)
    assert "Rejected (by keeper)" in page_text(response)
    assert post_status(app, post_id) == PostStatus.HIDDEN
    assert [notice.kind for notice in notices_of(app, scene.author)] == ["hidden"]


RACES = [
    ("approve", "approve"),
    ("approve", "reject"),
    ("reject", "hide"),
    ("delete", "approve"),
    ("hide", "reject"),
    ("reject", "reject"),
]


def test_two_moderators_acting_at_the_same_moment_apply_exactly_one_action(scene, make, app):
    """Each press is a request in its own thread, with its own app context and session."""
    keeper = make.user("keeper", role="moderator", moderates=(scene.board,))
    browsers = {"warden": scene.browser, "keeper": new_client(app, keeper)}
    ids = {"warden": scene.moderator.id, "keeper": keeper.id}
    outcome = {"approve": "published", "reject": "rejected", "hide": "hidden", "delete": "removed"}
    for number, actions in enumerate(RACES):
        author = make.user(f"newcomer{number}", trusted=False)
        post_id, item_id = scene.held(f"Race {number}", author=author)
        version = item_for(app, post_id).version
        barrier = threading.Barrier(2)
        results, errors = {}, []

        def press(
            name,
            action,
            item_id=item_id,
            version=version,
            barrier=barrier,
            results=results,
            errors=errors,
        ):
            try:
                barrier.wait(timeout=30)
                results[name] = act(
                    browsers[name], item_id, action, version=version, reason="Not for this board"
                )
            except Exception as error:  # reported below, with the thread's story
                errors.append(error)

        threads = [
            threading.Thread(target=press, args=(name, action))
            for name, action in zip(browsers, actions, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        statuses = {name: response.status_code for name, response in results.items()}
        assert sorted(statuses.values()) == [302, 409], (actions, statuses)
        winner = next(name for name, status in statuses.items() if status == 302)
        loser = next(name for name in statuses if name != winner)
        assert "Another moderator changed this item" in page_text(results[loser])
        winning_action = actions[list(browsers).index(winner)]

        [entry] = audit_entries(app, target_type="review_item", target_id=item_id)
        assert (entry.actor_id, entry.action) == (ids[winner], f"review.{winning_action}")
        assert (
            count(
                app, ReviewEvent, ReviewEvent.item_id == item_id, ReviewEvent.actor_id.is_not(None)
            )
            == 1
        )
        assert len(notices_of(app, author)) == 1
        item = item_for(app, post_id)
        assert (item.version, item.decided_by_id) == (version + 1, ids[winner])
        assert post_status(app, post_id) == outcome[winning_action]
        assert_counters_right(app)
        user = detached(app, User, author.id)
        assert user.approved_post_count + user.rejected_post_count <= 1


# --- numbers at the top of the queue ----------------------------------------------------------


def add_items(app, rows) -> None:
    """Review items with a made-up history: (kind, status, opened_at, decided_at, seconds)."""
    with app.app_context():
        for kind, status, opened_at, decided_at, seconds in rows:
            db.session.add(
                ReviewItem(
                    kind=kind,
                    status=status,
                    category="other",
                    priority=30,
                    created_at=opened_at,
                    opened_at=opened_at,
                    decided_at=decided_at,
                    decision_seconds=seconds,
                )
            )
        db.session.commit()


def test_the_numbers_count_waiting_items_the_oldest_and_the_median_decision(make, app):
    now = utcnow()
    ago = lambda **delta: now - timedelta(**delta)  # noqa: E731
    add_items(
        app,
        [
            ("held_post", "pending", ago(days=3, hours=2), None, None),
            ("held_post", "pending", ago(hours=1), None, None),
            ("reported_post", "pending", ago(hours=2), None, None),
            ("flagged_post", "pending", ago(minutes=10), None, None),
            ("held_post", "approved", ago(days=1, minutes=1), ago(days=1), 60),
            ("reported_post", "rejected", ago(days=2, minutes=5), ago(days=2), 300),
            ("held_post", "approved", ago(days=6, hours=2), ago(days=6), 7200),
            ("held_post", "approved", ago(days=20), ago(days=10), 864_000),  # too long ago
        ],
    )
    admin = make.user("root", role="admin")
    with app.test_request_context():
        numbers = queue_numbers(db.session.get(User, admin.id))
    assert numbers.waiting_by_kind == {
        "held_post": 2,
        "reported_post": 1,
        "flagged_post": 1,
        "account": 0,
    }
    assert numbers.oldest_opened_at == ago(days=3, hours=2)
    assert (numbers.median_decision_seconds, numbers.decisions_last_week) == (300, 3)

    page = new_client(app, admin).get("/review").text
    for label, value in (
        ("Held posts", 2),
        ("Reported posts", 1),
        ("Flagged posts", 1),
        ("Accounts to review", 0),
    ):
        assert re.search(rf"<dt>{label} waiting</dt><dd>{value}</dd>", page), label
    assert "<dt>Oldest item waiting</dt><dd>3 days</dd>" in page
    assert re.search(
        r"Median time to a decision \(7 days, 3 decisions\)</dt><dd>5 minutes</dd>", page
    )


def test_the_chart_shows_items_waiting_per_day_with_a_table_alternative(make, app):
    def noon(days_ago):
        day = utcnow().date() - timedelta(days=days_ago)
        return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)

    history = [  # (opened, decided or None)
        (noon(40), None),  # waiting since before the window
        (noon(40), noon(20)),  # decided inside the window
        (noon(50), noon(45)),  # over before the window opened
        (noon(10), noon(5)),
        (noon(10), noon(10) + timedelta(hours=3)),  # opened and decided on one day
        (noon(3), None),
        (noon(1), None),
    ]
    add_items(
        app,
        [
            (
                "held_post",
                "approved" if decided else "pending",
                opened,
                decided,
                int((decided - opened).total_seconds()) if decided else None,
            )
            for opened, decided in history
        ],
    )
    today = utcnow().date()
    expected = []
    for offset in range(29, -1, -1):
        day = today - timedelta(days=offset)
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        waiting = sum(
            1 for opened, decided in history if opened < end and (decided is None or decided >= end)
        )
        expected.append((day.isoformat(), waiting))
    assert [count for _, count in expected][:3] == [2, 2, 2]  # the history is what we meant

    admin = make.user("root", role="admin")
    with app.test_request_context():
        assert queue_numbers(db.session.get(User, admin.id)).waiting_per_day == expected
    page = new_client(app, admin).get("/review").text
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg
    assert re.search(r"<title[^>]*>Items waiting per day, last 30 days</title>", svg)
    assert len(re.findall(r"<rect ", svg)) == 30
    table = re.findall(r"<tr><td>(\d{4}-\d{2}-\d{2})</td><td>(\d+)</td></tr>", page)
    assert [(day, int(waiting)) for day, waiting in table] == expected


def test_the_chart_and_median_are_kept_a_minute_while_waiting_counts_stay_live(
    make, app, monkeypatch
):
    now = utcnow()
    add_items(
        app,
        [
            ("held_post", "pending", now - timedelta(days=2), None, None),
            (
                "held_post",
                "approved",
                now - timedelta(days=1, minutes=1),
                now - timedelta(days=1),
                60,
            ),
        ],
    )
    admin = make.user("root", role="admin")
    clock = [1000.0]
    monkeypatch.setattr("forum.moderation.queue.time.monotonic", lambda: clock[0])

    def numbers():
        with app.test_request_context():
            return queue_numbers(db.session.get(User, admin.id))

    first = numbers()
    assert (first.total_waiting, first.decisions_last_week, first.waiting_per_day[-1][1]) == (
        1,
        1,
        1,
    )
    add_items(
        app,
        [
            ("held_post", "pending", now - timedelta(minutes=5), None, None),
            ("held_post", "rejected", now - timedelta(hours=1), now - timedelta(minutes=1), 3540),
        ],
    )
    clock[0] += 59
    kept = numbers()
    assert kept.total_waiting == 2  # live
    assert (kept.decisions_last_week, kept.waiting_per_day) == (
        first.decisions_last_week,
        first.waiting_per_day,
    )  # kept
    clock[0] += 2
    fresh = numbers()
    assert (
        fresh.decisions_last_week,
        fresh.median_decision_seconds,
        fresh.waiting_per_day[-1][1],
    ) == (2, 1800, 2)


def test_a_moderator_of_other_boards_never_sees_a_kept_chart_of_more_boards(make, app):
    board, other = make.board("general", "General"), make.board("other", "Other")
    admin = make.user("root", role="admin")
    moderator = make.user("keeper", role="moderator", moderates=(other,))
    now = utcnow()
    with app.app_context():
        db.session.add(
            ReviewItem(
                kind="held_post",
                status="pending",
                category="other",
                priority=30,
                board_id=board.id,
                created_at=now,
                opened_at=now - timedelta(hours=1),
            )
        )
        db.session.commit()
    with app.test_request_context():
        assert queue_numbers(db.session.get(User, admin.id)).waiting_per_day[-1][1] == 1
        assert queue_numbers(db.session.get(User, moderator.id)).waiting_per_day[-1][1] == 0


# --- notices --------------------------------------------------------------------------------


def test_members_hear_about_decisions_in_the_site_and_by_mail(scene, make, app, client, auth):
    update(app, Board, scene.other.id, mode="premoderated")
    topic = make.topic(scene.moderator, scene.other, title="Share here")
    posts = [
        scene.held(f"Post {name}", author=scene.author, topic=topic)
        for name in ("one", "two", "three", "four", "five")
    ]
    mail.outbox.clear()
    decisions = [
        ("approve", {}),
        ("reject", {"reason": "Reason two"}),
        ("hide", {"reason": "Reason three"}),
        ("delete", {"reason": "Reason four"}),
        ("suspend", {"reason": "Reason five", "days": 1}),
    ]
    for (_, item_id), (action, fields) in zip(posts, decisions, strict=True):
        assert act(scene.browser, item_id, action, **fields).status_code == 302, action

    subjects = [
        "Your post is now visible",
        "Your post was not published",
        "A moderator hid your post",
        "A moderator removed your post",
        "Your account is suspended",
    ]
    to_author = [message for message in mail.outbox if message["To"] == "quietfern@example.org"]
    assert [message["Subject"] for message in to_author] == subjects
    for message, reason in zip(
        to_author[1:], ("Reason two", "Reason three", "Reason four", "Reason five"), strict=True
    ):
        assert reason in message.get_body(("plain",)).get_content()

    auth.login(scene.author)
    page = page_text(client.get("/notices"))
    assert re.search(r"Notices <span class=\"badge\">\(5 new\)</span>", page)
    for subject in subjects:
        assert subject in page
    for reason in ("Reason two", "Reason three", "Reason four", "Reason five"):
        assert reason in page
    response = client.post("/notices")
    assert response.status_code == 302
    page = page_text(client.get(response.headers["Location"]))
    assert "All notices marked as read." in page and "new)" not in page
    assert count(app, Notice, Notice.user_id == scene.author.id, Notice.read_at.is_(None)) == 0
    assert count(app, Notice, Notice.user_id == scene.author.id) == 5


# --- found on a second read ------------------------------------------------------------------


def test_nobody_reviews_reports_about_their_own_post_or_sees_who_made_them(scene, make, app):
    own_post = make.reply(scene.moderator, scene.topic, "A moderator's own words")
    item_id = report(app, make.user("brave"), own_post.id, "harassment")
    assert item_id not in queue_item_ids(scene.browser.get("/review"))
    assert scene.browser.get(f"/review/{item_id}").status_code == 403
    assert act(scene.browser, item_id, "dismiss", version=2).status_code == 403
    colleague = new_client(app, make.user("colleague", role="moderator", moderates_all=True))
    assert item_id in queue_item_ids(colleague.get("/review"))


def test_a_suspended_moderator_does_not_moderate(scene, make, app):
    _, item_id = scene.held()
    update(app, User, scene.moderator.id, suspended_until=utcnow() + timedelta(days=3))
    assert scene.browser.get("/review").status_code == 403
    assert act(scene.browser, item_id, "approve", version=1).status_code == 403
    assert detached(app, ReviewItem, item_id).status == "pending"


def test_a_member_can_report_again_once_the_item_was_decided(scene, make, app):
    reporter = make.user("brave")
    post_id, _ = scene.reported("Rude words")
    item_id = report(app, reporter, post_id, "harassment")
    assert act(scene.browser, item_id, "dismiss").status_code == 302
    # Reported again later: the same member's new report reopens the item.
    assert report(app, reporter, post_id, "harassment") == item_id
    assert detached(app, ReviewItem, item_id).status == "pending"


def test_an_authors_edit_makes_a_moderators_open_page_stale(scene, make, app):
    post_id, item_id = scene.reported("Rude words")
    seen = version_on(scene.browser.get(f"/review/{item_id}"))
    author = new_client(app, scene.author)
    assert author.post(f"/p/{post_id}/edit", data={"body": "Kind words"}).status_code == 302
    refused = act(scene.browser, item_id, "dismiss", version=seen)
    assert refused.status_code == 409 and "Kind words" in refused.text
    assert "edited by its author" in refused.text


def test_a_member_who_is_not_yet_trusted_has_their_edits_reviewed(scene, make, app):
    post_id, item_id = scene.held("Hello, I am new")
    assert act(scene.browser, item_id, "approve").status_code == 302
    newbie = new_client(app, scene.newbie)
    assert (
        newbie.post(f"/p/{post_id}/edit", data={"body": "BUY PILLS at spam.example"}).status_code
        == 302
    )
    assert post_status(app, post_id) == PostStatus.PENDING
    assert "BUY PILLS" not in app.test_client().get(f"/t/{scene.topic.id}").text
    assert_counters_right(app)


def test_rejecting_an_edit_puts_back_the_version_everyone_saw(scene, make, app, client):
    watch(app, "bargain", "hold")
    post = make.reply(scene.author, scene.topic, "My first version")
    author = new_client(app, scene.author)
    author.post(f"/p/{post.id}/edit", data={"body": "What a bargain"})
    item_id = item_for(app, post.id).id
    mail.outbox.clear()
    assert act(scene.browser, item_id, "reject", reason="No selling here").status_code == 302
    [told] = mail.outbox  # the turned-down words stay on the site, out of the mailbox
    told_text = told.get_body(("plain",)).get_content()
    assert "No selling here" in told_text and "notices page" in told_text
    assert "bargain" not in told.as_string()
    assert post_status(app, post.id) == PostStatus.PUBLISHED
    thread = app.test_client().get(f"/t/{scene.topic.id}").text
    assert "My first version" in thread and "bargain" not in thread
    notices = page_text(author.get("/notices"))
    assert "What a bargain" in notices and "No selling here" in notices
    assert_counters_right(app)


def test_a_member_withdraws_a_waiting_post_and_its_words_are_erased(scene, make, app):
    post_id, item_id = scene.held("Call me on 07700 900123 please")
    newbie = new_client(app, scene.newbie)
    page = newbie.get(f"/t/{scene.topic.id}")
    assert "Withdraw" in page.text
    assert newbie.post(f"/p/{post_id}/withdraw").status_code == 302
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post.status == PostStatus.DELETED and post.body_source == ""
    assert detached(app, ReviewItem, item_id).status == "dismissed"
    assert item_id not in queue_item_ids(scene.browser.get("/review"))
    # Someone else cannot withdraw a member's post.
    other_post, _ = scene.held("Another waiting post", author=make.user("fern", trusted=False))
    assert newbie.post(f"/p/{other_post}/withdraw").status_code == 404
    assert_counters_right(app)


def test_a_withdrawn_crisis_post_stays_for_a_moderator_to_see(scene, make, app):
    post_id, item_id = scene.held("I want to die tonight")
    assert new_client(app, scene.newbie).post(f"/p/{post_id}/withdraw").status_code == 302
    assert detached(app, ReviewItem, item_id).status == "pending"
    item_page = page_text(scene.browser.get(f"/review/{item_id}"))
    assert "I want to die tonight" in item_page and "withdrawn by its author" in item_page
    assert act(scene.browser, item_id, "dismiss").status_code == 302
    with app.app_context():
        assert db.session.get(Post, post_id).body_source == ""  # erased once decided


def test_a_member_deletes_their_returned_text(scene, make, app):
    post_id, item_id = scene.held("Words a moderator turned down")
    assert act(scene.browser, item_id, "reject", reason="Not here").status_code == 302
    newbie = new_client(app, scene.newbie)
    assert "Delete this text" in newbie.get(f"/p/{post_id}/returned").text
    assert newbie.post(f"/p/{post_id}/withdraw").status_code == 302
    assert newbie.get(f"/p/{post_id}/returned").status_code == 404
    with app.app_context():
        assert db.session.get(Post, post_id).body_source == ""


@pytest.mark.parametrize("field", ["template", "board", "days"])
def test_numbers_too_big_for_the_database_are_refused_beside_the_field(scene, app, field):
    _, item_id = scene.reported("Words")
    action = {"template": "hide", "board": "move", "days": "suspend"}[field]
    # An impossible template counts as none: "hide" then still needs a reason.
    reason = "" if field == "template" else "A reason"
    response = act(scene.browser, item_id, action, reason=reason, **{field: "99999999999999999999"})
    assert response.status_code == 400
    assert detached(app, ReviewItem, item_id).status == "pending"


def test_bulk_refuses_an_oversized_selection_without_losing_anything(scene, app):
    _, item_id = scene.held()
    selection = [f"{item_id}:1"] * 101
    response = scene.browser.post(
        "/review/bulk", data={"selected": selection, "action": "approve"}, follow_redirects=True
    )
    assert "Select up to 100 items at a time" in page_text(response)
    assert detached(app, ReviewItem, item_id).status == "pending"
