"""Awkward and hostile input on the posting forms and on /register.

Each refusal must be told BESIDE the field it concerns (<p class="error" id="<field>-error">,
the control marked aria-invalid="true" and described by that message), keep what the member
typed in the form, create or change nothing, and never be a 500.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import pytest
import sqlalchemy as sa

from forum import mail
from forum.extensions import db
from forum.models import Post, PostRevision, Topic, User
from forum.services.post_state import BODY_MAX, TITLE_MAX
from tests.helpers.app import TEST_PASSWORD
from tests.helpers.forms import (
    Scene,
    make_scene,
    read_form,
)

# --- reading a form back out of the page -------------------------------------------------------


def assert_refused_beside(response, field_name: str, message: str, kept: dict[str, str]):
    """A 400 with `message` beside `field_name`, and every value in `kept` still in the form."""
    assert response.status_code == 400, f"status {response.status_code}, wanted 400"
    page = read_form(response.text)
    error_id = f"{field_name}-error"
    assert error_id in page.errors, f"no message beside {field_name!r}; messages: {page.errors}"
    assert message in page.errors[error_id], page.errors
    control = page.controls[field_name]
    assert control.attrs.get("aria-invalid") == "true", control.attrs
    assert error_id in (control.attrs.get("aria-describedby") or "").split(), control.attrs
    for name, value in kept.items():
        shown = page.controls[name].value
        assert shown == value, (
            f"{name!r} lost what the member typed: showing {shown[:200]!r}, typed {value[:200]!r}"
        )


# --- the scene: a member, a board, a topic with a reply -----------------------------------------


FORMS = ["new topic", "reply", "edit first post", "edit reply"]
FORMS_WITH_TITLE = {"new topic", "edit first post"}
GOOD = {"title": "Sleep has been hard lately", "body": "Does anyone have tips that helped?"}


@pytest.fixture
def scene(app, make, auth) -> Scene:
    built = make_scene(app, make)
    auth.login("robin")
    return built


def good_data(form: str) -> dict[str, str]:
    data = dict(GOOD)
    if form not in FORMS_WITH_TITLE:
        del data["title"]
    return data


def snapshot(app):
    """Everything a refused submission must leave as it was."""
    with app.app_context():
        return (
            db.session.execute(
                sa.select(Topic.id, Topic.title, Topic.post_count).order_by(Topic.id)
            ).all(),
            db.session.execute(
                sa.select(Post.id, Post.body_source, Post.body_html, Post.edited_at).order_by(
                    Post.id
                )
            ).all(),
            db.session.scalar(sa.select(sa.func.count()).select_from(PostRevision)),
        )


# --- refusals beside the field -----------------------------------------------------------------

LONG_TITLE = ("Things that helped me through a very long winter " * 4)[: TITLE_MAX + 1]
LONG_BODY = ("I wanted to write everything down. " * 600)[: BODY_MAX + 1]

# (case, field, what the member typed, words of the message beside the field)
CASES = [
    ("over-long title", "title", LONG_TITLE, f"{TITLE_MAX} characters or fewer"),
    ("over-long body", "body", LONG_BODY, f"up to {BODY_MAX:,} characters"),
    ("empty body", "body", "", "Write something before posting."),
    ("whitespace-only body", "body", " \n\t  \n", "Write something before posting."),
    ("invisible-only body", "body", "\u200b\u2060\ufeff\u202e", "Write something before posting."),
    ("empty title", "title", "", "Give your topic a title."),
    ("whitespace-only title", "title", "   \t ", "Give your topic a title."),
    (
        "bidi and zero-width only title",
        "title",
        "\u202e\u200b\u2066\u2069\u200d",
        "Give your topic a title.",
    ),
    ("NUL in title", "title", "Nights\x00 are long", "NUL character"),
    ("NUL in body", "body", "Some\x00thing", "NUL character"),
]


@pytest.mark.parametrize(
    ("form", "case", "field_name", "typed", "message"),
    [
        pytest.param(form, case, field_name, typed, message, id=f"{form}: {case}")
        for form in FORMS
        for case, field_name, typed, message in CASES
        if field_name != "title" or form in FORMS_WITH_TITLE
    ],
)
def test_refused_beside_the_field_with_the_text_kept(
    app, client, scene, form, case, field_name, typed, message
):
    before = snapshot(app)
    data = {**good_data(form), field_name: typed}
    response = client.post(scene.url(form), data=data)
    assert_refused_beside(response, field_name, message, kept=data)
    assert snapshot(app) == before, "a refused submission changed the database"


@pytest.mark.parametrize("form", FORMS)
def test_a_body_far_over_the_request_limit_is_refused_clearly_not_with_a_500(
    app, client, scene, form
):
    before = snapshot(app)
    data = {**good_data(form), "body": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    response = client.post(scene.url(form), data=data)
    assert response.status_code == 413
    assert "too large" in response.text and "shorten it" in response.text
    assert snapshot(app) == before


def test_a_title_and_body_at_their_limits_are_accepted(app, client, scene):
    title = ("x" * (TITLE_MAX - 1)) + "é"
    body = "y" * BODY_MAX
    response = client.post(scene.url("new topic"), data={"title": title, "body": body})
    assert response.status_code == 302
    with app.app_context():
        topic = db.session.scalar(sa.select(Topic).order_by(Topic.id.desc()).limit(1))
        assert topic.title == title
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and title in page.text


@pytest.mark.parametrize("form", sorted(FORMS_WITH_TITLE))
def test_bidi_and_zero_width_characters_are_removed_from_a_title_that_has_words(
    app, client, scene, form
):
    typed = "\u202eHelp\u200b with\u2066 sleep\u2069\u200f"
    response = client.post(scene.url(form), data={**good_data(form), "title": typed})
    assert response.status_code == 302
    with app.app_context():
        topic_id = (
            scene.topic_id
            if form == "edit first post"
            else db.session.scalar(sa.select(sa.func.max(Topic.id)))
        )
        assert db.session.get(Topic, topic_id).title == "Help with sleep"
    page = client.get(f"/t/{topic_id}")
    assert "<h1>Help with sleep</h1>" in page.text
    assert not any(char in page.text for char in "\u202e\u200b\u2066\u2069\u200f")


# --- invalid UTF-8 -----------------------------------------------------------------------------


def _urlencoded(form: str, **raw: bytes) -> bytes:
    """A form body, with the given fields' bytes sent as they are."""
    fields = {name: value.encode() for name, value in good_data(form).items()} | raw
    return b"&".join(name.encode() + b"=" + value for name, value in fields.items())


