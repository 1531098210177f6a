"""Demo content for trying Kindred out: `flask --app wsgi forum demo`."""

from __future__ import annotations

from flask import current_app

from .extensions import db
from .models import Role
from .services import accounts, admin, follows, mail_settings, posting

DEMO_PASSWORD = "kindred-demo-password"

BOARDS = [
    ("anxiety", "Anxiety", "Worry, panic and the everyday work of getting through."),
    ("grief", "Grief", "Living with loss, whenever it happened."),
    ("caregivers", "Caregivers", "For people looking after someone else."),
    (
        "far-from-home",
        "Living far from home",
        "Isolation, distance and finding your people in a new place.",
    ),
]

MEMBERS = [
    ("admin", Role.ADMIN),
    ("moderator", Role.MODERATOR),
    ("river", Role.MEMBER),
    ("quietfern", Role.MEMBER),
    ("tomas_k", Role.MEMBER),
    ("newcomer", Role.MEMBER),  # new: their first posts wait for a moderator
]

CONVERSATIONS = [
    (
        "anxiety",
        "river",
        "Small wins this week",
        (
            "I managed to make a phone call I'd been putting off for a month. "
            "It took three tries to dial, but I did it.\n\nWhat small wins have you had?"
        ),
        None,
        [
            (
                "quietfern",
                "That's not small at all. Phone calls are *hard*. "
                "I finally opened my post this week, which had been piling up.",
            ),
            (
                "tomas_k",
                "Well done both of you. I went for a short walk at lunch instead of "
                "eating at my desk. Tiny, but it helped.",
            ),
        ],
    ),
    (
        "grief",
        "quietfern",
        "Two years on",
        (
            "It's two years today since my dad died. Some days are fine and then a song in a "
            "shop undoes me.\n\nDoes it get quieter, or do you just get used to it?"
        ),
        "bereavement",
        [
            (
                "river",
                "For me it got quieter, slowly, and the loud days came further apart. "
                "Thinking of you today.",
            ),
        ],
    ),
    (
        "caregivers",
        "river",
        "How do you find time for yourself?",
        (
            "I care for my mum most evenings after work. I love her, but I have nothing left "
            "for me.\n\n- Does anyone use respite services?\n- How did you ask for help?"
        ),
        None,
        [
            (
                "tomas_k",
                "We have a sitter one afternoon a week through a local charity. "
                "Asking was the hardest part; the people there were kind.",
            ),
        ],
    ),
    (
        "far-from-home",
        "tomas_k",
        "Introduce yourself",
        (
            "Moved here for work last year and still don't really know anyone. "
            "Say hello if you're in the same boat!"
        ),
        None,
        [
            (
                "quietfern",
                "Hello! Same here, three hundred miles from family. "
                "It helps to know we're not the only ones.",
            ),
            (
                "river",
                "Hi both. I joined a walking group; it took a few weeks before "
                "I said much, but it's been good.",
            ),
        ],
    ),
]


def fill_demo() -> list[tuple[str, str]]:
    """Create the demo boards, members and topics; return (username, role) pairs."""
    users = {}
    for username, role in MEMBERS:
        users[username] = user = accounts.create_user(
            username, f"{username}@example.org", DEMO_PASSWORD, role=role
        )
        # The demo's regulars have a history: their posts no longer wait for review.
        if username != "newcomer":
            user.approved_post_count = current_app.config["NEW_MEMBER_REVIEW_POSTS"]
    db.session.commit()
    boards = {
        slug: admin.create_board(slug, name, description) for slug, name, description in BOARDS
    }
    for slug, author, title, body, warning, replies in CONVERSATIONS:
        topic = posting.create_topic(
            users[author], boards[slug], title, body, content_warning=warning
        )
        for replier, text in replies:
            posting.create_reply(users[replier], topic.topic, text)
    # Something for the demo moderator to find in the review queue.
    posting.create_topic(
        users["newcomer"],
        boards["far-from-home"],
        "Hello from a new member",
        "I moved here for work last month and don't know anyone yet. "
        "Is it normal to feel this homesick?",
    )
    # Every demo member follows every board and reads a daily digest at 8 (UTC), so
    # `flask --app wsgi digests send --dry-run` has something to show.
    for user in users.values():
        for board in boards.values():
            follows.follow_board(user, board)
        mail_settings.save_settings(
            user,
            digest="daily",
            digest_hour=8,
            digest_weekday=0,
            timezone="UTC",
            notify_reply=True,
            notify_quote=True,
            notify_moderation=True,
        )
    return [(username, str(role)) for username, role in MEMBERS]
