"""Saved conversations in a real browser: a conversation comes back after a page reload and after a server
restart (SQLite under the index dir, the open one's id in the browser), can be reopened from the list,
renamed, exported as Markdown with its citations, and deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.e2e import test_browser
from tests.e2e.test_browser import ARTIFACTS, _ask, served
from tests.e2e.test_web import free_port

pytestmark = pytest.mark.browser
browser = test_browser.browser  # the fixture: a fresh Debian chromium profile
FIRST = "How efficient is a heat pump?"
SECOND = "What flow temperature suits a heat pump?"


def _open_list(page) -> None:
    from playwright.sync_api import expect

    if not page.locator("#dq-conv-list").is_visible():
        page.locator("#dq-convs").get_by_role("button", name="Saved conversations").first.click()
    expect(page.locator("#dq-conv-list")).to_be_visible()


def test_a_conversation_survives_reload_and_restart(browser, make_app):
    from playwright.sync_api import expect

    page, outside = browser
    port = free_port()
    qa = make_app(port=port)
    assert qa.library.add_paths([SAMPLES / "heat_pumps.pdf"])[0].status == "ingested"
    with served(qa) as url:
        page.goto(url)
        _ask(page, FIRST)
        expect(page.locator("#dq-faith .dq-faith")).to_be_visible()
        _open_list(page)
        expect(page.locator("#dq-conv-list")).to_contain_text(FIRST)  # saved with its first question as title

        page.reload()
        chat = page.locator("#dq-chat")
        expect(chat).to_contain_text(FIRST)
        expect(chat.locator(".dq-cites")).to_contain_text("heat_pumps.pdf")
        expect(page.locator("#dq-sources .dq-card.dq-cited").first).to_be_visible()  # its sources too
    qa.close()

    qa = make_app(port=port)  # a server restart over the same data
    with served(qa):
        page.reload()
        chat = page.locator("#dq-chat")
        expect(chat).to_contain_text(FIRST)
        page.locator("#dq-chat sup.dq-ref.dq-go").first.click()  # the restored answer still opens its page
        expect(page.locator("#dq-page-view .dq-pv-hl").first).to_be_visible()
        page.locator("#dq-pv-close").click()

        page.get_by_role("button", name="New conversation").click()
        expect(chat).not_to_contain_text(FIRST)
        _ask(page, SECOND)
        expect(page.locator("#dq-faith .dq-faith")).to_be_visible()
        _open_list(page)
        expect(page.locator("#dq-conv-list label")).to_have_count(2)
        page.locator("#dq-conv-list label").filter(has_text=FIRST).click()  # reopen the first
        expect(chat).to_contain_text(FIRST)
        expect(chat).not_to_contain_text(SECOND)

        title = page.locator("#dq-conv-title input, #dq-conv-title textarea").first
        title.fill("Heat pump efficiency notes")
        page.locator("#dq-conv-rename").click()
        expect(page.locator("#dq-conv-list")).to_contain_text("Heat pump efficiency notes")

        with page.expect_download() as download:
            page.locator("#dq-conv-export").click()
        assert download.value.suggested_filename == "Heat_pump_efficiency_notes.md"
        markdown = Path(download.value.path()).read_text(encoding="utf-8")
        assert markdown.startswith("# Heat pump efficiency notes"), markdown[:200]
        assert f"## {FIRST}" in markdown and "heat_pumps.pdf, p" in markdown and "[1]" in markdown
        page.screenshot(path=str(ARTIFACTS / "conversations.png"))

        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#dq-conv-delete").click()
        expect(chat).not_to_contain_text(FIRST)
        expect(page.locator("#dq-conv-list label")).to_have_count(1)
        page.reload()
        expect(page.locator("#dq-question textarea")).to_be_visible()
        expect(page.locator("#dq-chat")).not_to_contain_text(FIRST)  # deleted stays deleted
    assert [c.title for c in qa.conversations.list("")] == [SECOND]
    assert outside == [], f"the UI fetched from outside: {outside}"
