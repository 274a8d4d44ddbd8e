"""The layout in a real browser: the page opens at the top with the tab bar in view on laptop screens,
nothing is squeezed or clipped on a 390 px phone (table cells at least a word wide, citation chips inside
the answer bubble, logo and dropdowns whole), the settings toggle is labelled, and the light/dark toggle
works and is remembered. The phone screenshot goes to docs/phone.png (README)."""

from __future__ import annotations

import pytest

from tests.conftest import REPO, SAMPLES
from tests.e2e import test_browser
from tests.e2e.test_browser import ARTIFACTS, _ask, served
from tests.e2e.test_web import free_port

pytestmark = pytest.mark.browser
browser = test_browser.browser  # the fixture: a fresh Debian chromium profile
DOCS = REPO / "docs"

# Every word of every visible cell must fit the cell's content box (a word broken over lines fails).
CELLS_TOO_NARROW = """(selector) => {
  const bad = [];
  const probe = document.createElement('span');
  probe.style.cssText = 'position:absolute;visibility:hidden;white-space:nowrap';
  document.body.appendChild(probe);
  document.querySelectorAll(`${selector} td, ${selector} th`).forEach((cell) => {
    const text = cell.innerText.trim();
    if (!text || cell.offsetParent === null) return;
    const style = getComputedStyle(cell);
    const inner = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    probe.style.font = style.font;
    for (const word of text.split(/\\s+/)) {
      probe.textContent = word;
      const width = probe.getBoundingClientRect().width;
      if (width > inner + 1) bad.push(`${word} (${width.toFixed(0)} px in ${inner.toFixed(0)} px)`);
    }
  });
  probe.remove();
  return bad;
}"""

CHIPS_OUTSIDE_BUBBLE = """() => [...document.querySelectorAll('#dq-chat .dq-cite-ref, #dq-chat sup.dq-ref')]
.filter((chip) => {
  const bubble = chip.closest('.message');
  if (!bubble) return true;
  const c = chip.getBoundingClientRect(), b = bubble.getBoundingClientRect();
  return c.left < b.left - 1 || c.right > b.right + 1;
}).map((chip) => chip.innerText)"""

UNCOVERED = """(selector) => {
  const el = document.querySelector(selector), r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return r.left >= 0 && r.right <= window.innerWidth && r.top >= 0 && !!hit && (hit === el || el.contains(hit));
}"""


def test_laptop_screens_open_at_the_top_and_dark_mode_toggles(browser, make_app):
    from playwright.sync_api import expect

    page, outside = browser
    qa = make_app(port=free_port())
    with served(qa) as url:
        for width, height in ((1366, 768), (1280, 720)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(url)
            expect(page.locator("#dq-question textarea")).to_be_visible()
            page.wait_for_timeout(1000)  # anything that would scroll on load has run
            assert page.evaluate("window.scrollY") == 0, f"opened scrolled at {width}x{height}"
            tab = page.get_by_role("tab", name="Upload").bounding_box()
            assert tab and tab["y"] >= 0 and tab["y"] + tab["height"] <= height, f"tab bar hidden at {width}x{height}"
            assert page.evaluate(UNCOVERED, ".dq-logo"), "the logo is covered or clipped"

        toggle = page.locator(".dq-sidebar-toggle")
        expect(toggle).to_have_attribute("aria-label", "Answer settings")
        assert page.evaluate("getComputedStyle(document.querySelector('.dq-sidebar-toggle'), '::after').content") == (
            '"Settings"'
        )

        fill = "getComputedStyle(document.querySelector('#dq-chat')).getPropertyValue('--background-fill-primary')"
        light = page.evaluate(fill)
        page.locator("#dq-theme-toggle").click()
        assert page.evaluate("document.body.classList.contains('dark')")
        assert page.locator("#dq-theme-toggle").inner_text().strip() == "☀ Light"  # what is shown
        dark = page.evaluate(fill)
        assert dark != light, "the page did not change colour"
        page.screenshot(path=str(ARTIFACTS / "dark.png"))
        page.reload()
        expect(page.locator("#dq-question textarea")).to_be_visible()
        assert page.evaluate("document.body.classList.contains('dark')"), "dark mode was not remembered"
        page.locator("#dq-theme-toggle").click()
        assert not page.evaluate("document.body.classList.contains('dark')")
        assert page.locator("#dq-theme-toggle").inner_text().strip() == "☾ Dark"
    assert outside == [], f"the UI fetched from outside: {outside}"


def test_phone_layout_keeps_words_whole_and_chips_inside(browser, make_app):
    from playwright.sync_api import expect

    page, outside = browser
    page.set_viewport_size({"width": 390, "height": 844})
    qa = make_app(port=free_port())
    assert qa.library.add_paths([SAMPLES / "solar_system_guide.md"])[0].status == "ingested"
    with served(qa) as url:
        page.goto(url)
        expect(page.locator("#dq-question textarea")).to_be_visible()
        page.wait_for_timeout(800)
        assert page.evaluate("window.scrollY") == 0
        assert page.evaluate(UNCOVERED, ".dq-logo"), "the logo is covered or clipped"

        page.get_by_role("tab", name="Upload").click()
        page.locator("#dq-files input[type=file]").set_input_files([str(SAMPLES / "heat_pumps.pdf")])
        expect(page.locator("#dq-files")).to_contain_text("heat_pumps.pdf")
        page.locator("#dq-ingest").click()
        expect(page.locator("#dq-upload-summary")).to_contain_text("1 ingested")
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('#dq-tab-upload input')].filter(i => i.offsetParent
                 && i.type !== 'file' && i.scrollWidth > i.clientWidth + 1).map(i => i.value)"""
        )
        assert clipped == [], f"clipped dropdown/input text: {clipped}"
        assert page.evaluate(CELLS_TOO_NARROW, "#dq-report") == []

        page.get_by_role("tab", name="Library").click()
        expect(page.locator("#dq-library")).to_contain_text("solar_system_guide.md")
        assert page.evaluate(CELLS_TOO_NARROW, "#dq-library") == []
        page.screenshot(path=str(ARTIFACTS / "phone_library.png"), full_page=True)

        page.get_by_role("tab", name="Chat").click()
        _ask(page, "How efficient is a heat pump?")
        expect(page.locator("#dq-faith .dq-faith")).to_be_visible()
        expect(page.locator("#dq-chat .dq-cite-ref").first).to_be_visible()
        assert page.evaluate(CHIPS_OUTSIDE_BUBBLE) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
        page.locator("#dq-chat .message.bot").last.scroll_into_view_if_needed()
        page.screenshot(path=str(DOCS / "phone.png"))
    assert outside == [], f"the UI fetched from outside: {outside}"
