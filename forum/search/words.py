"""Words: what a query's words are, how they compare, and what of a post is text.

Search input is only ever words (terms()): quotes, brackets, operators such as NEAR,
AND or *, and anything else that is not a letter, mark or digit separate words and
are otherwise ignored, so no input is query syntax. Diacritics are folded here (fold())
on the way into the PostgreSQL index and on the way out, which is what unicode61's
remove_diacritics does on SQLite, so both engines find the same posts.
"""

from __future__ import annotations

import html
import re
import unicodedata

import nh3
from markupsafe import Markup, escape

#: How much of a query is read at all (the form's maxlength says the same).
MAX_QUERY_CHARS = 200
EXCERPT_CHARS = 240


def _is_word_char(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LNM" or category == "Co"


def terms(query: str) -> list[str]:
    """The words of a query: runs of letters, marks and digits, in order, no repeats.

    Everything else (spaces, punctuation, quotes, symbols, emoji, NUL) separates words.
    """
    found: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFC", query[:MAX_QUERY_CHARS]) + " ":
        if _is_word_char(char):
            current.append(char)
        elif current:
            word = "".join(current)
            if fold(word) not in (fold(seen) for seen in found):
                found.append(word)
            current = []
    return found


def fold(text: str) -> str:
    """Lowercase, compatibility forms unified, diacritics removed (é -> e, ﬁ -> fi)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if unicodedata.category(char) != "Mn")
    return unicodedata.normalize("NFKC", stripped.casefold())


def plain_text(body_html: str) -> str:
    """What readers read of a post: tags dropped, quoted posts left out, one line."""
    # Sanitised HTML has no bare "<" in text: a space before each tag keeps
    # "<p>one</p><p>two</p>" as two words.
    text = nh3.clean(
        body_html.replace("<", " <"), tags=set(), attributes={}, clean_content_tags={"blockquote"}
    )
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def _tokens(text: str):
    """(start, end) of each word in the text, as terms() splits words."""
    start = None
    for index, char in enumerate(text):
        if _is_word_char(char):
            if start is None:
                start = index
        elif start is not None:
            yield start, index
            start = None
    if start is not None:
        yield start, len(text)


def excerpt(text: str, folded_terms: set[str], limit: int = EXCERPT_CHARS) -> Markup:
    """Escaped text around the first matching word, the matches in <mark>."""
    spans = []
    first = None
    for start, end in _tokens(text):
        if first is not None and start > first + limit:
            break
        if fold(text[start:end]) in folded_terms:
            spans.append((start, end))
            if first is None:
                first = start
    if first is None:  # only the title matched
        begin = 0
    else:
        begin = max(0, first - limit // 3)
        if begin:
            space = text.rfind(" ", 0, begin)
            begin = space + 1 if space >= 0 and begin - space < 30 else begin
    end = min(len(text), begin + limit)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > begin + limit // 2 else end
    parts = [Markup("…") if begin else Markup("")]
    position = begin
    for start, stop in spans:
        if start < begin or stop > end:
            continue
        parts.append(escape(text[position:start]))
        parts.append(Markup("<mark>") + escape(text[start:stop]) + Markup("</mark>"))
        position = stop
    parts.append(escape(text[position:end]))
    if end < len(text):
        parts.append(Markup("…"))
    return Markup("").join(parts)