INVALID_UTF8 = [
    ("percent-encoded title", "title", b"Caf%E9 %FF%FE au lait"),
    ("percent-encoded body", "body", b"Hello+%C3%28+there"),
    ("raw-byte title", "title", b"Caf\xe9 au lait"),
    ("raw-byte body", "body", b"Hello \xff\xfe there"),
]


@pytest.mark.parametrize(
    ("form", "case", "field_name", "raw"),
    [
        pytest.param(form, case, field_name, raw, id=f"{form}: {case}")
        for form in FORMS
        for case, field_name, raw in INVALID_UTF8
        if field_name != "title" or form in FORMS_WITH_TITLE
    ],
)
def test_invalid_utf8_is_never_a_server_error(app, client, scene, form, case, field_name, raw):
    response = client.post(
        scene.url(form),
        data=_urlencoded(form, **{field_name: raw}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500


# Werkzeug 3.1 alone would keep invalid %-escapes as literal text and drop the whole form on
# raw non-UTF-8 bytes; forum.http.KindredRequest decodes them to U+FFFD so the member is told
# which field to fix and keeps everything else they typed.
@pytest.mark.parametrize(
    ("form", "case", "field_name", "raw"),
    [
        pytest.param(form, case, field_name, raw, id=f"{form}: {case}")
        for form in FORMS
        for case, field_name, raw in INVALID_UTF8
        if field_name != "title" or form in FORMS_WITH_TITLE
    ],
)
def test_invalid_utf8_is_refused_beside_the_field_with_the_readable_text_kept(
    app, client, scene, form, case, field_name, raw
):
    before = snapshot(app)
    response = client.post(
        scene.url(form),
        data=_urlencoded(form, **{field_name: raw}),
        content_type="application/x-www-form-urlencoded",
    )
    kept = good_data(form)
    # What can be read is kept; each unreadable byte shows as U+FFFD, so the member sees where.
    kept[field_name] = unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")
    assert_refused_beside(response, field_name, "not valid UTF-8", kept=kept)
    assert snapshot(app) == before


@pytest.mark.parametrize("form", FORMS)
def test_invalid_utf8_in_a_multipart_form_is_refused_beside_the_field(app, client, scene, form):
    boundary = "kindred-boundary"
    fields = {name: value.encode() for name, value in good_data(form).items()}
    fields["body"] = b"Hello \xff\xfe there"
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
            for name, value in fields.items()
        )
        + f"--{boundary}--\r\n".encode()
    )
    before = snapshot(app)
    response = client.post(
        scene.url(form), data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    kept = {**good_data(form), "body": "Hello \ufffd\ufffd there"}
    assert_refused_beside(response, "body", "not valid UTF-8", kept=kept)
    assert snapshot(app) == before


# --- usernames on /register --------------------------------------------------------------------

INVISIBLE = "invisible, control or text-direction"


@pytest.mark.parametrize(
    ("username", "message"),
    [
        pytest.param("ali\x07ce", INVISIBLE, id="bell"),
        pytest.param("ali\x1b[31mce", INVISIBLE, id="escape"),
        pytest.param("bob\u200bby", INVISIBLE, id="zero-width space"),
        pytest.param("eve\u200d", INVISIBLE, id="zero-width joiner"),
        pytest.param("fr\u00adank", INVISIBLE, id="soft hyphen"),
        pytest.param("\ufeffgrace", INVISIBLE, id="byte order mark"),
        pytest.param("\u202eadmin", INVISIBLE, id="right-to-left override"),
        pytest.param("car\u2066ol\u2069", INVISIBLE, id="bidi isolate"),
        pytest.param("hal\u200fo", INVISIBLE, id="right-to-left mark"),
        pytest.param("da\x00ve", "NUL character", id="NUL"),
    ],
)
def test_usernames_with_invisible_or_control_characters_get_a_clear_message(
    app, client, username, message
):
    data = {
        "username": username,
        "email": "new.member@example.org",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
        "accept_guidelines": "y",
    }
    response = client.post("/register", data=data)
    assert_refused_beside(
        response, "username", message, kept={"username": username, "email": data["email"]}
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    assert mail.outbox == []


def test_the_same_username_without_the_invisible_characters_is_accepted(app, client):
    data = {
        "username": "bobby",
        "email": "bobby@example.org",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
        "accept_guidelines": "y",
    }
    assert client.post("/register", data=data).status_code == 302
    with app.app_context():
        assert db.session.scalars(sa.select(User.username)).all() == ["bobby"]
