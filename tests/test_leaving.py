"""Taking one's data and leaving: "Download my data", "Delete my account", the two
weeks' grace that logging in cancels, and the erasure `forum erase-accounts` does."""

from __future__ import annotations

import contextlib
import email
import email.policy
import html
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import mail
from forum.extensions import db
from forum.models import (
    AccountToken,
    AuditEntry,
    Block,
    Board,
    BoardMute,
    DigestDelivery,
    Follow,
    MailSettings,
    MutedPhrase,
    Notice,
    OutboxBody,
    OutboxMessage,
    Post,
    PostRevision,
    PostStatus,
    Reaction,
    ReviewEvent,
    ReviewItem,
    ReviewStatus,
    Topic,
    User,
    utcnow,
)
from forum.services import accounts, integrity, leaving, left_posts, posting, transaction
from tests.helpers.app import TEST_PASSWORD, log_in, page_text
from tests.helpers.moderation import (
    assert_counters_right,
    decide,
    detached,
    field_error,
    new_client,
    report,
    update,
    watch,
)

DAY = timedelta(days=1)


def ask_to_delete(client, choice: str = "remove", password: str = TEST_PASSWORD):
    return client.post("/account/delete", data={"posts": choice, "password": password})


def erase(app, now):
    with app.test_request_context():
        report_ = leaving.erase_due(now)
        db.session.remove()
        return report_


def user_row(app, user) -> User:
    return detached(app, User, user.id)


def add_rows(app, *rows) -> None:
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()


def unzip(response) -> tuple[dict, str, zipfile.ZipFile]:
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(archive.read("kindred-data.json").decode("utf-8"))
    return data, archive.read("posts.md").decode("utf-8"), archive


# --- download my data ---------------------------------------------------------------------


@pytest.fixture
def lived_in(app, make):
    """A member with posts, settings, follows, a block, mutes and reactions, among others
    who report, block and moderate them."""
    lounge, quiet = make.board("lounge", "Lounge"), make.board("quiet", "Quiet corner")
    wren = make.user("wren", email="wren@example.org")
    other = make.user("sparrow", email="sparrow.private@example.org")
    blocker = make.user("rook", email="rook@example.org")
    moderator = make.user("warden", role="moderator", moderates_all=True)
    own_topic = make.topic(wren, lounge, "Sleepless again", "Third night *awake*.")
    other_topic = make.topic(other, lounge, "Morning walks", "Anyone else walk early?")
    reply = make.reply(wren, other_topic, "Every day at six.")
    regret = make.reply(wren, other_topic, "Something I took back")
    with app.test_request_context():
        posting.delete_post(db.session.get(User, wren.id), db.session.get(Post, regret.id))
    report(app, other, reply.id, "harassment", note="reported by sparrow: secret note")
    with app.test_request_context():
        member = db.session.get(User, wren.id)
        with transaction():
            settings = MailSettings(user_id=wren.id, digest="weekly", timezone="Europe/Paris")
            db.session.add(settings)
            db.session.add(Follow(user_id=wren.id, board_id=quiet.id))
            member.hides_recent_posts = True
        db.session.add_all(
            [
                Block(blocker_id=wren.id, blocked_id=other.id),
                Block(blocker_id=blocker.id, blocked_id=wren.id),  # never told to wren
                MutedPhrase(user_id=wren.id, phrase="Exams", phrase_key="exams"),
                BoardMute(user_id=wren.id, board_id=quiet.id),
                Reaction(
                    post_id=other_topic_first(other_topic.id), user_id=wren.id, kind="i_hear_you"
                ),
            ]
        )
        db.session.commit()
    return {
        "wren": wren,
        "other": other,
        "blocker": blocker,
        "moderator": moderator,
        "own_topic": own_topic,
        "other_topic": other_topic,
        "reply": reply,
        "regret": regret,
    }


def other_topic_first(topic_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.min(Post.id)).where(Post.topic_id == topic_id))


