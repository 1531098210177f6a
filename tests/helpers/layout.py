"""Window sizes and the no-sideways-scrolling check the display tests share."""

from __future__ import annotations

from playwright.sync_api import Page

DESKTOP = {"width": 1280, "height": 800}


ZOOMED = {"width": 320, "height": 640}  # a 640 px window at 200% zoom


def no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    scroll_width, client_width = widths
    assert scroll_width <= client_width, (
        f"{page.url} scrolls sideways: content is {scroll_width}px wide in a "
        f"{client_width}px viewport"
    )
