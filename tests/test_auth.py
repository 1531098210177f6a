"""Joining, confirming email, logging in and resetting a password, as a member would."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from forum import mail
from forum.extensions import db
from forum.models import AccountToken, User
from tests.helpers.app import TEST_PASSWORD, links_in, page_text

NEW_PASSWORD = "a brand new passphrase"


def register(
    client, username="river", email="river@example.org", password=TEST_PASSWORD, accept=True
):
    data = {"username": username, "email": email, "password": password, "confirm": password}
    if accept:
        data["accept_guidelines"] = "y"
    return client.post("/register", data=data)


def only_link(message) -> str:
    (link,) = [link for link in links_in(message) if "/help" not in link]
    return link


def path_of(link: str) -> str:
    return re.sub(r"^https://kindred\.example", "", link)


def test_registration_mails_a_confirmation_link_and_the_link_works_once(client, app):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/register/check-email")
    (message,) = mail.outbox
    assert message["To"] == "river@example.org"
    link = only_link(message)
    assert link.startswith("https://kindred.example/verify/")

    assert client.get(path_of(link)).status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "river"))
        assert user.is_verified
    again = client.get(path_of(link))
    assert again.status_code == 400
    assert "no longer works" in again.text


def test_confirmation_link_expires(client, app):
    register(client)
    link = only_link(mail.outbox[0])
    with app.app_context():
        token = db.session.scalar(sa.select(AccountToken))
        token.expires_at = token.created_at - timedelta(seconds=1)
        db.session.commit()
    assert client.get(path_of(link)).status_code == 400


def test_registering_a_known_address_answers_the_same_and_tells_the_owner(client, make, app):
    make.user("existing", email="taken@example.org")
    first = register(client, username="newname", email="taken@example.org")
    second = register(client, username="another", email="fresh@example.org")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert [m["To"] for m in mail.outbox] == ["taken@example.org", "fresh@example.org"]
    assert "already has an account" in mail.outbox[0].get_content()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 2


def test_usernames_are_unique_ignoring_case_and_compatibility_forms(client, make):
    make.user("Anna")
    for lookalike in ("anna", "ANNA", "Ａｎｎａ"):  # the last is full-width, NFKC-equal
        response = register(client, username=lookalike, email=f"{len(lookalike)}x@example.org")
        assert response.status_code == 400
        assert "That username is taken" in response.text
    assert mail.outbox == []


def test_invisible_and_direction_characters_in_usernames_are_refused_clearly(client):
    for sneaky in ("ri\u200bver", "river\u202e", "ri\x07ver", "\u2066river"):
        response = register(client, username=sneaky)
        assert response.status_code == 400
        assert "can't contain invisible, control or text-direction characters" in page_text(
            response
        )
        assert 'aria-invalid="true"' in response.text


def test_joining_needs_the_guidelines_accepted_and_keeps_what_was_typed(client):
    response = register(client, accept=False, username="keepme")
    assert response.status_code == 400
    assert "accept the community guidelines" in response.text
    assert 'value="keepme"' in response.text
    assert 'value="river@example.org"' in response.text
    assert mail.outbox == []


def test_guidelines_are_linked_from_every_page(client):
    for path in ("/", "/login", "/register", "/help"):
        assert 'href="/guidelines"' in client.get(path).text


def test_unverified_member_can_read_but_not_post(client, make, auth):
    board = make.board()
    reader = make.user("reader", verified=False)
    auth.login(reader)
    assert client.get("/b/general").status_code == 200
    refused = client.get(f"/b/{board.slug}/new")
    assert refused.status_code == 302
    assert refused.headers["Location"].endswith("/account")
    topic = make.topic(make.user("author"), board)
    topic_page = client.get(f"/t/{topic.id}").text
    assert 'name="body"' not in topic_page  # no form to type into that could not be sent
    assert "Please confirm your email address to reply" in topic_page
    posted = client.post(f"/b/{board.slug}/new", data={"title": "Hi", "body": "Hello"})
    assert posted.status_code == 302
    assert "confirm your email" in client.get("/account").text


def test_login_accepts_username_or_email_and_gives_one_answer_for_all_failures(client, make):
    make.user("river", email="river@example.org")
    assert (
        client.post("/login", data={"login": "River", "password": TEST_PASSWORD}).status_code == 302
    )
    client.post("/logout")
    assert (
        client.post(
            "/login", data={"login": "RIVER@example.org", "password": TEST_PASSWORD}
        ).status_code
        == 302
    )
    client.post("/logout")
    wrong_password = client.post("/login", data={"login": "river", "password": "nope nope nope"})
    no_account = client.post("/login", data={"login": "nobody", "password": "nope nope nope"})
    message = "That username or email and password don't match an account."
    assert wrong_password.status_code == no_account.status_code == 400
    assert message in page_text(wrong_password) and message in page_text(no_account)


def test_login_starts_a_fresh_session(client, make):
    make.user("river")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.post("/login", data={"login": "river", "password": TEST_PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session


def test_login_only_redirects_to_paths_on_this_site(client, make):
    make.user("river")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post(
            f"/login?next={target}", data={"login": "river", "password": TEST_PASSWORD}
        )
        assert response.headers["Location"] == "/"
        client.post("/logout")
    response = client.post(
        "/login?next=/b/general", data={"login": "river", "password": TEST_PASSWORD}
    )
    assert response.headers["Location"] == "/b/general"


def test_password_reset_by_mailed_link_ends_other_sessions(app, make):
    make.user("river", email="river@example.org")
    other_device, this_device = app.test_client(), app.test_client()
    other_device.post("/login", data={"login": "river", "password": TEST_PASSWORD})
    assert "Account (river)" in other_device.get("/").text

    response = this_device.post("/reset", data={"email": "river@example.org"})
    assert "If an account uses that address" in response.text
    link = only_link(mail.outbox[-1])
    assert link.startswith("https://kindred.example/reset/")
    done = this_device.post(path_of(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302

    assert "Account (river)" not in other_device.get("/").text
    assert (
        this_device.post("/login", data={"login": "river", "password": TEST_PASSWORD}).status_code
        == 400
    )
    assert (
        this_device.post("/login", data={"login": "river", "password": NEW_PASSWORD}).status_code
        == 302
    )
    # Single use.
    assert app.test_client().get(path_of(link)).status_code == 400


def test_reset_link_expires_after_an_hour(client, make, app):
    make.user("river", email="river@example.org")
    client.post("/reset", data={"email": "river@example.org"})
    link = only_link(mail.outbox[-1])
    with app.app_context():
        token = db.session.scalar(sa.select(AccountToken))
        assert token.expires_at - token.created_at == timedelta(hours=1)
        token.expires_at = token.created_at - timedelta(seconds=1)
        db.session.commit()
    assert client.get(path_of(link)).status_code == 400


def test_reset_answers_the_same_for_unknown_addresses_and_sends_nothing(client, make):
    make.user("river", email="river@example.org")
    known = client.post("/reset", data={"email": "river@example.org"})
    unknown = client.post("/reset", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert [m["To"] for m in mail.outbox] == ["river@example.org"]


def test_mail_links_use_base_url_not_the_request_host(client):
    register(client, username="river")
    client.post("/reset", data={"email": "river@example.org"}, headers={"Host": "evil.example"})
    for message in mail.outbox:
        for link in links_in(message):
            assert link.startswith("https://kindred.example/"), link


def test_passwords_are_stored_as_argon2_hashes(make, app):
    make.user("river")
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert user.password_hash.startswith("$argon2id$")
        assert TEST_PASSWORD not in user.password_hash


def test_account_mail_leaves_after_the_answer_so_timing_tells_nothing(client, make):
    """Known and unknown addresses answer before any mail server is spoken to."""
    make.user("river", email="river@example.org")
    response = client.post("/reset", data={"email": "river@example.org"}, buffered=False)
    assert response.status_code == 200
    assert mail.outbox == []  # the answer is ready; nothing has been sent yet
    response.close()  # the server has finished sending the answer
    assert [m["To"] for m in mail.outbox] == ["river@example.org"]
    response = client.post(
        "/register",
        data={
            "username": "another",
            "email": "river@example.org",
            "password": TEST_PASSWORD,
            "confirm": TEST_PASSWORD,
            "accept_guidelines": "y",
        },
        buffered=False,
    )
    assert response.status_code == 302 and len(mail.outbox) == 1
    response.close()
    assert len(mail.outbox) == 2


def test_an_address_that_grows_when_lower_cased_is_refused_beside_the_field(client, app):
    # "İ" lower-cases to two characters: this address fits the form, not the column.
    response = register(client, email="\u0130" * 130 + "@example.org")
    assert response.status_code == 400
    assert 'id="email-error"' in response.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