def test_download_gives_a_zip_of_the_members_own_data(client, auth, lived_in):
    auth.login(lived_in["wren"])
    response = client.post("/account/data")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert ".zip" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    data, posts_md, archive = unzip(response)
    assert sorted(archive.namelist()) == ["kindred-data.json", "posts.md"]

    assert data["account"]["username"] == "wren"
    assert data["account"]["email"] == "wren@example.org"
    assert data["account"]["role"] == "member" and data["account"]["joined"]
    settings = data["settings"]
    assert settings["mail"]["digest"] == "weekly"
    assert settings["mail"]["timezone"] == "Europe/Paris"
    assert settings["blocked_members"] == ["sparrow"]
    assert settings["muted_phrases"] == ["Exams"]
    assert settings["muted_boards"] == ["Quiet corner"]
    assert settings["privacy"] == {"hide_recent_posts_on_profile": True}
    assert [row["board"] for row in settings["follows"]["boards"]] == ["Quiet corner"]
    assert {row["topic"] for row in settings["follows"]["topics"]} == {
        "Sleepless again",
        "Morning walks",
    }
    assert [row["reaction"] for row in data["reactions_given"]] == ["I hear you"]

    posts = data["posts"]
    assert [post["markdown"] for post in posts] == [
        "Third night *awake*.",
        "Every day at six.",
    ]  # not the deleted one
    assert [post["topic"] for post in posts] == ["Sleepless again", "Morning walks"]
    assert {post["board"] for post in posts} == {"Lounge"}
    assert all(post["status"] == "published" and post["written_at"] for post in posts)

    # posts.md reads as a document: by topic, dated, the Markdown as written.
    assert posts_md.startswith("# Your posts on Kindred")
    assert posts_md.index("## Sleepless again") < posts_md.index("## Morning walks")
    assert "Third night *awake*." in posts_md and "Every day at six." in posts_md
    assert "Something I took back" not in posts_md

    everything = json.dumps(data) + posts_md
    for secret in (
        "sparrow.private@example.org",
        "rook",
        "secret note",
        "harassment",
        "Something I took back",
        "warden",
    ):
        assert secret not in everything, secret


def test_download_says_what_a_member_may_know_about_a_post_and_no_more(app, client, auth, lived_in):
    reply = lived_in["reply"]
    # Hidden by members' reports (the author is not told who, or that they were reports).
    update(app, Post, reply.id, status=PostStatus.HIDDEN)
    # sparrow's topic was taken out of view: wren's reply no longer tells its title.
    update(app, Topic, lived_in["other_topic"].id, status=PostStatus.HIDDEN)
    auth.login(lived_in["wren"])
    data, posts_md, _ = unzip(client.post("/account/data"))
    [hidden] = [post for post in data["posts"] if post["id"] == reply.id]
    assert hidden["status"] == "not visible to others at the moment"
    assert hidden["topic"] == "(a topic that is no longer visible)"
    assert "Morning walks" not in json.dumps(data) + posts_md


def test_download_is_a_post_for_members_only(app, client, auth, lived_in):
    assert client.get("/account/data").status_code == 405
    response = client.post("/account/data")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.login(lived_in["wren"])
    app.config["WTF_CSRF_ENABLED"] = True  # without the form's token, nothing is sent
    response = client.post("/account/data")
    assert response.status_code in (302, 400)
    assert response.mimetype != "application/zip"


def test_the_account_page_offers_both(client, auth, make):
    auth.login(make.user("wren"))
    text = page_text(client.get("/account"))
    assert "Download my data" in text and "Delete my account" in text


# --- scheduling and cancelling --------------------------------------------------------------


