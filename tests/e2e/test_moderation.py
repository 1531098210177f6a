"""Moderation in a real browser, with JavaScript on and off.

A new member's post waits for a moderator, who finds it first in the review
queue and approves it; a report that someone may be at risk jumps the queue
and is hidden with a reason; two moderators acting on one item: the second is
refused and shown the item as it now stands. axe-core audits every page of
the queue, the items, the member's side (report, notices, a returned post) and
the admin pages, including pages showing a form error.

Elements are found by role and accessible name, as a screen-reader user finds
them. Setting up what is not under test (members, boards, older items) goes
through the real services, as the Factory does.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from forum.extensions import db
from forum.models import Post, ReviewItem, User
from forum.services import moderation, posting
from tests.helpers.browser import log_in
from tests.helpers.layout import DESKTOP, ZOOMED, no_sideways_scroll

pytestmark = pytest.mark.browser

JS = pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])

TITLE = "First week on the new tablets"
BODY = "Three days in and the mornings are foggy. Did that ease for anyone?"
RISKY_REPLY = "Honestly I don't see the point of any of it lately."
HIDE_WORDS = "I have sent you a private message with some numbers you can call."
STALE = "Another moderator changed this item while you were looking at it"


# --- helpers -----------------------------------------------------------------------


def heading(page: Page, name: str, level: int = 1):
    return page.get_by_role("heading", level=level, name=name, exact=True)


def site_nav(page: Page):
    return page.get_by_role("navigation", name="Site")


def queue_rows(page: Page):
    """The queue's item rows, in order (row 0 is the header row)."""
    table = page.get_by_role("table", name=re.compile(r"^Waiting for a decision"))
    return table.get_by_role("row")


def open_queue(page: Page) -> None:
    site_nav(page).get_by_role("link", name="Review queue").click()
    expect(heading(page, "Review queue")).to_be_visible()


def open_notices(page: Page, new: int) -> None:
    page.goto(page.url.split("#", 1)[0])  # fresh menu
    site_nav(page).get_by_role("link", name=f"Notices ({new} new)").click()
    expect(heading(page, "Notices")).to_be_visible()


def status(page: Page):
    return page.get_by_role("status")


def no_js_safe_url(page: Page) -> str:
    return page.url.split("#", 1)[0]


class Desk:
    """Service calls for setting up what the browser then sees."""

    def __init__(self, app) -> None:
        self.app = app

    def _user(self, user) -> User:
        return db.session.get(User, user.id)

    def first_post(self, topic) -> int:
        with self.app.app_context():
            return db.session.scalar(
                sa.select(Post.id).where(Post.topic_id == topic.id).order_by(Post.id).limit(1)
            )

    def item_id(self, post_id: int) -> int:
        with self.app.app_context():
            return db.session.scalar(sa.select(ReviewItem.id).where(ReviewItem.post_id == post_id))

    def report(self, reporter, post_id: int, category: str, note: str = "") -> int:
        with self.app.test_request_context():
            item = moderation.report(
                self._user(reporter), db.session.get(Post, post_id), category, note
            )
            return item.id

    def decide(self, moderator, post_id: int, action: str, reason: str = "") -> None:
        with self.app.test_request_context():
            item = db.session.scalar(sa.select(ReviewItem).where(ReviewItem.post_id == post_id))
            moderation.decide(self._user(moderator), item, item.version, action, reason=reason)

    def edit(self, author, post_id: int, body: str) -> None:
        with self.app.test_request_context():
            posting.edit_post(self._user(author), db.session.get(Post, post_id), body)


@pytest.fixture
def desk(app) -> Desk:
    return Desk(app)


# --- 1. a new member's post waits, and a moderator approves it ---------------------------


