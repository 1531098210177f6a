"""Who may use each route, CSRF, headers, cookies and rate limits."""

from __future__ import annotations

import os
import re

import pytest
import redis
import sqlalchemy as sa
from flask import abort

from forum.extensions import db
from forum.models import Post, Role
from tests.helpers.app import TEST_PASSWORD, page_text


def all_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


def test_every_route_states_who_may_use_it(app):
    undeclared = [
        rule.rule
        for rule in all_rules(app)
        if not hasattr(app.view_functions[rule.endpoint], "access_level")
    ]
    assert undeclared == []


def _sample_url(rule, ids: dict) -> str:
    values = {name: ids.get(name, 1) for name in rule.arguments}
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


CSRF_REFUSAL = "This form had expired or came from somewhere else"
ONE_CLICK_BODY = {"List-Unsubscribe": "One-Click"}  # RFC 8058: mail providers send no token
ONE_CLICK_ENDPOINT = "mail_settings.unsubscribe"  # the one deliberate exception


def test_every_post_route_refuses_a_request_without_a_valid_csrf_token(app, make, auth, client):
    app.config["WTF_CSRF_ENABLED"] = True
    board = make.board()
    admin = make.user("admin", role=Role.ADMIN)
    topic = make.topic(admin, board, body="original")
    with app.app_context():
        post_id = db.session.scalar(sa.select(Post.id))
        helpline_id = 1
    ids = {
        "slug": board.slug,
        "topic_id": topic.id,
        "post_id": post_id,
        "helpline_id": helpline_id,
        "token": "x",
    }
    # Log in with a real token taken from the form, as a browser would.
    login_page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    assert (
        client.post(
            "/login", data={"login": "admin", "password": TEST_PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
    # This session's own token, changed by a character, and the one from before logging in
    # (the session started afresh, so it is dead).
    fresh = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/admin/helplines").text
    ).group(1)
    payload, stamp, signature = fresh.split(".")
    # (Not the last character: its low bits are padding, so changing it may change nothing.)
    forged = f"{payload}.{stamp}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    checked = []
    for rule in all_rules(app):
        if "POST" not in rule.methods:
            continue
        url = _sample_url(rule, ids)
        for sent in ({}, {"csrf_token": ""}, {"csrf_token": forged}, {"csrf_token": token}):
            response = client.post(
                url, data={"body": "changed", "title": "changed", "submit": "go", **sent}
            )
            assert response.status_code == 400, f"{url} accepted a POST with {sent or 'no token'}"
            assert CSRF_REFUSAL in response.text, f"{url}: refused, but not for its token"
        # The one-click body opens only the unsubscribe link (whose made-up token is dead).
        response = client.post(url, data=ONE_CLICK_BODY)
        if rule.endpoint == ONE_CLICK_ENDPOINT:
            assert response.status_code == 404 and CSRF_REFUSAL not in response.text
        else:
            assert response.status_code == 400 and CSRF_REFUSAL in response.text, url
        checked.append(rule.endpoint)
    assert len(checked) >= 30 and ONE_CLICK_ENDPOINT in checked
    with app.app_context():
        assert db.session.get(Post, post_id).body_source == "original"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Post)) == 1


def test_access_levels_are_enforced(client, make, auth):
    make.board()
    assert client.get("/admin/helplines").status_code == 302  # to the login page
    auth.login(make.user("river"))
    assert client.get("/admin/helplines").status_code == 403
    assert client.get("/p/1/history").status_code == 403
    assert client.get("/login").status_code == 302  # logged-in members have no use for it
    auth.logout()
    auth.login(make.user("boss", role=Role.ADMIN))
    assert client.get("/admin/helplines").status_code == 200


def test_admin_edits_the_helplines_list(client, make, auth):
    auth.login(make.user("boss", role=Role.ADMIN))
    response = client.post(
        "/admin/helplines",
        data={
            "name": "Town Crisis Line",
            "region": "Our town",
            "contact": "Call 0100 000 000",
            "url": "https://crisis.example",
            "description": "Open every night.",
            "position": 0,
        },
    )
    assert response.status_code == 302
    assert "Town Crisis Line" in client.get("/help").text
    for hostile in ("javascript:alert(1)", "javascript://example.org/%0aalert(1)"):
        bad = client.post(
            "/admin/helplines", data={"name": "X", "region": "Y", "contact": "Z", "url": hostile}
        )
        assert bad.status_code == 400 and "starting https://" in bad.text
    assert "javascript" not in client.get("/help").text
    # NFC normalisation can double a name's length after the form's own check.
    long_name = "\u0958" * 120
    grown = client.post("/admin/helplines", data={"name": long_name, "region": "Y", "contact": "Z"})
    assert grown.status_code == 400 and "120 characters or fewer" in grown.text


EXPECTED_CSP = (
    "default-src 'none'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
)


def assert_security_headers(response, *, https: bool = False):
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    for directive in EXPECTED_CSP:
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    # Nothing on the site uses these: a page (or anything injected into one) may not either.
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in headers["Permissions-Policy"]
    if https:
        assert "max-age=" in headers["Strict-Transport-Security"]
    else:
        assert "Strict-Transport-Security" not in headers


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/no-such-page",
        "/static/css/site.css",
        "/static/favicon.svg",
        "/static/no-such-file.css",
    ],
)
def test_security_headers_on_pages_errors_and_static_files(client, path):
    with client.get(path) as response:
        assert_security_headers(response)
    with client.get(path, base_url="https://kindred.example") as response:
        assert_security_headers(response, https=True)


