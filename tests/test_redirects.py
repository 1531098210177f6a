"""Where the site sends people: redirects only to paths on this site, and links in
account mail only from BASE_URL, whatever Host header a request forges."""

from __future__ import annotations

import pytest

from tests.helpers.app import TEST_PASSWORD, page_text
from tests.helpers.smtp import running_smtp_server, smtp_settings

BASE_URL = "https://kindred.example"

# Each would take the member off the site if followed as a browser follows it.
HOSTILE_TARGETS = [
    "https://evil.example/",
    "http:evil.example",
    "//evil.example/x",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https:/\\evil.example",
    "javascript:alert(1)",
    "/%2F%2Fevil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%09/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\nSet-Cookie: planted=1",
    "/%0d%0aSet-Cookie:%20planted=1",
    " //evil.example",
    "/\u2028/evil.example",
    "/\u200b/evil.example",
    "evil.example",
    "/" + "a" * 3000,
]


def _login(client, target: str):
    return client.post(
        "/login", query_string={"next": target}, data={"login": "river", "password": TEST_PASSWORD}
    )


def test_login_never_sends_the_member_off_the_site(client, make):
    make.user("river")
    wrong = {}
    for target in HOSTILE_TARGETS:
        response = _login(client, target)
        client.post("/logout")
        if (
            response.status_code != 302
            or response.headers["Location"] != "/"
            or "planted" in response.headers.get("Set-Cookie", "")
        ):
            wrong[target] = (response.status_code, response.headers.get("Location"))
    assert wrong == {}


def test_login_returns_to_the_page_on_this_site_it_was_asked_for(client, make):
    make.user("river")
    for target in ("/b/general", "/t/3?page=2#p9", "/settings/mail", "/search?q=caf%C3%A9"):
        assert _login(client, target).headers["Location"] == target
        client.post("/logout")


def test_a_page_that_needs_a_login_comes_back_after_it(client, make):
    make.user("river")
    asked = client.get("/settings/mail?page=2")
    assert asked.headers["Location"] == "/login?next=/settings/mail?page%3D2"
    logged_in = client.post(
        asked.headers["Location"], data={"login": "river", "password": TEST_PASSWORD}
    )
    assert logged_in.headers["Location"] == "/settings/mail?page=2"


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/%2F%2Fevil.example", "/\r\nLocation: https://evil.example"],
    ids=repr,
)
def test_following_a_board_goes_back_only_to_this_site(client, make, auth, target):
    make.board("general")
    auth.login(make.user("river"))
    response = client.post("/b/general/follow", data={"action": "follow", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] in ("/", "/b/general")  # this site's pages only


# --- forged Host headers and account mail -------------------------------------------------

FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}


@pytest.fixture
def app_config(app_config):
    # Trust one proxy, as most installations do: X-Forwarded-Host is then believed too.
    return {**app_config, "TRUSTED_PROXIES": 1}


@pytest.fixture
def smtp(app):
    with running_smtp_server() as server:
        app.config.update(smtp_settings(server))
        yield server


def _links(message) -> list[str]:
    import re

    text = message.get_body(preferencelist=("plain",)).get_content()
    links = re.findall(r"https?://[^\s<>\"]+", text)
    html_part = message.get_body(preferencelist=("html",))
    if html_part is not None:
        links += re.findall(r'href="([^"]+)"', html_part.get_content())
    return links


def test_account_mail_links_come_from_base_url_whatever_the_host_header(app, make, smtp):
    make.user("elm", email="elm@example.org")
    browser = app.test_client()
    joined = browser.post(
        "/register",
        headers=FORGED,
        data={
            "username": "river",
            "email": "river@example.org",
            "password": TEST_PASSWORD,
            "confirm": TEST_PASSWORD,
            "accept_guidelines": "y",
        },
    )
    assert joined.status_code == 302 and "evil" not in joined.headers["Location"]
    browser.post(
        "/register",
        headers=FORGED,
        data={  # a known address: its owner is told
            "username": "copycat",
            "email": "elm@example.org",
            "password": TEST_PASSWORD,
            "confirm": TEST_PASSWORD,
            "accept_guidelines": "y",
        },
    )
    browser.post("/reset", headers=FORGED, data={"email": "elm@example.org"})
    browser.post("/login", headers=FORGED, data={"login": "river", "password": TEST_PASSWORD})
    assert "sent a new confirmation link" in page_text(
        browser.post("/verify/resend", headers=FORGED, follow_redirects=True)
    )

    subjects = sorted(message["Subject"] for message in smtp.messages)
    assert subjects == [
        "Confirm your email address",
        "Confirm your email address",
        "Reset your password",
        "Someone tried to register with your address",
    ]
    for message in smtp.messages:
        links = _links(message)
        assert links, message["Subject"]
        assert all(link.startswith(f"{BASE_URL}/") for link in links), links
        assert "evil.example" not in message.as_string()
