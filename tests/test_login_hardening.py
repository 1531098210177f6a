"""Logging in under attack: a growing wait after wrong passwords, the same answers and
cost for unknown accounts, and a password change that ends the member's other sessions."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis
from argon2 import PasswordHasher, extract_parameters
from flask_login.config import COOKIE_NAME

from forum import mail
from forum.auth import throttle
from forum.extensions import db
from forum.models import User
from forum.services import accounts
from tests.helpers.app import TEST_PASSWORD, links_in, page_text

WRONG = "not the password at all"
NEW_PASSWORD = "a brand new passphrase"

STORAGES = ["memory://"] + (
    [os.environ["TEST_REDIS_URL"]] if os.environ.get("TEST_REDIS_URL") else []
)


# ids without the Redis number, which differs per xdist worker (tests/helpers/workers.py)
@pytest.fixture(params=STORAGES, ids=lambda url: url.split(":")[0])
def app_config(request, migrated_database):
    from tests.helpers.app import app_settings

    if request.param.startswith("redis://"):
        redis.Redis.from_url(request.param).flushdb()  # counts outlive the app in Redis
    return {
        **app_settings(migrated_database, None),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": request.param,
    }


class Clock:
    """Time the throttle reads, moved on by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(throttle, "clock", clock)
    return clock


class Attempts:
    """Login attempts, each from a new address unless told otherwise: the per-address
    limits stay out of the way, and the account's count must hold across addresses."""

    def __init__(self, client) -> None:
        self.client = client
        self.sent = 0

    def __call__(self, login: str, password: str = WRONG, address: str | None = None):
        self.sent += 1
        address = address or f"10.0.{self.sent // 250}.{self.sent % 250 + 1}"
        return self.client.post(
            "/login",
            data={"login": login, "password": password},
            environ_overrides={"REMOTE_ADDR": address},
        )


@pytest.fixture
def attempt(client) -> Attempts:
    return Attempts(client)


def test_after_five_wrong_passwords_each_wait_doubles_and_then_the_member_gets_in(
    make, attempt, clock
):
    make.user("river")
    for _ in range(4):
        response = attempt("river")
        assert response.status_code == 400
        assert "wait" not in page_text(response)
    fifth = attempt("river")
    assert "don't match an account. Please wait 2 seconds before trying again." in page_text(fifth)

    # Even the right password waits: that is what makes guessing slow.
    early = attempt("river", TEST_PASSWORD)
    assert early.status_code == 429
    assert int(early.headers["Retry-After"]) >= 2  # (the per-address limits may add to it)
    assert "please wait 2 seconds and try again" in page_text(early)
    assert 'value="river"' in early.text  # what the member typed is kept

    clock.now += 2
    assert "Please wait 4 seconds" in page_text(attempt("river"))
    clock.now += 4
    assert "Please wait 8 seconds" in page_text(attempt("river"))
    clock.now += 7
    assert "please wait 1 second and try again" in page_text(attempt("river", TEST_PASSWORD))
    clock.now += 1
    assert attempt("river", TEST_PASSWORD).status_code == 302

    # Getting in starts the account afresh: four more slips cost no wait.
    for _ in range(4):
        assert "wait" not in page_text(attempt("river"))