def test_asking_to_delete_schedules_it_logs_out_everywhere_and_mails_the_date(app, make):
    wren = make.user("wren")
    browser, phone = new_client(app, wren), new_client(app, wren)
    page = browser.get("/account/delete")
    assert page.status_code == 200
    assert "What should happen to your posts?" in page_text(page)
    mail.outbox.clear()
    before = utcnow()
    response = ask_to_delete(browser, "keep")
    assert response.status_code == 302 and response.headers["Location"] == "/account/deleted"
    landing = page_text(browser.get("/account/deleted"))
    assert "Your account will be deleted on" in landing and "Log in" in landing

    row = user_row(app, wren)
    assert before + 14 * DAY <= row.deletion_due_at <= utcnow() + 14 * DAY
    assert row.keep_posts_on_deletion is True and row.erased_at is None
    for device in (browser, phone):  # every session has ended
        assert device.get("/account").status_code == 302
    (message,) = mail.outbox
    assert message["To"] == "wren@example.org"
    body = message.get_content()
    assert f"{row.deletion_due_at:%-d %B %Y}" in body
    assert "Log in before then and the deletion is cancelled" in body


def test_a_wrong_password_keeps_the_account_and_the_choice(app, client, auth, make):
    wren = make.user("wren")
    auth.login(wren)
    response = ask_to_delete(client, "keep", "not my password")
    assert response.status_code == 400
    assert "That isn't your password" in html.unescape(field_error(response, "password"))
    assert re.search(r'<input checked[^>]*value="keep"', response.text)  # as chosen
    no_choice = client.post("/account/delete", data={"password": TEST_PASSWORD})
    assert no_choice.status_code == 400
    assert "Choose whether to remove or keep your posts." in page_text(no_choice)
    assert user_row(app, wren).deletion_due_at is None
    assert client.get("/account").status_code == 200  # still logged in


def test_admins_step_down_before_they_can_leave(app, client, auth, make):
    boss = make.user("boss", role="admin")
    auth.login(boss)
    page = client.get("/account/delete")
    assert "Ask another admin to take away your admin role first" in page_text(page)
    assert 'name="password"' not in page.text
    assert ask_to_delete(client).status_code == 403
    assert user_row(app, boss).deletion_due_at is None


def test_logging_in_cancels_the_deletion_and_says_so(app, client, auth, make):
    wren = make.user("wren")
    auth.login(wren)
    ask_to_delete(client)
    assert user_row(app, wren).deletion_due_at is not None
    response = log_in(client, "wren")
    assert response.status_code == 302
    assert "Your account will not be deleted" in page_text(client.get(response.headers["Location"]))
    row = user_row(app, wren)
    assert row.deletion_due_at is None and row.deletion_requested_at is None
    assert erase(app, utcnow() + 30 * DAY).erased == 0
    assert log_in(app.test_client(), "wren").status_code == 302  # the account is whole


def test_a_banned_member_cannot_cancel_by_logging_in(app, client, auth, make):
    """A ban closes the account: the deletion asked for before it goes ahead."""
    wren = make.user("wren")
    auth.login(wren)
    ask_to_delete(client)
    update(app, User, wren.id, banned_at=utcnow())
    assert log_in(client, "wren").status_code == 403
    assert user_row(app, wren).deletion_due_at is not None
    assert erase(app, utcnow() + 15 * DAY).erased == 1


# --- erasure --------------------------------------------------------------------------------


def test_erasure_comes_after_fourteen_days_not_before_and_only_once(app, client, auth, make):
    wren = make.user("wren")
    auth.login(wren)
    ask_to_delete(client)
    assert erase(app, utcnow() + 13 * DAY).erased == 0
    assert user_row(app, wren).erased_at is None
    later = utcnow() + 15 * DAY
    assert erase(app, later).erased == 1
    row = user_row(app, wren)
    assert row.erased_at == later
    assert row.username.startswith("former-member-") and row.username_key == row.username
    assert "@" not in row.email and row.email_verified_at is None
    assert row.deletion_due_at is None
    assert erase(app, later + DAY).erased == 0  # run again: nothing more to do


