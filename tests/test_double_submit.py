"""The same post form sent twice (a double click, a browser retrying after a timeout)
makes one post, and the counters count it once."""

from __future__ import annotations

import re
import threading

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Board, Post, ReviewItem, Topic
from forum.services import posting
from tests.helpers.app import TEST_PASSWORD

KEY = re.compile(r'name="submission_key" type="hidden" value="([^"]+)"')


def key_in(page: str) -> str:
    [key] = KEY.findall(page)
    return key


def counts(app, board_slug: str) -> dict:
    with app.app_context():
        board = db.session.scalar(sa.select(Board).where(Board.slug == board_slug))
        topics = db.session.scalars(sa.select(Topic).where(Topic.board_id == board.id)).all()
        posts = db.session.scalar(sa.select(sa.func.count(Post.id)))
        return {
            "board topics": board.topic_count,
            "board posts": board.post_count,
            "topic posts": sorted(topic.post_count for topic in topics),
            "topics": len(topics),
            "posts": posts,
            "review items": db.session.scalar(sa.select(sa.func.count(ReviewItem.id))),
        }


def test_a_new_topic_sent_twice_is_one_topic(app, client, make, auth):
    make.board("general")
    auth.login(make.user("river"))
    form = {
        "title": "Evenings",
        "body": "The light was lovely.",
        "submit": "Start topic",
        "submission_key": key_in(client.get("/b/general/new").text),
    }
    first, second = (
        client.post("/b/general/new", data=form),
        client.post("/b/general/new", data=form),
    )
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert counts(app, "general") == {
        "board topics": 1,
        "board posts": 1,
        "topic posts": [1],
        "topics": 1,
        "posts": 1,
        "review items": 0,
    }


def test_a_reply_sent_twice_from_the_topic_page_is_one_reply(app, client, make, auth):
    topic = make.topic(make.user("elm"), make.board("general"))
    auth.login(make.user("river"))
    form = {
        "body": "Same here.",
        "submit": "Post reply",
        "submission_key": key_in(client.get(f"/t/{topic.id}").text),
    }
    responses = [client.post(f"/t/{topic.id}/reply", data=form) for _ in range(3)]
    assert {response.headers["Location"] for response in responses} == {
        responses[0].headers["Location"]
    }
    assert counts(app, "general")["topic posts"] == [2]
    assert counts(app, "general")["board posts"] == 2
    assert counts(app, "general")["posts"] == 2


def test_a_waiting_reply_sent_twice_waits_once(app, client, make, auth):
    topic = make.topic(make.user("elm"), make.board("general"))
    auth.login(make.user("newcomer", trusted=False))
    form = {
        "body": "Hello, I'm new.",
        "submit": "Post reply",
        "submission_key": key_in(client.get(f"/t/{topic.id}/reply").text),
    }
    first, second = (client.post(f"/t/{topic.id}/reply", data=form) for _ in range(2))
    assert first.headers["Location"] == second.headers["Location"] == f"/t/{topic.id}#waiting"
    assert counts(app, "general") == {
        "board topics": 1,
        "board posts": 1,
        "topic posts": [1],
        "topics": 1,
        "posts": 2,
        "review items": 1,
    }


def test_every_showing_of_a_form_has_a_fresh_key_and_a_preview_keeps_it(client, make, auth):
    topic = make.topic(make.user("elm"), make.board("general"))
    auth.login(make.user("river"))
    shown = {key_in(client.get(f"/t/{topic.id}/reply").text) for _ in range(3)}
    shown |= {key_in(client.get("/b/general/new").text), key_in(client.get(f"/t/{topic.id}").text)}
    assert len(shown) == 5
    key = shown.pop()
    preview = client.post(
        f"/t/{topic.id}/reply", data={"body": "Draft", "preview": "Preview", "submission_key": key}
    )
    assert key_in(preview.text) == key


def test_an_old_form_sent_with_new_words_is_a_new_post(app, client, make, auth):
    """The back button can bring a sent form back: new words are a new post, not a repeat."""
    topic = make.topic(make.user("elm"), make.board("general"))
    auth.login(make.user("river"))
    key = key_in(client.get(f"/t/{topic.id}").text)
    first = client.post(
        f"/t/{topic.id}/reply", data={"body": "First thought", "submission_key": key}
    )
    second = client.post(
        f"/t/{topic.id}/reply", data={"body": "Second thought", "submission_key": key}
    )
    assert first.headers["Location"] != second.headers["Location"]
    assert counts(app, "general")["topic posts"] == [3]


def test_a_missing_or_strange_key_posts_as_before(app, client, make, auth):
    topic = make.topic(make.user("elm"), make.board("general"))
    auth.login(make.user("river"))
    for key in (None, "", "short", "x" * 65, "bad key with spaces!!", "\u202e" * 20):
        data = {"body": f"Reply with key {key!r}"}
        if key is not None:
            data["submission_key"] = key
        assert client.post(f"/t/{topic.id}/reply", data=data).status_code == 302
    assert counts(app, "general")["topic posts"] == [7]


def test_a_sending_that_loses_the_race_returns_the_winners_post(app, make, monkeypatch):
    """Both sendings look for an earlier post before either has written: the database's
    unique key stops the second, which then answers with the first one's post."""
    board = make.board("general")
    river = make.user("river")
    key = posting.new_submission_key()
    looked = posting._earlier_submission
    monkeypatch.setattr(
        posting, "_earlier_submission", lambda author, submission_key: None
    )  # too early to see it
    with app.test_request_context():
        author, place = db.session.merge(river), db.session.merge(board)
        first = posting.create_topic(author, place, "Evenings", "Lovely light.", submission_key=key)
        first_ids = (first.topic.id, first.post.id)
    with app.test_request_context():
        monkeypatch.setattr(posting, "_earlier_submission", _blind_once(looked))
        author, place = db.session.merge(river), db.session.merge(board)
        second = posting.create_topic(
            author, place, "Evenings", "Lovely light.", submission_key=key
        )
        assert (second.topic.id, second.post.id) == first_ids
    assert counts(app, "general") == {
        "board topics": 1,
        "board posts": 1,
        "topic posts": [1],
        "topics": 1,
        "posts": 1,
        "review items": 0,
    }


def _blind_once(looked):
    calls = []

    def earlier_submission(author, submission_key):
        calls.append(submission_key)
        return None if len(calls) == 1 else looked(author, submission_key)

    return earlier_submission


def test_two_sendings_at_the_same_moment_make_one_reply(app, make):
    topic = make.topic(make.user("elm"), make.board("general"))
    river = make.user("river")
    browsers = [app.test_client() for _ in range(4)]
    for browser in browsers:
        browser.post("/login", data={"login": river.username, "password": TEST_PASSWORD})
    form = {
        "body": "Me too, at the same moment.",
        "submission_key": key_in(browsers[0].get(f"/t/{topic.id}").text),
    }
    start = threading.Barrier(len(browsers))
    answers: list = [None] * len(browsers)

    def send(index: int) -> None:
        start.wait()
        answers[index] = browsers[index].post(f"/t/{topic.id}/reply", data=form)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [302] * len(browsers)
    assert len({answer.headers["Location"] for answer in answers}) == 1
    assert counts(app, "general") == {
        "board topics": 1,
        "board posts": 2,
        "topic posts": [2],
        "topics": 1,
        "posts": 2,
        "review items": 0,
    }
