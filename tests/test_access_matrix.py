"""Every route, as every kind of visitor: nothing is allowed that should not be.

One table, EXPECTED, says what each role gets from each route, for every method
the route allows. It is keyed by endpoint, and a test checks that it names
exactly the endpoints in the app's URL map: a new route fails the suite until
someone writes down who may use it.

Each role is walked on a fresh database (the `app` fixture is per test), so a
POST that succeeds (a reply posted, an item dismissed) cannot change what a
later role sees. Routes that destroy their target (delete a post, remove a
helpline) point at a target of their own, so later rows do not depend on them.
A refused POST must leave every table exactly as it was.

Cells:
    200, 400, 403, 404   that status
    LOGIN                302 to /login?next=<this page> (logged out)
    VERIFY               302 to /account: "confirm your email address first"
    AWAY                 302 to / from a page for logged-out visitors only
    To(regex)            302 whose Location path matches: the request did its work
    SKIPPED              302 back to the queue, having done nothing (bulk, items not theirs)
LOGIN, VERIFY, AWAY, SKIPPED, 400, 403 and 404 are refusals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import url_for

from forum.extensions import db
from forum.models import (
    Block,
    Board,
    BoardMode,
    DigestFrequency,
    Helpline,
    MailKind,
    MutedPhrase,
    Post,
    ReasonTemplate,
    ReviewItem,
    Topic,
    User,
    WatchedPhrase,
    utcnow,
)
from forum.safety import phrase_key
from forum.services import accounts, mail_settings, moderation, review_items, transaction
from tests.helpers.app import TEST_PASSWORD, log_in

ROLES = (
    "anonymous",
    "unverified",
    "member",
    "other_member",
    "suspended",
    "other_moderator",
    "moderator",
    "admin",
)

# Who logs in for each role (see build_world).
LOGINS = {
    "anonymous": None,
    "unverified": "unverified",
    "member": "member",
    "other_member": "other",
    "suspended": "suspended",
    "other_moderator": "gardener",
    "moderator": "warden",
    "admin": "boss",
}


@dataclass(frozen=True)
class To:
    """A 302 whose Location path matches `path` (a regular expression)."""

    path: str
    refused: bool = False

    def __repr__(self) -> str:
        return f"302 to {self.path}" + (" (refused)" if self.refused else "")


LOGIN = To("/login", refused=True)  # and ?next= is the page that was asked for
VERIFY = To("/account", refused=True)
AWAY = To("/", refused=True)
SKIPPED = To("/review", refused=True)
HOME = To("/")
TOPIC = To(r"/t/\d+")
POSTED = To(r"/p/\d+")
REVIEW = To("/review")
ITEM = To(r"/review/\d+")
ACCOUNT = To("/account")
NOTICES = To("/notices")
LOUNGE = To("/b/lounge")
MAIL = To("/settings/mail")
PROFILE = To("/u/member")
PRIVACY = To("/settings/privacy")

REFUSED_STATUSES = {400, 403, 404, 405, 409}
G, P = "GET", "POST"

# Targets (the URL arguments each row fills in) are named in build_world's `targets`:
#   -              no arguments
#   lounge         public, open board; `moderator` moderates it, `other_moderator` does not
#   private        members-only board
#   garden         locked board, moderated by `other_moderator`
#   topic          a published topic in lounge started by `member`
#   waiting topic  a new member's topic, held for review (pending)
#   private topic  a topic in the members-only board
#   locked topic   a locked topic in lounge, with `locked reply` by `member`
#   reply          `member`'s published reply in `topic`, reported by a bystander
#   doomed reply   another of `member`'s replies, for the delete route
#   suspended's    a reply `suspended` wrote before being suspended
#   waiting post   the first post of `waiting topic`
#   rejected post  `member`'s post that a moderator rejected
#   report item    the review item on `reply` (board lounge)
#   spam item      a reported spam reply in lounge: the item acted on
#   (held item     a new member's held reply in lounge: the item bulk-approved, in the form)
#   account item   an account review item (no board)
#   unsubscribe link  the link in a bystander's daily digest; dead link: a made-up one
# The admin targets (a helpline, a reason template, a watched phrase...) are named for
# what happens to them.

EXPECTED: dict[str, list[tuple]] = {
    # endpoint:  (method, target,   anon,  unverif, member, other, suspend, mod-B, mod-A, admin)
    # --- accounts ----------------------------------------------------------------------
    "auth.account": [(G, "-", LOGIN, 200, 200, 200, 200, 200, 200, 200)],
    # Sent without the current password: the role's session (walked on) must survive.
    "auth.change_password": [
        (G, "-", LOGIN, 200, 200, 200, 200, 200, 200, 200),
        (P, "-", LOGIN, 400, 400, 400, 400, 400, 400, 400),
    ],
    "auth.check_email": [(G, "-", 200, 200, 200, 200, 200, 200, 200, 200)],
    "auth.login": [
        (G, "-", 200, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY),
        # anonymous logs in as a bystander (on a throwaway session)
        (P, "-", HOME, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY),
    ],
    "auth.logout": [(P, "-", HOME, HOME, HOME, HOME, HOME, HOME, HOME, HOME)],
    "auth.register": [
        (G, "-", 200, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY),
        (P, "-", To("/register/check-email"), AWAY, AWAY, AWAY, AWAY, AWAY, AWAY, AWAY),
    ],
    "auth.request_reset": [
        (G, "-", 200, 200, 200, 200, 200, 200, 200, 200),
        (P, "-", 200, 200, 200, 200, 200, 200, 200, 200),
    ],
    # A bystander's real reset link: public, like the mail it came in.
    "auth.reset_password": [
        (G, "reset token", 200, 200, 200, 200, 200, 200, 200, 200),
        (
            P,
            "reset token",
            To("/login"),
            To("/login"),
            To("/login"),
            To("/login"),
            To("/login"),
            To("/login"),
            To("/login"),
            To("/login"),
        ),
    ],
    "auth.resend_verification": [
        (P, "-", LOGIN, ACCOUNT, ACCOUNT, ACCOUNT, ACCOUNT, ACCOUNT, ACCOUNT, ACCOUNT)
    ],
    # A bystander's real confirmation link.
    "auth.verify_email": [
        (G, "verify token", To("/login"), HOME, HOME, HOME, HOME, HOME, HOME, HOME)
    ],
    # Taking one's data and leaving. The download is a POST (a ZIP of one's own data).
    "leaving.download": [(P, "-", LOGIN, 200, 200, 200, 200, 200, 200, 200)],
    # Sent without the password: refused, the role's session survives. Admins step down
    # first (the page says so; sending the form is refused).
    "leaving.delete_account": [
        (G, "-", LOGIN, 200, 200, 200, 200, 200, 200, 200),
        (P, "-", LOGIN, 400, 400, 400, 400, 400, 400, 403),
    ],
    "leaving.scheduled": [(G, "-", 200, 200, 200, 200, 200, 200, 200, 200)],
    # --- reading -----------------------------------------------------------------------
    "boards.index": [(G, "-", 200, 200, 200, 200, 200, 200, 200, 200)],
    # Open to all; what each finds is tested in tests/test_search.py.
    "search.search": [(G, "-", 200, 200, 200, 200, 200, 200, 200, 200)],
    "boards.board": [
        (G, "lounge", 200, 200, 200, 200, 200, 200, 200, 200),
        # a members-only board does not reveal that it exists
        (G, "private", 404, 200, 200, 200, 200, 200, 200, 200),
    ],
    "boards.topic": [
        (G, "topic", 200, 200, 200, 200, 200, 200, 200, 200),
        # a waiting topic: its author and the board's moderators only
        (G, "waiting topic", 404, 404, 404, 404, 404, 404, 200, 200),
        (G, "private topic", 404, 200, 200, 200, 200, 200, 200, 200),
    ],
    "boards.permalink": [
        (G, "reply", TOPIC, TOPIC, TOPIC, TOPIC, TOPIC, TOPIC, TOPIC, TOPIC),
        # no permalink for a waiting post, even for moderators (they open the review item)
        (G, "waiting post", 404, 404, 404, 404, 404, 404, 404, 404),
    ],
    "boards.history": [(G, "reply", LOGIN, 403, 403, 403, 403, 403, 200, 200)],
    # --- writing -----------------------------------------------------------------------
    "boards.new_topic": [
        (G, "lounge", LOGIN, VERIFY, 200, 200, 403, 200, 200, 200),
        (P, "lounge", LOGIN, VERIFY, TOPIC, TOPIC, 403, TOPIC, TOPIC, TOPIC),
        # a locked board: read-only except for its own moderators (and admins)
        (G, "garden", LOGIN, VERIFY, 403, 403, 403, 200, 403, 200),
    ],
    "boards.reply": [
        (G, "topic", LOGIN, VERIFY, 200, 200, 403, 200, 200, 200),
        (P, "topic", LOGIN, VERIFY, POSTED, POSTED, 403, POSTED, POSTED, POSTED),
        # moderators can see a waiting topic, but nobody replies to it
        (G, "waiting topic", LOGIN, VERIFY, 404, 404, 404, 404, 403, 403),
        # a locked topic: only the board's moderators (and admins) still reply
        (G, "locked topic", LOGIN, VERIFY, 403, 403, 403, 403, 200, 200),
    ],
    # "May edit a post = moderator of its board, or its author while the topic is open"
    # (the issue; permissions.can_edit_post). The board's moderator and admins may edit.
    # FAILS today: the view and posting.edit_post ask can_delete_own_post (author only),
    # and can_edit_post is used nowhere, so mod-A and admin get 403.
    "boards.edit": [
        (G, "reply", LOGIN, VERIFY, 200, 403, 403, 403, 200, 200),
        (P, "reply", LOGIN, VERIFY, POSTED, 403, 403, 403, POSTED, POSTED),
        # its author, while suspended, may not (reading only)
        (G, "suspended's", LOGIN, VERIFY, 403, 403, 403, 403, 200, 200),
        # ... nor once the topic is locked
        (G, "locked reply", LOGIN, VERIFY, 403, 403, 403, 403, 200, 200),
    ],
    # "Delete my post" is the author's own button; moderators delete from the review item.
    "boards.delete": [
        (G, "doomed reply", LOGIN, VERIFY, 200, 403, 403, 403, 403, 403),
        (P, "doomed reply", LOGIN, VERIFY, POSTED, 403, 403, 403, 403, 403),
    ],
    # Supportive reactions: not on one's own post, not while suspended (taking one back
    # is), not in a locked topic except for its moderators, never on a waiting post.
    "reactions.react": [
        (P, "reply", LOGIN, VERIFY, 403, TOPIC, 403, TOPIC, TOPIC, TOPIC),
        (P, "locked reply", LOGIN, VERIFY, 403, 403, 403, 403, TOPIC, TOPIC),
        (P, "waiting post", LOGIN, VERIFY, 404, 404, 404, 404, 404, 404),
    ],
    "moderation.report": [
        # nobody reports their own post; a suspended member may not report
        (G, "reply", LOGIN, VERIFY, 403, 200, 403, 200, 200, 200),
        (P, "reply", LOGIN, VERIFY, 403, TOPIC, 403, TOPIC, TOPIC, TOPIC),
        (G, "waiting post", LOGIN, VERIFY, 404, 404, 404, 404, 404, 404),
    ],
    # --- members' own pages ----------------------------------------------------------
    "moderation.notices": [
        (G, "-", LOGIN, 200, 200, 200, 200, 200, 200, 200),
        (P, "-", LOGIN, NOTICES, NOTICES, NOTICES, NOTICES, NOTICES, NOTICES, NOTICES),
    ],
    # a rejected post's text goes back to its author only: not even admins read it here
    "moderation.returned_post": [(G, "rejected post", LOGIN, 404, 200, 404, 404, 404, 404, 404)],
    # only its author withdraws a waiting or returned post (its words are then erased)
    "moderation.withdraw": [
        (P, "rejected post", LOGIN, 404, NOTICES, 404, 404, 404, 404, 404),
        (P, "waiting post", LOGIN, 404, 404, 404, 404, 404, 404, 404),
    ],
    # --- following, and members' mail ------------------------------------------------
    "mail_settings.follow_board": [
        (P, "lounge", LOGIN, LOUNGE, LOUNGE, LOUNGE, LOUNGE, LOUNGE, LOUNGE, LOUNGE),
        # a members-only board: any member may follow it
        (
            P,
            "private",
            LOGIN,
            To("/b/private"),
            To("/b/private"),
            To("/b/private"),
            To("/b/private"),
            To("/b/private"),
            To("/b/private"),
            To("/b/private"),
        ),
    ],
    "mail_settings.follow_topic": [
        (P, "topic", LOGIN, TOPIC, TOPIC, TOPIC, TOPIC, TOPIC, TOPIC, TOPIC),
        # a waiting topic does not reveal that it exists, except to its board's moderators
        (P, "waiting topic", LOGIN, 404, 404, 404, 404, 404, TOPIC, TOPIC),
    ],
    "mail_settings.settings": [
        (G, "-", LOGIN, 200, 200, 200, 200, 200, 200, 200),
        (P, "-", LOGIN, MAIL, MAIL, MAIL, MAIL, MAIL, MAIL, MAIL),
    ],
    "mail_settings.resume": [(P, "-", LOGIN, MAIL, MAIL, MAIL, MAIL, MAIL, MAIL, MAIL)],
    # A bystander's mailed link: it works for whoever holds it, logged in or not, as the
    # one-click POST from their mail provider must (RFC 8058).
    "mail_settings.unsubscribe": [
        (G, "unsubscribe link", 200, 200, 200, 200, 200, 200, 200, 200),
        (P, "unsubscribe link", 200, 200, 200, 200, 200, 200, 200, 200),
        (G, "dead link", 404, 404, 404, 404, 404, 404, 404, 404),
    ],
    # --- profiles, blocks and mutes -----------------------------------------------------
    # A profile exists only where the member's posts already show them (no enumeration).
    "members.profile": [
        (G, "profile", 200, 200, 200, 200, 200, 200, 200, 200),
        (G, "no-post profile", 404, 404, 404, 404, 404, 404, 404, 404),
    ],
    # Blocking is reading, not posting: any member may (blocking oneself only says no).
    "members.block": [
        (P, "profile", LOGIN, PROFILE, PROFILE, PROFILE, PROFILE, PROFILE, PROFILE, PROFILE),
        (P, "no-post profile", LOGIN, 404, 404, 404, 404, 404, 404, 404),
    ],
    # Only one's own block list: `member` blocked the spammer.
    "members.unblock": [(P, "blocked", LOGIN, 404, PRIVACY, 404, 404, 404, 404, 404)],
    "members.privacy": [
        (G, "-", LOGIN, 200, 200, 200, 200, 200, 200, 200),
        (P, "-", LOGIN, PRIVACY, PRIVACY, PRIVACY, PRIVACY, PRIVACY, PRIVACY, PRIVACY),
    ],
    "members.add_phrase": [
        (P, "-", LOGIN, PRIVACY, PRIVACY, PRIVACY, PRIVACY, PRIVACY, PRIVACY, PRIVACY)
    ],
    # `member`'s muted phrase: nobody else removes it
    "members.remove_phrase": [(P, "muted phrase", LOGIN, 404, PRIVACY, 404, 404, 404, 404, 404)],
    "members.mute_board": [
        (P, "lounge", LOGIN, LOUNGE, LOUNGE, LOUNGE, LOUNGE, LOUNGE, LOUNGE, LOUNGE),
        (
            P,
            "private",
            LOGIN,
            To("/b/private"),
            To("/b/private"),
            To("/b/private"),
            To("/b/private"),
            To("/b/private"),
            To("/b/private"),
            To("/b/private"),
        ),
    ],
    # --- the review queue --------------------------------------------------------------
    "moderation.review_queue": [
        # a moderator of another board gets their own (empty) queue
        (G, "-", LOGIN, 403, 403, 403, 403, 200, 200, 200)
    ],
    "moderation.bulk": [(P, "-", LOGIN, 403, 403, 403, 403, SKIPPED, REVIEW, REVIEW)],
    "moderation.item": [
        (G, "report item", LOGIN, 403, 403, 403, 403, 403, 200, 200),
        # account items belong to admins and moderators of every board
        (G, "account item", LOGIN, 403, 403, 403, 403, 403, 403, 200),
    ],
    "moderation.act": [
        (P, "spam item", LOGIN, 403, 403, 403, 403, 403, REVIEW, REVIEW),
        (P, "account item", LOGIN, 403, 403, 403, 403, 403, 403, REVIEW),
    ],
    "moderation.claim": [(P, "report item", LOGIN, 403, 403, 403, 403, 403, ITEM, ITEM)],
    "moderation.release": [(P, "report item", LOGIN, 403, 403, 403, 403, 403, ITEM, ITEM)],
    # --- pages -------------------------------------------------------------------------
    "pages.guidelines": [(G, "-", 200, 200, 200, 200, 200, 200, 200, 200)],
    "pages.get_help": [(G, "-", 200, 200, 200, 200, 200, 200, 200, 200)],
    # --- admin: admins only ------------------------------------------------------------
    "admin.index": [(G, "-", LOGIN, 403, 403, 403, 403, 403, 403, 200)],
    "admin.boards": [
        (G, "-", LOGIN, 403, 403, 403, 403, 403, 403, 200),
        (P, "-", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/boards")),
    ],
    "admin.edit_board": [
        (G, "garden", LOGIN, 403, 403, 403, 403, 403, 403, 200),
        (P, "garden", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/boards")),
    ],
    "admin.members": [(G, "-", LOGIN, 403, 403, 403, 403, 403, 403, 200)],
    "admin.member": [
        (G, "bystander", LOGIN, 403, 403, 403, 403, 403, 403, 200),
        (P, "bystander", LOGIN, 403, 403, 403, 403, 403, 403, To(r"/admin/members/\d+")),
    ],
    "admin.watched_words": [
        (G, "-", LOGIN, 403, 403, 403, 403, 403, 403, 200),
        (P, "-", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/watched-words")),
    ],
    "admin.remove_watched_word": [
        (P, "watched phrase", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/watched-words"))
    ],
    "admin.crisis_phrases": [
        (G, "-", LOGIN, 403, 403, 403, 403, 403, 403, 200),
        (P, "-", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/crisis-phrases")),
    ],
    "admin.remove_crisis_phrase": [
        (P, "crisis phrase", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/crisis-phrases"))
    ],
    "admin.reason_templates": [
        (G, "-", LOGIN, 403, 403, 403, 403, 403, 403, 200),
        (P, "-", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/reason-templates")),
    ],
    "admin.edit_reason_template": [
        (G, "template", LOGIN, 403, 403, 403, 403, 403, 403, 200),
        (P, "template", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/reason-templates")),
    ],
    "admin.delete_reason_template": [
        (P, "doomed template", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/reason-templates"))
    ],
    "admin.moderation_hours": [
        (G, "-", LOGIN, 403, 403, 403, 403, 403, 403, 200),
        (P, "-", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/moderation-hours")),
    ],
    "admin.helplines": [
        (G, "-", LOGIN, 403, 403, 403, 403, 403, 403, 200),
        (P, "-", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/helplines")),
    ],
    "admin.edit_helpline": [
        (G, "helpline", LOGIN, 403, 403, 403, 403, 403, 403, 200),
        (P, "helpline", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/helplines")),
    ],
    "admin.delete_helpline": [
        (P, "doomed helpline", LOGIN, 403, 403, 403, 403, 403, 403, To("/admin/helplines"))
    ],
    "admin.audit": [(G, "-", LOGIN, 403, 403, 403, 403, 403, 403, 200)],
}


# --- what each POST sends: a form that would work for someone allowed to send it -------


def form_for(endpoint: str, args: dict, world) -> dict:
    """The form a POST sends; `args` are its target's arguments (some go in the form)."""
    if endpoint == "reactions.react":  # the button names its post
        return {"add": f"{args['post_id']}:thinking_of_you"}
    if endpoint == "moderation.act":
        return {
            "action": "dismiss",
            "version": str(item_version(args["item_id"])),
            "template": "",
            "reason": "",
        }
    if endpoint == "moderation.bulk":
        return {
            "selected": f"{world.held_item}:{item_version(world.held_item)}",
            "action": "approve",
            "template": "",
            "reason": "",
        }
    return FORMS.get(endpoint, {"submit": "Go"})


