"""Members' topic pages are built from posts kept per topic revision and viewer facts
(forum.boards.post_fragments): a member must never see another member's personal parts
from a kept copy, whoever read the page before them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Post, PostStatus, Role, Topic, User, utcnow
from forum.services import admin, follows, integrity, notices, personal, posting, reactions
from tests.helpers.app import TEST_PASSWORD

TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


@pytest.fixture
def app_config(app_config):
    return {**app_config, "WTF_CSRF_ENABLED": True}


def _log_in(app, name: str):
    client = app.test_client()
    token = TOKEN.search(client.get("/login").text).group(1)
    response = client.post(
        "/login", data={"login": name, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, "login failed"
    return client


def _as(app, member_id: int, action) -> None:
    with app.test_request_context():
        action(db.session.get(User, member_id))
        db.session.commit()


def _post(app, post_id: int) -> Post:
    return db.session.get(Post, post_id)


@pytest.fixture
def thread(app, make):
    """ash's topic with posts by birch, river and sky, one pending and one hidden post;
    river and sky have different blocks, mutes and reactions."""
    board = make.board()
    ash, birch, river, sky = (make.user(name) for name in ("ash", "birch", "river", "sky"))
    newcomer = make.user("newcomer", trusted=False)
    moderator = make.user("mod", role="moderator", moderates=(board,))
    topic = make.topic(ash, board, body="ash opens the thread")
    p_birch = make.reply(birch, topic, "birch writes about spiders")
    p_river = make.reply(river, topic, "river's own words")
    p_sky = make.reply(sky, topic, "sky's own words, about the weather")
    p_hidden = make.reply(birch, topic, "words a moderator hid")
    make.reply(newcomer, topic, "words still waiting for review")
    with app.app_context():
        db.session.get(Post, p_hidden.id).status = PostStatus.HIDDEN
        db.session.commit()
        first = db.session.scalar(
            sa.select(Post.id).where(Post.topic_id == topic.id).order_by(Post.id).limit(1)
        )
    _as(app, river.id, lambda me: personal.block(me, db.session.get(User, ash.id)))
    _as(app, river.id, lambda me: personal.mute_phrase(me, "spiders"))
    _as(app, river.id, lambda me: reactions.add(me, _post(app, p_sky.id), "thinking_of_you"))
    _as(app, sky.id, lambda me: personal.block(me, db.session.get(User, birch.id)))
    _as(app, sky.id, lambda me: personal.mute_phrase(me, "weather"))
    _as(app, sky.id, lambda me: reactions.add(me, _post(app, first), "me_too"))
    _as(app, sky.id, lambda me: reactions.add(me, _post(app, p_river.id), "i_hear_you"))
    return {
        "topic": topic.id,
        "first": first,
        "birch": p_birch.id,
        "river": p_river.id,
        "sky": p_sky.id,
        "moderator": moderator,
    }


def _article(page: str, post_id: int) -> str:
    return re.search(rf'<article class="post" id="p{post_id}".*?</article>', page, re.S).group(0)


def _pressed(article: str) -> set[str]:
    return set(re.findall(r'value="\d+:(\w+)" aria-pressed="true"', article))


def _check_river(page: str, t: dict) -> None:
    assert "You blocked this member" in _article(page, t["first"])
    assert "mentions “spiders”, which you muted" in _article(page, t["birch"])
    assert "which you muted" not in _article(page, t["sky"])  # "weather" is sky's mute
    assert f'href="/p/{t["river"]}/edit"' in page and f'href="/p/{t["sky"]}/edit"' not in page
    assert _pressed(_article(page, t["sky"])) == {"thinking_of_you"}
    assert _pressed(_article(page, t["first"])) == set()
    assert "Support for your post:" in _article(page, t["river"])
    assert page.count("Support for your post:") == 1
    assert 'action="/u/ash/unblock"' in page and 'action="/u/birch/block"' in page


def _check_sky(page: str, t: dict) -> None:
    assert "You blocked this member" in _article(page, t["birch"])
    assert "You blocked this member" not in _article(page, t["first"])
    assert "mentions “weather”, which you muted" in _article(page, t["sky"])
    assert "spiders”, which you muted" not in page
    assert f'href="/p/{t["sky"]}/edit"' in page and f'href="/p/{t["river"]}/edit"' not in page
    assert _pressed(_article(page, t["first"])) == {"me_too"}
    assert _pressed(_article(page, t["river"])) == {"i_hear_you"}
    assert _pressed(_article(page, t["sky"])) == set()
    assert "Support for your post:" in _article(page, t["sky"])
    assert page.count("Support for your post:") == 1
    assert 'action="/u/birch/unblock"' in page and 'action="/u/ash/block"' in page


def _tokens(page: str) -> set[str]:
    """The session's CSRF secret each form carries. A signed token also holds the
    second it was signed in, so pages a second apart carry different strings for one
    session; the part before the first dot is the session's own."""
    return {token.split(".", 1)[0] for token in TOKEN.findall(page)}


