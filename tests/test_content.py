"""The content pipeline (Markdown -> markdown-it-py -> nh3) and what hostile text does to pages.

Three layers:

* unit tests of what members see when they use Markdown, links, raw HTML or images;
* an ORACLE that parses HTML with the standard library's html.parser and lists every
  element, attribute or URL outside the allow-list (it is tested on known-bad HTML too,
  so it cannot silently pass everything);
* every payload of the vendored XSS corpora (tests/data/xss, see its README) run through
  the pipeline as a post body, as a topic title on real pages, and (a sample) through HTTP.
"""

from __future__ import annotations

import random
import unicodedata
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from forum.content import (
    clean_body,
    clean_single_line,
    render_post,
    sanitise_html,
)
from forum.extensions import db
from forum.models import Post, Topic
from forum.services import ServiceError, post_state, posting
from tests.helpers.html_oracle import (
    _INVISIBLE_CATEGORIES,
    DATA,
    EXPECTED_REL,
    PAYLOADS,
    SAFE_SCHEMES,
    Payload,
    check_page,
    html_violations,
    url_scheme,
)

# --- the oracle -----------------------------------------------------------------------------


# --- the oracle itself can fail ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_html", "complaint"),
    [
        ("<script>alert(1)</script>", "<script>"),
        ("<img src=x onerror=alert(1)>", "<img>"),
        ("<p onclick=alert(1)>hi</p>", "onclick"),
        ("<P ONMOUSEOVER=alert(1)>hi</P>", "onmouseover"),
        ("<p style='background:url(x)'>hi</p>", "'style'"),
        ("<a href='/ok' title=x rel='nofollow ugc noopener'>x</a>", "'title'"),
        ("<a href='javascript:alert(1)' rel='nofollow ugc noopener'>x</a>", "'javascript'"),
        ("<a href='JaVaScRiPt:alert(1)' rel='nofollow ugc noopener'>x</a>", "'javascript'"),
        ("<a href='  javascript:alert(1)' rel='nofollow ugc noopener'>x</a>", "'javascript'"),
        ("<a href='java&#x09;script:alert(1)' rel='nofollow ugc noopener'>x</a>", "'javascript'"),
        ("<a href='java\u200bscript:alert(1)' rel='nofollow ugc noopener'>x</a>", "'javascript'"),
        ("<a href='javascript&#58;alert(1)' rel='nofollow ugc noopener'>x</a>", "'javascript'"),
        ("<a href='javascript&colon;alert(1)' rel='nofollow ugc noopener'>x</a>", "'javascript'"),
        (
            "<a href='%E2%80%8Bjavascript:alert(1)' rel='nofollow ugc noopener'>x</a>",
            "'javascript'",
        ),
        ("<a href='%6A%61%76%61script:alert(1)' rel='nofollow ugc noopener'>x</a>", "'javascript'"),
        ("<a href='java%2509script:alert(1)' rel='nofollow ugc noopener'>x</a>", "'javascript'"),
        (
            "<a href='data:text/html,<script>alert(1)</script>' rel='nofollow ugc noopener'>x</a>",
            "'data'",
        ),
        ("<a href='vbscript:msgbox(1)' rel='nofollow ugc noopener'>x</a>", "'vbscript'"),
        ("<a href='https://example.org/'>x</a>", "rel="),
        ("<ol start=1 reversed>", "'reversed'"),
        ("<svg><animate onbegin=alert(1)>", "<svg>"),
        ("<!--[if IE]><script>alert(1)</script><![endif]-->", "comment"),
        ("<math><mi xlink:href='javascript:alert(1)'>x</mi></math>", "'javascript'"),
    ],
)
def test_the_oracle_objects_to_known_bad_html(bad_html, complaint):
    problems = html_violations(bad_html)
    assert any(complaint in problem for problem in problems), (bad_html, problems)