FORMS = {
    "auth.login": {"login": "bystander", "password": TEST_PASSWORD},
    "auth.register": {
        "username": "freshface",
        "email": "freshface@example.org",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
        "accept_guidelines": "y",
    },
    "auth.request_reset": {"email": "bystander@example.org"},
    "auth.reset_password": {
        "password": "a brand new passphrase",
        "confirm": "a brand new passphrase",
    },
    "boards.new_topic": {
        "title": "An evening walk",
        "body": "The light was lovely today.",
        "submit": "Start topic",
    },
    "boards.reply": {"body": "That sounds lovely.", "submit": "Post reply"},
    "boards.edit": {"body": "Thanks for having me, everyone.", "submit": "Save changes"},
    "moderation.report": {"reason": "spam", "note": ""},
    "mail_settings.follow_board": {"action": "follow"},
    "members.add_phrase": {"phrase": "rainy days"},
    "members.mute_board": {"action": "mute"},
    "members.privacy": {"hides_recent_posts": "y"},
    "mail_settings.follow_topic": {"action": "follow"},
    "mail_settings.settings": {
        "digest": "daily",
        "digest_hour": "8",
        "digest_weekday": "0",
        "timezone": "Europe/London",
        "notify_reply": "y",
    },
    "mail_settings.unsubscribe": {"List-Unsubscribe": "One-Click"},
    "admin.boards": {
        "slug": "meadow",
        "name": "Meadow",
        "description": "Open fields",
        "is_public": "y",
        "mode": "open",
        "position": "",
    },
    "admin.edit_board": {
        "name": "Garden",
        "description": "About garden",
        "is_public": "y",
        "mode": "locked",
        "position": "",
    },
    "admin.member": {"role": "member"},
    "admin.watched_words": {"phrase": "discount", "action": "hold"},
    "admin.crisis_phrases": {"phrase": "no way forward"},
    "admin.reason_templates": {
        "label": "Off topic",
        "text": "This is off topic here.",
        "position": "",
    },
    "admin.edit_reason_template": {
        "label": "Advertising",
        "text": "No adverts, please.",
        "position": "3",
    },
    "admin.moderation_hours": {"text": "Moderators are around every evening."},
    "admin.helplines": {
        "name": "Night Line",
        "region": "Our town",
        "contact": "Call 0100",
        "url": "https://night.example",
        "description": "",
        "position": "5",
    },
    "admin.edit_helpline": {
        "name": "Day Line",
        "region": "Our town",
        "contact": "Call 0101",
        "url": "",
        "description": "",
        "position": "6",
    },
}


