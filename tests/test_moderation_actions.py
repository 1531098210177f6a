"""Which actions a moderator is offered on an item: exactly those that apply to it as it
stands, on the item page and in what the service accepts.

Every situation an item can be in is set up once, and the buttons on its page are
compared with the whole list (so an action offered in one place too many fails as
surely as one missing); every action not offered is refused by the service.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Post, PostStatus, ReviewItem, Topic, User, utcnow
from forum.services import (
    ServiceError,
    moderation,
    post_state,
    posting,
    review_items,
    transaction,
)
from tests.helpers.moderation import EVERY_ACTION, item_for, new_client, report, update


class Place:
    """A board with a topic, another board to move to, and a moderator of every board (who
    also reviews accounts)."""

    def __init__(self, make, app):
        self.make, self.app = make, app
        self.board = make.board("general", "General")
        self.other = make.board("other", "Other")
        self.moderator = make.user("warden", role="moderator", moderates_all=True)
        self.topic = make.topic(make.user("elm"), self.board, title="Evenings", body="Hello")
        self.count = 0

    def member(self, trusted: bool = True) -> User:
        self.count += 1
        return self.make.user(f"member{self.count}", trusted=trusted)

    def reported(self, reports: int = 1) -> tuple[int, int]:
        """A published reply reported by `reports` trusted members: (post id, item id)."""
        post = self.make.reply(self.member(), self.topic, "Words someone reported")
        for _ in range(reports):
            item_id = report(self.app, self.member(), post.id, "harassment")
        return post.id, item_id


def _held(place):
    post = place.make.reply(place.member(trusted=False), place.topic, "My first words")
    return item_for(place.app, post.id).id


def _reported(place):
    return place.reported()[1]


def _reported_in_a_locked_topic(place):
    item_id = place.reported()[1]
    update(place.app, Topic, place.topic.id, is_locked=True)
    return item_id


def _hidden_by_reports(place):
    post_id, item_id = place.reported(reports=place.app.config["REPORTS_TO_HIDE"])
    assert item_for(place.app, post_id).hidden_by_reports
    return item_id


def _hidden_while_waiting(place):
    """Hidden while its item waits, but not by reports (reports do not bring it back)."""
    post_id, item_id = place.reported()
    with place.app.test_request_context(), transaction():
        post_state.change_status(db.session.get(Post, post_id), PostStatus.HIDDEN)
    return item_id


def _deleted_by_its_author(place):
    post_id, item_id = place.reported()
    with place.app.test_request_context():
        post = db.session.get(Post, post_id)
        posting.delete_post(post.author, post)
    return item_id


def _by_a_banned_author(place):
    post_id, item_id = place.reported()
    with place.app.app_context():
        author_id = db.session.get(Post, post_id).author_id
    update(place.app, User, author_id, banned_at=utcnow())
    return item_id


def _account(place, banned: bool = False):
    member = place.member()
    with place.app.test_request_context(), transaction():
        review_items.raise_account_review(db.session.get(User, member.id), "Posted at once")
    if banned:
        update(place.app, User, member.id, banned_at=utcnow())
    with place.app.app_context():
        return db.session.scalar(sa.select(ReviewItem.id).where(ReviewItem.account_id == member.id))


def _decided(place):
    item_id = place.reported()[1]
    update(place.app, ReviewItem, item_id, status="dismissed", decided_at=utcnow())
    return item_id


SITUATIONS = {
    "a new member's post, waiting": (
        _held,
        ["approve", "approve_edited", "reject", "hide", "delete", "lock", "move", "suspend", "ban"],
    ),
    "a published post, reported": (
        _reported,
        ["hide", "delete", "dismiss", "lock", "move", "suspend", "ban"],
    ),
    "a reported post in a locked topic": (
        _reported_in_a_locked_topic,
        ["hide", "delete", "dismiss", "unlock", "move", "suspend", "ban"],
    ),
    "a post hidden by reports": (
        _hidden_by_reports,
        ["approve_edited", "delete", "dismiss", "lock", "move", "suspend", "ban"],
    ),
    "a post hidden while its item waits": (
        _hidden_while_waiting,
        ["approve", "approve_edited", "delete", "lock", "move", "suspend", "ban"],
    ),
    "a reported post its author deleted": (
        _deleted_by_its_author,
        ["dismiss", "lock", "move", "suspend", "ban"],
    ),
    "a reported post by a banned member": (
        _by_a_banned_author,
        ["hide", "delete", "dismiss", "lock", "move"],
    ),
    "an account to review": (_account, ["dismiss", "suspend", "ban"]),
    "an account already banned": (lambda place: _account(place, banned=True), ["dismiss"]),
    "an item already decided": (_decided, []),
}


@pytest.fixture
def place(make, app):
    return Place(make, app)


def _offered_on_the_page(place, item_id: int) -> list[str]:
    page = new_client(place.app, place.moderator).get(f"/review/{item_id}")
    assert page.status_code == 200
    return re.findall(r'<button type="submit" name="action" value="([a-z_]+)"', page.text)


@pytest.mark.parametrize("situation", SITUATIONS)
def test_the_item_page_offers_exactly_the_actions_that_apply(place, situation):
    make_item, expected = SITUATIONS[situation]
    assert _offered_on_the_page(place, make_item(place)) == expected


@pytest.mark.parametrize("situation", SITUATIONS)
def test_an_action_not_offered_is_refused_and_changes_nothing(place, situation):
    make_item, expected = SITUATIONS[situation]
    item_id = make_item(place)
    for name in sorted(set(EVERY_ACTION) - set(expected)):
        with place.app.test_request_context():
            item = db.session.get(ReviewItem, item_id)
            version = item.version
            with pytest.raises(ServiceError, match="does not apply"):
                moderation.decide(
                    db.session.get(User, place.moderator.id),
                    item,
                    version,
                    name,
                    reason="A reason",
                    body="New words",
                    board_id=place.other.id,
                    days=1,
                )
            db.session.rollback()
            assert db.session.get(ReviewItem, item_id).version == version, name
    assert _offered_on_the_page(place, item_id) == expected
