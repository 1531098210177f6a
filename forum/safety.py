"""Checks made on every post before it is stored: watched words, crisis
language and personal details. Pure functions over text, plus one loader.

Matching works on words, never on patterns supplied by users: text and
phrases are normalised the same way (NFKC, case-folded) and split into words,
and a phrase matches where its words appear in a row. That makes "Self-Harm",
"self harm" and "SELF  HARM" the same, keeps "class" from matching "ass", and
runs in time proportional to the text whatever the list holds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from .models.enums import ReviewCategory, WatchedAction

WORD = re.compile(r"\w+")

#: Why an item is in the review queue: (priority, label). Higher goes first;
#: a member at risk before harassment, before personal details, before
#: held new-member posts, before spam.
CATEGORIES: dict[ReviewCategory, tuple[int, str]] = {
    ReviewCategory.AT_RISK: (100, "Someone may be at risk"),
    ReviewCategory.HARASSMENT: (80, "Harassment or hate"),
    ReviewCategory.PERSONAL_DETAILS: (60, "Sharing personal details"),
    ReviewCategory.WATCHED_WORD: (50, "Watched word"),
    ReviewCategory.ACCOUNT: (45, "Account to review"),
    ReviewCategory.NEW_MEMBER: (40, "New member's post"),
    ReviewCategory.PREMODERATED: (40, "Pre-moderated board"),
    ReviewCategory.OTHER: (30, "Something else"),
    ReviewCategory.SPAM: (20, "Spam"),
}
#: Each further report on an item adds this much, up to REPORT_BOOST_MAX, which
#: stays below the gap between categories so more reports never reorder them.
REPORT_BOOST, REPORT_BOOST_MAX = 2, 9

#: Content about self-harm or violence: collapsed on the moderator's item page.
SENSITIVE_CATEGORIES = frozenset({ReviewCategory.AT_RISK, ReviewCategory.HARASSMENT})

#: The reasons a member can choose when reporting a post, in the order offered.
REPORT_REASONS = (
    ReviewCategory.AT_RISK,
    ReviewCategory.HARASSMENT,
    ReviewCategory.PERSONAL_DETAILS,
    ReviewCategory.SPAM,
    ReviewCategory.OTHER,
)

WATCHED_ACTIONS = (WatchedAction.BLOCK, WatchedAction.HOLD, WatchedAction.FLAG)
CRISIS = WatchedAction.CRISIS


def priority_of(category: ReviewCategory) -> int:
    return CATEGORIES[category][0]


def label_of(category: ReviewCategory) -> str:
    return CATEGORIES.get(category, (0, category))[1]


def words(text: str) -> list[str]:
    return WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def phrase_key(phrase: str) -> str:
    """The form a phrase is stored and compared in: its words, single-spaced."""
    return " ".join(words(phrase))


# Personal details. Fixed patterns written here (never from users), each
# bounded so that no input makes them backtrack for long.
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
# 9 to 15 digits, optionally led by +, with spaces, dots, dashes or brackets between.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[ .()-]{0,2}\d){8,14}(?![\w])")
# Dates are taken out before looking for phone numbers: "2024-01-15 10:30" and
# "15.01.2024 10:30" have as many digits as a phone number.
_DATE = re.compile(r"(?<!\d)(?:\d{4}-\d{2}-\d{2}|\d{1,2}([./-])\d{1,2}\1\d{4})(?!\d)")
_STREET = re.compile(
    r"\b\d{1,5}[A-Za-z]?,?[ \t]+(?:[A-Z][\w'’.-]{0,30}[ \t]+){1,3}"
    r"(?i:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|court|ct|close"
    r"|crescent|place|pl|terrace|way|gardens|grove|square|sq)\b"
)
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[ABD-HJLNP-UW-Z]{2}\b")


def personal_details(text: str) -> list[str]:
    """What the text seems to share, in words a member understands."""
    text = unicodedata.normalize("NFKC", text)
    found = []
    if _EMAIL.search(text):
        found.append("an email address")
    if _PHONE.search(_DATE.sub(" ", text)):
        found.append("a phone number")
    if _STREET.search(text) or _UK_POSTCODE.search(text):
        found.append("a street address")
    return found


@dataclass(frozen=True)
class Phrase:
    phrase: str  # as the admin wrote it, for messages
    key: str  # phrase_key(phrase)
    action: str  # a WatchedAction, or a member's mute (forum.personal_filters)


class PhraseMatcher:
    """Finds listed phrases in text, word by word."""

    def __init__(self, phrases: Iterable[Phrase]):
        self._by_first_word: dict[str, list[tuple[tuple[str, ...], Phrase]]] = {}
        for phrase in phrases:
            key_words = tuple(phrase.key.split())
            if key_words:
                self._by_first_word.setdefault(key_words[0], []).append((key_words, phrase))

    def find(self, text: str) -> list[Phrase]:
        text_words = words(text)
        found: dict[tuple[str, str], Phrase] = {}
        for start, word in enumerate(text_words):
            for key_words, phrase in self._by_first_word.get(word, ()):
                if tuple(text_words[start : start + len(key_words)]) == key_words:
                    found.setdefault((phrase.key, phrase.action), phrase)
        return list(found.values())


@dataclass(frozen=True)
class Assessment:
    """What the checks found in one post; the moderation service decides what it means."""

    crisis: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    flagged: tuple[str, ...] = ()
    personal: tuple[str, ...] = ()
    reasons: list[tuple[ReviewCategory, str]] = field(default_factory=list)


def assess(text: str, phrases: Iterable[Phrase]) -> Assessment:
    matches = PhraseMatcher(phrases).find(text)

    def matched(action: str) -> tuple[str, ...]:
        return tuple(sorted(match.phrase for match in matches if match.action == action))

    crisis, personal = matched(CRISIS), tuple(personal_details(text))
    blocked, held = matched(WatchedAction.BLOCK), matched(WatchedAction.HOLD)
    flagged = matched(WatchedAction.FLAG)
    reasons: list[tuple[ReviewCategory, str]] = []
    if crisis:
        reasons.append((ReviewCategory.AT_RISK, "Crisis language: " + ", ".join(crisis)))
    if personal:
        reasons.append(
            (ReviewCategory.PERSONAL_DETAILS, "Looks like it shares " + ", ".join(personal))
        )
    if blocked and crisis:
        # Not refused (a member at risk is never turned away), but never published unseen.
        reasons.append(
            (
                ReviewCategory.WATCHED_WORD,
                "Blocked words, held because of crisis language: " + ", ".join(blocked),
            )
        )
    if held or flagged:
        reasons.append((ReviewCategory.WATCHED_WORD, "Watched words: " + ", ".join(held + flagged)))
    return Assessment(
        crisis=crisis,
        blocked=blocked,
        held=held,
        flagged=flagged,
        personal=personal,
        reasons=reasons,
    )
