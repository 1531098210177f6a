"""What a member must not be shown, checked on every surface at once.

One reader, one world: replies to the reader's own topic (so each would make a notice)
in a board the reader follows (so each would be in their digest), each carrying a word
of its own. For every case, the same four surfaces are asked: the topic page, search,
the digest and the notices (in the site and by mail). Blocks and mutes are the
reader's own choices; pending, hidden, rejected and deleted posts are nobody's to see;
a members-only board is not for logged-out visitors.
"""

from __future__ import annotations

import html
import re

import pytest

from forum import mail
from forum.extensions import db
from forum.models import Block, BoardMute, MutedPhrase, Post, User
from forum.services import posting
from tests.helpers.app import log_in
from tests.helpers.digests import digests_to, follow_board, parts, send, subscribe
from tests.helpers.moderation import decide, item_for, notices_of, report

READER = "ash@example.org"


def visible_text(page: str) -> str:
    """The page's words, outside any collapsed <details> (a folded post is still on the
    page, hidden until the reader opens it: that is asserted separately)."""
    unfolded = re.sub(
        r"<details class=\"content-warning filtered\">.*?</details>", " ", page, flags=re.S
    )
    return html.unescape(re.sub(r"<[^>]+>", " ", unfolded))


@pytest.fixture
def world(app, make):
    lounge = make.board("lounge", "Lounge")
    quiet = make.board("quiet", "Quiet corner")
    members_only = make.board("inner", "Inner circle", is_public=False)
    reader = make.user("ash", email=READER)
    fern, thorn = make.user("fern"), make.user("thorn")
    newcomer = make.user("newcomer", trusted=False)
    moderator = make.user("warden", role="moderator", moderates_all=True)
    topic = make.topic(reader, lounge, "Evenings are long")
    muted_topic = make.topic(reader, quiet, "Quiet evenings")
    inner_topic = make.topic(reader, members_only, "Among ourselves")
    for board in (lounge, quiet, members_only):
        follow_board(app, reader, board)
    with app.app_context():
        db.session.add_all(
            [
                Block(blocker_id=reader.id, blocked_id=thorn.id),
                MutedPhrase(user_id=reader.id, phrase="Exams", phrase_key="exams"),
                BoardMute(user_id=reader.id, board_id=quiet.id),
            ]
        )
        db.session.commit()
    mail.outbox.clear()

    words, post_ids = {}, {}

    def reply(case: str, author, where=topic, extra: str = "") -> Post:
        words[case] = f"marker{case.replace('_', '')}"
        post = make.reply(author, where, f"{words[case]} {extra}".strip())
        post_ids[case] = post.id
        return post

    reply("published", fern)
    reply("blocked", thorn)
    reply("muted_word", fern, extra="my exams start tomorrow")
    reply("muted_board", fern, where=muted_topic)
    reply("members_only", fern, where=inner_topic)
    reply("pending", newcomer)
    rejected = reply("rejected", newcomer)
    decide(app, moderator, item_for(app, rejected.id).id, "reject", reason="Not for here")
    hidden = reply("hidden", fern)
    decide(
        app,
        moderator,
        report(app, moderator, hidden.id, "harassment"),
        "hide",
        reason="Hidden while we look",
    )
    deleted = reply("deleted", fern)
    with app.test_request_context():
        posting.delete_post(db.session.get(User, fern.id), db.session.get(Post, deleted.id))
    return {
        "reader": reader,
        "topics": (topic, muted_topic, inner_topic),
        "words": words,
        "post_ids": post_ids,
    }


def results(page: str) -> str:
    """The search page's list of results (the page also repeats the query itself)."""
    found = re.search(r'<ol class="search-results">.*?</ol>', page, flags=re.S)
    return found[0] if found else ""


def surfaces(app, client, world) -> dict[str, str]:
    """What the reader meets on each surface, as text."""
    topics = world["topics"]
    pages = " ".join(visible_text(client.get(f"/t/{topic.id}").text) for topic in topics)
    found = " ".join(
        visible_text(results(client.get(f"/search?q={word}").text))
        for word in world["words"].values()
    )
    subscribe(app, world["reader"], due_now=True)
    send(app)
    digest = " ".join(" ".join(parts(message)) for message in digests_to(READER))
    notices = " ".join(
        f"{notice.subject} {notice.message}" for notice in notices_of(app, world["reader"])
    )
    mailed = " ".join(
        " ".join(parts(message))
        for message in mail.outbox
        if message["To"].addresses[0].addr_spec == READER and "digest" not in message["Subject"]
    )
    return {"page": pages, "search": found, "digest": digest, "notice": notices + mailed}


SHOWN = {"page", "search", "digest"}  # notices never quote a post's words

CASES = {
    # case: the surfaces where the reader meets the word
    "published": SHOWN,
    "blocked": set(),  # folded on the page: asserted below
    "muted_word": set(),  # folded on the page and in search: asserted below
    "muted_board": {"page"},  # the reader can still open the board's topics on purpose
    "members_only": SHOWN,  # the reader is a member
    "pending": set(),
    "rejected": set(),
    "hidden": set(),
    "deleted": set(),
}


def test_each_case_reaches_exactly_the_surfaces_it_should(app, client, world):
    log_in(client, "ash")
    seen = surfaces(app, client, world)
    assert seen["digest"], "the reader got no digest at all"
    for case, word in world["words"].items():
        reached = {surface for surface, text in seen.items() if word in text}
        assert reached == CASES[case], (case, reached)


def test_folded_posts_are_on_the_page_only_behind_the_readers_own_choice(app, client, world):
    log_in(client, "ash")
    page = client.get(f"/t/{world['topics'][0].id}").text
    words = world["words"]
    for case, why in (("blocked", "You blocked this member"), ("muted_word", "which you muted")):
        folded = re.search(
            r"<details class=\"content-warning filtered\">.*?</details>",
            page[page.index(words[case]) - 600 :],
            flags=re.S,
        )
        assert folded and words[case] in folded[0] and why in folded[0], case
    search = results(client.get(f"/search?q={words['muted_word']}").text)
    assert words["muted_word"] in search and "which you muted" in search


def test_a_reply_a_member_would_rather_not_see_makes_no_notice(app, client, world):
    """Blocked, muted and never-published replies tell the reader nothing, in the site or
    by mail. (A reply hidden or deleted later was published when it came, and told them
    then; a notice never carries a post's words, and its link now shows nothing of it.)"""
    told = {notice.link for notice in notices_of(app, world["reader"])}
    ids = world["post_ids"]
    assert told == {
        f"/p/{ids[case]}" for case in ("published", "members_only", "hidden", "deleted")
    }
    mailed = [
        message["Subject"]
        for message in mail.outbox
        if message["To"].addresses[0].addr_spec == READER
    ]
    assert len(mailed) == len(told)


def test_logged_out_visitors_meet_no_members_only_words(app, world):
    visitor = app.test_client()
    words = world["words"]
    inner_topic = world["topics"][2]
    assert visitor.get(f"/t/{inner_topic.id}").status_code in (302, 403, 404)
    for case in ("members_only", "pending", "rejected", "hidden", "deleted"):
        assert words[case] not in results(visitor.get(f"/search?q={words[case]}").text), case
    assert words["published"] in results(visitor.get(f"/search?q={words['published']}").text)
