"""What becomes of the posts of a member who leaves (forum.services.leaving), inside the
erasure's transaction.

Posts that never went out are withdrawn as their author would withdraw them; with
"remove", every post is deleted as by its author (posting's own functions: the words
erased, a placeholder kept so threads still read) and the titles of topics they started
are replaced; with "keep", published posts stay, shown as by "a former member". A post
under a moderation item that is still open keeps its words, earlier versions and link to
the pseudonym only until that item is decided: every erasure run finishes such posts once
their item is closed (finish_left_posts).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Notice,
    Post,
    PostRevision,
    PostStatus,
    ReviewItem,
    ReviewStatus,
    Topic,
    User,
)
from . import post_state, posting, transaction

# The title of a topic whose author left and chose to remove their posts.
LEFT_TOPIC_TITLE = "A topic from a former member"


def withdraw_and_delete_posts(member: User, now: datetime) -> None:
    """What the member could have done themselves, post by post, before leaving."""
    remove = not member.keep_posts_on_deletion
    posts = db.session.scalars(
        sa.select(Post)
        .where(Post.author_id == member.id, Post.status != PostStatus.DELETED)
        .order_by(Post.id)
    )
    for post in list(posts):
        if post.status in (PostStatus.PENDING, PostStatus.REJECTED):
            # Never went out: withdrawn. Held for a member at risk or reported, its words
            # stay until a moderator decides.
            posting.withdraw_as_author(member, post, at=now)
        elif remove and post.status in (PostStatus.PUBLISHED, PostStatus.HIDDEN):
            posting.delete_as_author(member, post, including_hidden=True, at=now)
    # Topics show their starter on board pages: from now on, "a former member".
    for topic in db.session.scalars(sa.select(Topic).where(Topic.author_id == member.id)):
        topic.author_id = None


def finish_member_posts(member_id: int) -> None:
    """Within the erasure of one member: finish their posts no open item is keeping."""
    _finish_posts(list(db.session.scalars(_left_posts_query(member_id=member_id))))


def _left_posts_query(member_id: int | None = None):
    """Posts still linked to an erased member whose moderation item (if any) is closed."""
    open_item = sa.select(ReviewItem.id).where(
        ReviewItem.post_id == Post.id, ReviewItem.status == ReviewStatus.PENDING
    )
    query = (
        sa.select(Post)
        .join(User, User.id == Post.author_id)
        .where(User.erased_at.is_not(None), ~open_item.exists())
    )
    if member_id is not None:
        query = query.where(Post.author_id == member_id)
    return query.order_by(Post.id)


def finish_left_posts(batch_size: int) -> int:
    """Posts of erased members kept for an open moderation item: once the item is
    decided, their words go (with "remove"), their earlier versions go, and they are
    shown as by a former member. Also drops notices written to erased accounts since
    (a moderator's decision on such a post). Returns how many posts were finished."""
    finished = 0
    while True:
        with transaction():
            posts = list(db.session.scalars(_left_posts_query().limit(batch_size)))
            _finish_posts(posts)
            erased = sa.select(User.id).where(User.erased_at.is_not(None))
            db.session.execute(
                sa.delete(Notice)
                .where(Notice.user_id.in_(erased))
                .execution_options(synchronize_session=False)
            )
        finished += len(posts)
        if len(posts) < batch_size:
            return finished


def _finish_posts(posts: list[Post]) -> None:
    for post in posts:
        author = db.session.get(User, post.author_id)
        assert author is not None, "the posts were selected joined to their erased author"
        if not author.keep_posts_on_deletion:
            # Its item is closed: a post still out is deleted as its author would delete
            # it, and the words of every post go now, deleted or not.
            posting.delete_as_author(author, post)
            post_state.erase_text(post)
            if post_state.is_first_post(post):
                post.topic.title = LEFT_TOPIC_TITLE
        db.session.execute(
            sa.delete(PostRevision)
            .where(PostRevision.post_id == post.id)
            .execution_options(synchronize_session=False)
        )
        post.author_id = None
    db.session.flush()