def test_remove_erases_the_posts_words_and_keeps_the_counters_right(app, client, auth, make):
    lounge = make.board("lounge")
    wren, fern = make.user("wren"), make.user("fern")
    own = make.topic(wren, lounge, "Wren's worries", "Something only I should say")
    fern_reply = make.reply(fern, own, "Here for you")
    fern_topic = make.topic(fern, lounge, "Fern's topic", "Hello")
    wren_reply = make.reply(wren, fern_topic, "My own words here")
    with app.test_request_context():  # an edit leaves an earlier version
        posting.edit_post(
            db.session.get(User, wren.id),
            db.session.get(Post, wren_reply.id),
            "My own words, edited",
        )
    # A logged-out visitor's copy of the page is cached: it must not outlive the words.
    assert "Something only I should say" in page_text(app.test_client().get(f"/t/{own.id}"))
    auth.login(wren)
    ask_to_delete(client, "remove")
    erase(app, utcnow() + 15 * DAY)

    with app.app_context():
        posts = {post.id: post for post in db.session.scalars(sa.select(Post))}
        first = db.session.scalar(
            sa.select(Post).where(Post.topic_id == own.id).order_by(Post.id).limit(1)
        )
        for post in (first, posts[wren_reply.id]):
            assert post.status == PostStatus.DELETED
            assert post.body_source == post.body_html == "" and post.author_id is None
        assert posts[fern_reply.id].body_source == "Here for you"  # others' words stay
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PostRevision)) == 0
        topic = db.session.get(Topic, own.id)
        assert topic.title == left_posts.LEFT_TOPIC_TITLE and topic.author_id is None
        assert topic.status == PostStatus.PUBLISHED  # fern's reply still reads
        assert topic.post_count == 1
        assert db.session.get(Topic, fern_topic.id).post_count == 1
        board = db.session.get(Board, lounge.id)
        assert (board.topic_count, board.post_count) == (2, 2)
        assert integrity.find_problems() == []
    assert_counters_right(app)
    page = page_text(app.test_client().get(f"/t/{own.id}"))
    assert "Something only I should say" not in page and "Wren's worries" not in page
    assert "Here for you" in page


def test_keep_leaves_published_posts_under_a_former_member(app, client, auth, make):
    lounge = make.board("lounge")
    wren, fern = make.user("wren"), make.user("fern")
    own = make.topic(wren, lounge, "Small wins", "I went outside today")
    make.reply(fern, own, "That is big")
    with app.test_request_context():
        posting.edit_post(
            db.session.get(User, wren.id),
            db.session.get(Post, other_topic_first(own.id)),
            "I went outside today!",
            title="Small wins",
        )
    auth.login(wren)
    ask_to_delete(client, "keep")
    erase(app, utcnow() + 15 * DAY)
    with app.app_context():
        first = db.session.scalar(
            sa.select(Post).where(Post.topic_id == own.id).order_by(Post.id).limit(1)
        )
        assert first.status == PostStatus.PUBLISHED and first.author_id is None
        assert first.body_source == "I went outside today!"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PostRevision)) == 0
        topic = db.session.get(Topic, own.id)
        assert topic.title == "Small wins" and topic.author_id is None
        assert topic.post_count == 2
        assert integrity.find_problems() == []
    page = page_text(app.test_client().get(f"/t/{own.id}"))
    assert "I went outside today!" in page and "A former member" in page
    assert "wren" not in page and "former-member-" not in page


def test_posts_that_never_went_out_are_withdrawn_even_when_kept(app, client, auth, make):
    lounge = make.board("lounge")
    wren = make.user("wren", trusted=False)
    waiting = make.topic(wren, lounge, "Held back", "Waiting for a moderator")
    auth.login(wren)
    ask_to_delete(client, "keep")
    erase(app, utcnow() + 15 * DAY)
    with app.app_context():
        post = db.session.scalar(sa.select(Post).where(Post.topic_id == waiting.id))
        assert post.status == PostStatus.DELETED and post.body_source == ""
        item = db.session.scalar(sa.select(ReviewItem).where(ReviewItem.post_id == post.id))
        assert item.status == ReviewStatus.DISMISSED  # held only by the posting checks
        assert integrity.find_problems() == []


