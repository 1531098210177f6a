"""Starting topics, replying, quoting, previewing, editing and deleting, through the pages."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Post, PostRevision, PostStatus, Role, Topic
from tests.helpers.app import page_text


def post_ids_on(response) -> list[int]:
    return [int(pid) for pid in re.findall(r'<article class="post" id="p(\d+)"', response.text)]


def test_member_starts_a_topic_and_it_is_listed_first(client, make, auth):
    board = make.board("anxiety", "Anxiety")
    older = make.topic(make.user("someone"), board, title="Older topic")
    auth.login(make.user("river"))
    response = client.post(
        "/b/anxiety/new",
        data={"title": "Small wins", "body": "I made **the call** today.", "submit": "Start topic"},
    )
    assert response.status_code == 302
    topic_page = client.get(response.headers["Location"])
    assert "<h1>Small wins</h1>" in topic_page.text
    assert "<strong>the call</strong>" in topic_page.text
    listing = client.get("/b/anxiety").text
    assert listing.index("Small wins") < listing.index(older.title)
    index = page_text(client.get("/"))
    assert "Anxiety" in index and "2 topics" in index


def test_preview_shows_the_rendered_post_without_saving_it(client, make, auth, app):
    make.board()
    auth.login(make.user("river"))
    response = client.post(
        "/b/general/new",
        data={"title": "Draft", "body": "# Heading\n\n*soft*", "preview": "Preview"},
    )
    assert response.status_code == 200
    assert '<h2 id="preview-heading">Preview</h2>' in response.text
    assert "<h3>Heading</h3>" in response.text and "<em>soft</em>" in response.text
    assert 'value="Draft"' in response.text
    assert "Draft" not in client.get("/b/general").text  # nothing listed: it was not saved
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Topic)) == 0


def test_reply_with_a_quote_lands_on_the_reply(client, make, auth, app):
    board = make.board()
    author = make.user("quietfern")
    topic = make.topic(author, board, body="Some days are hard.")
    auth.login(make.user("river"))
    with app.app_context():
        first_id = db.session.scalar(sa.select(Post.id).where(Post.topic_id == topic.id))
    form = client.get(f"/t/{topic.id}/reply?quote={first_id}")
    assert "&gt; **quietfern** wrote:" in form.text
    assert "&gt; Some days are hard." in form.text
    response = client.post(
        f"/t/{topic.id}/reply",
        data={
            "body": "> **quietfern** wrote:\n>\n> Some days are hard.\n\nThey are. I'm here.",
            "quote_of": str(first_id),
            "submit": "Post reply",
        },
    )
    assert response.status_code == 302
    landing = client.get(response.headers["Location"])
    assert landing.status_code == 302
    assert re.search(r"/t/\d+#p\d+$", landing.headers["Location"])
    page = client.get(landing.headers["Location"].split("#")[0])
    assert "<blockquote>" in page.text and "I'm here." in page_text(page)
    with app.app_context():
        reply = db.session.scalar(sa.select(Post).order_by(Post.id.desc()))
        assert reply.quote_of_id == first_id
        assert db.session.get(Topic, topic.id).post_count == 2


def test_permalink_lands_on_the_page_holding_the_post(client, make, app):
    app.config["POSTS_PER_PAGE"] = 5
    board = make.board()
    member = make.user()
    topic = make.topic(member, board)
    replies = [make.reply(member, topic, f"reply {n}") for n in range(12)]
    target = replies[7]  # the 9th post: page 2 with 5 per page
    response = client.get(f"/p/{target.id}")
    assert response.headers["Location"] == f"/t/{topic.id}?page=2#p{target.id}"
    page = client.get(f"/t/{topic.id}?page=2")
    assert target.id in post_ids_on(page)
    assert post_ids_on(page) == sorted(post_ids_on(page))  # oldest first
    assert len(post_ids_on(client.get(f"/t/{topic.id}?page=3"))) == 3
    # Out-of-range and nonsense pages fall back rather than failing.
    assert client.get(f"/t/{topic.id}?page=99").status_code == 200
    assert client.get(f"/t/{topic.id}?page=abc").status_code == 200


def test_editing_keeps_earlier_versions_for_moderators_and_marks_the_post(client, make, auth, app):
    board = make.board()
    river = make.user("river")
    topic = make.topic(river, board, title="First title", body="first words")
    with app.app_context():
        post_id = db.session.scalar(sa.select(Post.id).where(Post.topic_id == topic.id))
    auth.login(river)
    form = client.get(f"/p/{post_id}/edit")
    assert "first words" in form.text and 'value="First title"' in form.text
    response = client.post(
        f"/p/{post_id}/edit",
        data={"title": "Better title", "body": "second words", "submit": "Save changes"},
    )
    assert response.status_code == 302
    page = client.get(f"/t/{topic.id}")
    assert "(edited" in page.text and "second words" in page.text
    assert "first words" not in page.text
    assert "Earlier versions" not in page.text  # members don't see history
    assert client.get(f"/p/{post_id}/history").status_code == 403

    auth.logout()
    auth.login(make.user("mod", role=Role.MODERATOR, moderates_all=True))
    history = client.get(f"/p/{post_id}/history")
    assert history.status_code == 200
    assert "first words" in history.text and "First title" in history.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PostRevision)) == 1


def test_members_cannot_edit_or_delete_someone_elses_post(client, make, auth, app):
    board = make.board()
    topic = make.topic(make.user("author"), board, body="mine")
    with app.app_context():
        post_id = db.session.scalar(sa.select(Post.id).where(Post.topic_id == topic.id))
    auth.login(make.user("intruder"))
    assert client.get(f"/p/{post_id}/edit").status_code == 403
    assert client.post(f"/p/{post_id}/edit", data={"body": "hacked"}).status_code == 403
    assert client.post(f"/p/{post_id}/delete", data={"submit": "x"}).status_code == 403
    with app.app_context():
        assert db.session.get(Post, post_id).body_source == "mine"


def test_deleting_leaves_a_placeholder_and_erases_the_words(client, make, auth, app):
    board = make.board()
    river = make.user("river")
    topic = make.topic(make.user("other"), board)
    reply = make.reply(river, topic, "something I regret")
    auth.login(river)
    client.post(f"/p/{reply.id}/edit", data={"body": "edited regret"})
    response = client.post(f"/p/{reply.id}/delete", data={"submit": "Delete my post"})
    assert response.status_code == 302
    page = client.get(f"/t/{topic.id}")
    assert "This post was removed by its author." in page.text
    assert "regret" not in page.text
    with app.app_context():
        post = db.session.get(Post, reply.id)
        assert post.status == PostStatus.DELETED
        assert "regret" not in post.body_source + post.body_html
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PostRevision)) == 0
        assert db.session.get(Topic, topic.id).post_count == 1
    assert client.get(f"/p/{reply.id}/edit").status_code == 403


def test_content_warning_collapses_the_post_behind_its_label(client, make):
    board = make.board()
    topic = make.topic(make.user(), board, body="hard things", content_warning="self-harm")
    page = client.get(f"/t/{topic.id}").text
    details = re.search(r"<details class=\"content-warning\">(.*?)</details>", page, re.S)
    assert details, "a content warning must wrap the post in <details>"
    assert "Content warning: self-harm" in details.group(1)
    assert "hard things" in details.group(1)
    assert '<details class="content-warning" open' not in page


def test_logged_out_visitors_read_public_boards_only(client, make):
    public = make.board("open-board")
    private = make.board("members-board", is_public=False)
    author = make.user()
    public_topic = make.topic(author, public, title="Public words")
    private_topic = make.topic(author, private, title="Private words")
    assert client.get(f"/t/{public_topic.id}").status_code == 200
    assert client.get("/b/members-board").status_code == 404
    assert client.get(f"/t/{private_topic.id}").status_code == 404
    assert "members-board" not in client.get("/").text


def test_locked_topic_refuses_replies(client, make, auth, app):
    board = make.board()
    topic = make.topic(make.user(), board)
    with app.app_context():
        db.session.get(Topic, topic.id).is_locked = True
        db.session.commit()
    auth.login(make.user("river"))
    response = client.post(f"/t/{topic.id}/reply", data={"body": "hello"})
    assert response.status_code == 403
    assert "This topic is locked" in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 1


def test_board_pages_walk_every_topic_once_in_order(client, make, app):
    app.config["TOPICS_PER_PAGE"] = 4
    board = make.board()
    author = make.user()
    titles = [make.topic(author, board, title=f"Topic {n:02d}").title for n in range(10)]
    seen, url = [], "/b/general"
    while url:
        page = client.get(url).text
        seen += re.findall(r">(Topic \d\d)</a>", page)
        older = re.search(r'href="([^"]+)" rel="next"', page)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == list(reversed(titles))
    assert client.get("/b/general?after=not-a-cursor").status_code == 200


def test_impossible_ids_and_page_numbers_are_not_found_or_ignored(client, make, auth):
    topic = make.topic(make.user("river"), make.board())
    huge = "9" * 25
    for path in (f"/t/{huge}", f"/p/{huge}", f"/p/{huge}/edit", f"/t/{2**31}"):
        assert client.get(path).status_code in (302, 404), path
    for page in ("²", huge, "-1", "0", "x"):
        assert client.get(f"/t/{topic.id}?page={page}").status_code == 200
    auth.login("river")
    for quote in ("²", huge, "-3"):
        response = client.get(f"/t/{topic.id}/reply?quote={quote}")
        assert response.status_code == 200
        assert (
            client.post(
                f"/t/{topic.id}/reply", data={"body": "hello", "quote_of": quote}
            ).status_code
            == 302
        )


def test_a_second_delete_or_a_late_edit_of_a_removed_post_changes_nothing(client, make, auth, app):
    """Two requests in flight load the same post; the first removes it."""
    from forum.models import Board, User
    from forum.services import PermissionDenied, posting

    river = make.user("river")
    topic = make.topic(make.user("other"), make.board())
    reply = make.reply(river, topic, "my secret text")
    auth.login(river)
    with app.test_request_context():
        stale = db.session.get(Post, reply.id)  # loaded while still published
        member = db.session.get(User, river.id)
        assert stale.status == PostStatus.PUBLISHED
        with app.app_context():  # the first request, with a session of its own
            assert client.post(f"/p/{reply.id}/delete", data={"submit": "x"}).status_code == 302

        posting.delete_post(member, stale)  # the double-click's second request
        with pytest.raises(PermissionDenied):
            posting.edit_post(member, stale, "edited text")

    with app.app_context():
        post = db.session.get(Post, reply.id)
        assert post.status == PostStatus.DELETED
        assert "secret" not in post.body_source and "edited" not in post.body_source
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PostRevision)) == 0
        assert db.session.get(Topic, topic.id).post_count == 1
        assert db.session.scalar(sa.select(Board.post_count)) == 1


def test_counters_follow_every_reply(make, app):
    board = make.board()
    topic = make.topic(make.user(), board)
    for _ in range(3):
        make.reply(make.user(), topic)
    with app.app_context():
        assert db.session.get(Topic, topic.id).post_count == 4
        assert db.session.get(type(board), board.id).post_count == 4


def test_crafted_board_links_are_page_one_or_not_found(client, make):
    import base64

    make.topic(make.user(), make.board())

    def cursor(raw: str) -> str:
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    for raw in (
        "0|2020-01-01T00:00:00|99999999999999999999999",
        "0|2020-01-01T00:00:00|9999999999",
        "2|2020-01-01T00:00:00|1",
        "1|9999-12-31T23:59:59-23:59|1",
        "1|0001-01-01T00:00:00+14:00|1",
        "junk",
    ):
        for direction in ("after", "before"):
            response = client.get(f"/b/general?{direction}={cursor(raw)}")
            assert response.status_code == 200, raw
    for slug in ("%00", "%00/new", "General", "a" * 65, "caf%C3%A9"):
        assert client.get(f"/b/{slug}").status_code == 404, slug


def test_a_post_that_would_render_enormous_is_refused_with_its_text_kept(client, make, auth):
    topic = make.topic(make.user(), make.board())
    auth.login(make.user("river"))
    flood = "a.co " * 4000  # 20,000 characters that would become about 236,000 of links
    response = client.post(f"/t/{topic.id}/reply", data={"body": flood})
    assert response.status_code == 400
    assert "too many links or too much formatting" in response.text
    assert flood.strip() in response.text


def test_a_moderator_of_the_board_may_edit_a_post_and_the_edit_is_audited(client, make, auth, app):
    from forum.models import AuditEntry

    board, elsewhere = make.board(), make.board("elsewhere")
    author = make.user("river")
    topic = make.topic(author, board, body="My words")
    with app.app_context():
        post_id = db.session.scalar(sa.select(Post.id).where(Post.topic_id == topic.id))
    auth.login(make.user("outsider", role=Role.MODERATOR, moderates=(elsewhere,)))
    assert client.get(f"/p/{post_id}/edit").status_code == 403  # not their board
    auth.logout()
    auth.login(make.user("mod", role=Role.MODERATOR, moderates=(board,)))
    page = client.get(f"/t/{topic.id}")
    assert f'href="/p/{post_id}/edit"' in page.text and "as moderator" in page.text
    response = client.post(
        f"/p/{post_id}/edit",
        data={"title": "A topic", "body": "My words, minus a slur", "submit": "Save changes"},
    )
    assert response.status_code == 302
    with app.app_context():
        post = db.session.scalar(sa.select(Post))
        assert post.body_source == "My words, minus a slur"
        assert db.session.scalar(sa.select(PostRevision.body_source)) == "My words"
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.target_type == "post"))
        assert (entry.actor_name, entry.action, entry.target_id) == ("mod", "post.edit", post.id)
    # The author's own edits are theirs, not moderator actions.
    auth.logout()
    auth.login(author)
    client.post(
        f"/p/{post_id}/edit",
        data={"title": "A topic", "body": "Mine again", "submit": "Save changes"},
    )
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.target_type == "post")
            )
            == 1
        )