def test_the_oracle_accepts_what_the_allow_list_permits():
    good = (
        "<h3>Hi</h3><p>a <em>b</em> <strong>c</strong> <s>d</s> <del>e</del> <code>f</code>"
        '<br></p><ol start="3"><li><a href="https://example.org/?a=b:c" rel="nofollow ugc '
        'noopener">x</a></li></ol><ul><li><a href="mailto:a@example.org" rel="nofollow ugc '
        'noopener">m</a> <a href="/t/1#p2" rel="nofollow ugc noopener">r</a></li></ul>'
        "<blockquote><p>q</p></blockquote><pre><code>&lt;script&gt;</code></pre><hr>"
    )
    assert html_violations(good) == []


@pytest.mark.parametrize(
    ("page", "complaint"),
    [
        ("<h1>Title<script>alert(1)</script></h1>", "<script>"),
        ("<script src='https://evil.example/x.js'></script>", "<script>"),
        ("<script src='/static/js/../../upload/x.js'></script>", "<script>"),
        ("<script src='/static/js/reactions.js'>alert(1)</script>", "inline script"),
        ("<h1>Title<img src=x onerror=alert(1)></h1>", "onerror"),
        ("<p><a href='javascript:alert(1)'>x</a></p>", "'javascript'"),
        ("<form action='java&#x0A;script:alert(1)'></form>", "'javascript'"),
        ("<svg><a xlink:href='javascript:alert(1)'>x</a></svg>", "<svg>"),
        ("<h1><b>bold</b> title</h1>", "inside the h1"),
        ("<a href='/t/3'><em>x</em></a>", "inside the topic:3"),
    ],
)
def test_the_page_oracle_objects_to_known_bad_pages(page, complaint):
    problems = check_page(page).problems
    assert any(complaint in problem for problem in problems), (page, problems)


def test_the_page_oracle_allows_the_sites_own_scripts_by_src():
    assert check_page("<script src='/static/js/reactions.js?v=1a2b' defer></script>").problems == []


def test_the_page_oracle_reads_titles_and_topic_links():
    oracle = check_page(
        "<title>A &lt;b&gt; · K</title><h1>A &lt;b&gt;</h1>"
        "<a href='/t/7'>A &amp; B</a><a href='/t/7/reply'>Reply</a>"
    )
    assert oracle.problems == []
    assert oracle.text("title") == "A <b> · K"
    assert oracle.text("h1") == "A <b>"
    assert oracle.text("topic:7") == "A & B"


# --- Markdown: what members see ----------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text_parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text_parts.append(data)


def parse(fragment: str) -> _Elements:
    parsed = _Elements()
    parsed.feed(fragment)
    parsed.close()
    return parsed


def tags(fragment: str) -> list[str]:
    return [tag for tag, _ in parse(fragment).elements]


def text(fragment: str) -> str:
    return "".join(parse(fragment).text_parts)


def links(fragment: str) -> list[dict]:
    return [attrs for tag, attrs in parse(fragment).elements if tag == "a"]


def render(source: str) -> str:
    output = render_post(source)
    assert html_violations(output) == [], (source, output)
    return output


@pytest.mark.parametrize(
    ("markdown", "heading"),
    [
        ("# Feeling better", "h3"),
        ("## Feeling better", "h4"),
        ("### Feeling better", "h5"),
        ("#### Feeling better", "h6"),
        ("###### Feeling better", "h6"),
        ("Feeling better\n==============", "h3"),
        ("Feeling better\n--------------", "h4"),
    ],
)
def test_headings_are_shifted_below_the_pages_own_h1_and_h2(markdown, heading):
    output = render(markdown)
    assert tags(output) == [heading]
    assert text(output).strip() == "Feeling better"


def test_no_post_can_make_an_h1_or_h2():
    output = render("# one\n\n## two\n\n<h1>three</h1>\n\n<h2>four</h2>")
    assert not {"h1", "h2"} & set(tags(output))
    assert "<h1>three</h1>" in text(output)  # typed HTML is shown as text


