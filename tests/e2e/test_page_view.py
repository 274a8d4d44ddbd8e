"""See the source, in a real browser: a [n] chip opens the cited PDF page as an image with the quote boxed
(position from the PDF's text layer), previous/next page work, and a Markdown source opens as the passage
in its text with the quote marked. The screenshot of the page view goes to docs/page_view.png (README)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO, SAMPLES
from tests.e2e import test_browser
from tests.e2e.test_browser import ARTIFACTS, _ask, served
from tests.e2e.test_web import free_port

pytestmark = pytest.mark.browser
browser = test_browser.browser  # the fixture: a fresh Debian chromium profile
DOCS = REPO / "docs"

BOXES_INSIDE_IMAGE = """() => {
  const img = document.querySelector('#dq-page-view .dq-pv-page img').getBoundingClientRect();
  return [...document.querySelectorAll('#dq-page-view .dq-pv-hl')].map(el => {
    const b = el.getBoundingClientRect();
    return b.width > 2 && b.height > 2 && b.left >= img.left - 1 && b.right <= img.right + 1
      && b.top >= img.top - 1 && b.bottom <= img.bottom + 1;
  });
}"""


def test_a_citation_opens_the_pdf_page_with_the_quote_highlighted(browser, make_app):
    from playwright.sync_api import expect

    page, outside = browser
    page.set_viewport_size({"width": 1280, "height": 860})
    qa = make_app(port=free_port())
    assert qa.library.add_paths([SAMPLES / "heat_pumps.pdf"])[0].status == "ingested"
    with served(qa) as url:
        page.goto(url)
        _ask(page, "How efficient is a heat pump?")
        expect(page.locator("#dq-faith .dq-faith")).to_be_visible()
        first = page.locator("#dq-chat .dq-cite-ref.dq-go").first
        expect(first).to_contain_text("[1]")  # the numbering shown starts at [1]
        cited_page = int(re.search(r"pp?\. (\d+)", first.inner_text()).group(1))

        page.locator("#dq-chat sup.dq-ref.dq-go").first.click()
        view = page.locator("#dq-page-view .dq-pv")
        expect(view.locator("img")).to_be_visible()
        expect(view.locator(".dq-pv-pageno")).to_have_text(f"page {cited_page} of 3")
        expect(view.locator(".dq-pv-hl").first).to_be_visible()
        inside = page.evaluate(BOXES_INSIDE_IMAGE)
        assert inside and all(inside), f"highlight boxes outside the page image: {inside}"
        assert page.evaluate("document.querySelector('#dq-page-view img').naturalWidth") > 500  # a real render
        page.wait_for_timeout(400)  # the highlight is scrolled into view
        page.screenshot(path=str(DOCS / "page_view.png"))

        other = cited_page + 1 if cited_page < 3 else cited_page - 1
        page.locator("#dq-pv-next" if other > cited_page else "#dq-pv-prev").click()
        expect(view.locator(".dq-pv-pageno")).to_have_text(f"page {other} of 3")
        page.locator("#dq-pv-prev" if other > cited_page else "#dq-pv-next").click()
        expect(view.locator(".dq-pv-pageno")).to_have_text(f"page {cited_page} of 3")
        expect(view.locator(".dq-pv-hl").first).to_be_visible()  # back on the cited page, boxed again

        page.locator("#dq-pv-close").click()
        expect(page.locator("#dq-viewer")).to_be_hidden()
        # The same view from a source card's button.
        page.locator("#dq-sources .dq-card.dq-cited .dq-open").first.click()
        expect(view.locator(".dq-pv-hl").first).to_be_visible()
    assert outside == [], f"the UI fetched from outside: {outside}"


def test_a_markdown_source_opens_in_its_text_with_the_quote_marked(browser, make_app):
    from playwright.sync_api import expect

    page, outside = browser
    page.set_viewport_size({"width": 390, "height": 844})  # and on a phone
    qa = make_app(port=free_port())
    assert qa.library.add_paths([SAMPLES / "solar_system_guide.md"])[0].status == "ingested"
    with served(qa) as url:
        page.goto(url)
        _ask(page, "Which planet is the largest?")
        expect(page.locator("#dq-faith .dq-faith")).to_be_visible()
        page.locator("#dq-chat sup.dq-ref.dq-go").first.click()
        view = page.locator("#dq-page-view .dq-pv[data-kind=text]")
        expect(view.locator("mark").first).to_be_visible()
        doc = view.locator(".dq-pv-doc")
        assert not re.search(r"(^|\n)\s*#{1,6} ", doc.inner_text()), "raw Markdown headings in the passage"
        expect(doc.locator("strong.dq-h").first).to_be_visible()  # headings shown as headings
        width = page.evaluate("document.querySelector('#dq-viewer').getBoundingClientRect().width")
        assert width <= 390 and page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "page_view_text_phone.png"))
    assert outside == [], f"the UI fetched from outside: {outside}"