def _never_hidden_or_pending(page: str) -> None:
    assert "words a moderator hid" not in page
    assert "words still waiting for review" not in page


def test_two_members_in_turn_each_see_only_their_own_parts(app, thread):
    river, sky = _log_in(app, "river"), _log_in(app, "sky")
    path = f"/t/{thread['topic']}"
    seen = {"river": set(), "sky": set()}
    # river first, then sky, then the other way round: every page but the first is
    # built from posts someone rendered before.
    for name, client, check in (
        ("river", river, _check_river),
        ("sky", sky, _check_sky),
        ("sky", sky, _check_sky),
        ("river", river, _check_river),
    ):
        page = client.get(path).text
        check(page, thread)
        _never_hidden_or_pending(page)
        tokens = _tokens(page)
        assert len(tokens) == 1 and "csrf-slot" not in page  # one session, one token
        assert 'name="submission_key"' in page
        seen[name] |= tokens
    assert len(seen["river"]) == 1 and len(seen["sky"]) == 1
    assert seen["river"] != seen["sky"]

    moderator_page = _log_in(app, "mod").get(path).text
    _never_hidden_or_pending(moderator_page)
    assert "which you muted" not in moderator_page and "You blocked" not in moderator_page
    assert moderator_page.count("as moderator</a>") == 4  # each published post (none its own)
    assert 'aria-pressed="true"' not in moderator_page
    assert "Support for your post:" not in moderator_page
    assert _tokens(moderator_page).isdisjoint(seen["river"] | seen["sky"])


def test_a_member_sees_a_change_to_the_thread_or_their_own_choices_at_once(app, thread):
    river = _log_in(app, "river")
    path = f"/t/{thread['topic']}"
    _check_river(river.get(path).text, thread)
    with app.app_context():
        river_id = db.session.scalar(sa.select(User.id).where(User.username == "river"))
        ash_id = db.session.scalar(sa.select(User.id).where(User.username == "ash"))
    _as(app, river_id, lambda me: personal.unblock(me, ash_id))
    _as(
        app, river_id, lambda me: reactions.remove(me, _post(app, thread["sky"]), "thinking_of_you")
    )
    page = river.get(path).text
    assert "You blocked this member" not in page and 'action="/u/ash/block"' in page
    assert _pressed(_article(page, thread["sky"])) == set()
    with app.app_context():
        db.session.get(Post, thread["sky"]).status = PostStatus.HIDDEN
        db.session.get(Topic, thread["topic"]).is_locked = True
        db.session.commit()
    page = river.get(path).text
    assert f'id="p{thread["sky"]}"' not in page and "about the weather" not in page
    assert f'href="/p/{thread["river"]}/edit"' not in page  # locked: no more editing


# --- one fact at a time ----------------------------------------------------------------
# Members who differ from a plain member in exactly one fact read the same pages in turn,
# each after the others: a kept copy keyed without that fact would show one of them the
# other's page, and a check below would fail.


@pytest.fixture
def one_fact_each(app, make, thread):
    """plain: a member with no settings. fan: follows the topic and the board. reactor:
    sent one reaction. newbie: address not confirmed. noticed: has an unread notice.
    blocker: blocked birch. muter: muted a word of birch's post. suspended: may read but
    not reply or react. The moderator (thread["moderator"]) moderates the board."""
    names = ("plain", "fan", "reactor", "noticed", "blocker", "muter", "suspended")
    members = {name: make.user(name) for name in names}
    members["newbie"] = make.user("newbie", verified=False)
    with app.test_request_context():
        topic = db.session.get(Topic, thread["topic"])
        fan = db.session.get(User, members["fan"].id)
        follows.follow_topic(fan, topic)
        follows.follow_board(fan, topic.board)
        notices.notify(db.session.get(User, members["noticed"].id), "approved", "Approved", "Hello")
        db.session.get(User, members["suspended"].id).suspended_until = utcnow() + timedelta(days=3)
        db.session.commit()
    _as(app, members["muter"].id, lambda me: personal.mute_phrase(me, "spiders"))
    _as(
        app,
        members["reactor"].id,
        lambda me: reactions.add(me, _post(app, thread["birch"]), "me_too"),
    )
    _as(app, members["blocker"].id, lambda me: personal.block(me, _user(app, "birch")))
    return members


