"""Members in control: blocking members, muting words and boards, and the public profile.

Each exclusion is checked where a member would notice it: topic and board pages, the
board list, the profile, digests, and reply and quote notices (in-site and by mail).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum.digests import build
from forum.extensions import db
from forum.models import Block, BoardMute, MutedPhrase, Post, PostStatus, User, utcnow
from forum.personal_filters import for_member
from forum.services import PermissionDenied, ServiceError, personal, post_state, posting
from tests.helpers.app import page_text
from tests.helpers.digests import digests_to, follow_board, parts, send, subscribe
from tests.helpers.moderation import (
    count,
    decide,
    item_for,
    new_client,
    notices_of,
    report,
    update,
)
from tests.helpers.notices import first_post_id, mail_to, reply

# --- helpers ---------------------------------------------------------------------------------


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


def block(app, blocker, blocked) -> bool:
    with app.test_request_context():
        return personal.block(user(blocker.id), user(blocked.id))


def mute(app, member, phrase: str) -> None:
    with app.test_request_context():
        personal.mute_phrase(user(member.id), phrase)


def mute_board(app, member, board) -> None:
    with app.test_request_context():
        personal.save_privacy(user(member.id), hides_recent_posts=False, muted_boards=[board.id])


@pytest.fixture
def world(make):
    """fern reads; thorn is someone fern may block; willow is a bystander."""
    board = make.board("lounge", "Lounge")
    fern, thorn, willow = make.user("fern"), make.user("thorn"), make.user("willow")
    topic = make.topic(fern, board, "Getting through Sundays", "Sundays are long for me")
    return board, fern, thorn, willow, topic


# --- the rules -------------------------------------------------------------------------------


def test_a_member_blocks_and_unblocks_once_however_often_they_click(app, world):
    _, fern, thorn, _, _ = world
    assert block(app, fern, thorn) is True
    assert block(app, fern, thorn) is False  # a double click: still one block, no error
    assert count(app, Block) == 1
    with app.app_context():
        assert for_member(fern.id).blocked_ids == {thorn.id}
        assert for_member(thorn.id).blocked_ids == frozenset()  # one-way
        assert personal.unblock(user(fern.id), thorn.id) is True
        assert personal.unblock(user(fern.id), thorn.id) is False
    assert count(app, Block) == 0


def test_nobody_blocks_themselves_or_the_moderation_team(app, make, world):
    _, fern, _, _, _ = world
    moderator = make.user("keeper", role="moderator", moderates_all=True)
    admin = make.user("boss", role="admin")
    with app.test_request_context():
        with pytest.raises(PermissionDenied, match="can't block yourself"):
            personal.block(user(fern.id), user(fern.id))
        for staff in (moderator, admin):
            with pytest.raises(PermissionDenied, match="Moderators and admins can't be blocked"):
                personal.block(user(fern.id), user(staff.id))
    assert count(app, Block) == 0


def test_a_block_made_before_someone_joined_the_team_stops_filtering(app, world):
    _, fern, thorn, _, _ = world
    block(app, fern, thorn)
    update(app, User, thorn.id, role="moderator")
    with app.app_context():
        assert for_member(fern.id).blocked_ids == frozenset()
        # still listed in settings, so fern can tidy it away
        assert [member.username for member in personal.blocked_members(user(fern.id))] == ["thorn"]


def test_blocks_and_mutes_have_limits(app, world, monkeypatch):
    _, fern, thorn, willow, _ = world
    monkeypatch.setattr(personal, "MAX_BLOCKS", 1)
    monkeypatch.setattr(personal, "MAX_MUTED_PHRASES", 1)
    block(app, fern, thorn)
    with app.test_request_context():
        with pytest.raises(ServiceError, match="Unblock someone first"):
            personal.block(user(fern.id), user(willow.id))
    mute(app, fern, "weather")
    with app.test_request_context():
        with pytest.raises(ServiceError, match="Remove one first"):
            personal.mute_phrase(user(fern.id), "rain")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Type a word or phrase"),
        ("   ", "Type a word or phrase"),
        ("?!…", "Type a word or phrase"),
        ("x" * 101, "100 characters or fewer"),
        ("ﷺ" * 20, "100 characters or fewer"),  # 20 characters that NFKC makes into 360
        ("  Self-HARM ", "You already muted “self harm”"),
    ],
)
def test_a_muted_phrase_must_be_words_short_and_new(app, world, typed, message):
    _, fern, _, _, _ = world
    mute(app, fern, "self harm")
    with app.test_request_context():
        with pytest.raises(ServiceError, match=message) as refused:
            personal.mute_phrase(user(fern.id), typed)
    assert refused.value.field == "phrase"
    assert count(app, MutedPhrase) == 1


def test_a_member_removes_only_their_own_muted_phrases(app, world):
    _, fern, thorn, _, _ = world
    mute(app, fern, "weather")
    with app.app_context():
        phrase_id = db.session.scalar(sa.select(MutedPhrase.id))
        assert personal.unmute_phrase(user(thorn.id), phrase_id) is None
        assert personal.unmute_phrase(user(fern.id), phrase_id) == "weather"
    assert count(app, MutedPhrase) == 0


# --- topic pages -----------------------------------------------------------------------------


def test_a_blocked_members_post_is_collapsed_with_a_way_to_show_it(app, client, auth, world):
    _, fern, thorn, willow, topic = world
    post = reply(app, thorn, topic, "Words from thorn that fern would rather not see")
    block(app, fern, thorn)
    auth.login(fern)
    html = client.get(f"/t/{topic.id}").get_data(as_text=True)
    article = html.split(f'id="p{post.id}"', 1)[1].split("</article>", 1)[0]
    assert "<details" in article and "You blocked this member" in article
    # the words are there, inside the closed <details>, for "show post"
    assert article.index("<summary>") < article.index("Words from thorn")
    assert 'Unblock<span class="visually-hidden"> thorn</span>' in article
    # others, and logged-out visitors, see it as it is
    for browser in (new_client(app, willow), app.test_client()):
        article = (
            browser.get(f"/t/{topic.id}")
            .get_data(as_text=True)
            .split(f'id="p{post.id}"', 1)[1]
            .split("</article>", 1)[0]
        )
        assert "You blocked" not in article and "<details" not in article
        assert "Words from thorn" in article


def test_a_post_with_a_muted_phrase_is_collapsed_naming_the_word(app, client, auth, world):
    _, fern, thorn, _, topic = world
    muted = reply(app, thorn, topic, "The **hospital** visit went fine")
    bold = reply(app, thorn, topic, "Some **strong** words, nothing muted")
    mute(app, fern, "Hospital")
    mute(app, fern, "strong")  # a word that is also an HTML tag's name: tags are not words
    auth.login(fern)
    html = page_text(client.get(f"/t/{topic.id}"))
    first = html.split(f'id="p{muted.id}"', 1)[1].split("</article>", 1)[0]
    assert "This post mentions “Hospital”, which you muted" in first and "<details" in first
    second = html.split(f'id="p{bold.id}"', 1)[1].split("</article>", 1)[0]
    assert "mentions “strong”" in second  # the word itself is in the text: it is collapsed
    third = reply(app, thorn, topic, "A **calm** day")
    html = page_text(client.get(f"/t/{topic.id}"))
    assert "<details" not in html.split(f'id="p{third.id}"', 1)[1].split("</article>", 1)[0]


def test_html_tags_are_not_matched_as_muted_words(app, client, auth, world):
    _, fern, thorn, _, topic = world
    post = reply(app, thorn, topic, "Some **bold** words and a [link](https://example.org)")
    for word in ("strong", "href", "nofollow", "p"):
        mute(app, fern, word)
    auth.login(fern)
    html = client.get(f"/t/{topic.id}").get_data(as_text=True)
    assert "<details" not in html.split(f'id="p{post.id}"', 1)[1].split("</article>", 1)[0]


def test_the_author_line_offers_block_for_members_only(app, client, auth, make, world):
    board, fern, thorn, _, topic = world
    keeper = make.user("keeper", role="moderator", moderates_all=True)
    theirs = reply(app, thorn, topic, "thorn's words")
    staff = reply(app, keeper, topic, "A moderator's words")
    auth.login(fern)
    html = client.get(f"/t/{topic.id}").get_data(as_text=True)

    def article(post_id):
        return html.split(f'id="p{post_id}"', 1)[1].split("</article>", 1)[0]

    assert 'action="/u/thorn/block"' in article(theirs.id)
    assert 'href="/u/thorn"' in article(theirs.id)  # the name links to the profile
    assert "/block" not in article(staff.id)
    assert "/block" not in article(first_post_id(app, topic))  # fern's own post
    # the button goes back to the post, collapsed now
    response = client.post("/u/thorn/block", data={"next": f"/t/{topic.id}#p{theirs.id}"})
    assert response.status_code == 302 and response.location == f"/t/{topic.id}#p{theirs.id}"
    assert "You blocked this member" in article_of(client, topic, theirs.id)
    # blocking a moderator by hand is refused, and changes nothing
    response = client.post("/u/keeper/block", follow_redirects=True)
    assert "Moderators and admins can't be blocked" in page_text(response)
    assert count(app, Block) == 1


def article_of(client, topic, post_id) -> str:
    html = page_text(client.get(f"/t/{topic.id}"))
    return html.split(f'id="p{post_id}"', 1)[1].split("</article>", 1)[0]


def test_the_blocked_member_is_never_told(app, client, auth, world):
    _, fern, thorn, _, topic = world
    reply(app, thorn, topic, "thorn was here")
    thorns = new_client(app, thorn)
    paths = ("/u/fern", "/u/thorn", f"/t/{topic.id}", "/notices", "/settings/privacy")

    def seen_by_thorn() -> list[str]:
        return [CSRF.sub("", thorns.get(path).get_data(as_text=True)) for path in paths]

    before = seen_by_thorn()
    auth.login(fern)
    client.post("/u/thorn/block")
    assert count(app, Block) == 1
    assert notices_of(app, thorn) == []
    assert mail_to("thorn@example.org") == []
    assert seen_by_thorn() == before  # every page of theirs reads exactly as it did


# One-time values every page load makes anew: the CSRF token and the reply form's key.
CSRF = re.compile(r'name="(csrf_token|submission_key)"[^>]*>')


# --- board lists -----------------------------------------------------------------------------


def test_muted_boards_leave_the_board_list_but_stay_reachable(app, client, auth, make, world):
    board, fern, _, _, _ = world
    quiet = make.board("news", "The News")
    mute_board(app, fern, quiet)
    auth.login(fern)
    index = page_text(client.get("/"))
    assert "The News" not in index and "Lounge" in index
    assert "Boards you muted are not listed here" in index
    page = page_text(client.get("/b/news"))
    assert page.count("You muted this board") == 1 and "Unmute this board" in page
    response = client.post("/b/news/mute", data={"action": "unmute"})
    assert response.status_code == 302 and response.location == "/b/news"
    assert "The News" in page_text(client.get("/"))
    client.post("/b/news/mute", data={"action": "mute"})
    client.get("/b/news")  # shows the message that says so
    assert "The News" not in page_text(client.get("/"))
    # others still see it listed
    assert "The News" in page_text(app.test_client().get("/"))


def test_topics_by_blocked_members_or_with_muted_titles_are_collapsed_in_lists(
    app, client, auth, world
):
    board, fern, thorn, willow, _ = world
    with app.test_request_context():
        posting.create_topic(
            user(thorn.id), db.session.get(type(board), board.id), "A topic by thorn", "Body"
        )
        posting.create_topic(
            user(willow.id), db.session.get(type(board), board.id), "Hospital stories", "Body"
        )
    block(app, fern, thorn)
    mute(app, fern, "hospital")
    auth.login(fern)
    page = page_text(client.get("/b/lounge"))
    assert "A topic by a member you blocked" in page
    assert "A topic that mentions “hospital”, which you muted" in page
    assert page.count("<details") == 2
    assert "Getting through Sundays" in page


# --- the profile -----------------------------------------------------------------------------


def test_a_profile_shows_name_joined_and_recent_posts_never_the_email(app, client, make, world):
    board, fern, thorn, _, topic = world
    reply(app, thorn, topic, "A published reply")
    private = make.board("quiet", "Quiet", is_public=False)
    make.topic(thorn, private, "Members only", "Private words")
    page = page_text(client.get("/u/thorn"))
    assert "<h1>thorn</h1>" in page and "Joined" in page
    assert "A published reply" in page and "Getting through Sundays" in page
    assert "@example.org" not in page and "email" not in page.lower()
    assert "Private words" not in page and "Members only" not in page  # logged out
    member = new_client(app, fern)
    assert "Private words" in page_text(member.get("/u/THORN"))  # any case of the name


def test_a_profile_exists_only_where_posts_already_show_the_member(app, client, make, world):
    board, fern, _, _, _ = world
    make.user("lurker")  # has never posted
    newcomer = make.user("newcomer", trusted=False)
    make.topic(newcomer, board, "Waiting", "Held for review")
    shy = make.user("shy")
    make.topic(shy, make.board("quiet", is_public=False), "Members only", "Private words")
    for name in ("lurker", "newcomer", "nobody-at-all", "x" * 500):
        assert client.get(f"/u/{name}").status_code == 404, name
    assert client.get("/u/shy").status_code == 404  # only a private board's posts
    assert new_client(app, fern).get("/u/shy").status_code == 200
    assert new_client(app, newcomer).get("/u/newcomer").status_code == 200  # one's own
    assert client.get("/u/fern%00").status_code == 404


def test_an_erased_account_has_no_profile(app, client, world):
    _, _, thorn, _, topic = world
    reply(app, thorn, topic, "Still here")
    update(app, User, thorn.id, erased_at=utcnow())
    assert client.get("/u/thorn").status_code == 404
    html = client.get(f"/t/{topic.id}").get_data(as_text=True)
    assert 'href="/u/thorn"' not in html


def test_a_member_can_hide_their_recent_posts(app, client, auth, world):
    _, fern, thorn, _, topic = world
    reply(app, thorn, topic, "Something thorn said")
    with app.test_request_context():
        personal.set_hides_recent_posts(user(thorn.id), True)
    page = page_text(client.get("/u/thorn"))
    assert "thorn chose not to list their recent posts here" in page
    assert "Something thorn said" not in page and "Recent posts" not in page
    own = page_text(new_client(app, thorn).get("/u/thorn"))
    assert "Something thorn said" in own and "they do not see the list" in own


def test_the_profile_pages_through_posts_newest_first(app, client, world):
    _, _, thorn, _, topic = world
    ids = [reply(app, thorn, topic, f"Reply number {n}").id for n in range(23)]
    first = page_text(client.get("/u/thorn"))
    assert "Reply number 22" in first and "Reply number 3 " not in first + " "
    assert first.index("Reply number 22") < first.index("Reply number 21")
    older = page_text(client.get(f"/u/thorn?before={ids[3]}"))
    assert "Reply number 2" in older and "Reply number 0" in older
    assert "Reply number 3" not in older and "Newest posts" in older
    assert client.get("/u/thorn?before=not-a-number").status_code == 200


def test_the_profile_leaves_out_pending_hidden_and_muted_board_posts(app, make, world):
    board, fern, thorn, _, topic = world
    hidden = reply(app, thorn, topic, "Hidden by a moderator")
    with app.app_context():
        post_state.change_status(db.session.get(Post, hidden.id), PostStatus.HIDDEN)
        db.session.commit()
    other = make.board("news", "The News")
    make.topic(thorn, other, "News topic", "News words")
    mute_board(app, fern, other)
    reader = new_client(app, fern)
    page = page_text(reader.get("/u/thorn"))
    assert "Hidden by a moderator" not in page and "News words" not in page
    assert "News words" in page_text(app.test_client().get("/u/thorn"))


def test_the_profile_of_a_blocked_member_offers_unblock(app, world):
    _, fern, thorn, _, topic = world
    reply(app, thorn, topic, "thorn's reply")
    reader = new_client(app, fern)
    assert "Block thorn" in page_text(reader.get("/u/thorn"))
    assert "Block fern" not in page_text(reader.get("/u/fern"))  # not oneself
    reader.post("/u/thorn/block")
    page = page_text(reader.get("/u/thorn"))
    assert "You blocked thorn" in page and "Unblock thorn" in page
    assert "thorn's reply" not in page
    reader.post("/u/thorn/unblock")
    assert count(app, Block) == 0


# --- the privacy settings --------------------------------------------------------------------


def test_privacy_settings_add_and_remove_muted_words_with_messages_by_the_field(
    app, client, auth, world
):
    _, fern, _, _, _ = world
    auth.login(fern)
    assert client.get("/settings/privacy").status_code == 200
    assert "Privacy and what you see" in page_text(client.get("/account"))
    response = client.post("/settings/privacy/phrases", data={"phrase": "  Hospital "})
    assert response.status_code == 302
    assert "Hospital" in page_text(client.get("/settings/privacy"))
    response = client.post("/settings/privacy/phrases", data={"phrase": "HOSPITAL"})
    assert response.status_code == 400
    page = page_text(response)
    assert 'id="phrase-error"' in page and "You already muted “Hospital”" in page
    assert 'value="HOSPITAL"' in page  # what was typed stays
    with app.app_context():
        phrase_id = db.session.scalar(sa.select(MutedPhrase.id))
    assert client.post(f"/settings/privacy/phrases/{phrase_id}/remove").status_code == 302
    assert count(app, MutedPhrase) == 0
    assert client.post(f"/settings/privacy/phrases/{phrase_id}/remove").status_code == 404


def test_privacy_settings_save_muted_boards_and_hiding_posts(app, client, auth, make, world):
    board, fern, thorn, _, _ = world
    news = make.board("news", "The News")
    block(app, fern, thorn)
    auth.login(fern)
    page = page_text(client.get("/settings/privacy"))
    assert "thorn" in page and "Unblock" in page
    response = client.post(
        "/settings/privacy",
        data={
            "hides_recent_posts": "y",
            "boards": [str(news.id), "999999", "nonsense", str(2**63), "-1"],
        },
    )
    assert response.status_code == 302  # boards that do not exist are left out
    with app.app_context():
        assert user(fern.id).hides_recent_posts is True
        assert set(db.session.scalars(sa.select(BoardMute.board_id))) == {news.id}
    client.post("/settings/privacy", data={"boards": [str(board.id)]})
    with app.app_context():
        assert user(fern.id).hides_recent_posts is False
        assert set(db.session.scalars(sa.select(BoardMute.board_id))) == {board.id}
    client.post("/u/thorn/unblock", data={"next": "/settings/privacy"})
    assert count(app, Block) == 0


# --- notices ---------------------------------------------------------------------------------


def test_no_notice_for_replies_or_quotes_a_member_would_rather_not_see(app, make, world):
    board, fern, thorn, willow, topic = world
    block(app, fern, thorn)
    reply(app, thorn, topic, "A reply by someone fern blocked")
    reply(app, thorn, topic, "> fern wrote\n\nA quote", quote_of=first_post_id(app, topic))
    mute(app, fern, "hospital")
    reply(app, willow, topic, "The hospital was kind")
    assert notices_of(app, fern) == [] and mail_to("fern@example.org") == []
    reply(app, willow, topic, "Thinking of you")  # the control: this one is told
    assert [notice.kind for notice in notices_of(app, fern)] == ["reply"]
    assert len(mail_to("fern@example.org")) == 1


def test_no_notice_from_a_muted_board(app, make, world):
    board, fern, _, willow, topic = world
    mute_board(app, fern, board)
    reply(app, willow, topic, "A kind reply", quote_of=first_post_id(app, topic))
    assert notices_of(app, fern) == [] and mail_to("fern@example.org") == []


def test_a_muted_word_in_ones_own_title_does_not_silence_replies(app, make, world):
    board, fern, _, willow, topic = world
    mute(app, fern, "Sundays")
    reply(app, willow, topic, "Hang in there")
    assert [notice.kind for notice in notices_of(app, fern)] == ["reply"]


def test_a_blocked_members_reply_approved_later_makes_no_notice(app, make, world):
    board, fern, _, _, topic = world
    newcomer = make.user("newcomer", trusted=False)
    held = reply(app, newcomer, topic, "Waiting for a moderator")
    block(app, fern, newcomer)
    keeper = make.user("keeper", role="moderator", moderates_all=True)
    item = item_for(app, held.id)
    decide(app, keeper, item.id, "approve")
    with app.app_context():
        assert db.session.get(Post, held.id).status == PostStatus.PUBLISHED
    assert [
        notice.kind for notice in notices_of(app, fern) if notice.kind in ("reply", "quote")
    ] == []


# --- digests ---------------------------------------------------------------------------------


def test_digests_leave_out_blocked_members_muted_boards_and_muted_words(app, make, world):
    board, fern, thorn, willow, _ = world
    news = make.board("news", "The News")
    follow_board(app, fern, board)
    follow_board(app, fern, news)
    talk = make.topic(willow, board, "A good week", "Some good news")
    make.reply(willow, talk, "Kind words from willow")
    make.reply(thorn, talk, "Thorn's words must not travel")
    make.reply(willow, talk, "A hospital word must not travel")
    by_thorn = make.topic(thorn, board, "Thorn's topic must not travel", "Body")
    make.reply(willow, by_thorn, "A reply under thorn's topic")
    titled = make.topic(willow, board, "Hospital title must not travel", "Body")
    make.reply(willow, titled, "A reply")
    muted = make.topic(willow, news, "News topic must not travel", "Body")
    make.reply(willow, muted, "Muted board words must not travel")
    make.topic(thorn, board, "Thorn's unanswered topic must not travel", "Body")
    make.topic(willow, board, "Hospital unanswered must not travel", "Body")
    make.topic(willow, board, "An unanswered question", "Body")
    block(app, fern, thorn)
    mute(app, fern, "hospital")
    mute_board(app, fern, news)
    subscribe(app, fern, due_now=True)
    subscribe(app, willow, due_now=True)  # and someone without filters gets everything
    follow_board(app, willow, board)
    follow_board(app, willow, news)

    report = send(app)
    assert report.sent == 2
    [message] = digests_to("fern@example.org")
    for body in parts(message):
        assert "A good week" in body and "Kind words from willow" in body
        assert "An unanswered question" in body
        assert "must not travel" not in body
    [other] = digests_to("willow@example.org")
    text, _ = parts(other)
    assert "Thorn's words must not travel" in text
    assert "Thorn's unanswered topic must not travel" in text


def test_digest_filters_cost_the_same_queries_for_any_batch(app, make, world):
    board, _, thorn, willow, _ = world
    topic = make.topic(willow, board, "Topic", "Words")
    make.reply(thorn, topic, "More words")
    now = utcnow()

    def statements_for(member_count: int) -> int:
        members = [make.user() for _ in range(member_count)]
        for member in members:
            follow_board(app, member, board)
            block(app, member, thorn)
            mute(app, member, "weather")
        statements = []

        def counted(conn, cursor, statement, *rest):
            statements.append(statement)

        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", counted)
            try:
                build.build_digests(
                    [
                        build.Member(member.id, member.username, now - timedelta(hours=1), now)
                        for member in members
                    ]
                )
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", counted)
        return len(statements)

    assert statements_for(2) == statements_for(20)


# --- moderators ------------------------------------------------------------------------------


def test_moderators_see_how_many_blocked_someone_never_who(app, make, world):
    board, fern, thorn, willow, topic = world
    keeper = make.user("keeper", role="moderator", moderates_all=True)
    boss = make.user("boss", role="admin")
    post = reply(app, thorn, topic, "Something reportable")
    block(app, fern, thorn)
    block(app, willow, thorn)
    item_id = report(app, make.user("reporter"), post.id, "harassment")
    page = page_text(new_client(app, keeper).get(f"/review/{item_id}"))
    assert "Members who blocked them</dt><dd>2</dd>" in page
    admin_page = page_text(new_client(app, boss).get(f"/admin/members/{thorn.id}"))
    assert "Members who blocked them</dt><dd>2 " in admin_page
    for text in (page, admin_page):
        assert "fern" not in text and "willow" not in text
