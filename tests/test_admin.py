"""The admin area: boards, roles, watched words, crisis phrases, reasons,
moderation hours and helplines, each change in the audit log; and the log itself."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import (
    AuditEntry,
    Board,
    BoardModerator,
    Helpline,
    ReasonTemplate,
    Role,
    User,
    WatchedPhrase,
)
from forum.services import admin as admin_service
from forum.services import audit
from tests.helpers.app import page_text
from tests.helpers.queries import count_queries

ADMIN_PAGES = [
    "/admin/",
    "/admin/boards",
    "/admin/boards/{board}",
    "/admin/members",
    "/admin/members/{user}",
    "/admin/watched-words",
    "/admin/crisis-phrases",
    "/admin/reason-templates",
    "/admin/reason-templates/{template}",
    "/admin/moderation-hours",
    "/admin/audit",
    "/admin/helplines",
]


def field_error(response, field_id: str) -> str:
    """The message shown beside a field (empty when there is none)."""
    match = re.search(
        rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', response.text, re.S
    )
    return page_text_of(match.group(1)) if match else ""


def page_text_of(fragment: str) -> str:
    return html.unescape(fragment)


def audit_entries(app, **where) -> list[AuditEntry]:
    with app.app_context():
        query = sa.select(AuditEntry).filter_by(**where).order_by(AuditEntry.id)
        entries = list(db.session.scalars(query))
        db.session.expunge_all()
    return entries


def only_entry(app, action: str) -> tuple[AuditEntry, dict, dict]:
    entries = audit_entries(app, action=action)
    assert len(entries) == 1, [entry.action for entry in audit_entries(app)]
    entry = entries[0]
    return entry, entry.before, entry.after


@pytest.fixture
def admin(make, auth):
    user = make.user("boss", role=Role.ADMIN)
    auth.login(user)
    return user


# --- who may come in -------------------------------------------------------------------


def test_only_admins_reach_the_admin_pages(app, client, make, auth):
    board = make.board()
    member = make.user("river")
    moderator = make.user("keeper", role=Role.MODERATOR, moderates=(board,))
    everyone_moderator = make.user("warden", role=Role.MODERATOR, moderates_all=True)
    with app.app_context():
        template_id = db.session.scalar(sa.select(sa.func.min(ReasonTemplate.id)))
    pages = [
        page.format(board=board.id, user=member.id, template=template_id) for page in ADMIN_PAGES
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302 and "/login" in response.headers["Location"], page
    for user in (member, moderator, everyone_moderator):
        auth.login(user)
        for page in pages:
            assert client.get(page).status_code == 403, (user.username, page)
        # Writes are refused too, and change nothing.
        assert (
            client.post(
                "/admin/watched-words", data={"phrase": "sneaky", "action": "block"}
            ).status_code
            == 403
        )
        assert client.post(f"/admin/members/{user.id}", data={"role": "admin"}).status_code == 403
        auth.logout()
    with app.app_context():
        assert db.session.get(User, member.id).role == Role.MEMBER
        assert (
            db.session.scalar(sa.select(WatchedPhrase).where(WatchedPhrase.phrase == "sneaky"))
            is None
        )
    auth.login(make.user("boss", role=Role.ADMIN))
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        check_page_structure(response.text, page)


def check_page_structure(text: str, page: str) -> None:
    """No inline script or style (the CSP forbids them), headings in order, a label
    for every input."""
    assert "<script" not in text and " style=" not in text and "<style" not in text, page
    assert re.search(r"\son\w+=", text) is None, page
    levels = [int(level) for level in re.findall(r"<h([1-6])[\s>]", text)]
    assert levels[0] == 1 and levels.count(1) == 1, (page, levels)
    for previous, level in zip(levels, levels[1:], strict=False):
        assert level <= previous + 1, (page, levels)
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", text):
        if re.search(r'type="(?:hidden|submit)"', tag):
            continue
        field_id = re.search(r'\bid="([^"]+)"', tag).group(1)
        assert f'for="{field_id}"' in text, (page, tag)


def test_the_index_links_every_admin_page_and_the_nav_links_the_index(client, admin):
    index = client.get("/admin/")
    assert "<h1>Administration</h1>" in index.text
    for page in (
        "/admin/boards",
        "/admin/members",
        "/admin/watched-words",
        "/admin/crisis-phrases",
        "/admin/reason-templates",
        "/admin/moderation-hours",
        "/admin/audit",
        "/admin/helplines",
    ):
        assert f'href="{page}"' in index.text, page
    assert '<a href="/admin/">Admin</a>' in client.get("/").text


def test_members_do_not_see_the_admin_link(client, make, auth):
    auth.login(make.user("river"))
    assert 'href="/admin/"' not in client.get("/").text


# --- boards ------------------------------------------------------------------------------


def test_admin_adds_a_premoderated_members_only_board(app, client, admin):
    form = client.get("/admin/boards").text
    for explanation in (
        "trusted members' posts appear at once",
        "every post waits for a moderator",
        "read-only",
    ):
        assert explanation in page_text_of(form)
    response = client.post(
        "/admin/boards",
        data={
            "slug": "grief",
            "name": "Grief and loss",
            "description": "Somewhere to talk.",
            "mode": "premoderated",
            "position": "",
        },
    )
    assert response.status_code == 302
    listing = page_text(client.get("/admin/boards"))
    assert "Grief and loss" in listing and "Pre-moderated" in listing
    assert "Members only" in listing
    with app.app_context():
        board = db.session.scalar(sa.select(Board).where(Board.slug == "grief"))
        assert (board.mode, board.is_public, board.description) == (
            "premoderated",
            False,
            "Somewhere to talk.",
        )
        board_id = board.id
    entry, before, after = only_entry(app, "board.create")
    assert (entry.actor_id, entry.actor_name, entry.target_type, entry.target_id) == (
        admin.id,
        "boss",
        "board",
        board_id,
    )
    assert before == {}
    assert after["slug"] == "grief" and after["mode"] == "premoderated"
    assert after["is_public"] is False


def test_admin_edits_a_board_and_changes_its_mode(app, client, make, admin):
    board = make.board("general", "General")
    page = client.get(f"/admin/boards/{board.id}")
    assert re.search(r'<input checked[^>]*value="open"', page.text)
    response = client.post(
        f"/admin/boards/{board.id}",
        data={
            "name": "General chat",
            "description": "About general",
            "is_public": "y",
            "mode": "locked",
            "position": "5",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.get(Board, board.id)
        assert (saved.name, saved.mode, saved.position, saved.slug) == (
            "General chat",
            "locked",
            5,
            "general",
        )
    entry, before, after = only_entry(app, "board.update")
    assert entry.target_id == board.id and entry.actor_name == "boss"
    # Only what changed is recorded.
    assert before == {"name": "General", "mode": "open", "position": board.position}
    assert after == {"name": "General chat", "mode": "locked", "position": 5}
    # The board now reads as locked to members.
    assert "Locked" in page_text(client.get("/admin/boards"))


def test_a_bad_board_is_refused_beside_its_field_keeping_the_input(app, client, make, admin):
    make.board("general")
    taken = client.post("/admin/boards", data={"slug": "general", "name": "Again", "mode": "open"})
    assert taken.status_code == 400
    assert "exists already" in field_error(taken, "slug")
    assert 'value="Again"' in taken.text
    bad = client.post("/admin/boards", data={"slug": "Not a slug!", "name": "Odd", "mode": "open"})
    assert bad.status_code == 400
    assert "lower-case letters, digits and dashes" in field_error(bad, "slug")
    assert 'value="Not a slug!"' in bad.text
    mode = client.post("/admin/boards", data={"slug": "odd", "name": "Odd", "mode": "chaos"})
    assert mode.status_code == 400 and "Choose open, pre-moderated or locked" in field_error(
        mode, "mode"
    )
    nameless = client.post("/admin/boards", data={"slug": "odd", "name": "  ", "mode": "open"})
    assert nameless.status_code == 400 and field_error(nameless, "name")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Board)) == 1
    assert audit_entries(app, actor_id=admin.id) == []  # only the operator's board.create


# --- members and roles ------------------------------------------------------------------


def test_admin_makes_a_member_moderator_of_some_boards(app, client, make, admin):
    anxiety, grief, general = make.board("anxiety"), make.board("grief"), make.board("general")
    member = make.user("river")
    page = client.get(f"/admin/members/{member.id}")
    assert "river@example.org" in page.text  # the address, on the member's own page only
    response = client.post(
        f"/admin/members/{member.id}", data={"role": "moderator", "boards": [anxiety.id, grief.id]}
    )
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.get(User, member.id)
        assert saved.role == Role.MODERATOR and not saved.moderates_all_boards
        assert set(
            db.session.scalars(
                sa.select(BoardModerator.board_id).where(BoardModerator.user_id == member.id)
            )
        ) == {anxiety.id, grief.id}
    entry, before, after = only_entry(app, "member.role")
    assert (entry.actor_name, entry.target_type, entry.target_id) == ("boss", "user", member.id)
    assert before == {"role": "member", "moderates_all_boards": False, "board_ids": []}
    assert after == {
        "role": "moderator",
        "moderates_all_boards": False,
        "board_ids": sorted([anxiety.id, grief.id]),
    }
    # The new list replaces the old one; the page shows it ticked.
    client.post(
        f"/admin/members/{member.id}",
        data={"role": "moderator", "boards": [general.id], "moderates_all_boards": "y"},
    )
    with app.app_context():
        assert list(
            db.session.scalars(
                sa.select(BoardModerator.board_id).where(BoardModerator.user_id == member.id)
            )
        ) == [general.id]
        assert db.session.get(User, member.id).moderates_all_boards
    page = client.get(f"/admin/members/{member.id}").text
    assert re.search(rf'checked[^>]*value="{general.id}"|value="{general.id}"[^>]*checked', page)
    # Back to member: they moderate nothing.
    client.post(f"/admin/members/{member.id}", data={"role": "member", "boards": [general.id]})
    with app.app_context():
        saved = db.session.get(User, member.id)
        assert saved.role == Role.MEMBER and not saved.moderates_all_boards
        assert db.session.scalar(sa.select(sa.func.count()).select_from(BoardModerator)) == 0
    assert len(audit_entries(app, action="member.role")) == 3


def test_an_admin_cannot_demote_themself(app, client, make, admin):
    response = client.post(f"/admin/members/{admin.id}", data={"role": "moderator"})
    assert response.status_code == 400
    assert "can't take away your own admin role" in field_error(response, "role")
    with app.app_context():
        assert db.session.get(User, admin.id).role == Role.ADMIN
    assert audit_entries(app) == []
    # Another admin can.
    other = make.user("other", role=Role.ADMIN)
    assert client.post(f"/admin/members/{other.id}", data={"role": "member"}).status_code == 302
    with app.app_context():
        assert db.session.get(User, other.id).role == Role.MEMBER


def test_an_unknown_role_is_refused(client, make, admin):
    member = make.user("river")
    response = client.post(f"/admin/members/{member.id}", data={"role": "emperor"})
    assert response.status_code == 400 and field_error(response, "role")


def test_member_search_by_username_prefix_with_pages(app, client, make, admin):
    make.user("Ánna")
    make.user("annabel")
    make.user("bob")
    found = page_text(client.get("/admin/members?q=ANNA"))
    assert "Ánna" not in found  # "ANNA" is not "ÁNNA": accents count, capitals do not
    assert "annabel" in found and "bob" not in found
    assert "Ánna" in page_text(client.get("/admin/members?q=án"))
    assert "@example.org" not in client.get("/admin/members").text  # no emails in the list
    with app.app_context():
        for n in range(55):
            db.session.add(
                User(
                    username=f"zed{n:02}",
                    username_key=f"zed{n:02}",
                    email=f"zed{n}@example.org",
                    password_hash="x",
                )
            )
        db.session.commit()
    first = client.get("/admin/members?q=zed")
    names = re.findall(r">(zed\d\d)</a>", first.text)
    assert len(names) == 50 and names[0] == "zed54"
    older = re.search(r'href="(/admin/members\?[^"]*before=\d+[^"]*)"', first.text).group(1)
    second = client.get(older.replace("&amp;", "&"))
    assert re.findall(r">(zed\d\d)</a>", second.text) == [f"zed{n:02}" for n in range(4, -1, -1)]
    assert "Older members" not in second.text and "Newest members" in second.text


# --- watched words -------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["block", "hold", "flag"])
def test_admin_adds_a_watched_word_with_each_action(app, client, admin, action):
    response = client.post(
        "/admin/watched-words", data={"phrase": "  Buy   Now ", "action": action}
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalar(sa.select(WatchedPhrase).where(WatchedPhrase.action == action))
        assert (row.phrase, row.phrase_key) == ("Buy Now", "buy now")
        row_id = row.id
    page = page_text(client.get("/admin/watched-words"))
    section = page.split(f"<h2>{action.capitalize()}</h2>")[1].split("<h2>")[0]
    assert "Buy Now" in section
    entry, before, after = only_entry(app, "watched_word.add")
    assert (entry.actor_name, entry.target_type, entry.target_id) == (
        "boss",
        "watched_phrase",
        row_id,
    )
    assert before == {} and after == {
        "phrase": "Buy Now",
        "phrase_key": "buy now",
        "action": action,
    }


def test_the_watched_words_page_explains_matching_and_actions(client, admin):
    page = page_text(client.get("/admin/watched-words"))
    for words in (
        "whole words",
        "NFKC",
        "refused, the member is told why and keeps their text",
        "waits for a moderator",
        "published, and moderators are asked to look",
    ):
        assert words in page


def test_a_duplicate_watched_word_is_refused_naming_its_action(app, client, admin):
    client.post("/admin/watched-words", data={"phrase": "self-harm tips", "action": "block"})
    again = client.post(
        "/admin/watched-words", data={"phrase": "SELF  HARM tips", "action": "flag"}
    )
    assert again.status_code == 400
    message = field_error(again, "phrase")
    assert "already on the watched list" in message and "block" in message
    assert 'value="SELF  HARM tips"' in again.text  # what the admin typed, kept
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(WatchedPhrase)
                .where(WatchedPhrase.action != "crisis")
            )
            == 1
        )
    # The crisis list is separate: the same words may be on both.
    assert (
        client.post("/admin/crisis-phrases", data={"phrase": "self harm tips"}).status_code == 302
    )


@pytest.mark.parametrize(
    "phrase, message",
    [
        ("", "Enter a word or phrase."),
        ("   ", "Enter a word or phrase."),
        ("!!! ...", "Use at least one letter or digit"),
        ("x" * 101, "100 characters"),
    ],
)
def test_an_empty_or_punctuation_only_phrase_is_refused(app, client, admin, phrase, message):
    response = client.post("/admin/watched-words", data={"phrase": phrase, "action": "hold"})
    assert response.status_code == 400
    assert message in field_error(response, "phrase")
    if phrase.strip():
        assert f'value="{phrase}"' in page_text(response)
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(WatchedPhrase)
                .where(WatchedPhrase.action == "hold")
            )
            == 0
        )
    assert audit_entries(app) == []


def test_an_unknown_watched_action_is_refused(client, admin):
    response = client.post("/admin/watched-words", data={"phrase": "spam", "action": "crisis"})
    assert response.status_code == 400 and field_error(response, "action")


def test_admin_removes_a_watched_word(app, client, admin):
    client.post("/admin/watched-words", data={"phrase": "casino", "action": "hold"})
    with app.app_context():
        row_id = db.session.scalar(
            sa.select(WatchedPhrase.id).where(WatchedPhrase.phrase == "casino")
        )
    assert client.get(f"/admin/watched-words/{row_id}/remove").status_code == 405
    assert client.post(f"/admin/watched-words/{row_id}/remove").status_code == 302
    with app.app_context():
        assert db.session.get(WatchedPhrase, row_id) is None
    entry, before, after = only_entry(app, "watched_word.remove")
    assert entry.target_id == row_id and after == {}
    assert before == {"phrase": "casino", "phrase_key": "casino", "action": "hold"}
    assert client.post(f"/admin/watched-words/{row_id}/remove").status_code == 404


# --- crisis phrases --------------------------------------------------------------------------


def test_admin_adds_and_removes_a_crisis_phrase(app, client, admin):
    page = page_text(client.get("/admin/crisis-phrases"))
    assert "never blocked" in page and "helplines" in page and "see it first" in page
    assert "suicidal" in page  # the starting list
    response = client.post("/admin/crisis-phrases", data={"phrase": "Can't cope anymore"})
    assert response.status_code == 302
    assert "Can't cope anymore" in page_text(client.get("/admin/crisis-phrases"))
    with app.app_context():
        row = db.session.scalar(
            sa.select(WatchedPhrase).where(WatchedPhrase.phrase_key == "can t cope anymore")
        )
        assert row.action == "crisis"
        row_id = row.id
    entry, _, after = only_entry(app, "crisis_phrase.add")
    assert entry.target_id == row_id and after["action"] == "crisis"

    duplicate = client.post("/admin/crisis-phrases", data={"phrase": "CAN'T  cope anymore"})
    assert duplicate.status_code == 400
    assert "already on the crisis list" in field_error(duplicate, "phrase")
    assert "CAN'T  cope anymore" in page_text(duplicate)

    # A crisis phrase is not removed through the watched-words route, nor the other way.
    assert client.post(f"/admin/watched-words/{row_id}/remove").status_code == 404
    assert client.post(f"/admin/crisis-phrases/{row_id}/remove").status_code == 302
    with app.app_context():
        assert db.session.get(WatchedPhrase, row_id) is None
    entry, before, _ = only_entry(app, "crisis_phrase.remove")
    assert entry.target_id == row_id and before["phrase"] == "Can't cope anymore"


def test_a_watched_word_is_not_removed_through_the_crisis_route(app, client, admin):
    client.post("/admin/watched-words", data={"phrase": "casino", "action": "flag"})
    with app.app_context():
        row_id = db.session.scalar(
            sa.select(WatchedPhrase.id).where(WatchedPhrase.phrase == "casino")
        )
    assert client.post(f"/admin/crisis-phrases/{row_id}/remove").status_code == 404


# --- reason templates ---------------------------------------------------------------------


def test_reason_templates_can_be_added_edited_and_removed(app, client, admin):
    response = client.post(
        "/admin/reason-templates",
        data={
            "label": "Duplicate",
            "text": "You posted this already.\nPlease keep one copy.",
            "position": "",
        },
    )
    assert response.status_code == 302
    listing = page_text(client.get("/admin/reason-templates"))
    assert "Duplicate" in listing and "You posted this already." in listing
    with app.app_context():
        template = db.session.scalar(
            sa.select(ReasonTemplate).where(ReasonTemplate.label == "Duplicate")
        )
        template_id, position = template.id, template.position
        last = db.session.scalar(sa.select(sa.func.max(ReasonTemplate.position)))
    assert position == last  # put last when no order is given
    entry, _, after = only_entry(app, "reason_template.create")
    assert entry.target_id == template_id and entry.target_type == "reason_template"
    assert after["text"] == "You posted this already.\nPlease keep one copy."

    edit = client.get(f"/admin/reason-templates/{template_id}")
    assert 'value="Duplicate"' in edit.text
    bad = client.post(
        f"/admin/reason-templates/{template_id}",
        data={"label": "Duplicate post", "text": "", "position": "0"},
    )
    assert bad.status_code == 400 and field_error(bad, "text")
    assert 'value="Duplicate post"' in bad.text
    assert (
        client.post(
            f"/admin/reason-templates/{template_id}",
            data={"label": "Duplicate post", "text": "You posted this already.", "position": "0"},
        ).status_code
        == 302
    )
    entry, before, after = only_entry(app, "reason_template.update")
    assert before == {
        "label": "Duplicate",
        "position": position,
        "text": "You posted this already.\nPlease keep one copy.",
    }
    assert after == {"label": "Duplicate post", "position": 0, "text": "You posted this already."}

    assert client.post(f"/admin/reason-templates/{template_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(ReasonTemplate, template_id) is None
    entry, before, _ = only_entry(app, "reason_template.delete")
    assert entry.target_id == template_id and before["label"] == "Duplicate post"
    assert client.get(f"/admin/reason-templates/{template_id}").status_code == 404


# --- moderation hours -----------------------------------------------------------------------


def test_moderation_hours_are_saved(app, client, admin):
    page = client.get("/admin/moderation-hours")
    assert "between 9am and 9pm" in page.text  # the starting text
    response = client.post(
        "/admin/moderation-hours",
        data={"text": "Moderators are around from 8am to 10pm, every day."},
    )
    assert response.status_code == 302
    assert "from 8am to 10pm" in client.get("/admin/moderation-hours").text
    with app.test_request_context():
        assert (
            admin_service.moderation_hours() == "Moderators are around from 8am to 10pm, every day."
        )
    entry, before, after = only_entry(app, "moderation_hours.update")
    assert (entry.target_type, entry.actor_name) == ("site_text", "boss")
    assert "9am and 9pm" in before["value"]
    assert after == {
        "key": "moderation_hours",
        "value": "Moderators are around from 8am to 10pm, every day.",
    }
    too_long = client.post("/admin/moderation-hours", data={"text": "x" * 1001})
    assert too_long.status_code == 400 and field_error(too_long, "text")


def test_moderation_hours_read_as_empty_when_never_set(app):
    with app.test_request_context():
        db.session.execute(sa.text("DELETE FROM site_texts"))
        db.session.commit()
        assert admin_service.moderation_hours() == ""


# --- helplines -------------------------------------------------------------------------------


def test_helpline_changes_are_audited(app, client, admin):
    client.post(
        "/admin/helplines",
        data={"name": "Town Line", "region": "Town", "contact": "Call 0100", "position": "3"},
    )
    with app.app_context():
        helpline_id = db.session.scalar(sa.select(Helpline.id).where(Helpline.name == "Town Line"))
    entry, _, after = only_entry(app, "helpline.create")
    assert entry.target_type == "helpline" and entry.target_id == helpline_id
    assert after["name"] == "Town Line" and after["position"] == 3
    client.post(
        f"/admin/helplines/{helpline_id}",
        data={"name": "Town Line", "region": "Town", "contact": "Call 0200", "position": "3"},
    )
    entry, before, after = only_entry(app, "helpline.update")
    assert (before, after) == ({"contact": "Call 0100"}, {"contact": "Call 0200"})
    client.post(f"/admin/helplines/{helpline_id}/delete")
    entry, before, _ = only_entry(app, "helpline.delete")
    assert entry.target_id == helpline_id and before["contact"] == "Call 0200"


# --- the audit log -----------------------------------------------------------------------------


def test_the_audit_log_lists_and_filters_entries(app, client, make, admin):
    other = make.user("helper", role=Role.ADMIN)
    client.post("/admin/watched-words", data={"phrase": "casino", "action": "hold"})
    client.post("/admin/boards", data={"slug": "grief", "name": "Grief", "mode": "open"})
    client.post("/admin/moderation-hours", data={"text": "Evenings <b>only</b>."})
    with app.test_request_context():
        audit.record(
            db.session.get(User, other.id),
            "board.update",
            "board",
            99999,
            before={"name": "Old"},
            after={"name": "New"},
            reason="Tidying up",
        )
        db.session.commit()

    def actions(**params) -> list[str]:
        response = client.get("/admin/audit", query_string=params)
        assert response.status_code == 200
        return re.findall(r"<code>([\w.]+)</code>", response.text)

    assert actions() == [
        "board.update",
        "moderation_hours.update",
        "board.create",
        "watched_word.add",
    ]  # newest first
    page = client.get("/admin/audit")
    text = page_text(page)
    assert "Tidying up" in text and "helper" in text and "board #99999" in text
    assert "<details>" in page.text and "Evenings &lt;b&gt;only&lt;/b&gt;." in page.text
    assert "<time datetime=" in page.text
    assert actions(action="board.create") == ["board.create"]
    assert actions(action="board.") == ["board.update", "board.create"]
    assert actions(action="board%") == []  # typed text, not a pattern
    assert actions(actor="HELPER") == ["board.update"]
    assert actions(actor="nobody") == []
    assert actions(target_type="site_text") == ["moderation_hours.update"]
    assert actions(target_type="board", target_id="99999") == ["board.update"]
    assert actions(action="board.", actor="boss") == ["board.create"]


def test_the_audit_log_pages_by_fifty_at_one_query_per_page(app, client, admin):
    with app.test_request_context():
        actor = db.session.get(User, admin.id)
        for n in range(5):
            audit.record(actor, "board.update", "board", n + 1, after={"n": n})
        db.session.commit()
    with count_queries(app) as few:
        assert client.get("/admin/audit").status_code == 200
    with app.test_request_context():
        actor = db.session.get(User, admin.id)
        for n in range(5, 120):
            audit.record(actor, "board.update", "board", n + 1, after={"n": n})
        db.session.commit()
    with count_queries(app) as many:
        first = client.get("/admin/audit")
    assert len(few) == len(many), many
    targets = re.findall(r"board #(\d+)", first.text)
    assert targets == [str(n) for n in range(120, 70, -1)]
    older = re.search(r'href="(/admin/audit\?[^"]*)" rel="next">Older entries', first.text)
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert re.findall(r"board #(\d+)", second.text) == [str(n) for n in range(70, 20, -1)]
    older = re.search(r'href="(/admin/audit\?[^"]*)" rel="next">Older entries', second.text)
    third = client.get(older.group(1).replace("&amp;", "&"))
    assert re.findall(r"board #(\d+)", third.text) == [str(n) for n in range(20, 0, -1)]
    assert "Older entries" not in third.text and "Newest entries" in third.text
    # Filters carry over to the next page.
    filtered = client.get("/admin/audit?action=board.update&actor=boss")
    assert "action=board.update" in filtered.text and "actor=boss" in filtered.text
    assert client.get("/admin/audit?before=not-a-number").status_code == 200


def test_the_audit_log_cannot_be_changed_through_the_site(app, client, admin):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/audit")]
    assert rules, "the audit page is missing"
    for rule in rules:
        assert not {"POST", "PUT", "PATCH", "DELETE"} & set(rule.methods), rule.rule
    assert client.post("/admin/audit").status_code == 405


def test_services_refuse_anyone_but_an_admin(app, make):
    moderator = make.user("keeper", role=Role.MODERATOR, moderates_all=True)
    with app.test_request_context():
        moderator = db.session.get(User, moderator.id)
        with pytest.raises(admin_service.PermissionDenied):
            admin_service.add_watched_phrase(moderator, "spam", "block")
        with pytest.raises(admin_service.PermissionDenied):
            admin_service.set_role(moderator, moderator, Role.ADMIN, True, [])