def test_lists():
    assert tags(render("- tea\n- walks\n- sleep")) == ["ul", "li", "li", "li"]
    assert tags(render("1. tea\n2. walks")) == ["ol", "li", "li"]
    output = render("3. tea\n4. walks")
    assert parse(output).elements[0] == ("ol", {"start": "3"})


def test_block_quotes():
    output = render("> It gets easier.\n\nI hope so.")
    assert tags(output) == ["blockquote", "p", "p"]
    assert "It gets easier." in text(output)


def test_inline_code_is_shown_verbatim():
    output = render("Type `<b>sudo</b> & *stars*` here")
    assert tags(output) == ["p", "code"]
    assert "<b>sudo</b> & *stars*" in text(output)


def test_fenced_code_is_shown_verbatim_without_a_language_class():
    output = render("```html\n<script>alert(1)</script>\n  indented **not bold**\n```")
    assert parse(output).elements == [("pre", {}), ("code", {})]
    assert text(output).rstrip("\n") == "<script>alert(1)</script>\n  indented **not bold**"


def test_emphasis_strong_and_strikethrough():
    output = render("*soft* **firm** ~~gone~~")
    assert tags(output) == ["p", "em", "strong", "s"]
    assert text(output).strip() == "soft firm gone"


@pytest.mark.parametrize(
    "href",
    [
        "https://example.org/help?a=1&b=2#top",
        "http://example.org",
        "HTTPS://EXAMPLE.ORG/",
        "mailto:someone@example.org",
        "/t/12",
        "#p3",
        "https://example.org/a%20b",
        "https://www.example.org/search?q=peer%20support",
        "/t/1?at=10:30",
    ],
)
def test_links_keep_safe_addresses_and_get_rel_nofollow_ugc_noopener(href):
    output = render(f"See [this page]({href}) please.")
    [link] = links(output)
    assert link["href"] == href
    assert set(link["rel"].split()) == EXPECTED_REL
    assert "this page" in text(output)


@pytest.mark.parametrize(
    ("typed", "href"),
    [
        ("Call them: www.samaritans.org", "http://www.samaritans.org"),
        ("see https://example.org/a?b=1 today", "https://example.org/a?b=1"),
    ],
)
def test_bare_addresses_become_links(typed, href):
    [link] = links(render(typed))
    assert link["href"] == href
    assert set(link["rel"].split()) == EXPECTED_REL


def test_bare_javascript_text_is_not_linked():
    assert links(render("try javascript:alert(1) now")) == []


def test_autolinks_are_links_too():
    [link] = links(render("<https://example.org/help>"))
    assert link["href"] == "https://example.org/help"
    assert set(link["rel"].split()) == EXPECTED_REL


DANGEROUS_HREFS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "   javascript:alert(1)",
    "\tjavascript:alert(1)",
    "java\u200bscript:alert(1)",
    "java\u00adscript:alert(1)",
    "\u202ejavascript:alert(1)",
    "\x01javascript:alert(1)",
    "javascript&#58;alert(1)",
    "javascript&colon;alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript&#x3A;alert(1)",
    "java&#x09;script:alert(1)",
    "jav&#x0A;ascript:alert(1)",
    "%E2%80%8Bjavascript:alert(1)",
    "java%E2%80%8Bscript:alert(1)",
    "java%09script:alert(1)",
    "%6A%61%76%61%73%63%72%69%70%74:alert(1)",
    "javascript%3Aalert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "file:///etc/passwd",
]