def _as_seen(app, post_id: int) -> dict:
    """What members and moderators can tell of a post and its review item."""
    with app.app_context():
        post = db.session.get(Post, post_id)
        item = db.session.scalar(sa.select(ReviewItem).where(ReviewItem.post_id == post_id))
        history = db.session.scalars(
            sa.select(ReviewEvent.action)
            .where(ReviewEvent.item_id == (item.id if item else None))
            .order_by(ReviewEvent.id)
        ).all()
        return {
            "status": post.status,
            "words kept": post.body_source != "",
            "item": item.status if item else None,
            "history": history,
        }


def test_leaving_withdraws_and_deletes_each_post_as_its_author_would(app, client, auth, make):
    watch(app, "pancakes", "hold")
    topic = make.topic(make.user("fern"), make.board("lounge"), "A thread")
    reporter = make.user("reporter")

    def posts_of(member):
        waiting = make.reply(member, topic, "Pancakes at midnight")  # held: a watched word
        reported = make.reply(member, topic, "Words someone reported")
        report(app, reporter, reported.id, "harassment")
        plain = make.reply(member, topic, "Nothing to see")
        return [waiting.id, reported.id, plain.id]

    wren, robin = make.user("wren"), make.user("robin")
    by_hand, by_leaving = posts_of(wren), posts_of(robin)
    with app.test_request_context():
        author = db.session.get(User, wren.id)
        waiting, reported, plain = (db.session.get(Post, post_id) for post_id in by_hand)
        posting.withdraw_post(author, waiting)
        posting.delete_post(author, reported)
        posting.delete_post(author, plain)
    auth.login(robin)
    ask_to_delete(client, "remove")
    erase(app, utcnow() + 15 * DAY)

    seen = [_as_seen(app, post_id) for post_id in by_leaving]
    assert seen == [_as_seen(app, post_id) for post_id in by_hand]
    assert [entry["words kept"] for entry in seen] == [False, True, False]
    assert seen[1]["history"][-1] == "deleted by its author"
    assert_counters_right(app)


def test_words_under_an_open_report_stay_until_a_moderator_decides(app, client, auth, make):
    lounge = make.board("lounge")
    wren, fern = make.user("wren"), make.user("fern")
    warden = make.user("warden", role="moderator", moderates_all=True)
    topic = make.topic(fern, lounge, "A thread")
    cruel = make.reply(wren, topic, "Something cruel")
    item_id = report(app, fern, cruel.id, "harassment")
    auth.login(wren)
    ask_to_delete(client, "remove")
    erase(app, utcnow() + 15 * DAY)

    erased = user_row(app, wren)
    post = detached(app, Post, cruel.id)
    assert post.status == PostStatus.DELETED and post.body_source == "Something cruel"
    assert post.author_id == erased.id  # the pseudonym, while the item needs it
    moderator = new_client(app, warden)
    item_page = page_text(moderator.get(f"/review/{item_id}"))
    assert "Something cruel" in item_page and erased.username in item_page

    decide(app, warden, item_id, "dismiss")
    assert detached(app, Post, cruel.id).body_source == ""  # the decision erased them
    assert erase(app, utcnow() + 16 * DAY).posts_finished == 1
    assert detached(app, Post, cruel.id).author_id is None
    assert erase(app, utcnow() + 17 * DAY).posts_finished == 0


def test_a_post_still_out_when_its_erased_author_is_finished_is_deleted_as_by_them(app, make):
    # Erasure deletes every published post of a member who chose "remove"; one found still
    # out later (an erasure from before that rule) goes the same way: posting's
    # delete_as_author, counters and all.
    lounge = make.board("lounge")
    wren, fern = make.user("wren"), make.user("fern")
    topic = make.topic(fern, lounge, "A thread")
    lingering = make.reply(wren, topic, "Still here somehow")
    with app.app_context():
        with transaction():
            member = db.session.get_one(User, wren.id)
            member.erased_at, member.keep_posts_on_deletion = utcnow(), False
    assert erase(app, utcnow()).posts_finished == 1

    post = detached(app, Post, lingering.id)
    assert post.status == PostStatus.DELETED and post.deleted_at is not None
    assert post.body_source == post.body_html == "" and post.author_id is None
    assert detached(app, Topic, topic.id).post_count == 1
    assert_counters_right(app)


