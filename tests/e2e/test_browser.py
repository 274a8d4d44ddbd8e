"""The web UI in a real browser: Debian's chromium driven by Playwright for Python.

Never `playwright install` (it downloads browsers): `make browser` / `apt-get install chromium` provides
/usr/bin/chromium, and the tests skip with a clear reason without it. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import REPO, SAMPLES
from tests.e2e.test_web import free_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
STEP_MS = 120_000  # every wait is bounded
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LLM_ANSWER = (
    "A heat pump moves heat instead of making it, so it delivers three to four units of heat per unit of "
    "electricity [1]. It works best at low flow temperatures of 35 to 45 °C [2]. Heat pumps also run on moonlight."
)


@pytest.fixture
def browser(tmp_path):
    """A fresh chromium profile; yields (page, outside) where `outside` collects non-loopback requests."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium (run `make browser`)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 950},
        )
        context.set_default_timeout(STEP_MS)
        sync_api.expect.set_options(timeout=STEP_MS)
        page = context.new_page()
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if not _local(r.url) else None)
        try:
            yield page, outside
        finally:
            context.close()


def _local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob", "about") or parsed.hostname in ("127.0.0.1", "localhost")


@contextmanager
def served(qa):
    from ui.web import launch

    demo = launch(qa, block=False, quiet=True)
    try:
        yield f"http://127.0.0.1:{qa.settings.port}/"
    finally:
        demo.close()


def _ask(page, question: str) -> None:
    box = page.locator("#dq-question textarea")
    box.fill(question)
    box.press("Enter")


def test_upload_ask_cite_and_remove_in_the_browser(browser, make_app):
    from playwright.sync_api import expect

    page, outside = browser
    qa = make_app(port=free_port())
    with served(qa) as url:
        page.goto(url)
        expect(page.locator("#dq-question textarea")).to_be_visible()
        expect(page.locator("#dq-mode-banner")).to_contain_text("OPENAI_API_KEY")  # extractive mode says how

        page.get_by_role("tab", name="Upload").click()
        page.locator("#dq-files input[type=file]").set_input_files([str(SAMPLES / "heat_pumps.pdf")])
        expect(page.locator("#dq-files")).to_contain_text("heat_pumps.pdf")
        page.locator("#dq-ingest").click()
        expect(page.locator("#dq-upload-summary")).to_contain_text("1 ingested")
        expect(page.locator("#dq-report")).to_contain_text("heat_pumps.pdf")
        page.screenshot(path=str(ARTIFACTS / "upload.png"))

        page.get_by_role("tab", name="Chat").click()
        _ask(page, "How efficient is a heat pump?")
        badge = page.locator("#dq-faith .dq-faith")
        expect(badge).to_be_visible()
        expect(badge.locator(".dq-score")).to_have_text(re.compile(r"^\d{1,3}%$"))
        answer = page.locator("#dq-chat .dq-cites")
        expect(answer).to_contain_text(re.compile(r"heat_pumps\.pdf, p\. \d"))  # citation names file and page
        card = page.locator("#dq-sources .dq-card.dq-cited").first
        expect(card.locator(".dq-file")).to_have_text("heat_pumps.pdf")
        expect(card.locator(".dq-page")).to_have_text(re.compile(r"page \d"))
        expect(card.locator("mark").first).to_be_visible()  # the supporting sentence, highlighted
        badge.locator("summary").click()
        expect(badge.locator(".dq-v").first).to_be_visible()  # per-claim verdicts one click away
        page.screenshot(path=str(ARTIFACTS / "chat_extractive.png"))

        page.get_by_role("tab", name="Library").click()
        expect(page.locator("#dq-library")).to_contain_text("heat_pumps.pdf")
        page.screenshot(path=str(ARTIFACTS / "library.png"))
        page.locator("#dq-doc-name input").click()
        page.get_by_role("option", name="heat_pumps.pdf").click()
        page.once("dialog", lambda dialog: dialog.dismiss())  # cancelling the confirmation keeps it
        page.locator("#dq-remove").click()
        expect(page.locator("#dq-library-message")).to_contain_text("Nothing was removed")
        expect(page.locator("#dq-library")).to_contain_text("heat_pumps.pdf")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#dq-remove").click()
        expect(page.locator("#dq-library-message")).to_contain_text("Removed heat_pumps.pdf")
        expect(page.locator("#dq-library")).not_to_contain_text("heat_pumps.pdf")
        expect(page.locator("#dq-library-summary")).to_contain_text("empty")
        page.screenshot(path=str(ARTIFACTS / "library_after_remove.png"))
    assert qa.store.list_documents() == []
    assert outside == [], f"the UI fetched from outside: {outside}"