@JS
def test_a_new_members_post_waits_until_a_moderator_approves_it(
    javascript, live_server, mailbox, make, desk, browse, audit
):
    board = make.board("general", "General")
    newcomer = make.user("new_wren", trusted=False)
    reader = make.user("old_oak")
    moderator = make.user("mod_mira", role="moderator", moderates=(board,))
    # Something less urgent was already waiting, and for longer: a spam report.
    advert = make.topic(reader, board, "Selling my old bike", "Barely used, ask me.")
    desk.report(make.user("spam_spotter"), desk.first_post(advert), "spam")

    # The new member posts and is told the post waits, and when moderators are around.
    author = browse(javascript=javascript)
    log_in(author, live_server.url, newcomer.username)
    author.get_by_role("link", name="General", exact=True).click()
    author.get_by_role("link", name="Start a new topic").click()
    author.get_by_label("Title").fill(TITLE)
    author.get_by_label("Your message").fill(BODY)
    author.get_by_role("button", name="Start topic").click()
    expect(heading(author, TITLE)).to_be_visible()
    expect(status(author)).to_contain_text("A moderator looks at new members' first posts")
    waiting = author.get_by_role("region", name="Your post is waiting for a moderator")
    expect(waiting).to_contain_text("Only you can see it")
    expect(waiting).to_contain_text("Our volunteer moderators look at new posts every day")
    expect(waiting.get_by_role("article")).to_contain_text(BODY)
    audit(author)
    topic_url = no_js_safe_url(author)

    # Another member sees neither the topic in the board nor the topic itself.
    other = browse(javascript=javascript)
    log_in(other, live_server.url, reader.username)
    other.get_by_role("link", name="General", exact=True).click()
    expect(heading(other, "General")).to_be_visible()
    expect(other.get_by_role("link", name="Selling my old bike")).to_be_visible()
    expect(other.get_by_role("link", name=TITLE)).to_have_count(0)
    assert other.goto(topic_url).status == 404

    # The moderator finds it first in the queue, above the older spam report.
    mod = browse(javascript=javascript)
    log_in(mod, live_server.url, moderator.username)
    open_queue(mod)
    rows = queue_rows(mod)
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text(BODY)
    expect(rows.nth(1)).to_contain_text("New member's post")
    expect(rows.nth(2)).to_contain_text("Spam")
    audit(mod)
    rows.nth(1).get_by_role("link", name=re.compile(r"^Held post #\d+$")).click()
    expect(heading(mod, re.compile(r"^Held post #\d+$"))).to_be_visible()
    post = mod.get_by_role("region", name="The post")
    expect(post).to_contain_text(BODY)
    expect(post).to_contain_text("by new_wren")
    expect(mod.get_by_role("region", name="Reasons")).to_contain_text("New member's post")
    mod.get_by_role("combobox", name="Reason").select_option(label="Welcome, approved")
    mod.get_by_role("button", name="Approve", exact=True).click()
    expect(heading(mod, "Review queue")).to_be_visible()
    expect(status(mod)).to_contain_text("Approved: the post is visible to everyone.")
    expect(queue_rows(mod)).to_have_count(2)  # only the spam report is left

    # Now everyone sees it.
    other.goto(f"{live_server.url}/b/general")
    other.get_by_role("link", name=TITLE).click()
    expect(heading(other, TITLE)).to_be_visible()
    expect(other.get_by_role("article", name="new_wren", exact=True)).to_contain_text(BODY)

    # The author has a notice in the site and by mail.
    open_notices(author, new=1)
    notice = author.get_by_role("article", name=re.compile(r"^Your post is now visible"))
    expect(notice).to_contain_text(f"A moderator approved your post in “{TITLE}”")
    expect(notice).to_contain_text("Thank you for posting.")  # the template's words
    expect(notice.get_by_role("link", name="See the post")).to_be_visible()
    audit(author)
    author.get_by_role("button", name="Mark all as read").click()
    expect(status(author)).to_contain_text("All notices marked as read.")
    expect(site_nav(author).get_by_role("link", name="Notices", exact=True)).to_be_visible()

    message = mailbox.wait_for(newcomer.email)
    assert message["Subject"] == "Your post is now visible"
    assert TITLE in message.get_body(preferencelist=("plain",)).get_content()


# --- 2. a report that someone may be at risk: top of the queue, hidden with a reason ------


