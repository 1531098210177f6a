"""The axe audit used by the other browser tests really fails on a bad page.

With JavaScript off the audit replays the page in a twin context (see
Auditor in conftest.py); both paths must report a violation.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

UNLABELLED_FIELD = """() => {
    const field = document.createElement("input");
    field.type = "text";
    document.querySelector("main").append(field);
}"""


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_audit_reports_a_field_without_a_label(javascript, live_server, browse, audit):
    page = browse(javascript=javascript)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1, name="Boards")).to_be_visible()
    audit(page)  # the page as served passes

    page.evaluate(UNLABELLED_FIELD)  # DevTools can still change the DOM with scripting off
    expect(page.get_by_role("textbox")).to_have_count(1)
    with pytest.raises(AssertionError, match=r"(?s)axe found problems.*\blabel\b"):
        audit(page)