def test_an_erased_login_gets_the_answer_any_wrong_login_gets(app, client, auth, make):
    wren = make.user("wren")
    auth.login(wren)
    ask_to_delete(client)
    erase(app, utcnow() + 15 * DAY)
    pseudonym = user_row(app, wren).username
    answers = {}
    for login in ("wren", "wren@example.org", pseudonym, "nobody-at-all", "nobody@example.org"):
        response = log_in(app.test_client(), login)
        answers[login] = (response.status_code, field_error(response, "password"))
    assert len(set(answers.values())) == 1, answers
    status, message = answers["wren"]
    assert status == 400 and "don't match an account" in html.unescape(message)


def test_nobody_can_register_a_former_member_name(client):
    response = client.post(
        "/register",
        data={
            "username": "Former-Member-1a2b3c4d",
            "email": "new@example.org",
            "password": TEST_PASSWORD,
            "confirm": TEST_PASSWORD,
            "accept_guidelines": "y",
        },
    )
    assert response.status_code == 400
    assert "former-member" in field_error(response, "username")


def test_after_erasure_the_address_appears_nowhere_in_the_database(
    app, client, auth, make, lived_in
):
    wren = lived_in["wren"]
    address = "wren@example.org"
    moderator = lived_in["moderator"]
    with app.test_request_context():
        member = db.session.get(User, wren.id)
        with transaction():  # links waiting in the mailbox
            accounts._issue_token(member, accounts.VERIFY, timedelta(hours=1))
            accounts._issue_token(member, accounts.RESET, timedelta(hours=1))
        db.session.add(
            DigestDelivery(
                user_id=wren.id,
                period="2026-W01",
                status="empty",
                covered_from=utcnow() - 7 * DAY,
                covered_until=utcnow(),
            )
        )
        # Written down by people: an admin's audit entry and a report's note.
        db.session.add(
            AuditEntry(
                actor_id=moderator.id,
                actor_name="warden",
                action="member.note",
                target_type="user",
                target_id=wren.id,
                before={"contact": address.upper()},
                after={},
                reason=f"Asked by {address}",
            )
        )
        db.session.commit()
    report(
        app,
        lived_in["blocker"],
        lived_in["reply"].id,
        "personal_details",
        note="They posted WREN@example.org here",
    )
    # A notice with its mail in the outbox (a moderator hid the reported post).
    with app.app_context():
        item_id = db.session.scalar(
            sa.select(ReviewItem.id).where(ReviewItem.post_id == lived_in["reply"].id)
        )
    decide(app, moderator, item_id, "hide", reason="Hidden for now")
    with app.app_context():
        mail_ids = db.session.scalars(
            sa.select(OutboxMessage.id).where(OutboxMessage.recipient == address)
        ).all()
        assert mail_ids
        # The scan finds it before the erasure, in the messages' bytes too.
        assert {"outbox.recipient", "outbox_bodies.message"} <= set(everywhere(address))
    auth.login(wren)
    ask_to_delete(client, "keep")
    erase(app, utcnow() + 15 * DAY)

    with app.app_context():
        assert everywhere(address) == []
        assert (
            db.session.scalar(
                sa.select(User.id).where(
                    sa.or_(User.username == "wren", User.username_key == "wren")
                )
            )
            is None
        )
        for model in (
            AccountToken,
            MailSettings,
            Follow,
            MutedPhrase,
            BoardMute,
            Reaction,
            Notice,
            DigestDelivery,
        ):
            assert (
                db.session.scalar(
                    sa.select(sa.func.count()).select_from(model).where(model.user_id == wren.id)
                )
                == 0
            ), model.__name__
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Block)
                .where(sa.or_(Block.blocker_id == wren.id, Block.blocked_id == wren.id))
            )
            == 0
        )
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxBody)
                .where(OutboxBody.outbox_id.in_(mail_ids))
            )
            == 0
        )
        # The moderation record still points at the row, under its new name.
        erased = db.session.get(User, wren.id)
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "member.note"))
        assert entry.target_id == erased.id and entry.before == {"contact": "[address erased]"}