def _user(app, name: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == name))


REACTABLE = 4  # the thread's published posts: ash's, birch's, river's and sky's


def _check_plain(page: str, name: str = "plain") -> None:
    assert f"Account ({name})" in page and "new)</span>" not in page
    assert "Follow this topic" in page and "Unfollow" not in page
    assert 'aria-pressed="true"' not in page and "You blocked" not in page
    assert page.count('aria-pressed="false"') == 4 * REACTABLE
    assert page.count("/report") == REACTABLE
    assert "as moderator" not in page and "Review queue" not in page
    assert 'name="submission_key"' in page and "Please confirm your email" not in page


def _checks(t: dict) -> dict:
    def fan(page):
        assert "Unfollow this topic" in page and "Follow this topic" not in page

    def reactor(page):
        assert _pressed(_article(page, t["birch"])) == {"me_too"}
        assert page.count('aria-pressed="true"') == 1

    def newbie(page):
        assert "Please confirm your email" in page and 'name="submission_key"' not in page
        assert "aria-pressed" not in page and "/report" not in page

    def noticed(page):
        assert "(1 new)" in page

    def blocker(page):
        assert "You blocked this member" in _article(page, t["birch"])
        assert 'action="/u/birch/unblock"' in page

    def muter(page):
        assert "mentions “spiders”, which you muted" in _article(page, t["birch"])
        assert 'action="/u/birch/block"' in page

    def suspended(page):
        assert "Your account is suspended until" in page and 'name="submission_key"' not in page
        assert 'aria-pressed="false"' not in page and page.count("/report") == REACTABLE

    def mod(page):
        assert page.count("as moderator</a>") == REACTABLE and "Review queue" in page

    return {
        "fan": fan,
        "reactor": reactor,
        "newbie": newbie,
        "noticed": noticed,
        "blocker": blocker,
        "muter": muter,
        "suspended": suspended,
        "mod": mod,
    }


def test_members_who_differ_in_one_fact_each_see_only_their_own_page(app, thread, one_fact_each):
    path = f"/t/{thread['topic']}"
    plain = _log_in(app, "plain")
    for name, check in _checks(thread).items():
        other = _log_in(app, name)
        for _ in range(2):  # each reads after the other has: both ways round
            _check_plain(plain.get(path).text)
            page = other.get(path).text
            check(page)
            assert f"Account ({name})" in page and "Account (plain)" not in page
            _never_hidden_or_pending(page)


def test_board_pages_show_each_member_their_own_follows_blocks_and_mutes(
    app, make, thread, one_fact_each
):
    with app.test_request_context():
        board = db.session.get(Topic, thread["topic"]).board
        birch_topic = posting.create_topic(
            _user(app, "birch"), board, "Birch's own topic", "Hello"
        ).topic
        board_muter = make.user("boardmuter")
        personal.mute_board(db.session.get(User, board_muter.id), board)
        db.session.commit()
        slug, birch_row = board.slug, birch_topic.id
    path = f"/b/{slug}"

    def row(page: str, topic_id: int) -> str:
        return re.search(rf'<tr>(?:(?!</tr>).)*?/t/{topic_id}".*?</tr>', page, re.S).group(0)

    plain, fan, blocker, muter = (
        _log_in(app, name) for name in ("plain", "fan", "blocker", "boardmuter")
    )
    for _ in range(2):
        page = plain.get(path).text
        assert "Following" not in page and "You blocked" not in page
        assert "A topic by a member you blocked" not in page
        assert "Follow this board" in page and "You muted this board" not in page
        page = fan.get(path).text
        assert "Following" in row(page, thread["topic"]) and "Unfollow this board" in page
        assert "Following" not in row(page, birch_row)
        page = blocker.get(path).text
        assert "A topic by a member you blocked" in row(page, birch_row)
        assert "A topic by a member you blocked" not in row(page, thread["topic"])
        page = muter.get(path).text
        assert "You muted this board" in page and "Unmute this board" in page