@JS
def test_a_report_that_someone_is_at_risk_goes_first_and_is_hidden_with_a_reason(
    javascript, live_server, mailbox, make, desk, browse, audit
):
    board = make.board("general", "General")
    starter = make.user("old_oak")
    poster = make.user("river_stone")
    reporter = make.user("kind_fox")
    moderator = make.user("mod_mira", role="moderator", moderates=(board,))
    # An older held new-member post is already waiting.
    make.topic(
        make.user("new_wren", trusted=False),
        board,
        "Hello from a newcomer",
        "Glad to have found this place.",
    )
    topic = make.topic(starter, board, "Rough patch", "How is everyone holding up?")
    make.reply(poster, topic, RISKY_REPLY)

    # A member reports the reply.
    member = browse(javascript=javascript)
    log_in(member, live_server.url, reporter.username)
    member.goto(f"{live_server.url}/t/{topic.id}")
    member.get_by_role("link", name="Report this post by river_stone").click()
    expect(heading(member, "Report a post")).to_be_visible()
    member.get_by_role("radio", name="Someone may be at risk").check()
    member.get_by_role("textbox", name="Anything the moderators should know").fill(
        "They sound very low."
    )
    member.get_by_role("button", name="Send report").click()
    expect(heading(member, "Rough patch")).to_be_visible()
    expect(status(member)).to_contain_text("Thank you for telling us.")

    # The moderator sees it at the top, its content hidden, above the older held post.
    mod = browse(javascript=javascript)
    log_in(mod, live_server.url, moderator.username)
    open_queue(mod)
    rows = queue_rows(mod)
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("Someone may be at risk")
    expect(rows.nth(1)).to_contain_text("Content hidden: open the item to read it.")
    expect(rows.nth(1)).not_to_contain_text(RISKY_REPLY)
    expect(rows.nth(2)).to_contain_text("New member's post")
    rows.nth(1).get_by_role("link", name=re.compile(r"^Reported post #\d+$")).click()
    expect(heading(mod, re.compile(r"^Reported post #\d+$"))).to_be_visible()

    # The post is collapsed until the moderator opens it.
    post = mod.get_by_role("region", name="The post")
    expect(post.get_by_text(RISKY_REPLY)).to_be_hidden()
    post.get_by_text("This may be about self-harm or violence. Show the post").click()
    expect(post.get_by_text(RISKY_REPLY)).to_be_visible()
    reasons = mod.get_by_role("region", name="Reasons")
    expect(reasons).to_contain_text("Someone may be at risk: They sound very low.")
    expect(reasons).to_contain_text("reported by kind_fox")

    mod.get_by_role("combobox", name="Reason").select_option(label="Member at risk")
    mod.get_by_role("textbox", name="Your own words").fill(HIDE_WORDS)
    mod.get_by_role("button", name="Hide", exact=True).click()
    expect(heading(mod, "Review queue")).to_be_visible()
    expect(status(mod)).to_contain_text("Hidden: only moderators can see the post now.")
    rows = queue_rows(mod)
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("New member's post")

    # Gone for everyone else.
    member.reload()
    expect(heading(member, "Rough patch")).to_be_visible()
    expect(member.get_by_role("article", name="old_oak", exact=True)).to_be_visible()
    expect(member.get_by_role("article", name="river_stone", exact=True)).to_have_count(0)
    expect(member.get_by_text(RISKY_REPLY)).to_have_count(0)

    # The author is told, with the reason, and never who reported the post.
    author = browse(javascript=javascript)
    log_in(author, live_server.url, poster.username)
    open_notices(author, new=1)
    notice = author.get_by_role("article", name=re.compile(r"^A moderator hid your post"))
    expect(notice).to_contain_text("A moderator hid your post in “Rough patch”.")
    expect(notice).to_contain_text("We have reached out with support.")  # the template
    expect(notice).to_contain_text(HIDE_WORDS)
    expect(notice).not_to_contain_text("kind_fox")
    audit(author)

    message = mailbox.wait_for(poster.email)
    assert message["Subject"] == "A moderator hid your post"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert HIDE_WORDS in text and "kind_fox" not in text


# --- 3. two moderators, one item ------------------------------------------------------------


