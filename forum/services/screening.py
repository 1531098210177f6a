"""Screening: what the checks make of a post about to be written (or rewritten), and the
review item it opens when moderators should see it.

Staff posts are not screened. A blocked word refuses the post (its text stays in the form);
personal details, a watched word, a pre-moderated board or a member not yet trusted hold it
for review; crisis language never blocks it, but the author sees the helplines at once and
moderators see it first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from .. import permissions, safety
from ..extensions import db
from ..models import (
    Board,
    BoardMode,
    Post,
    ReviewCategory,
    ReviewKind,
    ReviewStatus,
    User,
    WatchedPhrase,
)
from . import ServiceError
from .review_items import add_system_reasons, item_for_post, new_item, record_event, reopen


@dataclass(frozen=True)
class Screening:
    """What the checks made of a post about to be written."""

    hold: ReviewCategory | None = None  # the category it waits under, or None to publish now
    reasons: list[tuple[ReviewCategory, str]] = field(default_factory=list)  # (category, detail)
    crisis: bool = False  # the author should see the helplines at once
    member_message: str | None = None  # why it waits, in the author's words


def load_phrases() -> list[safety.Phrase]:
    rows = db.session.execute(
        sa.select(WatchedPhrase.phrase, WatchedPhrase.phrase_key, WatchedPhrase.action)
    )
    return [safety.Phrase(phrase, key, action) for phrase, key, action in rows]


def screen(author: User, board: Board, draft, is_edit: bool = False) -> Screening:
    """Decide whether a post goes out now, waits, or is refused (ServiceError).

    Staff posts are not screened: moderators quote hard words when they explain
    the guidelines, and their posts need no second pair of eyes.
    """
    if permissions.is_staff(author):
        return Screening()
    text = "\n".join(
        part for part in (draft.title, draft.content_warning, draft.body_source) if part
    )
    found = safety.assess(text, load_phrases())
    if found.blocked and not found.crisis:
        words = ", ".join(f"“{word}”" for word in found.blocked)
        raise ServiceError(
            f"Your post includes {words}, which this forum does not allow. "
            "Please change it and post again: your text is still here.",
            field="body",
        )
    reasons = list(found.reasons)
    hold, message = _hold_for_words(found)
    if board.mode == BoardMode.PREMODERATED:
        hold = hold or ReviewCategory.PREMODERATED
        reasons.append((ReviewCategory.PREMODERATED, f"Every post in {board.name} is reviewed"))
    # Until they are trusted, a member's edits wait too: otherwise an approved post
    # could be rewritten into anything.
    if not permissions.is_trusted(author):
        hold = hold or ReviewCategory.NEW_MEMBER
        reasons.append((ReviewCategory.NEW_MEMBER, _new_member_detail(is_edit)))
    if hold and message is None:
        message = (
            "Welcome! A moderator looks at new members' first posts before others see them."
            if hold == ReviewCategory.NEW_MEMBER
            else "Every post in this board is seen by a moderator first."
        )
    # A post that needs a look is held when a hold reason applies; otherwise, if it
    # only has flags or crisis language, it goes out and moderators still see it first.
    return Screening(hold=hold, reasons=reasons, crisis=bool(found.crisis), member_message=message)


def _hold_for_words(found: safety.Assessment) -> tuple[ReviewCategory | None, str | None]:
    """(the category the post's own words hold it under, what its author is told)."""
    if found.personal:
        return ReviewCategory.PERSONAL_DETAILS, (
            "To protect your privacy, a moderator will look at your post before others "
            f"see it: it seems to include {' and '.join(found.personal)}."
        )
    if found.held or found.blocked:
        return (
            ReviewCategory.WATCHED_WORD,
            "A moderator will look at your post before others see it.",
        )
    return None, None


def _new_member_detail(is_edit: bool) -> str:
    if is_edit:
        return "An edit by a member who is not yet trusted"
    return f"One of a new member's first {current_app.config['NEW_MEMBER_REVIEW_POSTS']} posts"


def raise_for_new_post(post: Post, board_id: int, screening: Screening) -> None:
    """Within the posting transaction: open an item if the screening found anything."""
    if not screening.reasons:
        return
    db.session.flush()
    kind = ReviewKind.HELD_POST if screening.hold else ReviewKind.FLAGGED_POST
    item = new_item(kind, post_id=post.id, board_id=board_id, category=screening.reasons[0][0])
    add_system_reasons(item, screening.reasons)
    record_event(item, None, "raised", "; ".join(detail for _, detail in screening.reasons))


def raise_for_edited_post(post: Post, board_id: int, screening: Screening) -> None:
    if not screening.reasons:
        return
    kind = ReviewKind.HELD_POST if screening.hold else ReviewKind.FLAGGED_POST
    item = item_for_post(post, board_id, kind)
    if item.status != ReviewStatus.PENDING:
        reopen(item, kind)
    add_system_reasons(item, screening.reasons)
    item.version += 1
    record_event(
        item, None, "raised after an edit", "; ".join(detail for _, detail in screening.reasons)
    )