def test_the_wait_grows_to_fifteen_minutes_and_no_further():
    waits = [throttle.wait_after(failures, throttle.ACCOUNT) for failures in range(1, 22)]
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:13] == [2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert waits[13:] == [15 * 60] * 8
    assert throttle.in_words(15 * 60) == "15 minutes"


def test_unknown_accounts_get_the_same_answers_and_the_same_waits(make, attempt, clock):
    make.user("river", email="river@example.org")
    for known, unknown in (("river", "nobody"), ("river@example.org", "nobody@example.org")):
        clock.now += 3600  # the waits of the round before are over
        for _ in range(6):
            mine, theirs = attempt(known), attempt(unknown)
            assert mine.status_code == theirs.status_code
            assert page_text(mine).replace(known, "NAME") == page_text(theirs).replace(
                unknown, "NAME"
            )
        assert mine.status_code == 429


def test_one_address_trying_many_accounts_is_slowed_but_other_addresses_are_not(
    make, attempt, clock, monkeypatch
):
    monkeypatch.setattr(throttle, "ADDRESS", throttle.Scope("address", free_failures=3))
    make.user("river")
    for name in ("ash", "birch"):
        assert "wait" not in page_text(attempt(name, address="192.0.2.7"))
    assert "Please wait 2 seconds" in page_text(attempt("cedar", address="192.0.2.7"))
    assert attempt("river", TEST_PASSWORD, address="192.0.2.7").status_code == 429
    assert attempt("river", TEST_PASSWORD, address="198.51.100.3").status_code == 302


def test_a_password_reset_ends_the_wait_it_proves_the_member_is_who_they_say(
    app, make, attempt, clock
):
    make.user("river", email="river@example.org")
    for _ in range(9):
        attempt("river")
    assert attempt("river", TEST_PASSWORD).status_code == 429
    browser = app.test_client()
    browser.post("/reset", data={"email": "river@example.org"})
    [link] = [link for link in links_in(mail.outbox[-1]) if "/reset/" in link]
    assert (
        browser.post(
            link.removeprefix("https://kindred.example"),
            data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        ).status_code
        == 302
    )
    assert attempt("river", NEW_PASSWORD).status_code == 302


# --- the cost of an answer ----------------------------------------------------------------


class CountingHasher(PasswordHasher):
    """The suite's cheap hasher, noting every hash it is asked to verify."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash, password):  # noqa: A002 (argon2's own name)
        self.verified.append(hash)
        return super().verify(hash, password)


def test_an_unknown_account_costs_one_real_hash_check_like_a_known_one(
    make, client, monkeypatch, app
):
    hasher = CountingHasher()
    monkeypatch.setattr(accounts, "password_hasher", hasher)
    river = make.user("river", email="river@example.org")  # hashed with `hasher`
    with app.app_context():
        stored = db.session.get(User, river.id).password_hash

    for login in ("river", "nobody", "nobody@example.org", "RIVER@example.org"):
        hasher.verified.clear()
        response = client.post("/login", data={"login": login, "password": WRONG})
        assert response.status_code == 400
        [checked] = hasher.verified
        assert extract_parameters(checked) == extract_parameters(stored)
    assert hasher.verified[0] == stored  # the known account checks its own hash


def test_importing_the_app_hashes_nothing():
    """Every CLI command imports the app; argon2 at import would cost each one."""
    program = (
        "import argon2\n"
        "calls = []\n"
        "real = argon2.PasswordHasher.hash\n"
        "def counted(self, *args, **kwargs):\n"
        "    calls.append(1)\n"
        "    return real(self, *args, **kwargs)\n"
        "argon2.PasswordHasher.hash = counted\n"
        "import forum, forum.cli, forum.services.accounts, wsgi\n"
        "print(len(calls))\n"
    )
    environment = {**os.environ, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"}
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(__file__)),
        env=environment,
        check=True,
    )
    assert result.stdout.strip() == "0"


# --- a password change ends the other sessions ----------------------------------------------


def _logged_in_as(client, name: str) -> bool:
    return f"Account ({name})" in client.get("/").text


def _change(client, current=TEST_PASSWORD, new=NEW_PASSWORD):
    return client.post(
        "/account/password", data={"current_password": current, "password": new, "confirm": new}
    )


def test_changing_the_password_logs_out_every_other_device_but_not_this_one(app, make):
    make.user("river")
    this_device, other_device, remembered_device = (app.test_client() for _ in range(3))
    for device in (this_device, other_device):
        assert (
            device.post("/login", data={"login": "river", "password": TEST_PASSWORD}).status_code
            == 302
        )
    remembered_device.post(
        "/login", data={"login": "river", "password": TEST_PASSWORD, "remember": "y"}
    )
    remembered_device.delete_cookie("session")  # a browser restarted: only remember-me is left
    assert _logged_in_as(remembered_device, "river")

    response = _change(this_device)
    assert response.status_code == 302
    assert "logged out on every other device" in page_text(this_device.get("/account"))

    assert _logged_in_as(this_device, "river")
    assert not _logged_in_as(other_device, "river")
    remembered_device.delete_cookie("session")
    assert not _logged_in_as(remembered_device, "river")
    assert (
        app.test_client()
        .post("/login", data={"login": "river", "password": TEST_PASSWORD})
        .status_code
        == 400
    )
    assert (
        app.test_client()
        .post("/login", data={"login": "river", "password": NEW_PASSWORD})
        .status_code
        == 302
    )


def test_a_remembered_device_that_changes_the_password_stays_remembered(app, make):
    make.user("river")
    device = app.test_client()
    device.post("/login", data={"login": "river", "password": TEST_PASSWORD, "remember": "y"})
    old_cookie = device.get_cookie(COOKIE_NAME).value
    assert _change(device).status_code == 302
    assert device.get_cookie(COOKIE_NAME).value != old_cookie
    device.delete_cookie("session")
    assert _logged_in_as(device, "river")


def test_a_wrong_current_password_changes_nothing_and_says_so_beside_the_field(app, make):
    make.user("river")
    this_device, other_device = app.test_client(), app.test_client()
    for device in (this_device, other_device):
        device.post("/login", data={"login": "river", "password": TEST_PASSWORD})
    response = _change(this_device, current=WRONG)
    assert response.status_code == 400
    assert 'id="current_password-error"' in response.text
    assert "That isn't your current password." in page_text(response)
    assert _logged_in_as(other_device, "river")
    short = _change(this_device, new="short")
    assert short.status_code == 400 and 'id="password-error"' in short.text
    assert (
        app.test_client()
        .post("/login", data={"login": "river", "password": TEST_PASSWORD})
        .status_code
        == 302
    )


def test_changing_the_password_needs_a_login(client):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/account/password")
