"""Driving the browser as a member would."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.helpers.app import TEST_PASSWORD


def log_in(page: Page, base_url: str, login: str, password: str = TEST_PASSWORD) -> None:
    """Log in through the form, as a member would."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Username or email address").fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name=f"Account ({login})")).to_be_visible()