@JS
def test_the_second_moderator_is_refused_and_shown_the_item_as_it_stands(
    javascript, live_server, mailbox, make, desk, browse, audit
):
    board = make.board("general", "General")
    newcomer = make.user("new_wren", trusted=False)
    first_mod = make.user("mod_ash", role="moderator", moderates=(board,))
    second_mod = make.user("mod_birch", role="moderator", moderates=(board,))
    topic = make.topic(newcomer, board, TITLE, BODY)
    item_url = f"{live_server.url}/review/{desk.item_id(desk.first_post(topic))}"

    # Two contexts: two separate sessions.
    first, second = browse(javascript=javascript), browse(javascript=javascript)
    log_in(first, live_server.url, first_mod.username)
    log_in(second, live_server.url, second_mod.username)
    for page in (first, second):
        page.goto(item_url)
        expect(heading(page, re.compile(r"^Held post #\d+$"))).to_be_visible()
        expect(page.get_by_role("button", name="Reject", exact=True)).to_be_visible()

    first.get_by_role("button", name="Approve", exact=True).click()
    expect(status(first)).to_contain_text("Approved: the post is visible to everyone.")

    second.get_by_role("combobox", name="Reason").select_option(label="Off topic")
    second.get_by_role("textbox", name="Your own words").fill("Please try the other board.")
    with second.expect_response(lambda response: response.request.method == "POST") as sent:
        second.get_by_role("button", name="Reject", exact=True).click()
    assert sent.value.status == 409
    refusal = second.get_by_role("alert")
    expect(refusal).to_contain_text("Not applied")
    expect(refusal).to_contain_text(STALE)
    # The fresh state: approved by the first moderator, nothing left to do.
    expect(second.get_by_role("main")).to_contain_text("Approved (by mod_ash)")
    expect(second.get_by_role("region", name="The post")).to_contain_text("The post is published.")
    expect(second.get_by_role("region", name="Decide")).to_have_count(0)
    for action in ("Approve", "Reject", "Hide", "Delete"):
        expect(second.get_by_role("button", name=action, exact=True)).to_have_count(0)
    expect(second.get_by_role("region", name="History")).to_contain_text("Approve by mod_ash")
    audit(second)

    # The post stays approved, and the author heard about one decision only.
    anyone = browse(javascript=javascript)
    anyone.goto(f"{live_server.url}/t/{topic.id}")
    expect(anyone.get_by_role("article", name="new_wren", exact=True)).to_contain_text(BODY)
    assert mailbox.wait_for(newcomer.email)["Subject"] == "Your post is now visible"


# --- 4. axe on every moderation and admin page ---------------------------------------------

ADMIN_PAGES = {  # link on /admin/ -> heading of the page it opens
    "Boards": "Boards",
    "Members": "Members",
    "Helplines": "Helplines on “Get help now”",
    "Watched words": "Watched words",
    "Crisis phrases": "Crisis phrases",
    "Reasons": "Reasons moderators give",
    "Moderation hours": "Moderation hours",
    "Audit log": "Audit log",
}


