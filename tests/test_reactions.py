"""Supportive reactions: one of each kind per member per post, undoable; only the post's
author sees how many, nobody sees who; a plain form that a script may send in place."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Block, Post, PostStatus, Reaction, Topic, User, utcnow
from forum.services import reactions
from tests.helpers.app import app_settings, page_text
from tests.helpers.queries import queries_for

KINDS = ("thinking_of_you", "i_hear_you", "helped_me", "me_too")
COUNTS = "Support for your post"


def rows(app, post_id: int | None = None) -> list[tuple]:
    with app.app_context():
        query = sa.select(Reaction.post_id, Reaction.user_id, Reaction.kind)
        if post_id is not None:
            query = query.where(Reaction.post_id == post_id)
        return sorted(db.session.execute(query).all())


def update(app, model, row_id: int, **values) -> None:
    with app.app_context():
        row = db.session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


def react(client, post_id: int, kind: str = "thinking_of_you", action: str = "add", **kwargs):
    """Press a reaction button: it names its post and kind in its value."""
    return client.post("/react", data={action: f"{post_id}:{kind}"}, **kwargs)


def words(response) -> str:
    """The page's text as read, tags dropped and spaces collapsed."""
    return (
        " ".join(re.sub(r"<[^>]+>", " ", page_text(response)).split())
        .replace(" .", ".")
        .replace(" ,", ",")
    )


def buttons(page: str, post_id: int) -> dict[str, tuple[str, str]]:
    """{label: (name, aria-pressed)} of the reaction buttons under one post."""
    return {
        label: (name, pressed)
        for name, pressed, label in re.findall(
            rf'<button form="pa" name="(\w+)" value="{post_id}:\w+" '
            r'aria-pressed="(\w+)">([^<]+)</button>',
            page,
        )
    }


@pytest.fixture
def world(make):
    board = make.board("lounge")
    author = make.user("willow")
    topic = make.topic(author, board, "A hard week", "It has been a hard week.")
    reply = make.reply(author, topic, "Thank you for reading.")
    return type("World", (), {"board": board, "author": author, "topic": topic, "post": reply})


# --- sending and taking back ---------------------------------------------------------------


def test_one_of_each_kind_per_member_per_post(app, client, make, auth, world):
    river, elm = make.user("river"), make.user("elm")
    auth.login(river)
    for kind in KINDS:
        response = react(client, world.post.id, kind)
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/t/{world.topic.id}#p{world.post.id}")
    for kind in KINDS:  # again: nothing more
        assert react(client, world.post.id, kind).status_code == 302
    auth.logout()
    auth.login(elm)
    react(client, world.post.id, "me_too")
    assert rows(app) == sorted(
        [(world.post.id, river.id, kind) for kind in KINDS] + [(world.post.id, elm.id, "me_too")]
    )


def test_a_reaction_can_be_taken_back(app, client, make, auth, world):
    river = make.user("river")
    auth.login(river)
    react(client, world.post.id, "i_hear_you")
    react(client, world.post.id, "me_too")
    page = client.get(f"/t/{world.topic.id}").text
    assert buttons(page, world.post.id)["I hear you"] == ("remove", "true")
    assert buttons(page, world.post.id)["This helped me"] == ("add", "false")
    assert "You sent: I hear you, Me too." in page_text(client.get(f"/t/{world.topic.id}"))

    response = react(client, world.post.id, "i_hear_you", action="remove")
    assert response.status_code == 302
    assert "You took back “I hear you”." in page_text(client.get(response.headers["Location"]))
    assert rows(app) == [(world.post.id, river.id, "me_too")]
    # Taking back one that is gone already changes nothing, and is no error.
    assert react(client, world.post.id, "i_hear_you", action="remove").status_code == 302
    page = client.get(f"/t/{world.topic.id}").text
    assert buttons(page, world.post.id)["I hear you"] == ("add", "false")
    assert rows(app) == [(world.post.id, river.id, "me_too")]


def test_the_same_form_sent_twice_is_one_reaction(app, client, make, auth, world):
    """A double click sends "add" twice (the page said add): it must not undo itself."""
    auth.login(make.user("river"))
    first, second = react(client, world.post.id), react(client, world.post.id)
    assert first.status_code == second.status_code == 302
    assert len(rows(app)) == 1


