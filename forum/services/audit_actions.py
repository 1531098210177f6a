"""The names the audit log uses: every action admins and moderators can write, and every
kind of thing an entry is about. The audit page offers them as its filters.
"""

from __future__ import annotations

from . import review_actions

#: Every action name the admin pages write, for the audit page's suggestions.
ADMIN_ACTIONS = (
    "board.create",
    "board.update",
    "member.role",
    "watched_word.add",
    "watched_word.remove",
    "crisis_phrase.add",
    "crisis_phrase.remove",
    "reason_template.create",
    "reason_template.update",
    "reason_template.delete",
    "moderation_hours.update",
    "helpline.create",
    "helpline.update",
    "helpline.delete",
)


#: What moderators' actions write (forum/services/review_actions.py, posting.edit_post).
MODERATOR_ACTIONS = (
    *(f"review.{name}" for name in review_actions.ACTIONS),
    "review.claim",
    "review.release",
    "post.edit",
)


#: Every action name in the log, offered as the audit page's filter.
KNOWN_ACTIONS = ADMIN_ACTIONS + MODERATOR_ACTIONS
#: What an entry can be about, offered as the audit page's other filter.
TARGET_TYPES = (
    "board",
    "user",
    "watched_phrase",
    "reason_template",
    "site_text",
    "helpline",
    "review_item",
    "post",
)
