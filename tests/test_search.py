"""Full-text search: what is findable, for whom, kept current by every change, and no
input breaks it. Runs on SQLite (FTS5) and, with DATABASE_URL, on PostgreSQL (tsvector)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forum import search
from forum.extensions import db
from forum.models import (
    Block,
    Board,
    BoardMute,
    MutedPhrase,
    Post,
    PostStatus,
    ReviewItem,
    ReviewStatus,
    Topic,
    User,
    utcnow,
)
from forum.personal_filters import NO_FILTERS
from forum.safety import phrase_key
from forum.search import ranking as search_ranking
from forum.search import views as search_views
from forum.services import accounts, leaving, moderation, post_state, posting
from tests.helpers.app import TEST_PASSWORD
from tests.helpers.moderation import first_post_id, new_client

RESULT_LINK = re.compile(r'<h3><a href="/p/(\d+)">')


def found(client, query: str, **params) -> list[int]:
    """The post ids a search lists, in order."""
    response = client.get("/search", query_string={"q": query, **params})
    assert response.status_code == 200, response.text
    return [int(number) for number in RESULT_LINK.findall(response.text)]


@pytest.fixture
def scene(make):
    lounge = make.board("lounge")
    other_board = make.board("garden")
    ana = make.user("ana")
    ben = make.user("ben")
    moderator = make.user("warden", role="moderator", moderates_all=True)
    topic = make.topic(ana, lounge, "Sleepless nights", "I cannot sleep since the move")
    reply = make.reply(ben, topic, "Walking before bed helped me")
    return dict(
        lounge=lounge,
        garden=other_board,
        ana=ana,
        ben=ben,
        moderator=moderator,
        topic=topic,
        first=first_post_id(make.app, topic.id),
        reply=reply,
    )


def _decide(app, moderator_id: int, post_id: int, action: str, **options) -> None:
    """A moderator acts on the post's review item; a report opens one when none is open
    (a new reporter each time: a hidden post comes back by approving a new report)."""
    with app.test_request_context():
        item = db.session.scalar(sa.select(ReviewItem).where(ReviewItem.post_id == post_id))
        if item is None or item.status != ReviewStatus.PENDING:
            reporter = accounts.create_user(
                f"reporter{secrets.token_hex(3)}",
                f"r{secrets.token_hex(4)}@example.org",
                TEST_PASSWORD,
                verified=True,
            )
            reporter.approved_post_count = app.config["NEW_MEMBER_REVIEW_POSTS"]
            db.session.commit()
            item = moderation.report(reporter, db.session.get(Post, post_id), "spam")
        moderation.decide(
            db.session.get(User, moderator_id),
            item,
            item.version,
            action,
            reason="Because",
            **options,
        )


# --- findable, and kept current by every change ------------------------------------------


def test_a_new_post_and_its_topic_title_are_findable(client, scene):
    assert found(client, "sleep") == [scene["first"]]
    assert found(client, "walking") == [scene["reply"].id]
    # The title is found with the topic's first post; words anywhere, any case or order.
    assert found(client, "NIGHTS sleepless") == [scene["first"]]
    assert found(client, "sleep walking") == []  # every word must be in one post


def test_diacritics_and_case_are_folded_both_ways(client, make, scene):
    post = make.reply(scene["ana"], scene["topic"], "The Café on the corner, and a naïve hope")
    assert found(client, "cafe") == [post.id]
    assert found(client, "CAFÉ naive") == [post.id]
    assert found(client, "naïve") == [post.id]


def test_quoted_text_is_not_indexed_with_the_quoting_post(client, make, scene):
    quote = make.reply(scene["ana"], scene["topic"], "> Walking before bed\n\nThank you, Ben")
    assert quote.id not in found(client, "walking")
    assert found(client, "thank") == [quote.id]


def test_results_show_title_board_excerpt_date_and_link(client, scene):
    page = client.get("/search?q=walking").text
    assert f'<a href="/p/{scene["reply"].id}">Sleepless nights</a>' in page
    assert '<a href="/b/lounge">Lounge</a>' in page
    assert "<mark>Walking</mark> before bed helped me" in page
    assert "<time datetime=" in page and "by ben" in page


def test_excerpts_are_escaped_never_raw_html(client, make, scene):
    post = make.reply(
        scene["ana"],
        scene["topic"],
        "Try <script>alert(1)</script> and `<b>bold</b>` in zebra land",
    )
    page = client.get("/search?q=zebra").text
    assert found(client, "zebra") == [post.id]
    assert "<script>" not in page and "<b>bold" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_hidden_and_deleted_posts_are_gone_and_back_when_reports_are_dismissed(
    app, client, make, scene
):
    reply = scene["reply"]
    app.config["REPORTS_TO_HIDE"] = 1  # one trusted member's report hides it
    _decide(app, scene["moderator"].id, reply.id, "dismiss")  # reported, hidden, dismissed
    assert found(client, "walking") == [reply.id]
    with app.test_request_context():
        reporter = db.session.scalar(sa.select(User).where(User.username == "ana"))
        moderation.report(reporter, db.session.get(Post, reply.id), "spam")
    assert found(client, "walking") == []  # hidden by the report
    _decide(app, scene["moderator"].id, reply.id, "dismiss")
    assert found(client, "walking") == [reply.id]

    app.config["REPORTS_TO_HIDE"] = 3
    _decide(app, scene["moderator"].id, reply.id, "hide")
    assert found(client, "walking") == []
    removed = make.reply(scene["ben"], scene["topic"], "Counting sheep works")
    _decide(app, scene["moderator"].id, removed.id, "delete")
    assert found(client, "sheep") == []

    own = make.reply(scene["ana"], scene["topic"], "Chamomile tea before sleeping")
    assert found(client, "chamomile") == [own.id]
    with app.test_request_context():
        posting.delete_post(db.session.get(User, scene["ana"].id), db.session.get(Post, own.id))
    assert found(client, "chamomile") == []


def test_pending_posts_are_findable_only_once_approved_and_never_if_rejected(
    app, client, make, scene
):
    newcomer = make.user("newcomer", trusted=False)
    waiting = make.reply(newcomer, scene["topic"], "Lavender oil on the pillow")
    other = make.reply(newcomer, scene["topic"], "Melatonin gummies from the pharmacy")
    assert waiting.status == PostStatus.PENDING
    assert found(client, "lavender") == [] and found(client, "melatonin") == []
    moderator_browser = new_client(app, scene["moderator"])
    assert found(moderator_browser, "lavender") == []  # moderators use the queue instead
    _decide(app, scene["moderator"].id, waiting.id, "approve")
    assert found(client, "lavender") == [waiting.id]
    _decide(app, scene["moderator"].id, other.id, "reject")
    assert found(client, "melatonin") == []


def test_a_hidden_first_post_takes_its_whole_topic_out(app, client, scene):
    app.config["REPORTS_TO_HIDE"] = 1
    with app.test_request_context():
        reporter = db.session.scalar(sa.select(User).where(User.username == "ben"))
        moderation.report(reporter, db.session.get(Post, scene["first"]), "spam")
    assert found(client, "sleepless") == []
    assert found(client, "walking") == []  # the topic is not published: nor are its replies
    _decide(app, scene["moderator"].id, scene["first"], "dismiss")
    assert found(client, "walking") == [scene["reply"].id]
    assert found(client, "sleepless") == [scene["first"]]


def test_edits_update_the_index_text_and_title(app, client, scene):
    with app.test_request_context():
        ana, ben = db.session.get(User, scene["ana"].id), db.session.get(User, scene["ben"].id)
        posting.edit_post(ben, db.session.get(Post, scene["reply"].id), "Swimming helped me")
        posting.edit_post(
            ana,
            db.session.get(Post, scene["first"]),
            "I cannot sleep at all",
            title="Restless evenings",
        )
    assert found(client, "walking") == []
    assert found(client, "swimming") == [scene["reply"].id]
    assert found(client, "sleepless") == []
    assert found(client, "restless") == [scene["first"]]


def test_a_moved_topic_is_found_under_its_new_board(app, client, scene):
    assert found(client, "walking", board="lounge") == [scene["reply"].id]
    _decide(app, scene["moderator"].id, scene["first"], "move", board_id=scene["garden"].id)
    assert found(client, "walking", board="lounge") == []
    assert found(client, "walking", board="garden") == [scene["reply"].id]
    assert 'In <a href="/b/garden">Garden</a>' in client.get("/search?q=walking").text


def test_board_filter(client, make, scene):
    elsewhere = make.topic(scene["ben"], scene["garden"], "Sleep in the garden", "Hammocks")
    garden_post = first_post_id(make.app, elsewhere.id)
    assert set(found(client, "sleep")) == {scene["first"], garden_post}
    assert found(client, "sleep", board="garden") == [garden_post]
    # An unknown board searches everywhere rather than failing.
    assert set(found(client, "sleep", board="nowhere")) == {scene["first"], garden_post}


def test_members_only_boards_are_searched_for_members_only(app, client, make, scene):
    private = make.board("quiet", is_public=False)
    topic = make.topic(scene["ana"], private, "Quiet corner", "Only members read this")
    post_id = first_post_id(app, topic.id)
    assert found(client, "quiet") == []
    assert found(client, "corner", board="quiet") == []
    assert "Quiet corner" not in client.get("/search?q=quiet").text
    assert 'value="quiet"' not in client.get("/search").text  # not offered as a filter
    member = new_client(app, scene["ben"])
    assert found(member, "quiet") == [post_id]
    assert found(member, "corner", board="quiet") == [post_id]


def test_blocked_members_and_muted_boards_are_left_out(app, make, scene):
    garden_topic = make.topic(scene["ana"], scene["garden"], "Walking in the garden", "Roses")
    garden_post = first_post_id(app, garden_topic.id)
    viewer = make.user("cleo")
    browser = new_client(app, viewer)
    assert set(found(browser, "walking")) == {scene["reply"].id, garden_post}
    with app.app_context():
        db.session.add(Block(blocker_id=viewer.id, blocked_id=scene["ben"].id))
        db.session.commit()
    assert found(browser, "walking") == [garden_post]
    with app.app_context():
        db.session.add(BoardMute(user_id=viewer.id, board_id=scene["garden"].id))
        db.session.commit()
    assert found(browser, "walking") == []
    assert found(browser, "walking", board="garden") == []
    # Only for the member who chose it.
    assert set(found(new_client(app, scene["ana"]), "walking")) == {scene["reply"].id, garden_post}


def test_a_post_with_a_muted_phrase_is_shown_collapsed_naming_it(app, make, scene):
    viewer = make.user("cleo")
    with app.app_context():
        db.session.add(MutedPhrase(user_id=viewer.id, phrase="Bed", phrase_key=phrase_key("bed")))
        db.session.commit()
    browser = new_client(app, viewer)
    page = browser.get("/search?q=walking").text
    assert found(browser, "walking") == [scene["reply"].id]
    assert '<details class="content-warning filtered">' in page
    assert "mentions “Bed”, which you muted" in page
    assert "mentions" not in new_client(app, scene["ana"]).get("/search?q=walking").text


def test_a_content_warning_keeps_the_excerpt_folded(client, make, scene):
    make.topic(
        scene["ben"], scene["lounge"], "Hard day", "The funeral was today", content_warning="grief"
    )
    page = client.get("/search?q=funeral").text
    assert "Content warning: grief" in page
    assert re.search(r"<details class=\"content-warning\">\s*<summary>Content warning", page)


def test_account_erasure_removes_or_keeps_posts_in_the_index(app, client, make, scene):
    stays = make.user("stays")
    kept = make.reply(stays, scene["topic"], "Porridge with honey at night")
    with app.test_request_context():
        now = utcnow()
        leaving.schedule_deletion(
            db.session.get(User, scene["ben"].id), TEST_PASSWORD, keep_posts=False, now=now
        )
        leaving.schedule_deletion(
            db.session.get(User, stays.id), TEST_PASSWORD, keep_posts=True, now=now
        )
        assert leaving.erase_due(now + timedelta(days=15)).erased == 2
    assert found(client, "walking") == []
    assert found(client, "porridge") == [kept.id]
    page = client.get("/search?q=porridge").text
    assert "by a former member" in page and "stays" not in page.split("<main")[1]


def test_ranking_prefers_the_title_then_the_newest(client, make, scene):
    older = make.reply(scene["ana"], scene["topic"], "Tea is soothing")
    newer = make.reply(scene["ben"], scene["topic"], "Tea is soothing")
    titled = make.topic(scene["ana"], scene["lounge"], "Tea", "What do you drink?")
    first = first_post_id(make.app, titled.id)
    assert found(client, "tea") == [first, newer.id, older.id]


# --- pages, queries ------------------------------------------------------------------------


def test_pagination(client, make, scene, monkeypatch):
    monkeypatch.setattr(search_views, "PER_PAGE", 3)
    posts = [
        make.reply(scene["ana"], scene["topic"], f"Journal entry number {n}").id for n in range(7)
    ]
    newest_first = list(reversed(posts))
    assert found(client, "journal") == newest_first[:3]
    page = client.get("/search?q=journal").text
    assert 'rel="next"' in page and 'rel="prev"' not in page
    assert found(client, "journal", page=2) == newest_first[3:6]
    assert found(client, "journal", page=3) == newest_first[6:]
    last = client.get("/search?q=journal&page=3").text
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert found(client, "journal", page=4) == []
    assert "No more posts match" in client.get("/search?q=journal&page=4").text
    for bad in ("0", "-1", "x", "99999999999", "²"):
        assert found(client, "journal", page=bad) == newest_first[:3]


def test_queries_per_results_page_do_not_grow_with_the_results(app, make, scene):
    viewer = make.user("cleo")
    browser = new_client(app, viewer)
    with app.app_context():
        db.session.add(Block(blocker_id=viewer.id, blocked_id=scene["moderator"].id))
        db.session.add(MutedPhrase(user_id=viewer.id, phrase="zzz", phrase_key="zzz"))
        db.session.commit()

    def statements(query: str) -> int:
        seen = []

        def record(connection, cursor, statement, *args):
            seen.append(statement)

        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", record)
            try:
                assert browser.get(f"/search?q={query}").status_code == 200
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", record)
        return len(seen)

    make.reply(scene["ana"], scene["topic"], "one solitary pebble")
    for n in range(12):
        make.reply(scene["ben"], scene["topic"], f"many pebbles number {n}")
    assert statements("solitary") == statements("pebbles")


def test_an_empty_query_is_a_plain_page_with_the_form(client, scene):
    for url in ("/search", "/search?q=", "/search?q=+++"):
        response = client.get(url)
        assert response.status_code == 200
        assert 'role="search" aria-label="Search posts"' in response.text
        assert "Results" not in response.text


def test_the_header_has_a_search_box(client, scene):
    page = client.get("/").text
    assert 'action="/search"' in page and '<label for="site-search"' in page


HOSTILE = [
    '"(',
    '"',
    "(",
    ")",
    "NEAR",
    "NEAR(sleep walking)",
    "AND",
    "OR",
    "NOT",
    "sleep AND",
    "*",
    "sleep*",
    "-",
    "-sleep",
    ":",
    "title:sleep",
    "body:",
    "^sleep",
    "'",
    "''",
    "\\",
    "a\\'b",
    "!",
    "&",
    "|",
    "<->",
    "sleep & !walking",
    "sleep:*",
    "{",
    "}",
    "[",
    "]",
    "%",
    "_",
    "\u200b",
    "🙂",
    "😢 sleep 🙂",
    "نوم هادئ",
    "睡眠",
    "不眠の夜",
    "x" * 10_000,
    "sleep " * 2_000,
    "Ñandú ñ",
    "\ufeff",
    "\U0010ffff",
    "\ud7ff",
    "ab\x01cd",
    "\t\n",
    "NEAR/3",
    "sleep NEAR/2 walking",
    "+",
    "~",
    "@@",
    "$$",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_search_input_is_words_never_syntax(client, scene, query):
    response = client.get("/search", query_string={"q": query, "board": "lounge"})
    assert response.status_code == 200
    assert "<title>" in response.text


def test_nul_and_bad_encodings_are_refused_politely(client, scene):
    assert client.get("/search?q=%00sleep").status_code == 400
    assert client.get("/search?q=%ff%fe").status_code == 200


def test_operators_are_searched_as_words(client, make, scene):
    post = make.reply(scene["ana"], scene["topic"], "NEAR the river AND the mill")
    assert found(client, "near") == [post.id]
    assert found(client, '"NEAR" (mill)') == [post.id]
    assert found(client, "river -mill") == [post.id]  # "-" is not NOT


def test_only_the_first_words_are_used(client, make, scene):
    words = " ".join(f"word{n}" for n in range(search.MAX_TERMS + 5))
    page = client.get("/search", query_string={"q": words}).text
    assert f"Only the first {search.MAX_TERMS} words" in page


def test_non_latin_words_are_found(client, make, scene):
    arabic = make.reply(scene["ana"], scene["topic"], "أشعر بالتعب الليلة")
    japanese = make.reply(scene["ben"], scene["topic"], "眠れない 夜")
    assert found(client, "بالتعب") == [arabic.id]
    assert found(client, "眠れない") == [japanese.id]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    query=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=60,
    )
)
def test_any_text_is_a_valid_query(app, scene, query):
    """Straight against the index (no page around it): never an error, only findable posts."""
    with app.test_request_context():
        private = list(db.session.scalars(sa.select(Board.id).where(Board.is_public.is_(False))))
        results = search.search(query, NO_FILTERS, excluded_board_ids=private)
        for result in results.results:
            post = db.session.get(Post, result.post_id)
            assert post.status == PostStatus.PUBLISHED
        db.session.rollback()


# --- the index itself --------------------------------------------------------------------


def test_reindex_rebuilds_an_emptied_index(app, runner, client, make, scene):
    with app.app_context():
        db.session.execute(sa.text(f"DELETE FROM {search.TABLE}"))
        db.session.commit()
    assert found(client, "walking") == []
    result = runner.invoke(args=["forum", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 of 2 posts" in result.output
    assert "The search index holds 2 published posts." in result.output
    assert found(client, "walking") == [scene["reply"].id]
    assert found(client, "sleepless") == [scene["first"]]


def test_reindex_leaves_out_what_is_not_published(app, runner, make, scene):
    newcomer = make.user("newcomer", trusted=False)
    make.reply(newcomer, scene["topic"], "Still waiting for a moderator")
    _decide(app, scene["moderator"].id, scene["reply"].id, "hide")
    assert runner.invoke(args=["forum", "reindex"]).exit_code == 0
    with app.app_context():
        assert search.entry_count() == 1


def test_a_rolled_back_change_leaves_the_index_alone(app, client, scene):
    with app.app_context():
        post = db.session.get(Post, scene["reply"].id)
        post_state.change_status(post, PostStatus.HIDDEN)
        db.session.flush()
        db.session.rollback()
    assert found(client, "walking") == [scene["reply"].id]


def test_bulk_updates_are_followed(app, client, scene):
    with app.app_context():
        db.session.execute(
            sa.update(Post).where(Post.id == scene["reply"].id).values(status=PostStatus.HIDDEN)
        )
        db.session.commit()
    assert found(client, "walking") == []
    with app.app_context():
        db.session.execute(
            sa.update(Topic).where(Topic.id == scene["topic"].id).values(title="Wakeful nights")
        )
        db.session.execute(
            sa.update(Post).where(Post.id == scene["reply"].id).values(status=PostStatus.PUBLISHED)
        )
        db.session.commit()
    assert found(client, "wakeful") == [scene["first"]]
    assert found(client, "walking") == [scene["reply"].id]


def test_a_deleted_post_row_takes_its_entry_with_it(app, scene):
    with app.app_context():
        db.session.execute(sa.delete(ReviewItem))
        db.session.execute(sa.delete(Post).where(Post.id == scene["reply"].id))
        db.session.commit()
        assert search.entry_count() == 1


def test_terms_and_excerpts():
    assert search.terms('"(NEAR) sleep* -walk: café 🙂') == ["NEAR", "sleep", "walk", "café"]
    assert search.terms("Sleep sleep SLEEP") == ["Sleep"]
    assert search.terms("") == []
    text = "word " * 100 + "the needle is here " + "word " * 100
    excerpt = search.excerpt(text, {"needle"})
    assert "<mark>needle</mark>" in excerpt and excerpt.startswith("…")
    assert len(excerpt) < search.EXCERPT_CHARS + 40
    assert search.excerpt("a <b> & c", {"zzz"}) == "a &lt;b&gt; &amp; c"


def test_searching_is_rate_limited_but_the_empty_form_is_not(app_config, request):
    app_config["RATELIMIT_ENABLED"] = True
    app = request.getfixturevalue("app")
    client = app.test_client()
    statuses = [client.get(f"/search?q=word{n}").status_code for n in range(31)]
    assert statuses == [200] * 30 + [429]
    assert client.get("/search").status_code == 200
    other = app.test_client()
    assert (
        other.get("/search?q=word", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    )  # counted per visitor


def test_the_newest_matches_are_ranked_and_older_ones_need_more_words(
    client, make, scene, monkeypatch
):
    monkeypatch.setattr(search_ranking, "CANDIDATES", 2)
    oldest = make.topic(scene["ana"], scene["lounge"], "Gardening", "gardening helps")
    first = first_post_id(make.app, oldest.id)
    newer = [make.reply(scene["ben"], scene["topic"], f"gardening note {n}").id for n in range(2)]
    assert found(client, "gardening") == list(reversed(newer))  # the title match is older
    assert found(client, "gardening helps") == [first]


def test_words_never_match_the_board_or_author_filter_tokens(app, client, make, scene):
    """On SQLite the index holds a board token ("b12") and an author token ("m7") for
    its filters: a search for such a word must not list a board's or a member's posts
    (a member who hides their recent posts would be listed all the same)."""
    ana, lounge = scene["ana"], scene["lounge"]
    with app.app_context():
        db.session.get(User, ana.id).hides_recent_posts = True
        db.session.commit()
    assert found(client, f"m{ana.id}") == []
    assert found(client, f"b{lounge.id}") == []
    about = make.reply(scene["ben"], scene["topic"], f"My b{lounge.id} levels were low")
    assert found(client, f"b{lounge.id}") == [about.id]  # as a word in a post, it is found