def test_security_headers_on_every_error_page(app, client, make, auth):
    """400, 403, 404, 405, 413, 500 and 503 (429 is in TestRateLimits), over http and https."""

    def broken():
        raise RuntimeError("a bug, on purpose")

    def down():
        abort(503)

    # Test-only routes (this app is thrown away after the test).
    app.add_url_rule("/test-only/broken", "test_only_broken", broken)
    app.add_url_rule("/test-only/down", "test_only_down", down)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer a bug as production does
    auth.login(make.user("river"))
    too_large = {"login": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    requests = {
        400: lambda **kw: client.get("/verify/no-such-link", **kw),
        403: lambda **kw: client.get("/admin/", **kw),
        404: lambda **kw: client.get("/t/999999", **kw),
        405: lambda **kw: client.get("/logout", **kw),
        413: lambda **kw: client.post("/settings/mail", data=too_large, **kw),
        500: lambda **kw: client.get("/test-only/broken", **kw),
        503: lambda **kw: client.get("/test-only/down", **kw),
    }
    for status, send in requests.items():
        for https in (False, True):
            response = send(base_url="https://localhost" if https else "http://localhost")
            assert response.status_code == status
            assert_security_headers(response, https=https)
            assert "<h1>" in response.text and "Traceback" not in response.text


def test_hsts_when_served_over_https(client):
    response = client.get("/", base_url="https://kindred.example")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_pages_carry_no_inline_script_or_style(client, make):
    topic = make.topic(make.user(), make.board())
    for path in ("/", "/b/general", f"/t/{topic.id}", "/register", "/help"):
        page = client.get(path).text
        # Scripts only as files of our own (the timezone suggestion on the join form).
        scripts = re.findall(r"<script\b[^>]*>.*?</script>", page, re.S)
        assert page.count("<script") == len(scripts)
        assert all(
            re.fullmatch(r'<script src="/static/js/[\w.-]+\?v=\w+" defer></script>', script)
            for script in scripts
        ), scripts
        assert " style=" not in page and "<style" not in page
        assert re.search(r"\son\w+=", page) is None


def test_session_cookies_are_httponly_lax_and_secure_over_https(app, make):
    make.user("river")
    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    client = app.test_client()
    response = client.post(
        "/login",
        data={"login": "river", "password": TEST_PASSWORD, "remember": "y"},
        base_url="https://kindred.example",
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 2  # session and remember-me
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_cookie_secure_flag_follows_base_url(tmp_path, monkeypatch):
    from forum import create_app

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("BASE_URL", "https://forum.example.org")
    assert create_app().config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("BASE_URL", "http://127.0.0.1:5000")
    assert create_app().config["SESSION_COOKIE_SECURE"] is False


# Rate limits are checked with the default in-process storage and, where CI provides a
# Redis server (TEST_REDIS_URL), with the shared storage several app servers would use.
RATE_LIMIT_STORAGES = ["memory://"] + (
    [os.environ["TEST_REDIS_URL"]] if os.environ.get("TEST_REDIS_URL") else []
)


class TestRateLimits:
    # ids without the Redis number, which differs per xdist worker (tests/helpers/workers.py)
    @pytest.fixture(params=RATE_LIMIT_STORAGES, ids=lambda url: url.split(":")[0])
    def app_config(self, request, migrated_database):
        from tests.helpers.app import app_settings

        if request.param.startswith("redis://"):
            # Fresh counters for each test: Redis outlives the app (use a spare database).
            redis.Redis.from_url(request.param).flushdb()
        return {
            **app_settings(migrated_database, None),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": request.param,
        }

    def test_a_429_page_carries_the_security_headers(self, client):
        for _ in range(10):
            client.post("/reset", data={"email": "someone@example.org"})
        response = client.post("/reset", data={"email": "someone@example.org"})
        assert response.status_code == 429
        assert_security_headers(response)

    def test_login_attempts_are_limited_with_a_page_that_says_when_to_retry(self, client):
        # A different account each time: one account's own wait (test_login_hardening) would
        # start after five.
        statuses = [
            client.post(
                "/login", data={"login": f"nobody{n}", "password": "wrong wrong"}
            ).status_code
            for n in range(11)
        ]
        assert statuses[:10] == [400] * 10
        assert statuses[10] == 429
        response = client.post("/login", data={"login": "nobody", "password": "wrong wrong"})
        assert response.status_code == 429
        retry_after = int(response.headers["Retry-After"])
        assert 0 < retry_after <= 3600
        assert "Please try again in" in page_text(response)
        # Looking at the form is not an attempt.
        assert client.get("/login").status_code == 200

    def test_posting_is_limited_but_previews_are_not(self, client, make, auth):
        board = make.board()
        auth.login(make.user("river"))
        for _ in range(10):
            preview = client.post(
                f"/b/{board.slug}/new", data={"title": "t", "body": "b", "preview": "Preview"}
            )
            assert preview.status_code == 200
        # An empty "preview" field is not a preview: it posts, and it counts.
        statuses = [
            client.post(
                f"/b/{board.slug}/new", data={"title": f"t{n}", "body": "b", "preview": ""}
            ).status_code
            for n in range(7)
        ]
        assert statuses == [302] * 6 + [429]

    def test_registration_and_reset_are_limited(self, client):
        for n in range(5):
            client.post("/reset", data={"email": f"n{n}@example.org"})
        assert client.post("/reset", data={"email": "x@example.org"}).status_code == 429
        for n in range(5):
            client.post("/register", data={"username": f"user{n}"})
        assert client.post("/register", data={"username": "userx"}).status_code == 429


def test_stylesheet_url_is_fingerprinted_so_browsers_can_keep_it(client):
    page = client.get("/").text
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)
    assert re.fullmatch(r"/static/css/site\.css\?v=[0-9a-f]{12}", href)
    with client.get(href) as response:
        assert response.status_code == 200
        assert response.cache_control.max_age >= 30 * 24 * 3600