def test_llm_answer_streams_into_the_chat(browser, make_app, llm):
    from playwright.sync_api import expect

    from tests.openai_server import Reply

    def reply(body: dict) -> Reply:
        if body.get("stream"):
            return Reply(content=LLM_ANSWER)
        if body.get("tools") or "fact-checker" in json.dumps(body.get("messages", [])):
            claims = [
                {"claim": "A heat pump delivers three to four units of heat per unit of electricity.",
                 "reason": "Source 1 gives a COP of 3 to 4.", "source": 1, "verdict": "supported"},
                {"claim": "A heat pump works best at low flow temperatures of 35 to 45 °C.",
                 "reason": "Source 2 names 35 to 45 °C.", "source": 2, "verdict": "supported"},
                {"claim": "Heat pumps run on moonlight.", "reason": "No source says so.", "source": None,
                 "verdict": "not_supported"},
            ]  # fmt: skip
            return Reply(tool_call={"name": "JudgeReport", "arguments": {"claims": claims}})
        return Reply(content="How efficient is a heat pump?")

    llm.script.default = reply
    page, outside = browser
    qa = make_app(port=free_port(), openai_base_url=llm.base_url, openai_api_key="test", llm_model="scripted")
    qa.ingestor.ingest_file(SAMPLES / "heat_pumps.pdf", qa.settings.strategies)
    with served(qa) as url:
        page.goto(url)
        expect(page.locator("#dq-question textarea")).to_be_visible()
        page.wait_for_selector("#dq-chat")
        expect(page.locator("#dq-header")).to_contain_text("LLM · scripted")
        expect(page.locator("#dq-mode-banner")).to_be_hidden()
        # Record every state the answer bubble passes through, to see it stream.
        page.evaluate(
            """() => { window.dqSeen = []; new MutationObserver(() => {
                 const bot = document.querySelectorAll('#dq-chat .message.bot');
                 const last = bot[bot.length - 1]; if (last) window.dqSeen.push(last.innerText);
               }).observe(document.querySelector('#dq-chat'), {subtree: true, childList: true,
                                                               characterData: true}); }"""
        )
        _ask(page, "How efficient is a heat pump?")
        badge = page.locator("#dq-faith .dq-faith")
        expect(badge).to_be_visible()
        expect(page.locator("#dq-chat")).to_contain_text("moves heat instead of making it")
        expect(page.locator("#dq-chat .dq-cites")).to_contain_text(re.compile(r"heat_pumps\.pdf, p\. \d"))
        expect(badge).to_contain_text("judge: scripted")
        expect(badge.locator(".dq-v-not_supported").filter(has_text="moonlight")).to_be_visible()
        expect(page.locator("#dq-chat .dq-uncited")).to_contain_text("moonlight")
        seen = page.evaluate("window.dqSeen")
        assert any("Writing the answer" in s for s in seen), "no status step was shown while waiting"
        page.screenshot(path=str(ARTIFACTS / "chat_llm.png"))
    assert outside == [], f"the UI fetched from outside: {outside}"


def test_strategy_lab_tab_runs_and_shows_the_comparison(browser, make_app):
    from playwright.sync_api import expect

    page, outside = browser
    qa = make_app(port=free_port())
    with served(qa) as url:
        page.goto(url)
        page.get_by_role("tab", name="Strategy lab").click()
        page.locator("#dq-lab-run").click()  # an empty library: a hint, no table rows, no chart
        expect(page.locator("#dq-lab-message")).to_contain_text("Your library is empty")
        expect(page.locator("#dq-lab-chart")).to_be_hidden()
        page.screenshot(path=str(ARTIFACTS / "strategy_lab_empty.png"))

        for name in ("heat_pumps.pdf", "solar_system_guide.md", "company_handbook.txt"):
            assert qa.ingestor.ingest_file(SAMPLES / name, qa.settings.strategies).status == "ingested"
        count = page.locator("#dq-lab-n input[type=number]")
        count.fill("5")
        count.press("Enter")
        expect(page.locator("#dq-lab-strategies")).to_contain_text("parent-child")
        page.locator("#dq-lab-run").click()
        table = page.locator("#dq-lab-table")
        expect(page.locator("#dq-lab-message")).to_contain_text("on 5 questions")
        for name in ("sentence", "overlap", "parent-child", "langchain 1000/200 dense", "bm25 1000/200"):
            expect(table).to_contain_text(name)
        expect(table).to_contain_text(re.compile(r"[+-]\d\.\d{3}"))  # the differences to the baselines
        expect(page.locator("#dq-lab-recommendation")).to_contain_text("Recommended for your documents")
        expect(page.locator("#dq-lab-method")).to_contain_text("Bias.")
        expect(page.locator("#dq-lab-chart img")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "strategy_lab.png"), full_page=True)
    assert outside == [], f"the UI fetched from outside: {outside}"


def test_korean_question_over_an_english_document_in_the_browser(browser, make_app):
    """Cross-lingual mode in the web UI: the Korean question is answered from the English guide, quoted,
    and the answer says the source is in English. (An English-only library, as in the CLI test: in a mixed
    one retrieval keeps places for the English passage, tests/integration/test_multilingual.py, but the
    offline composer's e5 sentence scores may still prefer a Korean sentence.)"""
    from playwright.sync_api import expect

    page, outside = browser
    qa = make_app(port=free_port(), multilingual="cross-lingual", ingest_strategies="parent-child")
    reports = qa.library.add_paths([SAMPLES / "solar_system_guide.md"])
    assert [r.status for r in reports] == ["ingested"]
    with served(qa) as url:
        page.goto(url)
        expect(page.locator("#dq-question textarea")).to_be_visible()
        _ask(page, "금성의 평균 표면 온도는 몇 도인가요?")
        chat = page.locator("#dq-chat")
        expect(chat).to_contain_text("(source in English)")
        expect(chat).to_contain_text("465")
        expect(page.locator("#dq-chat .dq-cites")).to_contain_text("solar_system_guide.md")
        expect(page.locator("#dq-sources")).to_contain_text("solar_system_guide.md")
        badge = page.locator("#dq-faith .dq-faith")
        expect(badge).to_be_visible()
        expect(badge).not_to_contain_text("source in English")  # the note is not a claim to check
        page.screenshot(path=str(ARTIFACTS / "chat_cross_lingual.png"))  # Hangul needs fonts-noto-cjk
    assert outside == [], f"the UI fetched from outside: {outside}"
