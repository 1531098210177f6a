"""Mail as members receive it: through a real SMTP conversation, parsed with the standard
library's parser. Headers (and no way for user text to make new ones), both parts,
absolute links from BASE_URL in and out of requests, the unsubscribe headers, HTML
that passes the pages' XSS oracle, and the backends."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from jinja2 import ChoiceLoader, DictLoader
from markupsafe import Markup

from forum import mail
from forum.content import render_post
from forum.extensions import db
from forum.models import MailKind, OutboxMessage, User
from forum.services import mail_settings, notices, transaction
from tests.helpers.app import log_in
from tests.helpers.html_oracle import PAYLOADS, check_page, html_violations
from tests.helpers.moderation import act, item_for
from tests.helpers.smtp import SmtpServer, running_smtp_server, smtp_settings

BASE_URL = "https://kindred.example"  # tests/conftest.py's setting


@pytest.fixture
def smtp():
    with running_smtp_server() as server:
        yield server


def plain(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def hrefs(markup: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', markup)


def urls(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def notify(
    app,
    user,
    subject="A moderator hid your post",
    message="A moderator hid your "
    "post in “Evenings”.\n\nThe moderator's reason:\nPlease keep it kind.",
    link="/p/7",
    mail_kind=MailKind.MODERATION,
):
    """A notice as a service sends it, from a plain app context (as the CLI would)."""
    with app.app_context(), transaction():
        notices.notify(
            db.session.get(User, user.id), "hidden", subject, message, link, mail_kind=mail_kind
        )


def unsubscribe_links(message) -> tuple[str, str]:
    https, mailto = re.fullmatch(r"<([^>]+)>,\s*<([^>]+)>", message["List-Unsubscribe"]).groups()
    return https, mailto


# --- what a notice looks like ------------------------------------------------------------


def test_a_notice_arrives_as_plain_text_then_html_with_every_header(app, make, smtp):
    app.config.update(smtp_settings(smtp), MAIL_FROM="Kindred <hello@kindred.example>")
    fern = make.user("quietfern")
    notify(app, fern)

    [received] = smtp.received
    message = received.message
    assert received.recipients == ["quietfern@example.org"]
    assert message["From"] == "Kindred <hello@kindred.example>"
    assert message["To"] == "quietfern@example.org"
    assert message["Subject"] == "A moderator hid your post"
    assert parsedate_to_datetime(message["Date"]).utcoffset() is not None
    assert re.fullmatch(r"<[^<>@\s]+@kindred\.example>", message["Message-ID"])
    assert message["List-Id"] == "Kindred moderation <moderation.kindred.kindred.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = unsubscribe_links(message)
    assert https.startswith(f"{BASE_URL}/mail/unsubscribe/")
    assert mailto == "mailto:hello@kindred.example?subject=unsubscribe"

    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    text, markup = plain(message), html(message)
    for body in (text, markup):
        assert "Hello quietfern" in body
        assert "Please keep it kind." in body
        assert "is peer support, not a crisis service" in body
    assert f"{BASE_URL}/p/7" in urls(text) and f"{BASE_URL}/p/7" in hrefs(markup)
    assert https in urls(text) and https in hrefs(markup)  # the footer of both parts
    assert f"{BASE_URL}/notices" in urls(text) and f"{BASE_URL}/help" in hrefs(markup)
    assert check_page(markup).problems == []
    assert check_page(markup).text("title") == "A moderator hid your post"


def test_the_unsubscribe_header_works_with_one_click(app, make, client, smtp):
    app.config.update(smtp_settings(smtp))
    fern = make.user("quietfern")
    notify(app, fern)
    https, _ = unsubscribe_links(smtp.messages[0])

    response = client.post(
        urlsplit(https).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    with app.app_context():
        assert not mail_settings.wants_mail(db.session.get(User, fern.id), MailKind.MODERATION)
        assert mail_settings.wants_mail(db.session.get(User, fern.id), MailKind.REPLY)
    notify(app, fern)
    assert len(smtp.received) == 1  # the second notice is on the site only


def test_the_mailto_address_can_be_set_apart_from_the_sender(app, make, smtp):
    app.config.update(smtp_settings(smtp), MAIL_UNSUBSCRIBE_ADDRESS="leave@kindred.example")
    notify(app, make.user("quietfern"))
    assert (
        unsubscribe_links(smtp.messages[0])[1] == "mailto:leave@kindred.example?subject=unsubscribe"
    )


def test_account_mail_stays_plain_text_without_unsubscribe_headers(app, client, smtp):
    """Asked for by the member, carrying a secret: not a list, nothing to unsubscribe from."""
    app.config.update(smtp_settings(smtp), MAIL_FROM="Kindred <hello@kindred.example>")
    client.post(
        "/register",
        data={
            "username": "river",
            "email": "river@example.org",
            "password": "long password here",
            "confirm": "long password here",
            "accept_guidelines": "y",
            "digest": "none",
            "timezone": "UTC",
        },
    )
    [message] = smtp.messages
    assert message["To"] == "river@example.org"
    assert message["From"] == "Kindred <hello@kindred.example>"
    assert message["Message-ID"] and message["Date"]
    assert message.get_content_type() == "text/plain"
    assert message["List-Unsubscribe"] is None
    assert "https://kindred.example/verify/" in message.get_content()
    with app.app_context():  # sent after the response, never kept in the outbox
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


# --- links come from BASE_URL --------------------------------------------------------------


def _links_in_both_parts(message) -> list[str]:
    links = urls(plain(message)) + hrefs(html(message))
    https, mailto = unsubscribe_links(message)
    return [*links, https]


def test_links_are_absolute_from_base_url_outside_any_request(app, make, smtp):
    """From a plain app context, as `flask digests send` runs: no request to take a host from."""
    app.config.update(smtp_settings(smtp))
    notify(app, make.user("quietfern"))
    links = _links_in_both_parts(smtp.messages[0])
    assert len(links) >= 8
    assert all(link.startswith(f"{BASE_URL}/") for link in links), links


def test_a_forged_host_header_does_not_reach_the_links(app, make, smtp):
    app.config.update(smtp_settings(smtp))
    board = make.board("general")
    newcomer = make.user("quietfern", trusted=False)
    post = make.reply(newcomer, make.topic(make.user("elm"), board, "Evenings"), "Words")
    moderator = make.user("warden", role="moderator", moderates=(board,))
    browser = app.test_client()
    browser.environ_base.update(HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="evil.example")
    assert log_in(browser, moderator.username).status_code == 302
    assert act(browser, item_for(app, post.id).id, "approve").status_code == 302

    [message] = smtp.to("quietfern@example.org")
    links = _links_in_both_parts(message)
    assert any(f"/p/{post.id}" in link for link in links)
    assert all(link.startswith(f"{BASE_URL}/") for link in links), links
    assert "evil.example" not in message.as_string()


def test_url_for_mail_builds_from_base_url_under_a_path(app):
    app.config["BASE_URL"] = "https://example.org/forum"
    with app.app_context():
        assert mail.url_for_mail("boards.permalink", post_id=3) == "https://example.org/forum/p/3"
    with app.test_request_context("/", base_url="http://evil.example"):
        assert mail.url_for_mail("pages.get_help") == "https://example.org/forum/help"


# --- no header injection ---------------------------------------------------------------------

LINE_BREAKS = {
    "CR LF": "\r\n",
    "LF": "\n",
    "CR": "\r",
    "vertical tab": "\x0b",
    "form feed": "\x0c",
    "NEL": "\x85",
    "file separator": "\x1c",
    "group separator": "\x1d",
    "record separator": "\x1e",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "NUL": "\x00",
}


def _headers_on_the_wire(message) -> list[str]:
    """Header names as a mail server reads them from the bytes we send."""
    head = mail.as_bytes(message).split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in head.split("\r\n") if not line[:1].isspace()]


@pytest.mark.parametrize("line_break", LINE_BREAKS.values(), ids=LINE_BREAKS.keys())
def test_line_breaks_in_names_and_titles_never_start_a_header(app, line_break):
    name = f"fern{line_break}Bcc: victim@example.org{line_break}{line_break}body"
    title = f"Evenings{line_break}Bcc: victim@example.org{line_break}X-Evil: 1"
    with app.app_context():
        message = mail.build_message(
            (name, "fern@example.org"),
            f"New reply to “{title}”",
            "notice",
            unsubscribe_url=f"{BASE_URL}/mail/unsubscribe/t",
            username=name,
            message=title,
            link="",
            kind="reply",
            mail_kind="reply",
            notices_url=f"{BASE_URL}/notices",
        )
    assert _headers_on_the_wire(message) == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "MIME-Version",
        "Content-Type",
    ]
    received = BytesParser(policy=policy.default).parsebytes(mail.as_bytes(message))
    assert received["Bcc"] is None and received["X-Evil"] is None
    assert received["Subject"] == "New reply to “Evenings Bcc: victim@example.org X-Evil: 1”"
    assert parseaddr(received["To"]) == ("fern Bcc: victim@example.org body", "fern@example.org")
    assert received["To"].addresses[0].addr_spec == "fern@example.org"


@pytest.mark.parametrize(
    "address",
    [
        "fern@example.org\r\nBcc: victim@example.org",
        "fern@example.org\nBcc: v@example.org",
        "fern@example.org\u2028Bcc: v@example.org",
        "fern@example.org, victim@example.org",
        "fern@example.org victim@example.org",
        "",
        "not an address",
    ],
)
def test_a_bad_recipient_address_is_refused(app, address):
    with app.app_context(), pytest.raises(ValueError):
        mail.build_message(
            address,
            "Hello",
            "reset_password",
            username="fern",
            minutes=60,
            link=f"{BASE_URL}/reset/x",
        )


def test_a_reply_notice_about_a_hostile_title_stays_one_subject_line(app, make, smtp):
    """Through the real path: a reply to a topic whose title and author try to add headers."""
    app.config.update(smtp_settings(smtp))
    board = make.board("general")
    # A moderator's posts skip the checks, which would hold a title holding an address.
    fern = make.user("quietfern", role="moderator")
    topic = make.topic(fern, board, "Evenings\u2028Bcc: victim@example.org\r\nX-Evil: 1")
    make.reply(make.user("elm"), topic, "I know that feeling.")
    [message] = smtp.to("quietfern@example.org")
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert "\n" not in message["Subject"] and "Evenings" in message["Subject"]
    assert smtp.received[0].recipients == ["quietfern@example.org"]


# --- HTML only from autoescaped text and sanitised posts -------------------------------------


def test_every_xss_payload_as_notice_text_shows_as_text(app):
    failures = []
    with app.app_context():
        for payload in PAYLOADS:
            message = mail.build_message(
                "fern@example.org",
                payload.text,
                "notice",
                unsubscribe_url=f"{BASE_URL}/mail/unsubscribe/t",
                username=payload.text,
                message=payload.text,
                link=f"{BASE_URL}/p/1",
                kind="rejected",
                mail_kind="moderation",
                notices_url=f"{BASE_URL}/notices",
            )
            page = check_page(html(message))
            if page.problems:
                failures.append(f"{payload.source}: {page.problems}")
            elif page.text("h1") != mail.one_line(payload.text):
                failures.append(f"{payload.source}: heading {page.text('h1')!r}")
    assert not failures, f"{len(failures)} payloads got through:\n" + "\n".join(failures[:8])


DIGEST_LIKE = {
    "email/probe.html": '{% extends "email/layout.html" %}{% block content %}<h1>{{ title }}</h1>'
    "<article>{{ body }}</article>{% endblock %}",
    "email/probe.txt": '{% extends "email/layout.txt" %}{% block content %}{{ title }}'
    "{% endblock %}",
}


def test_every_xss_payload_as_a_post_in_a_digest_like_mail_passes_the_oracle(app):
    """As the digest shows posts: their stored, sanitised HTML as Markup, titles escaped."""
    app.jinja_env.loader = ChoiceLoader([DictLoader(DIGEST_LIKE), app.jinja_env.loader])
    failures = []
    with app.app_context():
        for payload in PAYLOADS:
            body_html = render_post(payload.text)
            message = mail.build_message(
                "fern@example.org",
                "Your digest",
                "probe",
                unsubscribe_url=f"{BASE_URL}/mail/unsubscribe/t",
                title=payload.text,
                body=Markup(body_html),
            )
            markup = html(message)
            article = markup.split("<article>", 1)[1].rsplit("</article>", 1)[0]
            problems = check_page(markup).problems + html_violations(article)
            if problems:
                failures.append(f"{payload.source}: {problems}")
            if body_html not in markup:
                failures.append(f"{payload.source}: the post's HTML was changed on the way")
    assert not failures, f"{len(failures)} payloads got through:\n" + "\n".join(failures[:8])


def test_the_oracle_catches_unescaped_html_in_a_mail(app):
    """The two tests above would notice a template that forgot to escape."""
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "email/leaky.html": '{% extends "email/layout.html" %}{% block content %}'
                    "{{ title|safe }}{% endblock %}",
                    "email/leaky.txt": "{{ title }}",
                }
            ),
            app.jinja_env.loader,
        ]
    )
    with app.app_context():
        message = mail.build_message(
            "fern@example.org", "x", "leaky", title="<img src=x onerror=alert(1)>"
        )
    assert any("onerror" in problem for problem in check_page(html(message)).problems)


# --- backends ----------------------------------------------------------------------------------


def test_one_connection_sends_many_messages(app, smtp):
    app.config.update(smtp_settings(smtp))
    with app.app_context():
        messages = [
            mail.build_message(
                f"m{n}@example.org",
                f"Hello {n}",
                "notice",
                username=f"m{n}",
                message="Hi",
                link="",
                kind="x",
                mail_kind="moderation",
                notices_url="",
            )
            for n in range(5)
        ]
        with mail.connection() as connection:
            for message in messages:
                connection.send(message)
    assert smtp.connections == 1
    assert [m["Subject"] for m in smtp.messages] == [f"Hello {n}" for n in range(5)]


def test_a_connection_with_nothing_to_send_never_connects(app, smtp):
    app.config.update(smtp_settings(smtp))
    with app.app_context(), mail.connection():
        pass
    assert smtp.connections == 0


class _Login:
    def __init__(self):
        self.logins = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")


def test_smtp_login_uses_the_configured_account(app):
    checker, server = _Login(), SmtpServer()
    controller = Controller(
        server,
        hostname="127.0.0.1",
        port=server.port,
        authenticator=checker,
        auth_require_tls=False,
    )
    controller.start()
    try:
        app.config.update(smtp_settings(server, SMTP_USERNAME="kindred", SMTP_PASSWORD="s3cret"))
        with app.app_context():
            mail.send(
                mail.build_message(
                    "a@example.org",
                    "Hi",
                    "reset_password",
                    username="a",
                    minutes=60,
                    link=f"{BASE_URL}/r",
                )
            )
    finally:
        controller.stop()
    assert checker.logins == [(b"kindred", b"s3cret")]
    assert len(server.received) == 1


def test_the_console_backend_prints_the_message(app, capsys):
    app.config["MAIL_BACKEND"] = "console"
    with app.app_context():
        mail.send(
            mail.build_message(
                "a@example.org",
                "Hi there",
                "reset_password",
                username="a",
                minutes=60,
                link=f"{BASE_URL}/reset/x",
            )
        )
    printed = capsys.readouterr().out
    assert "Subject: Hi there" in printed and f"{BASE_URL}/reset/x" in printed


def test_an_unknown_backend_is_named_in_the_error(app):
    app.config["MAIL_BACKEND"] = "pigeon"
    with app.app_context(), pytest.raises(RuntimeError, match="pigeon"):
        mail.send(
            mail.build_message(
                "a@example.org",
                "Hi",
                "reset_password",
                username="a",
                minutes=60,
                link=f"{BASE_URL}/r",
            )
        )


def test_a_mail_server_that_is_down_does_not_lose_the_sign_up(app, client, make):
    """The account is kept; the member is told to ask again once the server is back."""
    app.config.update(smtp_settings(SmtpServer(), SMTP_TIMEOUT=2))  # nothing listens there
    response = client.post(
        "/register",
        data={
            "username": "river",
            "email": "river@example.org",
            "password": "long password here",
            "confirm": "long password here",
            "accept_guidelines": "y",
            "digest": "none",
            "timezone": "UTC",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/register/check-email")
    login = client.post("/login", data={"login": "river", "password": "long password here"})
    assert login.status_code == 302
    failed = client.post("/verify/resend", follow_redirects=True)
    assert "We couldn" in failed.text and "send the email just now" in failed.text

    app.config["MAIL_BACKEND"] = "memory"
    sent = client.post("/verify/resend", follow_redirects=True)
    assert "sent a new confirmation link" in sent.text
    assert [m["To"] for m in mail.outbox] == ["river@example.org"]
