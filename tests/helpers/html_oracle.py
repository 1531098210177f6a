"""The HTML oracle (every element, attribute and URL outside the allow-list; page-level
checks) and the vendored XSS payloads (tests/data/xss) it is run on."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from forum.content import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
)

DATA = Path(__file__).parent.parent / "data" / "xss"


TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"


SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


EXPECTED_REL = {"nofollow", "ugc", "noopener"}


# Written independently of forum.content on purpose: it must not share the pipeline's blind spots.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}


def _without_invisible(text: str) -> str:
    return "".join(
        char
        for char in text
        if not (char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES)
    )


def url_scheme(value: str) -> str | None:
    """The scheme the most lenient reader could find in a URL; None when it is relative.

    Control, invisible and space characters are removed and HTML entities and %-escapes
    decoded, repeatedly, until nothing changes ("java&#x09;script:", "%E2%80%8Bjavascript:",
    "javascript&colon;" all come out as "javascript").
    """
    for _ in range(10):
        decoded = _without_invisible(html.unescape(unquote(_without_invisible(value))))
        if decoded == value:
            break
        value = decoded
    head, colon, _ = value.partition(":")
    if not colon or any(char in head for char in "/?#"):
        return None  # "/t/1", "#top", "?q=a:b", "a/b:c" are relative
    return head.lower()


# Attributes a browser treats as addresses (href and src, and the rarer ones).
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "action",
        "formaction",
        "xlink:href",
        "data",
        "poster",
        "background",
        "cite",
        "longdesc",
        "srcset",
        "ping",
        "manifest",
        "icon",
        "codebase",
        "dynsrc",
        "lowsrc",
        "usemap",
    }
)


def _url_problem(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    scheme = url_scheme(value)
    if scheme is not None and scheme not in SAFE_SCHEMES:
        return f"{name}={value!r} has the scheme {scheme!r}"
    return None


class _FragmentOracle(HTMLParser):
    """Lists everything in a post's HTML that the allow-list does not permit."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def _element(self, tag: str, attrs) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"element <{tag}> is not allowed")
        allowed = set(ALLOWED_ATTRIBUTES.get(tag, ())) | ({"rel"} if tag == "a" else set())
        names = set()
        for name, value in attrs:
            names.add(name)
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            elif name not in allowed:
                self.problems.append(f"attribute {name!r} is not allowed on <{tag}>")
            if name in URL_ATTRIBUTES and (problem := _url_problem(name, value)):
                self.problems.append(f"<{tag}> {problem}")
        if tag == "a" and "href" in names:
            rel = set((dict(attrs).get("rel") or "").split())
            if not EXPECTED_REL <= rel:
                self.problems.append(f'link without rel="nofollow ugc noopener": {attrs!r}')

    def handle_starttag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_endtag(self, tag):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"end tag </{tag}> is not allowed")

    def handle_comment(self, data):
        self.problems.append(f"comment <!--{data}-->")

    def handle_decl(self, decl):
        self.problems.append(f"declaration <!{decl}>")

    def unknown_decl(self, data):
        self.problems.append(f"declaration <![{data}]>")

    def handle_pi(self, data):
        self.problems.append(f"processing instruction <?{data}>")


def _feed(oracle, markup: str) -> None:
    try:
        oracle.feed(markup)
        oracle.close()
    except AssertionError as error:  # html.parser gives up on some malformed declarations
        oracle.problems.append(f"markup html.parser cannot read: {error}")


def html_violations(fragment: str) -> list[str]:
    """Everything in `fragment` outside the allow-list; [] when it is safe to show."""
    oracle = _FragmentOracle()
    _feed(oracle, fragment)
    return oracle.problems


def _jinja_template_tags() -> set[str]:
    tags = set()
    for template in TEMPLATES.rglob("*.html"):
        text = re.sub(r"\{#.*?#\}", "", template.read_text(encoding="utf-8"), flags=re.S)
        # The queue's chart is the only inline SVG, on a moderators' page: an <svg>
        # in a page that shows members' words still means something got through.
        text = re.sub(r"<svg\b.*?</svg>", "", text, flags=re.S)
        tags.update(name.lower() for name in re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", text))
    return tags


# Tags written in the templates, those WTForms widgets produce, and those posts may contain.
# (<time> comes from the `timestamp` filter in forum/templating.py.)
PAGE_TAGS = frozenset(
    _jinja_template_tags()
    | {"input", "textarea", "label", "select", "option", "button", "time"}
    | ALLOWED_TAGS
)


_TOPIC_LINK = re.compile(r"^/t/(\d+)$")


# The only scripts a page may carry: the site's own files, by src, with nothing inline
# (the Content-Security-Policy would refuse inline code anyway; this says so in the page).
_SITE_SCRIPT = re.compile(r"^/static/js/[\w-]+\.js(\?v=[\w-]+)?$")


def _is_site_script(attrs) -> bool:
    return bool(_SITE_SCRIPT.match(dict(attrs).get("src") or ""))


class _PageOracle(HTMLParser):
    """Page-level checks, plus the text of the <title>, the <h1> and each topic link."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.texts: dict[str, list[str]] = {}  # "title", "h1", "topic:<id>" -> text pieces
        self._open: list[str] = []  # capture keys of the elements we are inside
        self._in_script = False

    def _element(self, tag: str, attrs) -> str | None:
        if tag == "script" and not _is_site_script(attrs):
            self.problems.append(f"<script> element: {attrs!r}")
        if tag not in PAGE_TAGS:
            self.problems.append(f"element <{tag}> is used by no template and no post")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in URL_ATTRIBUTES and (problem := _url_problem(name, value)):
                self.problems.append(f"<{tag}> {problem}")
        for key in self._open:  # the title, h1 and topic links hold text only
            self.problems.append(f"element <{tag}> inside the {key} (it should be plain text)")
        if tag in ("title", "h1"):
            return tag
        match = _TOPIC_LINK.match(dict(attrs).get("href") or "") if tag == "a" else None
        return f"topic:{match.group(1)}" if match else None

    def handle_starttag(self, tag, attrs):
        key = self._element(tag, attrs)
        self._in_script = tag == "script"
        if key is not None:
            self.texts.setdefault(key, [])
            self._open.append(key)

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        if self._open and (
            self._open[-1] == tag or (tag == "a" and self._open[-1].startswith("topic:"))
        ):
            self._open.pop()

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline script code: {data[:60]!r}")
        for key in self._open:
            self.texts[key].append(data)

    def text(self, key: str) -> str | None:
        return "".join(self.texts[key]) if key in self.texts else None


def check_page(page_html: str) -> _PageOracle:
    oracle = _PageOracle()
    _feed(oracle, page_html)
    return oracle


@dataclass(frozen=True)
class Payload:
    source: str  # "folder/file:line"
    text: str


def _load_payloads() -> list[Payload]:
    payloads = []
    for path in sorted((DATA / "PayloadsAllTheThings").glob("*.txt")):
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            line = line.removesuffix("\r")  # xss_alert.txt has CRLF line ends
            if line:
                payloads.append(Payload(f"PayloadsAllTheThings/{path.name}:{number}", line))
    # Split on "\n" only: a payload may hold a raw U+2028, where splitlines() would cut it.
    jsonl = (DATA / "DOMPurify" / "payloads.jsonl").read_text(encoding="utf-8")
    for number, line in enumerate(jsonl.split("\n"), 1):
        if line:
            payloads.append(
                Payload(f"DOMPurify/payloads.jsonl:{number}", json.loads(line)["payload"])
            )
    return payloads


PAYLOADS = _load_payloads()