def test_moderation_and_admin_pages_pass_axe(live_server, make, desk, browse, audit):
    board = make.board("general", "General")
    make.board("quiet", "Quiet corner")
    admin = make.user("ada_admin", role="admin")
    newcomer = make.user("new_wren", trusted=False)
    poster = make.user("river_stone")
    reporter = make.user("kind_fox")
    second_reporter = make.user("calm_heron")
    starter = make.user("old_oak")

    # Two held posts by a new member (one to approve, one to reject).
    held = make.topic(newcomer, board, TITLE, BODY)
    to_reject = make.topic(newcomer, board, "Anyone near Leeds?", "Looking to meet up.")
    # A post edited once, then reported twice: reasons, earlier versions, history.
    topic = make.topic(starter, board, "Small wins this week", "Post yours!")
    reported = make.reply(poster, topic, "I went for a walk.")
    desk.edit(poster, reported.id, "I went for a walk, and called my sister.")
    desk.report(reporter, reported.id, "personal_details", "Names a street, I think.")
    desk.report(second_reporter, reported.id, "other", "Feels like it could upset people.")
    # An earlier decision, for the numbers at the top of the queue.
    desk.decide(admin, desk.first_post(held), "approve")

    # A trusted member's crisis post: published, the helplines shown at once.
    member = browse()
    log_in(member, live_server.url, poster.username)
    member.goto(f"{live_server.url}/t/{topic.id}")
    member.get_by_label("Your reply").fill("Some nights I want to die, if I'm honest.")
    member.get_by_role("button", name="Post reply").click()
    expect(member.get_by_role("region", name="You're not alone")).to_be_visible()
    audit(member)  # topic page with the crisis panel

    # --- the report page, then the same with its error
    reporting = browse()
    log_in(reporting, live_server.url, reporter.username)
    reporting.goto(f"{live_server.url}/p/{desk.first_post(topic)}/report")
    expect(heading(reporting, "Report a post")).to_be_visible()
    audit(reporting)
    with reporting.expect_response(lambda response: response.request.method == "POST") as sent:
        reporting.get_by_role("button", name="Send report").click()
    assert sent.value.status == 400
    expect(reporting.get_by_role("alert")).to_contain_text("Please check the form")
    reasons = reporting.get_by_role("group", name="What is wrong?")
    expect(reasons).to_contain_text("Choose what is wrong with the post.")
    audit(reporting)

    # --- the queue, with items, numbers and the chart
    mod = browse()
    log_in(mod, live_server.url, admin.username)
    open_queue(mod)
    rows = queue_rows(mod)
    expect(rows).to_have_count(4)
    expect(rows.nth(1)).to_contain_text("Someone may be at risk")  # the crisis post
    expect(mod.get_by_role("img", name=re.compile(r"^Items waiting per day"))).to_be_visible()
    expect(mod.get_by_role("main")).to_contain_text("Median time to a decision (7 days, 1 ")
    mod.get_by_text("Items waiting per day, as a table").click()
    expect(mod.get_by_role("table", name="Items waiting at the end of each day")).to_be_visible()
    audit(mod)
    mod.get_by_role("combobox", name="Kind").select_option(label="Held post")
    mod.get_by_role("button", name="Filter").click()
    expect(queue_rows(mod)).to_have_count(2)
    audit(mod)

    # --- a crisis item: collapsed content
    open_queue(mod)
    queue_rows(mod).nth(1).get_by_role("link").click()
    expect(heading(mod, re.compile(r"^Flagged post #\d+$"))).to_be_visible()
    expect(mod.get_by_role("region", name="Reasons")).to_contain_text("Crisis language")
    expect(mod.get_by_text("Some nights I want to die")).to_be_hidden()
    audit(mod)

    # --- a reported post: reasons, earlier versions, history (after claiming it)
    mod.goto(f"{live_server.url}/review/{desk.item_id(reported.id)}")
    mod.get_by_role("button", name="I'm handling this").click()
    expect(status(mod)).to_contain_text("You are handling this item")
    expect(mod.get_by_role("region", name="History")).to_contain_text("claimed by ada_admin")
    expect(mod.get_by_role("region", name="Reasons")).to_contain_text("reported by calm_heron")
    mod.get_by_text(re.compile(r"^Version written")).click()
    expect(mod.get_by_role("region", name="The post")).to_contain_text("I went for a walk.")
    audit(mod)

    # --- a held post: an action without its reason is refused beside the field
    mod.goto(f"{live_server.url}/review/{desk.item_id(desk.first_post(to_reject))}")
    with mod.expect_response(lambda response: response.request.method == "POST") as sent:
        mod.get_by_role("button", name="Reject", exact=True).click()
    assert sent.value.status == 400
    expect(mod.get_by_role("alert")).to_contain_text("Give a reason: the member will see it.")
    own_words = mod.get_by_role("textbox", name="Your own words")
    expect(own_words).to_have_attribute("aria-invalid", "true")
    expect(own_words).to_have_accessible_description(
        re.compile("Give a reason: the member will see it.")
    )
    audit(mod)
    mod.get_by_role("combobox", name="Reason").select_option(label="Personal details")
    mod.get_by_role("button", name="Reject", exact=True).click()
    expect(status(mod)).to_contain_text("Rejected: the author was told why")

    # --- the member's notices and their returned post
    author = browse()
    log_in(author, live_server.url, newcomer.username)
    open_notices(author, new=2)
    expect(author.get_by_role("article")).to_have_count(2)
    audit(author)
    author.get_by_role("link", name="Get your text back").click()
    expect(heading(author, "Your post, returned to you")).to_be_visible()
    expect(author.get_by_role("textbox", name="Your text")).to_have_value("Looking to meet up.")
    audit(author)

    # --- every admin page
    mod.goto(f"{live_server.url}/")
    site_nav(mod).get_by_role("link", name="Admin", exact=True).click()
    expect(heading(mod, "Administration")).to_be_visible()
    audit(mod)
    admin_links = mod.get_by_role("main").get_by_role("list").get_by_role("link")
    expect(admin_links).to_have_text(list(ADMIN_PAGES))  # none left unaudited
    for link, title in ADMIN_PAGES.items():
        mod.goto(f"{live_server.url}/admin/")
        mod.get_by_role("main").get_by_role("link", name=link, exact=True).click()
        expect(heading(mod, title)).to_be_visible()
        audit(mod)

    # ... and the pages those link to, and pages with a form error.
    mod.goto(f"{live_server.url}/admin/boards")
    mod.get_by_role("link", name="Edit General").click()
    expect(heading(mod, "Edit board: General")).to_be_visible()
    audit(mod)

    mod.goto(f"{live_server.url}/admin/members")
    mod.get_by_role("link", name="new_wren").click()
    expect(heading(mod, "new_wren")).to_be_visible()
    audit(mod)

    mod.goto(f"{live_server.url}/admin/reason-templates")
    mod.get_by_role("link", name="Edit “Welcome, approved”").click()
    expect(heading(mod, "Edit reason: Welcome, approved")).to_be_visible()
    audit(mod)

    mod.goto(f"{live_server.url}/admin/helplines")
    mod.get_by_role("main").get_by_role("link", name=re.compile(r"^Edit ")).first.click()
    expect(mod.get_by_role("heading", level=1)).to_contain_text("Edit")
    audit(mod)

    mod.goto(f"{live_server.url}/admin/watched-words")
    mod.get_by_role("textbox", name="Word or phrase").fill("cheap pills")
    mod.get_by_role("radio", name=re.compile(r"^Flag")).check()
    mod.get_by_role("button", name=re.compile(r"^Add")).click()
    expect(status(mod)).to_contain_text("“cheap pills” added to the watched list.")
    audit(mod)  # with a table of watched words
    with mod.expect_response(lambda response: response.request.method == "POST") as sent:
        mod.get_by_role("button", name=re.compile(r"^Add")).click()  # nothing typed
    assert sent.value.status == 400
    expect(mod.get_by_role("alert")).to_contain_text("Please check the form")
    audit(mod)

    mod.goto(f"{live_server.url}/admin/boards")
    with mod.expect_response(lambda response: response.request.method == "POST") as sent:
        mod.get_by_role("button", name=re.compile(r"^Add")).click()
    assert sent.value.status == 400
    expect(mod.get_by_role("alert")).to_contain_text("Please check the form")
    audit(mod)

    mod.goto(f"{live_server.url}/admin/audit")
    mod.get_by_text(re.compile(r"^Before and after")).first.click()
    audit(mod)  # with an entry's details open

    assert len(audit.audited) == 27