def test_two_tabs_at_once_make_one_row_and_no_error(app, make, world):
    river = make.user("river")
    clients = [app.test_client() for _ in range(4)]
    for each in clients:
        each.post("/login", data={"login": "river", "password": "correct horse battery staple"})
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def send(each):
        start.wait()
        statuses.append(react(each, world.post.id, "helped_me").status_code)

    threads = [threading.Thread(target=send, args=(each,)) for each in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [302] * len(clients)
    assert rows(app) == [(world.post.id, river.id, "helped_me")]


def test_the_service_tolerates_a_row_it_did_not_know_about(app, make, world):
    """Another transaction inserting the same reaction first is not an IntegrityError."""
    river = make.user("river")
    with app.test_request_context():
        db.session.add(Reaction(post_id=world.post.id, user_id=river.id, kind="me_too"))
        db.session.commit()
        member, post = db.session.get(User, river.id), db.session.get(Post, world.post.id)
        assert reactions.add(member, post, "me_too") is False
        assert reactions.toggle(member, post, "me_too") is False  # taken back
        assert reactions.toggle(member, post, "me_too") is True
    assert rows(app) == [(world.post.id, river.id, "me_too")]


def test_an_unknown_kind_is_refused(app, client, make, auth, world):
    auth.login(make.user("river"))
    assert react(client, world.post.id, "like").status_code == 400
    assert client.post("/react", data={}).status_code == 400
    assert client.post("/react", data={"add": "me_too"}).status_code == 400  # no post named
    assert rows(app) == []


def test_a_script_gets_the_new_state_as_json(app, client, make, auth, world):
    auth.login(make.user("river"))
    react(client, world.post.id, "me_too", headers={"Accept": "application/json"})
    response = react(
        client, world.post.id, "thinking_of_you", headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.json == {
        "post_id": world.post.id,
        "kind": "thinking_of_you",
        "label": "Thinking of you",
        "sent": True,
        "sent_labels": ["Thinking of you", "Me too"],
    }
    response = react(
        client, world.post.id, "me_too", action="remove", headers={"Accept": "application/json"}
    )
    assert response.json["sent"] is False and response.json["sent_labels"] == ["Thinking of you"]
    # No message is left waiting for the next page the script did not load.
    assert "You sent “" not in page_text(client.get(f"/t/{world.topic.id}"))


# --- who may ---------------------------------------------------------------------------


def test_nobody_reacts_to_their_own_post(app, client, auth, world):
    auth.login(world.author)
    assert react(client, world.post.id).status_code == 403
    assert buttons(client.get(f"/t/{world.topic.id}").text, world.post.id) == {}
    assert rows(app) == []


def test_logged_out_and_unverified_visitors_cannot_react(app, client, make, auth, world):
    response = react(client, world.post.id)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert 'action="/p/' not in client.get(f"/t/{world.topic.id}").text
    auth.login(make.user("newbie", verified=False))
    response = react(client, world.post.id)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    assert buttons(client.get(f"/t/{world.topic.id}").text, world.post.id) == {}
    assert rows(app) == []


@pytest.mark.parametrize("status", [PostStatus.PENDING, PostStatus.HIDDEN, PostStatus.REJECTED])
def test_not_on_posts_others_cannot_see(app, client, make, auth, world, status):
    update(app, Post, world.post.id, status=status)
    auth.login(make.user("river"))
    assert react(client, world.post.id).status_code == 404
    assert rows(app) == []


@pytest.mark.parametrize("status", [PostStatus.DELETED, PostStatus.REMOVED])
def test_not_on_removed_posts(app, client, make, auth, world, status):
    update(app, Post, world.post.id, status=status)
    auth.login(make.user("river"))
    assert react(client, world.post.id).status_code == 403
    assert buttons(client.get(f"/t/{world.topic.id}").text, world.post.id) == {}
    assert rows(app) == []


def test_not_in_a_hidden_topic_even_for_its_moderator(app, client, make, auth, world):
    update(app, Topic, world.topic.id, status=PostStatus.HIDDEN)
    auth.login(make.user("river"))
    assert react(client, world.post.id).status_code == 404
    auth.logout()
    auth.login(make.user("warden", role="moderator", moderates_all=True))
    assert react(client, world.post.id).status_code == 403
    assert rows(app) == []


def test_members_only_boards_are_not_for_logged_out_visitors(app, client, make, auth):
    private = make.board("quiet", is_public=False)
    author = make.user("willow")
    reply = make.reply(author, make.topic(author, private, "Just us"), "Still here")
    response = react(client, reply.id)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    auth.login(make.user("river"))
    assert react(client, reply.id).status_code == 302
    assert len(rows(app)) == 1


def test_suspended_members_cannot_send_but_can_take_back(app, client, make, auth, world):
    river = make.user("river")
    auth.login(river)
    react(client, world.post.id, "me_too")
    update(app, User, river.id, suspended_until=utcnow() + timedelta(days=3))
    assert react(client, world.post.id, "helped_me").status_code == 403
    page = client.get(f"/t/{world.topic.id}").text
    assert buttons(page, world.post.id) == {"Me too": ("remove", "true")}
    assert react(client, world.post.id, "me_too", action="remove").status_code == 302
    assert rows(app) == []
    assert buttons(client.get(f"/t/{world.topic.id}").text, world.post.id) == {}


def test_a_locked_topic_takes_no_new_reactions(app, client, make, auth, world):
    river = make.user("river")
    auth.login(river)
    react(client, world.post.id, "me_too")
    update(app, Topic, world.topic.id, is_locked=True)
    assert react(client, world.post.id, "helped_me").status_code == 403
    assert react(client, world.post.id, "me_too", action="remove").status_code == 302
    assert rows(app) == []


# --- who sees what -------------------------------------------------------------------------


def test_only_the_author_sees_the_counts(app, client, make, auth, world):
    river, elm = make.user("river"), make.user("elm")
    warden = make.user("warden", role="moderator", moderates_all=True)
    for member, kinds in (
        (river, ("thinking_of_you", "me_too")),
        (elm, ("thinking_of_you",)),
        (warden, ("helped_me",)),
    ):
        auth.login(member)
        for kind in kinds:
            react(client, world.post.id, kind)
        auth.logout()

    auth.login(world.author)
    text = words(client.get(f"/t/{world.topic.id}"))
    assert f"{COUNTS}: Thinking of you: 2, This helped me: 1, Me too: 1." in text
    # Counts, never names: nobody who reacted is named on the page.
    assert not {"river", "elm", "warden"} & set(re.findall(r"\w+", text))
    auth.logout()

    for viewer in (river, warden, make.user("bystander")):
        auth.login(viewer)
        text = page_text(client.get(f"/t/{world.topic.id}"))
        assert COUNTS not in text
        assert not re.search(r"(Thinking of you|I hear you|This helped me|Me too)\W*\d", text)
        auth.logout()
    text = page_text(client.get(f"/t/{world.topic.id}"))
    assert COUNTS not in text and "Thinking of you" not in text


def test_reactions_of_a_blocked_member_still_count_without_a_name(app, client, make, auth, world):
    river = make.user("river")
    with app.app_context():
        db.session.add(Block(blocker_id=world.author.id, blocked_id=river.id))
        db.session.commit()
    auth.login(river)
    # The blocked member is not told: their reaction goes through as any other.
    assert react(client, world.post.id, "i_hear_you").status_code == 302
    auth.logout()
    auth.login(world.author)
    text = words(client.get(f"/t/{world.topic.id}"))
    assert f"{COUNTS}: I hear you: 1." in text and "river" not in text


def test_the_thread_keeps_its_order_whatever_the_reactions(app, client, make, auth, world):
    late = make.reply(make.user("elm"), world.topic, "A later reply")
    for n in range(3):
        auth.login(make.user(f"fan{n}"))
        for kind in KINDS:
            react(client, late.id, kind)
        auth.logout()
    page = client.get(f"/t/{world.topic.id}").text
    positions = [
        page.index(f'id="p{post_id}"')
        for post_id in (world.topic.id, world.post.id, late.id)
        if f'id="p{post_id}"' in page
    ]
    assert positions == sorted(positions) and len(positions) >= 2


def test_the_logged_out_page_carries_nothing_of_any_member(app, client, make, auth, world):
    anonymous = app.test_client()
    before = anonymous.get(f"/t/{world.topic.id}").text
    assert len(app.extensions["page_cache"]) == 1  # this copy is served from now on
    auth.login(make.user("river"))
    react(client, world.post.id, "me_too")
    member_page = client.get(f"/t/{world.topic.id}").text
    assert "You sent: Me too." in member_page
    after = anonymous.get(f"/t/{world.topic.id}").text
    assert after == before
    for text in (before, after):
        assert "/react" not in text and "You sent" not in text and "reactions.js" not in text
        assert "csrf_token" not in text


# --- cost ------------------------------------------------------------------------------------


def test_reactions_cost_one_query_whatever_the_number_of_posts(app, client, make, auth):
    board = make.board()
    author, reader = make.user("author"), make.user("reader")
    fans = [make.user(f"fan{n}") for n in range(3)]
    short = make.topic(author, board, "Short")
    long = make.topic(author, board, "Long")
    posts = [make.reply(author if n % 2 else fans[0], long, f"reply {n}") for n in range(19)]
    with app.app_context():
        db.session.add_all(
            Reaction(post_id=post.id, user_id=fan.id, kind=kind)
            for post in posts
            for fan in fans
            for kind in KINDS[:2]
            if post.author_id != fan.id
        )
        db.session.add_all(
            Reaction(post_id=post.id, user_id=reader.id, kind="me_too") for post in posts
        )
        db.session.commit()
    for viewer in (reader, author):
        auth.login(viewer)
        short_cost = queries_for(app, client, f"/t/{short.id}")
        long_cost = queries_for(app, client, f"/t/{long.id}")
        assert len(short_cost) == len(long_cost), long_cost
        assert sum("reactions" in statement for statement in long_cost) == 1
        auth.logout()


# --- the form's token --------------------------------------------------------------------------


class TestWithCsrf:
    @pytest.fixture
    def app_config(self, migrated_database):
        return {**app_settings(migrated_database, None), "WTF_CSRF_ENABLED": True}

    def test_a_reaction_without_the_form_token_is_refused(self, app, client, make, world):
        make.user("river")
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
        assert react(client, world.post.id).status_code == 400
        assert (
            react(client, world.post.id, headers={"Accept": "application/json"}).status_code == 400
        )
        assert rows(app) == []
        page = client.get(f"/t/{world.topic.id}").text
        form = re.search(r'<form id="pa".*?</form>', page, re.S)[0]
        form_token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
        response = client.post(
            "/react", data={"add": f"{world.post.id}:me_too", "csrf_token": form_token}
        )
        assert response.status_code == 302
        assert len(rows(app)) == 1
