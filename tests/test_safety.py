"""The checks made on every post: watched words, personal details and crisis language."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from forum import safety
from forum.extensions import db
from forum.models import Post, PostStatus, ReviewItem, ReviewReason, Topic
from forum.safety import Phrase, assess, personal_details, phrase_key
from tests.helpers.app import page_text
from tests.helpers.moderation import (
    count,
    field_error,
    first_post_id,
    item_for,
    latest_post_id,
    new_client,
    post_status,
    report,
    watch,
)


def start_topic(client, body: str, title: str = "Checking in", board: str = "general"):
    return client.post(
        f"/b/{board}/new", data={"title": title, "body": body, "submit": "Start topic"}
    )


def reasons_of(app, item_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        return db.session.execute(
            sa.select(ReviewReason.category, ReviewReason.detail)
            .where(ReviewReason.item_id == item_id)
            .order_by(ReviewReason.id)
        ).all()


@pytest.fixture
def member(client, make, auth):
    """A trusted member, logged in, in an open board: their posts normally go out at once."""
    make.board()
    user = make.user("oak")
    auth.login(user)
    return user


# --- watched words -------------------------------------------------------------------------


def test_a_blocked_word_refuses_the_post_and_keeps_the_text_in_the_form(client, member, app, make):
    watch(app, "cheapmeds", "block")
    body = "Has anyone tried CheapMeds for sleep?"
    response = start_topic(client, body, title="Sleep help")
    assert response.status_code == 400
    message = field_error(response, "body")
    assert "“cheapmeds”" in message and "does not allow" in message
    assert body in page_text(response) and 'value="Sleep help"' in response.text
    assert count(app, Post) == 0 and count(app, Topic) == 0

    topic = make.topic(make.user("elm"), make.board("other"))
    response = client.post(f"/t/{topic.id}/reply", data={"body": body, "submit": "Post"})
    assert response.status_code == 400
    assert "“cheapmeds”" in field_error(response, "body") and body in page_text(response)
    assert count(app, Post) == 1


def test_a_held_word_keeps_the_post_for_a_moderator(client, member, app):
    watch(app, "meet offline", "hold")
    response = start_topic(client, "Would anyone like to meet offline?", title="Meetup")
    assert response.status_code == 302
    page = page_text(client.get(response.headers["Location"]))
    assert "A moderator will look at your post before others see it." in page
    post_id = latest_post_id(app)
    assert post_status(app, post_id) == PostStatus.PENDING
    item = item_for(app, post_id)
    assert (item.kind, item.category, item.status) == ("held_post", "watched_word", "pending")
    assert ("watched_word", "Watched words: meet offline") in reasons_of(app, item.id)
    assert "Meetup" not in app.test_client().get("/b/general").text


def test_a_flagged_word_publishes_the_post_and_raises_an_item(client, member, app, make):
    watch(app, "diet pills", "flag")
    response = start_topic(client, "My doctor mentioned diet pills today.", title="Appointment")
    assert response.status_code == 302
    post_id = latest_post_id(app)
    assert post_status(app, post_id) == PostStatus.PUBLISHED
    item = item_for(app, post_id)
    assert (item.kind, item.category, item.status) == ("flagged_post", "watched_word", "pending")
    reader = new_client(app, make.user("ash"))
    assert "My doctor mentioned diet pills" in reader.get(response.headers["Location"]).text


@pytest.mark.parametrize(
    "body, held",
    [
        ("Let's MEET OFFLINE soon", True),  # any case
        ("Let's ｍｅｅｔ　ｏｆｆｌｉｎｅ soon", True),  # full-width letters and space (NFKC)
        ("Let's meet\n\n   offline, OK?", True),  # any spacing and punctuation between words
        ("Let's Meet-Offline soon", True),
        ("Let's meetoffline soon", False),  # whole words only
        ("Let's meet them offline", False),  # a phrase's words in a row
        ("We greet offliners here", False),
    ],
)
def test_watched_phrases_match_whole_words_in_any_case_and_form(client, member, app, body, held):
    watch(app, "Meet offline", "hold")
    assert start_topic(client, body).status_code == 302
    expected = PostStatus.PENDING if held else PostStatus.PUBLISHED
    assert post_status(app, latest_post_id(app)) == expected


def test_a_short_blocked_word_never_matches_inside_other_words(client, member, app):
    watch(app, "ass", "block")
    body = "My class went to a grass field; I passed the assessment. Bass, brass, sassy."
    response = start_topic(client, body)
    assert response.status_code == 302
    assert post_status(app, latest_post_id(app)) == PostStatus.PUBLISHED
    response = start_topic(client, "What an ASS he was")
    assert response.status_code == 400 and "“ass”" in field_error(response, "body")


def test_matching_in_the_checks_themselves():
    phrases = [
        Phrase(text, phrase_key(text), action)
        for text, action in (
            ("cheap meds", "hold"),
            ("ass", "block"),
            ("Self-Harm", "crisis"),
            ("diet", "flag"),
        )
    ]
    assert assess("CHEAP\tMeds here", phrases).held == ("cheap meds",)
    assert assess("ｃｈｅａｐ ｍｅｄｓ", phrases).held == ("cheap meds",)
    assert assess("classic assessment", phrases).blocked == ()
    assert assess("thinking about self harm", phrases).crisis == ("Self-Harm",)
    assert assess("SELF—HARM again", phrases).crisis == ("Self-Harm",)
    found = assess("you ass, cheap meds and a diet", phrases)
    assert (found.blocked, found.held, found.flagged) == (("ass",), ("cheap meds",), ("diet",))


HOSTILE_TEXTS = {
    "a-space": "a " * 10_000,
    "a-run": "a" * 20_000,
    "digit-space": "1 " * 10_000,
    "digit-run": "9" * 20_000,
    "digit-dash": "1-" * 10_000,
    "at-dots": "a@" + "a." * 9_999,
    "spaces-after-number": "12 " + " " * 19_990 + "x",
    "street-ish": "12345 " + "Ab " * 6_600,
    "postcode-ish": "SW1 " * 5_000,
}


@pytest.mark.parametrize("name", list(HOSTILE_TEXTS))
def test_pathological_text_is_checked_and_answered(name):
    """No timing here: a check that backtracked without bound would not finish at all."""
    phrases = [
        Phrase(text, phrase_key(text), "hold")
        for text in ("a a a a a a a a a b", "a a", "a" * 99, "1 1 1 x", "ab ab ab ab street")
    ]
    text = HOSTILE_TEXTS[name]
    found = assess(text, phrases)
    assert isinstance(found.reasons, list)
    if name == "a-space":
        assert found.held == ("a a",)
    assert isinstance(personal_details(text), list)


def test_a_pathological_post_goes_through_the_whole_posting_path(client, member, app):
    watch(app, "a a a a a a a a a b", "hold")
    watch(app, "a a a a a a a a a c", "block")
    response = start_topic(client, "a " * 9_999 + "a")
    assert response.status_code == 302
    assert post_status(app, latest_post_id(app)) == PostStatus.PUBLISHED


# --- personal details ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, what",
    [
        ("Text me on 07700 900123 any time", "a phone number"),
        ("My number is +44 20 7946 0958.", "a phone number"),
        ("Or call (555) 123-4567 after six", "a phone number"),
        ("Write to river.stone@example.com please", "an email address"),
        ("Come round to 42 Acacia Avenue on Sunday", "a street address"),
        ("I'm at 221B Baker Street", "a street address"),
        ("My postcode is SW1A 1AA", "a street address"),
    ],
)
def test_a_post_sharing_personal_details_is_held_and_the_member_told_why(
    client, member, app, body, what
):
    response = start_topic(client, body, title="Contact")
    assert response.status_code == 302
    page = page_text(client.get(response.headers["Location"]))
    assert "To protect your privacy, a moderator will look at your post" in page
    assert what in page
    post_id = latest_post_id(app)
    assert post_status(app, post_id) == PostStatus.PENDING
    item = item_for(app, post_id)
    assert (item.kind, item.category) == ("held_post", "personal_details")
    assert item.priority == safety.priority_of("personal_details")
    assert "Contact" not in app.test_client().get("/b/general").text


def test_an_edit_that_adds_personal_details_goes_back_to_a_moderator(client, member, app, make):
    topic = make.topic(make.user("elm"), make.board("other"))
    reply = make.reply(member, topic, "Plain words")
    response = client.post(
        f"/p/{reply.id}/edit",
        data={"body": "Plain words. Call me on 07700 900123", "submit": "Save changes"},
    )
    assert response.status_code == 302
    assert post_status(app, reply.id) == PostStatus.PENDING
    item = item_for(app, reply.id)
    assert (item.kind, item.category) == ("held_post", "personal_details")
    assert "900123" not in app.test_client().get(f"/t/{topic.id}").text
    # The author lands on the topic, told why, with their post shown as waiting.
    assert response.location.endswith(f"/t/{topic.id}#waiting")
    page = page_text(client.get(response.location))
    assert "To protect your privacy" in page and "waiting for a moderator" in page
    assert "07700 900123" in page


def test_an_edit_with_crisis_language_shows_the_author_the_helplines(client, member, app, make):
    topic = make.topic(make.user("elm"), make.board("other"))
    reply = make.reply(member, topic, "Plain words")
    response = client.post(
        f"/p/{reply.id}/edit", data={"body": "Some days I want to die.", "submit": "Save changes"}
    )
    assert response.status_code == 302
    page = page_text(client.get(response.location, follow_redirects=True))
    assert "You're not alone" in page
    for name, contact in helplines_on_help_page(app):
        assert name in page and contact in page
    assert post_status(app, reply.id) == PostStatus.PUBLISHED  # never held for crisis words
    assert item_for(app, reply.id).category == "at_risk"


@pytest.mark.parametrize(
    "body",
    [
        "I slept 10 hours on 2024-01-15 and woke at 07:30.",
        "On 15.01.2024 10:30 I finally called the clinic.",
        "Day 365 of 1000. Down from 20mg to 5mg; 10,432 steps today.",
        "It cost £1,250 in 2023 and I'm 34; my son is 7.",
        "My score went from 1200 to 1450 in 12 weeks (bp 120/80).",
        "Between 2019 and 2024 I moved 3 times, from 2 Bed flats to a house.",
    ],
)
def test_ordinary_numbers_and_dates_are_not_held(client, member, app, body):
    assert start_topic(client, body).status_code == 302
    post_id = latest_post_id(app)
    assert post_status(app, post_id) == PostStatus.PUBLISHED
    assert item_for(app, post_id) is None


# --- crisis language ------------------------------------------------------------------------


def helplines_on_help_page(app) -> list[tuple[str, str]]:
    page = page_text(app.test_client().get("/help"))
    pairs = re.findall(
        r"<h2>(.*?)</h2>\s*<p class=\"meta\">.*?</p>\s*<p class=\"contact\">"
        r"(.*?)</p>",
        page,
        re.S,
    )
    assert len(pairs) >= 3
    return pairs


def test_crisis_language_is_never_blocked_and_the_author_sees_the_helplines_at_once(
    client, member, app, make
):
    watch(app, "damn", "block")
    response = start_topic(
        client, "Honestly I want to die. Damn everything, I am so tired.", title="Tonight"
    )
    assert response.status_code == 302
    page = page_text(client.get(response.headers["Location"]))
    assert "You're not alone" in page
    for name, contact in helplines_on_help_page(app):
        assert name in page and contact in page
    # The panel is shown once, at once: not on later visits.
    assert "You're not alone" not in page_text(client.get(response.headers["Location"]))

    post_id = latest_post_id(app)
    # Not refused, but a blocked word is never published unseen: it waits, at the top.
    assert post_status(app, post_id) == PostStatus.PENDING
    item = item_for(app, post_id)
    assert (item.kind, item.category, item.is_sensitive) == ("held_post", "at_risk", True)
    assert ("watched_word", "Blocked words, held because of crisis language: damn") in reasons_of(
        app, item.id
    )
    assert item.priority == max(priority for priority, _ in safety.CATEGORIES.values())
    assert ("at_risk", "Crisis language: want to die") in reasons_of(app, item.id)

    # The item is first in the queue even behind a much-reported harassment item.
    other = make.reply(
        make.user("elm"), make.topic(make.user("ash"), make.board("other")), "Rude words"
    )
    for number in range(6):
        report(app, make.user(f"reporter{number}", trusted=False), other.id, "harassment")
    admin = new_client(app, make.user("root", role="admin"))
    queue = admin.get("/review").text
    first = re.search(r'<a href="/review/(\d+)">', queue).group(1)
    assert int(first) == item.id
    item_page = page_text(admin.get(f"/review/{item.id}"))
    assert "Crisis language: want to die" in item_page
    assert "Someone may be at risk" in item_page


def test_a_new_members_crisis_post_waits_at_the_top_and_they_still_see_help(
    client, make, auth, app
):
    board = make.board()
    topic = make.topic(make.user("elm"), board)
    auth.login(make.user("sapling", trusted=False))
    response = client.post(
        f"/t/{topic.id}/reply",
        data={"body": "I keep thinking about self harm lately.", "submit": "Post"},
    )
    assert response.status_code == 302
    page = page_text(client.get(response.headers["Location"]))
    assert "You're not alone" in page and "Samaritans" in page
    assert "waiting for a moderator" in page
    item = item_for(app, latest_post_id(app))
    assert (item.kind, item.category) == ("held_post", "at_risk")
    assert item.priority == safety.priority_of("at_risk")


def test_crisis_content_is_collapsed_on_the_moderators_pages(client, make, auth, app):
    board = make.board()
    topic = make.topic(make.user("elm"), board)
    secret = "Tonight the pills are counted out on the table"
    make.reply(make.user("sapling", trusted=False), topic, f"I want to end my life. {secret}.")
    item = item_for(app, latest_post_id(app))
    assert item.is_sensitive
    auth.login(make.user("warden", role="moderator", moderates=(board,)))
    queue = page_text(client.get("/review"))
    assert secret not in queue and "Content hidden: open the item to read it." in queue

    page = page_text(client.get(f"/review/{item.id}"))
    collapsed = re.findall(r"<details[^>]*>.*?</details>", page, re.S)
    assert any(secret in block for block in collapsed)
    outside = re.sub(r"<details[^>]*>.*?</details>", "", page, flags=re.S)
    assert secret not in outside, "the post's words show before the moderator opens them"


def test_staff_posts_are_not_screened(make, app):
    board = make.board()
    watch(app, "cheapmeds", "block")
    moderator = make.user("warden", role="moderator", moderates=(board,))
    topic = make.topic(
        moderator,
        board,
        body="Please don't post links to cheapmeds or your phone number, e.g. 07700 900123.",
    )
    assert topic.status == PostStatus.PUBLISHED
    assert item_for(app, first_post_id(app, topic.id)) is None
    assert count(app, ReviewItem) == 0
