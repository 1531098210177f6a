"""Logged-out visitors get cached topic pages that are never stale."""

from __future__ import annotations

import sqlalchemy as sa

from forum import page_cache
from forum.extensions import db
from forum.models import Post, PostStatus, Topic
from forum.page_cache import ENTRY_OVERHEAD
from tests.helpers.queries import queries_for


def test_a_repeat_visit_is_served_from_the_cache_with_one_query(app, client, make):
    topic = make.topic(make.user("river"), make.board(), body="first words")
    first = queries_for(app, client, f"/t/{topic.id}")
    again = queries_for(app, client, f"/t/{topic.id}")
    assert len(first) == 4 and len(again) == 1
    assert "first words" in client.get(f"/t/{topic.id}").text


def test_visitors_see_replies_edits_and_deletions_at_once(app, client, make, auth):
    river = make.user("river")
    topic = make.topic(make.user("author"), make.board(), title="Old title", body="first words")
    visitor = app.test_client()
    assert "first words" in visitor.get(f"/t/{topic.id}").text  # now cached

    reply = make.reply(river, topic, "a kind reply")
    assert "a kind reply" in visitor.get(f"/t/{topic.id}").text

    auth.login(river)
    client.post(f"/p/{reply.id}/edit", data={"body": "a kinder reply"})
    assert "a kinder reply" in visitor.get(f"/t/{topic.id}").text

    client.post(f"/p/{reply.id}/delete", data={"submit": "Delete my post"})
    page = visitor.get(f"/t/{topic.id}").text
    assert "kinder" not in page and "removed by its author" in page


def test_any_orm_change_to_a_post_or_topic_refreshes_the_page(app, client, make):
    """Whatever service makes the change (a moderator hiding a post, say)."""
    topic = make.topic(make.user(), make.board(), title="Before", body="visible words")
    assert "visible words" in client.get(f"/t/{topic.id}").text
    with app.app_context():
        post = db.session.scalar(sa.select(Post))
        post.status = PostStatus.DELETED  # stands in for any status that hides a post
        db.session.commit()
    assert "visible words" not in client.get(f"/t/{topic.id}").text
    with app.app_context():
        db.session.get(Topic, topic.id).title = "After"
        db.session.commit()
    assert "<h1>After</h1>" in client.get(f"/t/{topic.id}").text


def test_members_and_visitors_with_a_message_never_get_the_shared_copy(app, client, make, auth):
    topic = make.topic(make.user("author"), make.board())
    visitor_page = client.get(f"/t/{topic.id}").text
    assert "Log in</a> or" in visitor_page
    auth.login(make.user("river"))
    member_page = client.get(f"/t/{topic.id}").text
    assert "Post reply" in member_page and "Log in</a> or" not in member_page
    auth.logout()  # leaves "You have logged out." waiting for the next page
    after_logout = client.get(f"/t/{topic.id}").text
    assert "You have logged out." in after_logout
    assert "You have logged out." not in client.get(f"/t/{topic.id}").text


def test_cache_keeps_within_its_memory_budget(app, make, client):
    cache = app.extensions["page_cache"]
    board, author = make.board(), make.user()
    topics = [make.topic(author, board, title=f"t{n:02d}") for n in range(12)]
    # A page's size counts its characters and what keeping one costs besides.
    page_size = len(client.get(f"/t/{topics[0].id}").text) + ENTRY_OVERHEAD
    cache.max_bytes = page_size * 10 + page_size // 2  # room for ten pages
    for topic in topics:
        client.get(f"/t/{topic.id}")
    assert len(cache) == 10 and cache.size <= cache.max_bytes
    cache.max_bytes = page_size * 5  # one page may not take more than a tenth
    before = len(cache)
    make.reply(author, topics[1])  # a new revision: a new copy would be needed
    client.get(f"/t/{topics[1].id}")
    assert len(cache) == before


def test_page_numbers_past_the_end_are_not_stored(app, make, client):
    topic = make.topic(make.user(), make.board())
    for page in range(1, 30):
        assert client.get(f"/t/{topic.id}?page={page}").status_code == 200
    assert len(app.extensions["page_cache"]) == 1


def test_private_boards_pages_are_neither_served_nor_cached_for_visitors(app, client, make):
    topic = make.topic(make.user(), make.board("private", is_public=False), body="secret")
    assert client.get(f"/t/{topic.id}").status_code == 404
    assert len(app.extensions["page_cache"]) == 0


def test_a_budget_of_nothing_keeps_nothing_for_members_either(app, make, client, auth):
    """PAGE_CACHE_MB=0 turns every store off: a member's pages, the empty page of a topic
    still waiting included, leave nothing behind."""
    app.config["PAGE_CACHE_MB"] = 0
    page_cache.init_app(app)
    board = make.board()
    newcomer = make.user("newcomer", trusted=False)
    waiting = make.topic(newcomer, board, body="waiting words")
    listed = make.topic(make.user("ash"), board, body="listed words")
    auth.login(newcomer)
    for topic in (waiting, listed):
        assert client.get(f"/t/{topic.id}").status_code == 200
    assert client.get(f"/b/{board.slug}").status_code == 200
    for store in ("page_cache", "post_fragments", "thread_pages", "page_frames"):
        assert len(app.extensions[store]) == 0, store