@pytest.mark.parametrize("href", DANGEROUS_HREFS)
def test_only_http_https_and_mailto_links_survive_markdown(href):
    for source in (
        f"[click me]({href})",
        f"[click me](<{href}>)",
        f"[click me][ref]\n\n[ref]: <{href}>",
        f"Autolink: <{href}>",
    ):
        output = render(source)  # render() runs the oracle
        assert all(
            url_scheme(link.get("href") or "") in (None, *SAFE_SCHEMES) for link in links(output)
        ), (source, output)
        # The words stay readable, whether as an inert link or as plain text.
        assert ("click me" if "click me" in source else "Autolink:") in text(output)


@pytest.mark.parametrize("href", DANGEROUS_HREFS)
def test_only_http_https_and_mailto_links_survive_the_sanitiser(href):
    # markdown-it refuses most of these itself; the sanitiser must hold on its own too.
    # The href goes in as typed: "&#58;" is an entity here, decoded by any HTML reader.
    output = sanitise_html(f'<p><a href="{href}" onclick="x()">click me</a></p>')
    assert html_violations(output) == [], (href, output)
    assert [link.get("href") for link in links(output)] == [None]
    assert text(output) == "click me"


@pytest.mark.parametrize(
    "typed",
    [
        "<b>bold?</b>",
        "<script>alert('hi')</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=https://example.org></iframe>",
        "<!-- a comment -->",
        "<style>body{display:none}</style>",
    ],
)
def test_raw_html_is_shown_as_text_not_markup(typed):
    output = render(f"I typed {typed} on purpose")
    # Only a paragraph, plus a link where the typed text holds a bare address (linkify).
    assert set(tags(output)) <= {"p", "a"} and tags(output)[0] == "p"
    assert text(output).strip() == f"I typed {typed} on purpose"


def test_images_are_not_loaded_from_other_hosts_but_stay_reachable_as_links():
    output = render(
        "![a cat](https://images.example.net/cat.png) and "
        '<img src="https://images.example.net/dog.png">'
    )
    assert "img" not in tags(output)
    cat, dog = links(output)  # the raw tag stays text; its bare address is only a link
    assert cat["href"] == "https://images.example.net/cat.png"
    assert dog["href"] == "https://images.example.net/dog.png"
    assert "a cat" in text(output)
    assert '<img src="https://images.example.net/dog.png">' in text(output)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("  Feeling   low\ttoday  ", "Feeling low today"),
        ("Line one\nline two\r\nthree", "Line one line two three"),
        ("Null\x00 and bell\x07 and escape\x1b[31m", "Null and bell and escape[31m"),
        ("zero\u200bwidth\u200c join\u200d\ufeff", "zerowidth join"),
        ("\u202egnp.exe\u202c", "gnp.exe"),
        ("left\u200e right\u200f isolate\u2066x\u2069", "left right isolatex"),
        ("para\u2029graph line\u2028sep", "para graph line sep"),
        ("cafe\u0301", "caf\u00e9"),
        ("\u200b\u202e \x00", ""),
    ],
)
def test_titles_and_labels_are_cleaned_to_one_visible_line(typed, shown):
    cleaned = clean_single_line(typed)
    assert cleaned == shown
    assert not any(unicodedata.category(char) in _INVISIBLE_CATEGORIES - {"Zs"} for char in cleaned)


# --- every payload as a post body ---------------------------------------------------------------


CORPORA = sorted({payload.source.rsplit(":", 1)[0] for payload in PAYLOADS})

# Non-empty lines per file, as counted in tests/data/xss/README.md.
EXPECTED_COUNTS = {
    "PayloadsAllTheThings/0xcela_event_handlers.txt": 105,
    "PayloadsAllTheThings/BRUTELOGIC-XSS-JS.txt": 17,
    "PayloadsAllTheThings/BRUTELOGIC-XSS-STRINGS.txt": 110,
    "PayloadsAllTheThings/IntrudersXSS.txt": 179,
    "PayloadsAllTheThings/JHADDIX_XSS.txt": 110,
    "PayloadsAllTheThings/MarioXSSVectors.txt": 274,
    "PayloadsAllTheThings/RSNAKE_XSS.txt": 73,
    "PayloadsAllTheThings/XSSDetection.txt": 202,
    "PayloadsAllTheThings/XSS_Polyglots.txt": 16,
    "PayloadsAllTheThings/jsonp_endpoint.txt": 57,
    "PayloadsAllTheThings/port_swigger_xss_cheatsheet_event_handlers.txt": 114,
    "PayloadsAllTheThings/xss_alert.txt": 667,
    "PayloadsAllTheThings/xss_alert_identifiable.txt": 667,
    "PayloadsAllTheThings/xss_payloads_quick.txt": 39,
    "PayloadsAllTheThings/xss_swf_fuzz.txt": 24,
    "DOMPurify/payloads.jsonl": 223,
}


