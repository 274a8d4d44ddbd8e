"""See the source and saved conversations without a browser: the PDF renderer's boxes come from the page's
text layer (real PDFium), the text view finds the quote in the file as loaded, the SQLite store keeps each
user's conversations apart and exports them as Markdown, and the UI numbers sources from [1]."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict

import pytest

from rag.backends.page_render import PdfiumPageRenderer
from rag.conversations import ConversationNotFound, Conversations, answer_from_dict
from rag.core.pageview import find_quote
from rag.core.types import Answer, Chunk, Citation, ClaimVerdict, Faithfulness, Hit, Source
from tests.conftest import SAMPLES
from ui import render

QUOTE = "The efficiency of a heat pump is expressed as its coefficient of performance (COP)"


def test_find_quote_ignores_spacing_case_and_hyphenation():
    text = "Intro.\r\nThe effi-\r\nciency of a HEAT  pump is high. Tail."
    start, end = find_quote(text, "the efficiency of a heat pump is high")
    assert text[start:end] == "The effi-\r\nciency of a HEAT  pump is high"
    assert find_quote(text, "nothing like this at all") is None
    long_quote = "The efficiency of a heat pump is high. " + "It continues on the next page " * 3
    start, end = find_quote(text, long_quote)  # only its opening is on this page
    assert text[start:end].startswith("The effi") and text[start:end].endswith("high")


def test_pdf_page_renders_with_boxes_on_the_quote():
    page = PdfiumPageRenderer().render(str(SAMPLES / "heat_pumps.pdf"), 1, QUOTE)
    assert page.png.startswith(b"\x89PNG") and page.page_count == 3 and page.width > 500
    assert page.boxes, "the quote was not located in the page's text layer"
    for x, y, w, h in page.boxes:
        assert 0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h < 0.1
    elsewhere = PdfiumPageRenderer().render(str(SAMPLES / "heat_pumps.pdf"), 3, QUOTE)
    assert elsewhere.boxes == []  # not on page 3
    with pytest.raises(ValueError, match="out of range"):
        PdfiumPageRenderer().render(str(SAMPLES / "heat_pumps.pdf"), 9, QUOTE)


def test_page_view_through_the_app(make_app):
    qa = make_app()
    qa.library.add_paths([SAMPLES / "heat_pumps.pdf", SAMPLES / "solar_system_guide.md"])
    view = qa.page_view("heat_pumps.pdf", 1, QUOTE)
    assert view.kind == "pdf" and view.found and view.page_count == 3
    text = qa.page_view("solar_system_guide.md", None, "Venus is the hottest planet")
    assert text.kind == "text" and text.spans
    a, b = text.spans[0]
    assert text.text[a:b] == "Venus is the hottest planet"
    assert qa.page_view("missing.pdf", 1, "x").kind == "error"


def _answer(question: str = "How efficient?") -> Answer:
    def chunk(i: int, page: int, end: int | None = None) -> Chunk:
        return Chunk(f"c{i}", "d", "sentence", i, f"Passage {i}.", 0, 10, "a.pdf", "T", page, end or page)

    sources = [Source(1, Hit(chunk(1, 3), 0.4)), Source(2, Hit(chunk(2, 25, 26), 0.9, dense_score=0.8))]
    citations = [Citation("It is 4 [2].", 2, "a.pdf", 25, "Passage 2.", 0, 10, 0.9)]
    faith = Faithfulness(0.9, "high", [ClaimVerdict("It is 4.", "supported", 2)], "heuristic")
    return Answer(question, question, "It is 4 [2].", "extractive", citations, sources, faithfulness=faith)


def test_sources_are_numbered_from_one_and_spans_say_pages():
    answer = _answer()
    assert render.display_numbers(answer) == {2: 1, 1: 2}
    md = render.answer_markdown(answer, turn=0)
    assert ">[1]</sup>" in md and ">[2]</sup>" not in md and "a.pdf, pp. 25–26" in md
    assert "dq-src-2" in md  # the chip still opens the real source 2
    cards = render.sources_html(answer, 0)
    assert "pages 25–26" in cards and cards.index('data-source="1"') < cards.index('data-source="2"')
    assert "source [1]" in render.faithfulness_html(answer.faithfulness, answer.mode, render.display_numbers(answer))


def test_refusal_gives_its_reason_and_lists_no_passages():
    answer = _answer()
    answer.mode, answer.text, answer.citations = "refused", "The documents do not say.", []
    answer.notice = "This question does not seem to be about your documents: similarity 0.21."
    assert "similarity 0.21" in render.answer_markdown(answer, 0)
    panel = render.sources_html(answer, 0)
    assert "similarity 0.21" in panel and "dq-card" not in panel


def test_markdown_headings_are_not_shown_raw():
    html = render.highlight("## Descaling\nRun the **descale** cycle.", [(13, 16)], window=None)
    assert "##" not in html and '<strong class="dq-h">Descaling</strong>' in html and "<b>descale</b>" in html


def test_conversations_are_kept_per_user_and_exported(tmp_path):
    store = Conversations(tmp_path / "c.sqlite3")
    first = store.add_turn("alice", None, _answer("How efficient?"))
    assert store.add_turn("alice", first, _answer("And the cost?")) == first
    assert [c.title for c in store.list("alice")] == ["How efficient?"]
    assert store.list("bob") == []  # another user sees nothing
    with pytest.raises(ConversationNotFound):
        store.answers("bob", first)
    with pytest.raises(ConversationNotFound):
        store.delete("bob", first)

    again = Conversations(tmp_path / "c.sqlite3")  # a restart: a new store over the same file
    answers = again.answers("alice", first)
    assert [a.question for a in answers] == ["How efficient?", "And the cost?"]
    assert answers[0].sources[1].hit.span.page_end == 26 and answers[0].faithfulness.score == 0.9
    assert answers[0] == answer_from_dict(asdict(answers[0]))

    again.rename("alice", first, "  Heat pump   costs ")
    assert again.get("alice", first).title == "Heat pump costs"
    md = again.export_markdown("alice", first)
    assert md.startswith("# Heat pump costs") and "## And the cost?" in md
    assert "- [2] a.pdf, pp. 25–26" in md and "> Passage 2." in md
    again.delete("alice", first)
    assert again.list("alice") == []
    with sqlite3.connect(tmp_path / "c.sqlite3") as db:  # the turns went with it
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0


def test_the_ui_keeps_each_signed_in_users_conversations_apart(make_app):
    from types import SimpleNamespace

    from ui.session_callbacks import SessionCallbacks

    sc = SessionCallbacks(make_app())
    alice, bob = SimpleNamespace(username="alice"), SimpleNamespace(username="bob")
    saved, conversation, listing, title = sc.save([_answer("Alice's question?")], 0, "", alice)
    assert saved == 1 and title == "Alice's question?"
    assert listing["choices"][0][0].startswith("Alice's question?")
    chat, history, answers, *_ = sc.restore(conversation, alice)  # her reload reopens it
    assert chat[0]["content"] == "Alice's question?" and len(answers) == 1 and len(history) == 2
    chat, _, answers, _, _, _, listing, opened, _ = sc.restore(conversation, bob)  # same browser, another login
    assert chat == [] and answers == [] and opened == "" and listing["choices"] == []
