"""The content pipeline: member Markdown in, safe HTML out.

This is the only place HTML is made from user text. It runs once, when a post
is written; pages, feeds and mail show the stored result.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import unquote

import nh3
from markdown_it import MarkdownIt

if TYPE_CHECKING:
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "hr",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "blockquote",
        "pre",
        "code",
        "em",
        "strong",
        "del",
        "s",
        "a",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

# Pages have one h1 (the topic title) and h2 per post: a post's "# Heading" becomes h3.
HEADING_SHIFT = 2

# linkify: members paste bare addresses ("www.samaritans.org") and expect them to work.
_md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False})
_md.enable(["strikethrough", "linkify"])
# Images would make readers' browsers fetch from other hosts; show them as links.
_md.disable("image")


def _shift_heading(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    level = min(int(token.tag[1]) + HEADING_SHIFT, 6)
    token.tag = f"h{level}"
    return self.renderToken(tokens, idx, options, env)


_md.add_render_rule("heading_open", _shift_heading)
_md.add_render_rule("heading_close", _shift_heading)


def is_invisible_or_control(char: str) -> bool:
    """Control, format (zero-width, bidi overrides), separators other than space."""
    return unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _is_safe_href(value: str) -> bool:
    # nh3 treats "javascript\u200b:alert(1)" as a harmless relative link; a mail
    # client that strips the invisible character (or decodes %E2%80%8B first)
    # would not. Judge the scheme as the most lenient reader would see it.
    if any(is_invisible_or_control(char) for char in value):
        return False
    for candidate in (value, unquote(value)):
        head = re.split(r"[/?#]", candidate, maxsplit=1)[0]
        if ":" not in head:
            continue  # a relative link: no scheme to run
        scheme = head.split(":", 1)[0]
        visible = "".join(
            char for char in scheme if not (is_invisible_or_control(char) or char.isspace())
        )
        if visible != scheme or visible.lower() not in ALLOWED_URL_SCHEMES:
            return False
    return True


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href" and not _is_safe_href(value):
        return None
    if attribute == "start" and not value.isdigit():
        return None
    return value


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_post(markdown_source: str) -> str:
    """Markdown source -> sanitised HTML, ready to store."""
    return sanitise_html(_md.render(markdown_source))


_WHITESPACE = re.compile(r"\s+")


def clean_single_line(text: str) -> str:
    """For titles and labels: NFC, no invisible or control characters, one line."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or not is_invisible_or_control(char)
    )
    return _WHITESPACE.sub(" ", text).strip()


def clean_body(text: str) -> str:
    """Normalise line endings and drop invisible/control characters except newlines and tabs."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "".join(
        char for char in text if char in "\n\t" or not is_invisible_or_control(char)
    ).strip("\n")


def quote_markdown(author_name: str, source: str) -> str:
    """The Markdown a reply starts with when it quotes a post."""
    quoted = "\n".join(f"> {line}" if line else ">" for line in source.splitlines())
    return f"> **{author_name}** wrote:\n>\n{quoted}\n\n"