# --- the queue's pages in the dark scheme, and at 320 px (200% zoom) ------------------------


@pytest.mark.parametrize(
    "color_scheme, viewport",
    [("dark", DESKTOP), ("light", ZOOMED)],
    ids=["dark-desktop", "light-320px"],
)
def test_moderation_pages_in_dark_scheme_and_zoomed(
    color_scheme, viewport, live_server, make, desk, browse, audit
):
    board = make.board("general", "General")
    admin = make.user("ada_admin", role="admin")
    newcomer = make.user("new_wren", trusted=False)
    held = make.topic(newcomer, board, TITLE, BODY)
    topic = make.topic(make.user("old_oak"), board, "Rough patch", "How is everyone?")
    poster = make.user("river_stone")
    risky = make.reply(poster, topic, RISKY_REPLY)
    desk.report(make.user("kind_fox"), risky.id, "at_risk", "They sound very low.")

    def check(page: Page, title) -> None:
        expect(heading(page, title)).to_be_visible()
        audit(page)
        no_sideways_scroll(page)

    author = browse(color_scheme=color_scheme, viewport=viewport)
    log_in(author, live_server.url, newcomer.username)
    author.goto(f"{live_server.url}/t/{held.id}")
    expect(
        author.get_by_role("region", name="Your post is waiting for a moderator")
    ).to_be_visible()
    check(author, TITLE)

    mod = browse(color_scheme=color_scheme, viewport=viewport)
    log_in(mod, live_server.url, admin.username)
    mod.goto(f"{live_server.url}/review")
    expect(queue_rows(mod)).to_have_count(3)
    mod.get_by_text("Items waiting per day, as a table").click()
    check(mod, "Review queue")
    queue_rows(mod).nth(1).get_by_role("link").click()
    mod.get_by_text("This may be about self-harm or violence. Show the post").click()
    check(mod, re.compile(r"^Reported post #\d+$"))
    mod.get_by_role("button", name="Hide", exact=True).click()  # no reason: refused
    expect(mod.get_by_role("alert")).to_contain_text("Give a reason")
    check(mod, re.compile(r"^Reported post #\d+$"))
    mod.get_by_role("textbox", name="Your own words").fill("We have been in touch.")
    mod.get_by_role("button", name="Hide", exact=True).click()
    expect(status(mod)).to_contain_text("Hidden: only moderators can see the post now.")
    mod.goto(f"{live_server.url}/admin/audit")
    mod.get_by_text(re.compile(r"^Before and after")).first.click()
    check(mod, "Audit log")

    hidden = browse(color_scheme=color_scheme, viewport=viewport)
    log_in(hidden, live_server.url, poster.username)
    hidden.goto(f"{live_server.url}/notices")
    expect(hidden.get_by_role("article")).to_contain_text("We have been in touch.")
    check(hidden, "Notices")