def item_version(item_id: int) -> int:
    return db.session.scalar(sa.select(ReviewItem.version).where(ReviewItem.id == item_id))


# --- the world every role walks -------------------------------------------------------


def build_world(app, make) -> SimpleNamespace:
    lounge = make.board("lounge")
    private = make.board("private", is_public=False)
    garden = make.board("garden")
    member = make.user("member")
    other = make.user("other")
    make.user("unverified", verified=False)
    suspended = make.user("suspended")
    make.user("gardener", role="moderator", moderates=(garden,))
    warden = make.user("warden", role="moderator", moderates=(lounge,))
    make.user("boss", role="admin")
    bystander = make.user("bystander")  # reports; logs in; has their role set by the admin
    newcomer = make.user("newcomer", trusted=False)
    spammer = make.user("spammer")
    latecomer = make.user("latecomer", verified=False)  # owns the verify and reset links

    with app.app_context():
        watched = WatchedPhrase(phrase="bargain", phrase_key=phrase_key("bargain"), action="hold")
        db.session.add(watched)
        db.session.commit()
        watched_id = watched.id

    topic = make.topic(member, lounge, "Finding my feet", "Hello everyone")
    reply = make.reply(member, topic, "Thanks for having me")
    doomed = make.reply(member, topic, "I may take this back")
    spam = make.reply(spammer, topic, "Cheap watches, very cheap")
    own_post = make.reply(suspended, topic, "Written before my suspension")
    # A watched word holds it; a moderator rejects it below.
    held_for_rejection = make.reply(member, topic, "What a bargain this was")
    waiting_topic = make.topic(newcomer, lounge, "New here", "Hi, I am new")
    held_reply = make.reply(newcomer, topic, "Me too")
    private_topic = make.topic(other, private, "Just us", "A quiet corner")
    locked_topic = make.topic(other, lounge, "Closed for now", "Old news")
    locked_reply = make.reply(member, locked_topic, "My last word")

    with app.test_request_context():

        def user(account):
            return db.session.get(User, account.id)

        report_item = moderation.report(
            user(bystander), db.session.get(Post, reply.id), "harassment"
        ).id
        spam_item = moderation.report(user(bystander), db.session.get(Post, spam.id), "spam").id
        with transaction():
            review_items.raise_account_review(user(newcomer), "Joined and posted at once")
        account_item = db.session.scalar(
            sa.select(ReviewItem.id).where(ReviewItem.account_id == newcomer.id)
        )
        held = db.session.scalar(
            sa.select(ReviewItem).where(ReviewItem.post_id == held_for_rejection.id)
        )
        moderation.decide(user(warden), held, held.version, "reject", reason="Not here, please")
        held_item = db.session.scalar(
            sa.select(ReviewItem.id).where(ReviewItem.post_id == held_reply.id)
        )
        waiting_post = db.session.scalar(
            sa.select(sa.func.min(Post.id)).where(Post.topic_id == waiting_topic.id)
        )
        # The world is as the table assumes, or the table would test nothing.
        statuses = dict(db.session.execute(sa.select(Post.id, Post.status)).all())
        assert (
            statuses[reply.id],
            statuses[waiting_post],
            statuses[held_reply.id],
            statuses[held_for_rejection.id],
        ) == ("published", "pending", "pending", "rejected")

        with transaction():
            user(suspended).suspended_until = utcnow() + timedelta(days=7)
            db.session.get(Board, garden.id).mode = BoardMode.LOCKED
            db.session.get(Topic, locked_topic.id).is_locked = True
            lines = [
                Helpline(name=name, region="Here", contact="Call 0100", position=90 + n)
                for n, name in enumerate(("Edited Line", "Doomed Line"))
            ]
            templates = [
                ReasonTemplate(position=90 + n, label=label, text=f"{label}.")
                for n, label in enumerate(("Edited reason", "Doomed reason"))
            ]
            db.session.add_all(lines + templates)
            late = user(latecomer)  # links as the mail would carry them
            verify_token = accounts._issue_token(late, accounts.VERIFY, timedelta(hours=1))
            reset_token = accounts._issue_token(late, accounts.RESET, timedelta(hours=1))
            mail_choices = mail_settings.settings_for(user(bystander))
            mail_choices.digest = DigestFrequency.DAILY
            unsubscribe = mail_settings.unsubscribe_token(mail_choices, MailKind.DIGEST)
        with transaction():
            db.session.add(Block(blocker_id=member.id, blocked_id=spammer.id))
            muted = MutedPhrase(user_id=member.id, phrase="weather", phrase_key="weather")
            db.session.add(muted)
        muted_phrase = muted.id
        crisis_phrase = db.session.scalar(
            sa.select(sa.func.min(WatchedPhrase.id)).where(WatchedPhrase.action == "crisis")
        )
        ids = {
            "helpline": lines[0].id,
            "doomed helpline": lines[1].id,
            "template": templates[0].id,
            "doomed template": templates[1].id,
        }

    targets = {
        "-": {},
        "lounge": {"slug": "lounge"},
        "private": {"slug": "private"},
        "garden": {"slug": "garden", "board_id": garden.id},
        "topic": {"topic_id": topic.id},
        "waiting topic": {"topic_id": waiting_topic.id},
        "private topic": {"topic_id": private_topic.id},
        "locked topic": {"topic_id": locked_topic.id},
        "locked reply": {"post_id": locked_reply.id},
        "reply": {"post_id": reply.id},
        "doomed reply": {"post_id": doomed.id},
        "suspended's": {"post_id": own_post.id},
        "waiting post": {"post_id": waiting_post},
        "rejected post": {"post_id": held_for_rejection.id},
        "report item": {"item_id": report_item},
        "spam item": {"item_id": spam_item},
        "account item": {"item_id": account_item},
        "verify token": {"token": verify_token},
        "reset token": {"token": reset_token},
        "unsubscribe link": {"token": unsubscribe},
        "dead link": {"token": "not-a-link"},
        "bystander": {"user_id": bystander.id},
        "helpline": {"helpline_id": ids["helpline"]},
        "doomed helpline": {"helpline_id": ids["doomed helpline"]},
        "template": {"template_id": ids["template"]},
        "doomed template": {"template_id": ids["doomed template"]},
        "watched phrase": {"phrase_id": watched_id},
        "crisis phrase": {"phrase_id": crisis_phrase},
        "profile": {"username": "member"},
        "no-post profile": {"username": "latecomer"},
        "blocked": {"username": "spammer"},
        "muted phrase": {"phrase_id": muted_phrase},
    }
    return SimpleNamespace(targets=targets, held_item=held_item)


