"""The pages read well in the dark colour scheme, on a phone and when zoomed.

Each page is audited with axe-core (colour contrast is checked against the
scheme actually in use) and must not scroll sideways: 320 CSS pixels is what a
640-pixel-wide window shows at 200% zoom (WCAG 1.4.10, Reflow).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import log_in
from tests.helpers.layout import DESKTOP, ZOOMED, no_sideways_scroll

PHONE = {"width": 375, "height": 667}

LONG_LINK = "https://example.org/" + "/".join(["a-rather-long-path-segment"] * 6)
RICH_POST = f"""Some things that helped me, in no particular order:

- a **routine**, even a small one
- writing things down: > quotes like this one too
- this page: [{LONG_LINK}]({LONG_LINK})

> A quote from a book that stayed with me.

```
a_line_of_code_that_is_far_too_long_to_fit_on_a_phone_screen_without_wrapping(or_scrolling)
```

Supercalifragilisticexpialidociouslyunbreakablewordthatgoesonandonandonforever.
"""


@pytest.mark.browser
@pytest.mark.parametrize(
    "color_scheme, viewport",
    [
        ("dark", DESKTOP),
        ("light", PHONE),
        ("dark", PHONE),
        ("light", ZOOMED),
    ],
    ids=["dark-desktop", "light-phone", "dark-phone", "light-320px"],
)
def test_pages_in_dark_scheme_and_narrow_screens(
    color_scheme, viewport, live_server, make, browse, audit
):
    member = make.user("river_otter")
    board = make.board("long-term-conditions", "Long-term conditions and everyday life")
    topic = make.topic(
        member,
        board,
        "What helps on the days when everything feels heavy?",
        RICH_POST,
        content_warning="low mood",
    )
    make.reply(member, topic, "> **river_otter** wrote:\n>\n> a **routine**\n\nSame here.")
    page = browse(color_scheme=color_scheme, viewport=viewport)
    assert page.evaluate(f"matchMedia('(prefers-color-scheme: {color_scheme})').matches")
    assert page.viewport_size == viewport

    def check(expected_heading: str) -> None:
        expect(page.get_by_role("heading", level=1, name=expected_heading)).to_be_visible()
        audit(page)
        no_sideways_scroll(page)

    page.goto(f"{live_server.url}/")
    check("Boards")

    # A form showing its errors.
    page.goto(f"{live_server.url}/register")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("Please check the form")
    expect(page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    check("Join Kindred")

    log_in(page, live_server.url, member.username)
    page.goto(f"{live_server.url}/b/{board.slug}")
    check(board.name)

    page.goto(f"{live_server.url}/t/{topic.id}")
    posts = page.get_by_role("article")
    expect(posts).to_have_count(2)
    posts.first.get_by_text("Content warning: low mood").click()  # open it: audit what it hides
    expect(posts.first.get_by_role("link", name=LONG_LINK)).to_be_visible()
    check(topic.title)

    page.get_by_label("Your reply").fill(RICH_POST)
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("region", name="Preview")).to_be_visible()
    check(f"Reply to “{topic.title}”")