def test_an_address_with_accents_is_erased_from_the_audit_log_too(app, client, auth, make):
    """The audit log's before and after are JSON, searched as their text: an address with
    letters beyond ASCII must be stored as written (not as \\u escapes) to be found, and
    found in any letter case (SQLite's lower() folds only ASCII)."""
    address = "zoe@bücher-ångström.example"
    make.user("warden", role="moderator", moderates_all=True)
    zoe = make.user("zoe", email=address)
    with app.app_context():
        moderator_id = db.session.scalar(sa.select(User.id).where(User.username == "warden"))
        db.session.add(
            AuditEntry(
                actor_id=moderator_id,
                actor_name="warden",
                action="member.note",
                target_type="user",
                target_id=zoe.id,
                before={"contact": address},
                after={"contacts": [address.upper(), "someone@example.org"]},
                reason="",
            )
        )
        db.session.commit()
    auth.login(zoe)
    ask_to_delete(client, "keep")
    erase(app, utcnow() + 15 * DAY)

    with app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "member.note"))
        assert entry.before == {"contact": "[address erased]"}
        assert entry.after == {"contacts": ["[address erased]", "someone@example.org"]}


def everywhere(needle: str) -> list[str]:
    """Every table and column whose text (or bytes) holds `needle`, ignoring case.

    Every table the database has, not only the models' (the search index and SQLite's
    FTS5 shadow tables too); bytes are read raw and, when they are a mail, part by part
    decoded (a quoted-printable or base64 body would hide an address from a plain scan).
    """
    found = []
    needle = needle.lower()
    tables = sa.MetaData()
    tables.reflect(bind=db.session.connection())
    # Any order: a reflected schema does not know that topics and posts point at each other
    # on purpose (Topic.first_post_id), so sorting them would warn.
    for table in tables.tables.values():
        for row in db.session.execute(sa.select(table)).mappings():
            for name, value in row.items():
                if isinstance(value, bytes | bytearray | memoryview):
                    value = _readable_bytes(bytes(value))
                elif isinstance(value, dict | list):
                    value = json.dumps(value)
                if isinstance(value, str) and needle in value.lower():
                    found.append(f"{table.name}.{name}")
    return found


def _readable_bytes(value: bytes) -> str:
    texts = [value.decode("utf-8", "replace")]
    message = email.message_from_bytes(value, policy=email.policy.default)
    for part in message.walk():
        if part.get_content_maintype() == "text":
            with contextlib.suppress(LookupError, ValueError):
                texts.append(part.get_content())
    return "\n".join(texts)


def test_the_cli_erases_what_is_due_at_the_time_given(app, client, auth, make, runner):
    wren = make.user("wren")
    auth.login(wren)
    ask_to_delete(client)
    soon = (utcnow() + 10 * DAY).strftime("%Y-%m-%dT%H:%M")
    result = runner.invoke(args=["forum", "erase-accounts", "--now", soon])
    assert result.exit_code == 0 and "Erased 0 accounts" in result.output
    later = (utcnow() + 15 * DAY).strftime("%Y-%m-%dT%H:%M")
    result = runner.invoke(args=["forum", "erase-accounts", "--now", later])
    assert result.exit_code == 0 and "Erased 1 account;" in result.output
    assert user_row(app, wren).erased_at is not None
    bad = runner.invoke(args=["forum", "erase-accounts", "--now", "next tuesday"])
    assert bad.exit_code == 1


