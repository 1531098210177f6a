"""The starting moderation settings a new forum gets; admins edit all of them on the site.

The migration that creates the tables seeds them from here, and so do the tests.
"""

# Phrases that suggest a member may be at risk. A post containing one is never
# blocked: its author sees the helplines at once and moderators see it first.
# Kept to phrases that rarely mean anything else; operators add their own.
DEFAULT_CRISIS_PHRASES = (
    "kill myself",
    "killing myself",
    "end my life",
    "ending my life",
    "take my own life",
    "want to die",
    "wish I was dead",
    "wish I were dead",
    "better off dead",
    "better off without me",
    "suicide",
    "suicidal",
    "self-harm",  # matches "self harm" too: phrases are compared word by word
    "hurt myself",
    "hurting myself",
    "cut myself",
    "cutting myself",
    "overdose",
    "no reason to live",
    "can't go on",
    "cannot go on",
    "don't want to be here anymore",
)

DEFAULT_REASON_TEMPLATES = (
    ("Welcome, approved", "Thank you for posting. Your post is now visible to everyone."),
    (
        "Personal details",
        "Your post included personal details (such as a phone number, "
        "email or address). To keep you safe, please post it again without them.",
    ),
    (
        "Harassment or hate",
        "Posts that attack or demean other people are not allowed here. "
        "Please see the community guidelines.",
    ),
    ("Spam or advertising", "Advertising and spam are not allowed here."),
    (
        "Medical advice",
        "Kindred is peer support: please share your own experience rather than medical advice.",
    ),
    (
        "Member at risk",
        "We have reached out with support. Please look at the Get help now "
        "page: people there can help straight away.",
    ),
    ("Off topic", "This board is for a different subject; please post in a board that fits."),
)

DEFAULT_MODERATION_HOURS = (
    "Our volunteer moderators look at new posts every day between 9am and 9pm (UK time). "
    "Most posts are seen within 2 hours; at night it can take until the morning."
)
