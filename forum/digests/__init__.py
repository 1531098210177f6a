"""Email digests: when each member's is due, what it holds, and sending them in batches."""

from datetime import timedelta

# What one digest holds at most; the batch's queries (load.py) read just enough for it.
TOPICS_PER_DIGEST = 10
POSTS_PER_TOPIC = 3
UNANSWERED_PER_DIGEST = 5
# Each board's most recently active topics loaded for a batch: a member's top
# TOPICS_PER_DIGEST always come from these, even if some are their own posts or
# they left some of them.
TOPICS_PER_BOARD = 3 * TOPICS_PER_DIGEST
UNANSWERED_WITHIN = timedelta(days=7)