def test_one_account_that_fails_does_not_stop_the_others(app, make, runner, monkeypatch):
    wren, fern = make.user("wren"), make.user("fern")
    for member in (wren, fern):
        update(app, User, member.id, deletion_due_at=utcnow() - DAY)
    real = leaving._delete_personal_rows

    def broken_for_wren(member, address):
        if member.id == wren.id:
            raise RuntimeError("disk full")
        real(member, address)

    monkeypatch.setattr(leaving, "_delete_personal_rows", broken_for_wren)
    result = runner.invoke(args=["forum", "erase-accounts"])
    assert result.exit_code == 1 and "1 account could not be erased" in result.output
    assert user_row(app, fern).erased_at is not None
    wren_row = user_row(app, wren)
    assert wren_row.erased_at is None and wren_row.email == "wren@example.org"  # rolled back
    monkeypatch.undo()
    assert runner.invoke(args=["forum", "erase-accounts"]).exit_code == 0
    assert user_row(app, wren).erased_at is not None


def test_a_member_waiting_to_leave_gets_no_digest_or_notice_mail_until_they_log_in(
    app, client, auth, make
):
    from tests.helpers.digests import digests_to, follow_board, send, subscribe
    from tests.helpers.notices import mail_to, reply

    board = make.board("lounge")
    wren = make.user("wren", email="wren@example.org")
    river = make.user("river")
    topic = make.topic(wren, board, "Sleepless again")
    follow_board(app, wren, board)
    auth.login(wren)
    ask_to_delete(client)
    mail.outbox.clear()

    reply(app, river, topic, "Same here, three nights now.")
    subscribe(app, wren, due_now=True)
    send(app)
    assert mail_to("wren@example.org") == []

    log_in(client, "wren")  # cancels the deletion: the mail they chose comes back
    reply(app, river, topic, "Did you sleep last night?")
    assert [message["Subject"] for message in mail_to("wren@example.org")] == [
        "New reply to “Sleepless again”"
    ]
    subscribe(app, wren, due_now=True)
    send(app)
    assert len(digests_to("wren@example.org")) == 1


def test_an_erased_name_leaves_every_thread_even_a_cached_one(app, client, auth, make):
    """A kept post under an open report stays linked to the pseudonym (for moderators),
    but readers, logged out (a cached page) or in, see "a former member" at once."""
    lounge = make.board("lounge")
    wren, fern = make.user("wren"), make.user("fern")
    topic = make.topic(fern, lounge, "A thread")
    kept = make.reply(wren, topic, "Kept words here")
    visitor = app.test_client()
    assert ">wren<" in visitor.get(f"/t/{topic.id}").text  # a copy is cached now
    report(app, fern, kept.id, "harassment")
    auth.login(wren)
    ask_to_delete(client, "keep")
    erase(app, utcnow() + 15 * DAY)
    pseudonym = user_row(app, wren).username
    for reader in (visitor, new_client(app, fern)):
        page = reader.get(f"/t/{topic.id}").text
        assert "wren" not in page and pseudonym not in page
        assert "Kept words here" in page and "A former member" in page


def test_other_members_notices_no_longer_name_the_member_who_left(app, client, auth, make):
    from tests.helpers.moderation import notices_of
    from tests.helpers.notices import first_post_id, reply

    lounge = make.board("lounge")
    wren, fern = make.user("wren"), make.user("fern")
    topic = make.topic(fern, lounge, "Wrens at the feeder")
    reply(app, wren, topic, "wren here: I saw one too")
    reply(app, wren, topic, "Quoting you", quote_of=first_post_id(app, topic))
    assert {notice.subject for notice in notices_of(app, fern)} == {
        "New reply to “Wrens at the feeder”",
        "wren quoted you in “Wrens at the feeder”",
    }
    auth.login(wren)
    ask_to_delete(client, "keep")
    erase(app, utcnow() + 15 * DAY)
    notices = notices_of(app, fern)
    assert {(notice.subject, notice.message) for notice in notices} == {
        (
            "New reply to “Wrens at the feeder”",
            "A former member replied to your topic “Wrens at the feeder”.",
        ),
        (
            "A former member quoted you in “Wrens at the feeder”",
            "A former member quoted your post in “Wrens at the feeder”.",
        ),
    }