def test_the_whole_corpus_is_here_with_its_licences():
    counts = {
        corpus: sum(p.source.startswith(corpus + ":") for p in PAYLOADS) for corpus in CORPORA
    }
    assert counts == EXPECTED_COUNTS
    assert len(PAYLOADS) == 2877
    for licence in (
        "PayloadsAllTheThings/LICENSE",
        "DOMPurify/LICENSE",
        "DOMPurify/LICENSE-MPL",
        "README.md",
    ):
        assert (DATA / licence).stat().st_size > 500, licence


def _shorten(value: str, limit: int = 400) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(value)} characters)"


def _report(what: str, failures: list[str], out_of: int | None = None) -> str:
    count = f"{len(failures)} of {out_of}" if out_of is not None else f"{len(failures)}"
    return f"{count} {what}; the first ones:\n\n" + "\n\n".join(failures[:8])


def _failure(payload: Payload, output: str, problems: list[str]) -> str:
    return (
        f"{payload.source}\n  payload: {_shorten(payload.text)}\n"
        f"  output:  {_shorten(output, 600)}\n  problems: {problems}"
    )


@pytest.mark.parametrize("corpus", CORPORA)
def test_every_payload_as_a_post_body_renders_only_allowed_html(corpus):
    payloads = [p for p in PAYLOADS if p.source.startswith(corpus + ":")]
    assert payloads
    failures = []
    for payload in payloads:
        # As typed (harder: invisible characters still there) and as cleaned before storing.
        for how, source in (("as typed", payload.text), ("as cleaned", clean_body(payload.text))):
            if how == "as cleaned" and source == payload.text:
                continue
            output = render_post(source)
            if problems := html_violations(output):
                failures.append(f"{how}: " + _failure(payload, output, problems))
    assert not failures, _report(
        f"renderings of the {len(payloads)} payloads of {corpus} broke the allow-list", failures
    )


# --- every payload as a topic title, on real pages ---------------------------------------------


@pytest.fixture
def app_config(app_config):
    # One board page holds every topic and one topic page every reply: few fetches.
    return {**app_config, "TOPICS_PER_PAGE": 5000, "POSTS_PER_PAGE": 500}


def _distinct_payloads() -> list[Payload]:
    seen, distinct = set(), []
    for payload in PAYLOADS:
        if payload.text not in seen:
            seen.add(payload.text)
            distinct.append(payload)
    return distinct


def _page_failure(where: str, payload: Payload, problems) -> str:
    return (
        f"{where}, title from {payload.source}\n  payload: {_shorten(payload.text)}\n  {problems}"
    )


#: The corpus is cut into this many shares, one test each, so that parallel workers
#: share the two thousand topics (one test took a third of a minute alone).
TITLE_SHARES = 6


