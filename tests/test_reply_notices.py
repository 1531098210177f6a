"""Reply and quote notices: told when a reply goes out to everyone, never before, never
twice, and never with the reply's words."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Post, PostStatus, Topic, User, utcnow
from forum.queries import published_in_published_topic
from forum.services import follows, mail_settings
from tests.helpers.moderation import decide, item_for, notices_of, update, watch
from tests.helpers.notices import PRIVATE_WORDS, first_post_id, mail_to, reply


@pytest.fixture
def world(make):
    board = make.board()
    fern = make.user("fern")
    topic = make.topic(fern, board, "Getting through Sundays")
    return board, fern, topic


def test_the_topics_author_hears_of_a_reply_by_notice_and_mail(app, make, world):
    _, fern, topic = world
    river = make.user("river")
    post = reply(app, river, topic)
    [notice] = notices_of(app, fern)
    assert notice.kind == "reply"
    assert notice.subject == "New reply to “Getting through Sundays”"
    assert notice.message == "river replied to your topic “Getting through Sundays”."
    assert notice.link == f"/p/{post.id}"
    [message] = mail_to("fern@example.org")
    assert message["Subject"] == "New reply to “Getting through Sundays”"
    assert "/mail/unsubscribe/" in message["List-Unsubscribe"]
    # Nothing of the reply itself, in the notice or the mail.
    assert PRIVATE_WORDS not in notice.message
    assert all(
        PRIVATE_WORDS not in part.get_content()
        for part in message.walk()
        if part.get_content_maintype() == "text"
    )
    # The replier is not told about their own reply.
    assert notices_of(app, river) == []


def test_no_notice_for_replying_to_your_own_topic(app, world):
    _, fern, topic = world
    reply(app, fern, topic)
    assert notices_of(app, fern) == []
    assert mail_to("fern@example.org") == []


def test_no_reply_notice_once_the_author_has_unfollowed(app, make, world):
    _, fern, topic = world
    with app.test_request_context():
        follows.unfollow_topic(db.session.get(User, fern.id), db.session.get(Topic, topic.id))
    reply(app, make.user("river"), topic)
    assert notices_of(app, fern) == []


def test_a_waiting_reply_tells_nobody_until_a_moderator_approves_it(app, make, world):
    board, fern, topic = world
    warden = make.user("warden", role="moderator", moderates=(board,))
    newcomer = make.user("newcomer", trusted=False)
    post = reply(app, newcomer, topic)
    assert post.status == PostStatus.PENDING
    assert notices_of(app, fern) == []
    decide(app, warden, item_for(app, post.id).id, "approve")
    [notice] = notices_of(app, fern)
    assert notice.kind == "reply" and notice.link == f"/p/{post.id}"
    assert len(mail_to("fern@example.org")) == 1


def test_a_rejected_reply_tells_nobody(app, make, world):
    board, fern, topic = world
    warden = make.user("warden", role="moderator", moderates=(board,))
    post = reply(app, make.user("newcomer", trusted=False), topic)
    decide(app, warden, item_for(app, post.id).id, "reject", reason="Not here, please")
    assert notices_of(app, fern) == []


def test_a_reply_edited_back_into_the_queue_is_not_announced_twice(app, make, world, client, auth):
    board, fern, topic = world
    warden = make.user("warden", role="moderator", moderates=(board,))
    river = make.user("river")
    post = reply(app, river, topic, "Sundays are slow for me too")
    assert len(notices_of(app, fern)) == 1
    watch(app, "bargain", "hold")
    auth.login(river)
    client.post(f"/p/{post.id}/edit", data={"body": "What a bargain", "submit": "Save"})
    with app.app_context():
        assert db.session.get(Post, post.id).status == PostStatus.PENDING
    decide(app, warden, item_for(app, post.id).id, "approve")
    assert [notice.kind for notice in notices_of(app, fern)] == ["reply"]


def test_a_quoted_member_hears_of_it(app, make, world):
    _, fern, topic = world
    river, sky = make.user("river"), make.user("sky")
    quoted = reply(app, river, topic, "Morning walks help")
    post = reply(app, sky, topic, "> Morning walks help\n\nYes!", quote_of=quoted.id)
    [notice] = notices_of(app, river)
    assert notice.kind == "quote"
    assert notice.subject == "sky quoted you in “Getting through Sundays”"
    assert notice.link == f"/p/{post.id}"
    assert [message["Subject"] for message in mail_to("river@example.org")] == [
        "sky quoted you in “Getting through Sundays”"
    ]
    # The topic's author still hears of the reply.
    assert [notice.kind for notice in notices_of(app, fern)] == ["reply", "reply"]


def test_the_topics_author_quoted_gets_one_notice_not_two(app, make, world):
    _, fern, topic = world
    reply(app, make.user("river"), topic, "Quoting the start", quote_of=first_post_id(app, topic))
    assert [notice.kind for notice in notices_of(app, fern)] == ["quote"]
    assert len(mail_to("fern@example.org")) == 1


def test_quoting_yourself_or_a_post_taken_down_tells_nobody(app, make, world):
    _, fern, topic = world
    river = make.user("river")
    own = reply(app, river, topic, "My earlier words")
    reply(app, river, topic, "As I said", quote_of=own.id)
    assert notices_of(app, river) == []
    sky = make.user("sky")
    taken_down = reply(app, sky, topic, "Something a moderator hid")
    update(app, Post, taken_down.id, status=PostStatus.HIDDEN)
    reply(app, river, topic, "Quoting the hidden post", quote_of=taken_down.id)
    assert notices_of(app, sky) == []


def test_a_member_who_turned_reply_mail_off_gets_the_notice_but_no_mail(app, make, world):
    _, fern, topic = world
    with app.test_request_context():
        mail_settings.save_settings(
            db.session.get(User, fern.id),
            digest="none",
            digest_hour=8,
            digest_weekday=0,
            timezone="UTC",
            notify_reply=False,
            notify_quote=True,
            notify_moderation=True,
        )
    reply(app, make.user("river"), topic)
    assert [notice.kind for notice in notices_of(app, fern)] == ["reply"]
    assert mail_to("fern@example.org") == []


def test_a_paused_member_gets_the_notice_but_no_mail(app, make, world):
    _, fern, topic = world
    with app.app_context():
        mail_settings.settings_for(db.session.get(User, fern.id)).paused_until = (
            utcnow() + timedelta(days=3)
        )
        db.session.commit()
    reply(app, make.user("river"), topic)
    assert len(notices_of(app, fern)) == 1
    assert mail_to("fern@example.org") == []


def test_a_post_in_memory_and_in_sql_agree_on_what_is_published_in_a_published_topic(
    app, make, world
):
    _, fern, topic = world
    post = make.reply(make.user("river"), topic)
    with app.app_context():
        loaded = db.session.get_one(Post, post.id)
        for post_status in PostStatus:
            for topic_status in PostStatus:
                loaded.status, loaded.topic.status = post_status, topic_status
                db.session.flush()
                in_sql = db.session.scalar(
                    sa.select(published_in_published_topic())
                    .select_from(Post)
                    .join(Topic, Topic.id == Post.topic_id)
                    .where(Post.id == post.id)
                )
                assert loaded.is_published_in_published_topic == in_sql, (post_status, topic_status)
        db.session.rollback()