def test_a_members_own_page_follows_what_changes_for_them_alone(app, make, thread):
    """Nothing of the thread changes (its revision stays), only facts about river: the
    next page shows each change at once."""
    river = _log_in(app, "river")
    path = f"/t/{thread['topic']}"
    page = river.get(path).text
    assert "I hear you: 1" in _article(page, thread["river"])  # sky's reaction
    assert "new)</span>" not in page and "Review queue" not in page
    _as(
        app,
        make.user("wren").id,
        lambda me: reactions.add(me, _post(app, thread["river"]), "me_too"),
    )
    with app.test_request_context():
        notices.notify(_user(app, "river"), "approved", "Approved", "Hello")
        db.session.commit()
    page = river.get(path).text
    assert "Me too: 1" in _article(page, thread["river"]) and "(1 new)" in page
    with app.test_request_context():
        _user(app, "river").role = Role.MODERATOR
        _user(app, "river").moderates_all_boards = True
        db.session.commit()
    page = river.get(path).text
    assert "Review queue" in page and "as moderator</a>" in page and ">Admin<" not in page
    with app.test_request_context():
        _user(app, "river").role = Role.ADMIN
        db.session.commit()
    assert ">Admin<" in river.get(path).text
    with app.test_request_context():
        _user(app, "river").suspended_until = utcnow() + timedelta(days=1)
        db.session.commit()
    page = river.get(path).text
    assert "Your account is suspended until" in page and 'name="submission_key"' not in page


def test_a_member_made_moderator_loses_the_block_button_on_kept_pages(app, make, thread):
    """Members may block only members: an author's role is part of what a thread's kept
    rows show, so changing it moves on the threads they wrote in."""
    path = f"/t/{thread['topic']}"
    river = _log_in(app, "river")
    assert 'action="/u/birch/block"' in river.get(path).text
    boss = make.user("boss", role=Role.ADMIN).id
    with app.test_request_context():
        admin.set_role(db.session.get(User, boss), _user(app, "birch"), Role.MODERATOR, True, [])
    page = river.get(path).text
    assert "/u/birch/block" not in page and "/u/birch/unblock" not in page
    with app.test_request_context():
        admin.set_role(db.session.get(User, boss), _user(app, "birch"), Role.MEMBER, False, [])
    assert 'action="/u/birch/block"' in river.get(path).text


def test_a_muted_word_is_never_taken_for_a_block(app, make):
    """Any word can be muted, "blocked" too: the member is told the word they muted,
    never that they blocked someone they did not (and the kept post is not shared with
    members who really blocked its author)."""
    board = make.board("kin")
    ash, make_river = make.user("ash"), make.user("rowan")
    topic = make.topic(ash, board, body="I was blocked from seeing my kids this week")
    make.user("hazel")
    _as(app, make_river.id, lambda me: personal.mute_phrase(me, "blocked"))
    _as(app, _user_id(app, "hazel"), lambda me: personal.block(me, _user(app, "ash")))
    path = f"/t/{topic.id}"
    for _ in range(2):
        blocker_page = _log_in(app, "hazel").get(path).text
        assert "You blocked this member" in blocker_page
        page = _log_in(app, "rowan").get(path).text
        assert "You blocked this member" not in page
        assert "mentions “blocked”, which you muted" in page


def _user_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == name))


def test_a_topics_status_is_read_as_it_is_now_even_when_its_revision_stayed(app, thread):
    """A bulk change a repair makes does not go through the ORM's revision hook: members,
    like visitors, are refused a topic that is no longer listed, and the repair moves
    every topic's revision on so no kept copy outlives it."""
    path = f"/t/{thread['topic']}"
    sky = _log_in(app, "sky")
    assert sky.get(path).status_code == 200
    with app.app_context():
        before = db.session.scalar(sa.select(Topic.revision).where(Topic.id == thread["topic"]))
        db.session.execute(
            sa.update(Topic).where(Topic.id == thread["topic"]).values(status=PostStatus.HIDDEN)
        )
        db.session.commit()
    assert app.test_client().get(path).status_code == 404
    assert sky.get(path).status_code == 404
    with app.test_request_context():
        assert integrity.repair().found  # the topic's status no longer follows its first post
        after = db.session.scalar(sa.select(Topic.revision).where(Topic.id == thread["topic"]))
    assert after > before
    assert "ash opens the thread" in sky.get(path).text