@pytest.mark.parametrize("share", range(TITLE_SHARES))
def test_every_payload_as_a_topic_title_shows_as_plain_text(app, client, make, share):
    # A moderator's posts skip the review checks, which would hold payloads that look
    # like phone numbers ("http://1113982867/"): this test is about how titles render.
    author = make.user("titles", role="moderator")
    board = make.board("hostile-titles")
    payloads = _distinct_payloads()[share::TITLE_SHARES]
    created: dict[int, tuple[Payload, str]] = {}
    refused, failures = 0, []
    with app.test_request_context():
        author_row, board_row = db.session.merge(author), db.session.merge(board)
        for payload in payloads:
            expected = clean_single_line(payload.text)
            fits = 0 < len(expected) <= post_state.TITLE_MAX
            try:
                topic = posting.create_topic(author_row, board_row, payload.text, "Body text").topic
            except ServiceError as error:
                refused += 1
                if error.field != "title" or fits:
                    failures.append(_page_failure("refused", payload, (error.field, error.message)))
            else:
                created[topic.id] = (payload, expected)
                if not fits:
                    failures.append(_page_failure("accepted", payload, expected))
        stored = dict(db.session.execute(sa.select(Topic.id, Topic.title)).all())
    assert not failures, _report("titles were refused or accepted wrongly", failures, len(payloads))
    # Refusals (over 150 characters, or nothing left after cleaning) created nothing.
    assert stored == {topic_id: expected for topic_id, (_, expected) in created.items()}
    assert refused + len(created) == len(payloads)
    # Each share of the corpus has both kinds, plenty of each.
    assert len(created) > 2000 // TITLE_SHARES and refused > 100 // TITLE_SHARES

    response = client.get(f"/b/{board.slug}")
    assert response.status_code == 200
    page = check_page(response.text)
    assert page.problems == [], _report("problems on the board page", page.problems)
    for topic_id, (payload, expected) in created.items():
        shown = page.text(f"topic:{topic_id}")
        if shown != expected:
            failures.append(
                _page_failure(
                    f"board page, topic {topic_id}", payload, f"link text {shown!r} != {expected!r}"
                )
            )

    site_name = app.config["SITE_NAME"]
    for topic_id, (payload, expected) in created.items():
        response = client.get(f"/t/{topic_id}")
        page = check_page(response.text)
        problems = list(page.problems)
        if response.status_code != 200:
            problems.append(f"status {response.status_code}")
        if page.text("h1") != expected:
            problems.append(f"h1 {page.text('h1')!r} != {expected!r}")
        if page.text("title") != f"{expected} · {site_name}":
            problems.append(f"<title> {page.text('title')!r}")
        if problems:
            failures.append(_page_failure(f"/t/{topic_id}", payload, problems))
    assert not failures, _report("titles were not shown as plain text", failures, len(created))


def test_a_sample_of_payloads_posted_as_replies_over_http(app, client, make, auth):
    author = make.user("replier")
    board = make.board("hostile-replies")
    topic = make.topic(author, board, "Replies full of markup")
    candidates = [p for p in _distinct_payloads() if clean_body(p.text).strip()]
    sample = random.Random(20240611).sample(candidates, 200)
    auth.login(author)
    failures = []
    for payload in sample:
        response = client.post(f"/t/{topic.id}/reply", data={"body": payload.text})
        if response.status_code != 302:
            failures.append(_page_failure("reply", payload, f"status {response.status_code}"))
    assert not failures, _report("replies were not accepted", failures, len(sample))

    response = client.get(f"/t/{topic.id}")
    assert response.status_code == 200
    page = check_page(response.text)
    assert page.problems == [], _report("problems on the topic page", page.problems)
    with app.app_context():
        posts = db.session.scalars(
            sa.select(Post).where(Post.topic_id == topic.id).order_by(Post.id)
        ).all()[1:]
        assert len(posts) == len(sample)
        for payload, post in zip(sample, posts, strict=True):
            problems = html_violations(post.body_html)
            if post.body_source != clean_body(payload.text):
                problems.append("the member's text was not kept")
            if post.body_html not in response.text:
                problems.append("the stored HTML is not what the page shows")
            if problems:
                failures.append(_failure(payload, post.body_html, problems))
    assert not failures, _report("replies broke the allow-list", failures, len(sample))
