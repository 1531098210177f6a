"""Following boards and topics: the buttons, following what you write in, and the list
on the mail settings page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Follow, PostStatus, Topic
from forum.services import follows
from tests.helpers.app import app_settings, page_text
from tests.helpers.moderation import update
from tests.helpers.queries import count_queries


def follow_rows(app, user) -> list[tuple]:
    with app.app_context():
        return sorted(
            (
                tuple(row)
                for row in db.session.execute(
                    sa.select(Follow.board_id, Follow.topic_id, Follow.following).where(
                        Follow.user_id == user.id
                    )
                )
            ),
            key=repr,
        )


def follow_buttons(response) -> list[str]:
    return re.findall(
        r'<button type="submit" class="secondary">((?:Un)?[Ff]ollow this \w+)'
        r"</button>",
        response.text,
    )


def test_a_member_follows_and_unfollows_a_board_with_its_button(client, make, auth, app):
    make.board("lounge", "Lounge")
    river = make.user("river")
    auth.login(river)
    assert follow_buttons(client.get("/b/lounge")) == ["Follow this board"]

    response = client.post("/b/lounge/follow", data={"action": "follow"}, follow_redirects=True)
    assert "You follow Lounge now" in page_text(response)
    # No digest chosen yet: the member is told where to choose one.
    assert "Choose a digest in your mail settings" in page_text(response)
    assert follow_buttons(response) == ["Unfollow this board"]
    [(board_id, topic_id, following)] = follow_rows(app, river)
    assert topic_id is None and following is True

    response = client.post("/b/lounge/follow", data={"action": "unfollow"}, follow_redirects=True)
    assert "You no longer follow Lounge" in page_text(response)
    assert follow_buttons(response) == ["Follow this board"]
    assert follow_rows(app, river)[0][2] is False


def test_a_member_follows_a_topic_from_its_page(client, make, auth, app):
    board = make.board()
    topic = make.topic(make.user("fern"), board, "Small wins")
    river = make.user("river")
    auth.login(river)
    assert follow_buttons(client.get(f"/t/{topic.id}")) == ["Follow this topic"]
    response = client.post(
        f"/t/{topic.id}/follow", data={"action": "follow"}, follow_redirects=True
    )
    assert "You follow this topic now" in page_text(response)
    assert follow_buttons(response) == ["Unfollow this topic"]
    # The board page marks the topics the viewer follows.
    listing = client.get(f"/b/{board.slug}").text
    assert re.search(rf'<span class="tag">Following</span>\s*<a href="/t/{topic.id}">', listing)


def test_visitors_who_are_not_logged_in_get_no_follow_buttons(client, make):
    board = make.board()
    topic = make.topic(make.user("fern"), board)
    assert follow_buttons(client.get(f"/b/{board.slug}")) == []
    assert follow_buttons(client.get(f"/t/{topic.id}")) == []


def test_starting_or_replying_to_a_topic_follows_it(client, make, auth, app):
    board = make.board()
    fern, river = make.user("fern"), make.user("river")
    started = make.topic(fern, board, "Fern's topic")
    assert follow_rows(app, fern) == [(None, started.id, True)]
    make.reply(river, started)
    assert follow_rows(app, river) == [(None, started.id, True)]
    auth.login(river)
    assert follow_buttons(client.get(f"/t/{started.id}")) == ["Unfollow this topic"]


def test_an_unfollowed_topic_stays_unfollowed_when_the_member_replies_again(
    client, make, auth, app
):
    board = make.board()
    river = make.user("river")
    topic = make.topic(make.user("fern"), board)
    make.reply(river, topic, "First reply")
    auth.login(river)
    client.post(f"/t/{topic.id}/follow", data={"action": "unfollow"})
    response = client.post(
        f"/t/{topic.id}/reply", data={"body": "One more thing", "submit": "Post reply"}
    )
    assert response.status_code == 302
    assert follow_rows(app, river) == [(None, topic.id, False)]
    assert follow_buttons(client.get(f"/t/{topic.id}")) == ["Follow this topic"]


def test_following_twice_keeps_one_row(make, app):
    board = make.board()
    river = make.user("river")
    topic = make.topic(make.user("fern"), board)
    with app.test_request_context():
        from forum.models import Board, User

        member = db.session.get(User, river.id)
        for _ in range(2):
            follows.follow_board(member, db.session.get(Board, board.id))
            follows.follow_topic(member, db.session.get(Topic, topic.id))
        follows.unfollow_topic(member, db.session.get(Topic, topic.id))
        follows.follow_topic(member, db.session.get(Topic, topic.id))
    assert follow_rows(app, river) == sorted(
        [(board.id, None, True), (None, topic.id, True)], key=repr
    )


def test_the_board_page_asks_for_follow_state_once_however_many_topics(app, client, make, auth):
    small, large = make.board("small"), make.board("large")
    river = make.user("river")
    authors = [make.user(f"author{n}") for n in range(4)]
    for n in range(2):
        make.reply(river, make.topic(authors[n], small, title=f"s{n}"))
    for n in range(12):
        make.reply(river, make.topic(authors[n % 4], large, title=f"l{n}"))
    auth.login(river)
    client.get("/b/small")  # warm up: the first request loads what every request shares
    with count_queries(app) as few:
        small_page = client.get("/b/small")
    with count_queries(app) as many:
        large_page = client.get("/b/large")
    assert small_page.text.count(">Following</span>") == 2
    assert large_page.text.count(">Following</span>") == 12
    assert len(few) == len(many)
    assert sum("follows" in statement for statement in many) == 1


def test_nobody_follows_what_they_cannot_see(client, make, auth, app):
    board = make.board()
    waiting = make.topic(make.user("newcomer", trusted=False), board, "Held back")
    with app.app_context():
        assert db.session.get(Topic, waiting.id).status == PostStatus.PENDING
    river = make.user("river")
    auth.login(river)
    assert client.post(f"/t/{waiting.id}/follow", data={"action": "follow"}).status_code == 404
    assert client.post("/t/999999/follow", data={"action": "follow"}).status_code == 404
    assert client.post("/b/nowhere/follow", data={"action": "follow"}).status_code == 404
    assert follow_rows(app, river) == []


def test_a_follow_needs_a_clear_action(client, make, auth, app):
    make.board("lounge")
    river = make.user("river")
    auth.login(river)
    assert client.post("/b/lounge/follow", data={"action": "subscribe"}).status_code == 400
    assert follow_rows(app, river) == []


def test_the_way_back_never_leaves_the_site(client, make, auth):
    make.board("lounge")
    auth.login(make.user("river"))
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post("/b/lounge/follow", data={"action": "follow", "next": target})
        assert response.headers["Location"] == "/"
    response = client.post(
        "/b/lounge/follow", data={"action": "follow", "next": "/settings/mail?page=2"}
    )
    assert response.headers["Location"] == "/settings/mail?page=2"


def followed_names(response) -> list[str]:
    return re.findall(r'(?:Board|Topic): <a href="[^"]+">([^<]+)</a>', response.text)


def test_the_settings_page_lists_what_a_member_follows_a_page_at_a_time(client, make, auth, app):
    river = make.user("river")
    auth.login(river)
    for n in range(23):
        make.board(f"board{n:02d}", f"Board {n:02d}")
        client.post(f"/b/board{n:02d}/follow", data={"action": "follow"})
    first = client.get("/settings/mail")
    assert followed_names(first) == [f"Board {n:02d}" for n in range(22, 2, -1)]
    assert 'href="/settings/mail?page=2" rel="next">Older follows' in first.text
    second = client.get("/settings/mail?page=2")
    assert followed_names(second) == ["Board 02", "Board 01", "Board 00"]
    assert "Older follows" not in second.text and "Newer follows" in second.text
    # Each line has its own Unfollow button, named for what it leaves.
    assert 'Unfollow<span class="visually-hidden"> board “Board 01”</span>' in second.text
    response = client.post(
        "/b/board01/follow", data={"action": "unfollow", "next": "/settings/mail?page=2"}
    )
    assert response.headers["Location"] == "/settings/mail?page=2"
    assert followed_names(client.get("/settings/mail?page=2")) == ["Board 02", "Board 00"]


def test_the_list_leaves_out_topics_nobody_may_read_now(client, make, auth, app):
    board = make.board()
    river = make.user("river")
    kept = make.topic(river, board, "Still here")
    hidden = make.topic(river, board, "Taken down")
    update(app, Topic, hidden.id, status=PostStatus.HIDDEN)
    auth.login(river)
    names = followed_names(client.get("/settings/mail"))
    assert kept.title in names and hidden.title not in names


class TestWithCsrf:
    @pytest.fixture
    def app_config(self, migrated_database):
        return {**app_settings(migrated_database, None), "WTF_CSRF_ENABLED": True}

    def test_a_follow_without_the_form_token_is_refused(self, client, make, auth, app):
        make.board("lounge")
        river = make.user("river")
        login_page = client.get("/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)[1]
        client.post(
            "/login",
            data={
                "login": "river",
                "password": "correct horse battery staple",
                "csrf_token": token,
            },
        )
        assert client.post("/b/lounge/follow", data={"action": "follow"}).status_code == 400
        assert follow_rows(app, river) == []
        page = client.get("/b/lounge").text
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        response = client.post(
            "/b/lounge/follow", data={"action": "follow", "csrf_token": form_token}
        )
        assert response.status_code == 302
        assert follow_rows(app, river)[0][2] is True
