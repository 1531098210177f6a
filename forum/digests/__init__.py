"""Email digests: when each member's is due, what it holds, and sending them in batches."""
