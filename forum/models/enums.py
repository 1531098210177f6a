"""The fixed vocabularies stored in the models' string columns.

Each is a StrEnum, so a member compares equal to (and is stored as) its value.
"""

import enum


class Role(enum.StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


class PostStatus(enum.StrEnum):
    PUBLISHED = "published"
    PENDING = "pending"  # waiting for a moderator; only its author (and moderators) see it
    REJECTED = "rejected"  # a moderator turned it down; its author got the text back
    HIDDEN = "hidden"  # taken out of view by a moderator or by members' reports
    REMOVED = "removed"  # deleted by a moderator: a placeholder stays in the thread
    DELETED = "deleted"  # removed by its author: a placeholder stays in the thread


class BoardMode(enum.StrEnum):
    OPEN = "open"  # trusted members' posts go out at once
    PREMODERATED = "premoderated"  # every post waits for a moderator
    LOCKED = "locked"  # read-only


class ReviewKind(enum.StrEnum):
    HELD_POST = "held_post"
    REPORTED_POST = "reported_post"
    FLAGGED_POST = "flagged_post"
    ACCOUNT = "account"


class ReviewCategory(enum.StrEnum):
    """Why an item is in the review queue: a member's report reason or a check's finding.

    Their priorities and labels are in forum.safety.CATEGORIES.
    """

    AT_RISK = "at_risk"
    HARASSMENT = "harassment"
    PERSONAL_DETAILS = "personal_details"
    WATCHED_WORD = "watched_word"
    ACCOUNT = "account"
    NEW_MEMBER = "new_member"
    PREMODERATED = "premoderated"
    OTHER = "other"
    SPAM = "spam"


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISMISSED = "dismissed"


class DigestFrequency(enum.StrEnum):
    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"


class MailKind(enum.StrEnum):
    """The kinds of mail a member can turn off, each on its own (account mail is not one:
    a member asks for it)."""

    DIGEST = "digest"
    REPLY = "reply"
    QUOTE = "quote"
    MODERATION = "moderation"


class DigestStatus(enum.StrEnum):
    """What became of one member's digest for one period (DigestDelivery)."""

    QUEUED = "queued"  # it had news: its mail is in the outbox
    EMPTY = "empty"  # nothing new: no mail
    FAILED = "failed"  # it could not be built: its news waits for the next one


class NoticeKind(enum.StrEnum):
    """What a notice on a member's notices page is about."""

    REPLY = "reply"  # a reply to their topic
    QUOTE = "quote"  # a reply quoting their post
    APPROVED = "approved"  # their waiting post was approved
    REJECTED = "rejected"  # their post was turned down (its text given back)
    HIDDEN = "hidden"  # a moderator hid their post
    REMOVED = "removed"  # a moderator deleted their post
    SUSPENDED = "suspended"
    BANNED = "banned"


class WatchedAction(enum.StrEnum):
    """What a watched phrase does to a post that contains it."""

    BLOCK = "block"  # refused; the member is told why and keeps their text
    HOLD = "hold"  # waits for a moderator
    FLAG = "flag"  # published, and moderators are asked to look
    CRISIS = "crisis"  # on the crisis-language list, not a watched word


class TokenPurpose(enum.StrEnum):
    """What a single-use token mailed to a member is for."""

    VERIFY = "verify"  # confirming their address
    RESET = "reset"  # choosing a new password


class ReactionKind(enum.StrEnum):
    """Supportive reactions; only the post's author sees how many, nothing is ranked by them."""

    THINKING_OF_YOU = "thinking_of_you"
    I_HEAR_YOU = "i_hear_you"
    HELPED_ME = "helped_me"
    ME_TOO = "me_too"