# --- checking one response --------------------------------------------------------------


def is_refusal(expected) -> bool:
    return expected.refused if isinstance(expected, To) else expected in REFUSED_STATUSES


def mismatch(expected, response, path: str) -> str | None:
    """None when the response is what the cell says, else what came instead."""
    location = response.headers.get("Location", "")
    got = f"{response.status_code}" + (f" to {location}" if location else "")
    if isinstance(expected, To):
        if response.status_code != 302:
            return got
        target = urlsplit(location)
        if not re.fullmatch(expected.path, target.path):
            return got
        if expected is LOGIN and parse_qs(target.query).get("next") != [path]:
            return got + " (next= is not this page)"
        return None
    return None if response.status_code == expected else got


def snapshot() -> dict:
    """Every row of every table, to show that a refused request changed nothing."""
    with db.engine.connect() as connection:
        return {
            table.name: connection.execute(
                sa.select(table).order_by(*table.primary_key.columns)
            ).all()
            for table in db.metadata.sorted_tables
        }


def rows():
    for endpoint, cases in EXPECTED.items():
        for method, target, *cells in cases:
            yield endpoint, method, target, dict(zip(ROLES, cells, strict=True))


# --- the tests ------------------------------------------------------------------------------


def test_the_table_names_every_route_and_method(app):
    """A new route (or a new method on one) fails here until it has its row."""
    routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert set(EXPECTED) == routes, (
        f"routes without expectations: {sorted(routes - set(EXPECTED))}; "
        f"expectations without a route: {sorted(set(EXPECTED) - routes)}"
    )
    for endpoint in routes:
        allowed = set().union(*(rule.methods for rule in app.url_map.iter_rules(endpoint)))
        allowed -= {"HEAD", "OPTIONS"}
        assert {case[0] for case in EXPECTED[endpoint]} == allowed, endpoint
    assert all(len(case) == 2 + len(ROLES) for cases in EXPECTED.values() for case in cases)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_as(role, app, make):
    world = build_world(app, make)
    client = app.test_client()
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    if LOGINS[role]:
        assert log_in(client, LOGINS[role]).status_code == 302, "login failed"
    session_cookie = client.get_cookie(cookie_name)

    problems = []
    for endpoint, method, target, cells in rows():
        expected = cells[role]
        target_args = world.targets[target]
        [rule] = [rule for rule in app.url_map.iter_rules(endpoint) if method in rule.methods]
        assert set(target_args) >= set(rule.arguments), f"{endpoint}: {target} lacks an argument"
        args = {name: target_args[name] for name in rule.arguments}
        with app.test_request_context():
            path = url_for(endpoint, **args)
            data = form_for(endpoint, target_args, world) if method == "POST" else None
            before = snapshot() if method == "POST" and is_refusal(expected) else None
        # Every request starts from the role's own session, whatever the last one did
        # (logged out, logged in as someone else, left a message to show).
        if session_cookie is None:
            client.delete_cookie(cookie_name)
        else:
            client.set_cookie(cookie_name, session_cookie.value)
        where = f"{role:>15} {method:4} {path} ({endpoint}, {target})"
        try:
            response = client.open(path, method=method, data=data)
        except Exception as error:  # TESTING propagates what would be a 500
            problems.append(f"{where}: raised {error!r}; expected {expected!r}")
            continue
        if response.status_code >= 500:
            problems.append(f"{where}: {response.status_code}; expected {expected!r}")
        elif (got := mismatch(expected, response, path)) is not None:
            problems.append(f"{where}: got {got}; expected {expected!r}")
        if before is not None:
            with app.app_context():
                after = snapshot()
            changed = sorted(name for name in before if before[name] != after[name])
            if changed:
                problems.append(f"{where}: refused, yet changed {', '.join(changed)}")
    assert not problems, "\n" + "\n".join(problems)
