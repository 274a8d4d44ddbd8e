"""The PDF question sets (Docugami SEC 10-Q, ARAGOG) and the free-text metrics, on the real files."""

from __future__ import annotations

import json
import re

import pytest

from rag.eval.harness import add_deltas, run_eval
from rag.eval.metrics import Passage, answer_recall, judge_free_text, key_tokens
from rag.eval.pdfsets import (
    ARAGOG_PAPERS,
    aragog_paper,
    docugami_items,
    load_aragog,
    load_docugami,
    pdf_set_loader,
)
from rag.eval.report import markdown, markdown_table, write_report
from tests.conftest import shared

MSFT = {"2023 Q1 MSFT.pdf", "2023 Q2 MSFT.pdf"}  # arrays over pypdf's default 100,000-element cap


def test_free_text_metrics_hand_checked():
    assert key_tokens("Revenue was $1,234.5 million, up 12% in the quarter.") == {
        "revenue",
        "1234.5",
        "million",
        "12",
        "quarter",
    }
    answer = "Net sales were $82,959 million."
    with_number = [Passage("a.pdf", 0, 40, "Total net sales: 82,959 (in millions of dollars)")]
    without = [Passage("a.pdf", 0, 40, "Total net sales: 81,797 (in millions of dollars)")]
    assert key_tokens(answer) == {"net", "sales", "82959", "million"}
    assert answer_recall(with_number, answer) == pytest.approx(3 / 4)  # "million" != "millions": no stemming
    assert answer_recall(without, answer) == pytest.approx(2 / 4)  # the figure is the part that matters
    assert answer_recall(with_number, "the of and") == 0.0  # nothing to look for
    passages = [Passage("other.pdf", 0, 9, "one two three"), *with_number]
    assert judge_free_text(passages, {"a.pdf"}, answer, budget_words=3) == {
        "doc_hit": False,  # the budget is spent on the wrong document
        "answer_recall": 0.0,
        "answer_found": False,
        "doc_top1": False,
    }
    assert judge_free_text(passages, {"a.pdf"}, answer, budget_words=100) == {
        "doc_hit": True,
        "answer_recall": 0.75,
        "answer_found": True,
        "doc_top1": False,
    }
    assert judge_free_text(with_number, {"a.pdf"}, answer)["doc_top1"]


def test_report_shows_free_text_columns_not_span_columns():
    row = {"questions": 2, "with_span": 0, "doc_hit": 1.0, "answer_recall": 0.6, "answer_found": 0.5, "doc_top1": 0.5}
    row.update(p50_ms=10.0, p95_ms=12.0, context_words=300.0)
    report = {
        "dataset": "aragog",
        "questions": 2,
        "documents": 2,
        "k": 4,
        "budget_words": 1000,
        "retrieval_mode": "hybrid",
        "llm": False,
        "notes": ["free-text answers without spans or pages: ..."],
        "results": {"overlap": dict(row), "bm25 1000/200": {**row, "answer_recall": 0.4}},
    }
    add_deltas(report["results"])
    table = markdown_table(report)
    header = table.splitlines()[0]
    assert "answer recall@1000w" in header and "doc hit@1000w" in header and "Δ recall vs bm25" in header
    assert "doc@1" in header
    assert "hit@1000w" not in header.replace("doc hit@1000w", "") and "MRR" not in header and "top-1" not in header
    assert "+0.200" in table.splitlines()[2]
    md = markdown(report)
    assert "Free-text answers" in md and "- free-text answers without spans" in md


def test_aragog_keyword_table_maps_questions():
    folder = shared("qa", "aragog")
    raw = json.loads((folder / "benchmark.json").read_text(encoding="utf-8"))
    papers = [aragog_paper(q) for q in raw["questions"]]
    present = {p.name for p in (folder / "papers_for_questions").glob("*.pdf")}
    mapped = [p for p in papers if p]
    assert len(raw["questions"]) == 107 and len(mapped) >= 95 and set(mapped) <= present
    glm = [i for i, q in enumerate(raw["questions"]) if "GLM-130B" in q]
    assert [i for i, p in enumerate(papers) if p == ""] == glm and len(glm) == 9
    assert {pdf for _, pdf in ARAGOG_PAPERS if pdf} == present  # every PDF of the set has a keyword
    # specific names win over the model they are compared with
    assert aragog_paper("How does DistilBERT's performance on GLUE compare to BERT and ELMo?") == "distilbert.pdf"
    assert aragog_paper("How does SuperGLUE's design improve on GLUE?") == "superglue.pdf"
    assert aragog_paper("How does LLaMA-65B compare to PaLM-540B?") == "llama.pdf"
    assert aragog_paper("How does PaLM do on GSM8K?") is None  # PAL is matched as a word, case-sensitively


def test_aragog_loader_reports_skipped():
    folder = shared("qa", "aragog")
    assert pdf_set_loader(folder) is load_aragog and pdf_set_loader(folder / "benchmark.json") is load_aragog
    eset = load_aragog(folder, only={"distilbert.pdf"})
    notes = "\n".join(eset.notes)
    assert "97 mapped to a paper" in notes
    assert "9 questions skipped, no PDF of GLM-130B in the set: questions 64, 65, 76, 77, 80, 81, 88, 89, 96" in notes
    assert [d.source for d in eset.documents] == ["distilbert.pdf"] and len(eset.items) == 8
    assert all(i.gold_docs == ("distilbert.pdf",) and not i.answers and i.answer_text for i in eset.items)
    assert any("doc hit" in n and "answer recall" in n for n in eset.notes)


def test_docugami_globs_resolve_to_pdfs():
    folder = shared("qa", "docugami_sec10q")
    names = sorted(p.name for p in (folder / "docs").glob("*.pdf"))
    items, notes = docugami_items(folder / "qna_data.csv", names)
    assert notes[0] == "195 questions; Source Docs globs resolved against 20 PDFs in docs/"
    assert len(names) == 20 and len(items) == 195 and all(i.gold_docs for i in items)
    assert {len(i.gold_docs) for i in items} == {1, 4}  # one filing, or all four quarters of a company
    apple = next(i for i in items if i.question.startswith("How has Apple's total net sales changed"))
    assert apple.gold_docs == ("2022 Q3 AAPL.pdf", "2023 Q1 AAPL.pdf", "2023 Q2 AAPL.pdf", "2023 Q3 AAPL.pdf")
    assert "82959" in key_tokens(apple.answer_text)
    assert not any(re.search(r"\.pdf|SOURCE", i.answer_text) for i in items)  # citations removed
    assert pdf_set_loader(folder) is load_docugami and pdf_set_loader(folder / "qna_data_mini.csv") is load_docugami


def test_docugami_unloadable_pdfs_are_reported_not_raised(tmp_path):
    folder = shared("qa", "docugami_sec10q")
    copy = tmp_path / "docugami"
    (copy / "docs").mkdir(parents=True)
    (copy / "qna_data.csv").symlink_to(folder / "qna_data.csv")
    damaged = (folder / "docs" / "2023 Q1 MSFT.pdf").read_bytes()[:4000]  # a download cut short
    (copy / "docs" / "2023 Q1 MSFT.pdf").write_bytes(damaged)
    eset = load_docugami(copy, only={"2023 Q1 MSFT.pdf"})
    notes = "\n".join(eset.notes)
    assert eset.documents == [] and eset.items == []
    assert "2023 Q1 MSFT.pdf not loaded: damaged PDF (truncated or incomplete?)" in notes
    # the only filing in the folder, so every *MSFT* question (20) needs it
    assert "20 questions skipped: a gold document could not be loaded (2023 Q1 MSFT.pdf)" in notes


def test_filings_over_pypdfs_element_cap_load(tmp_path):
    """Both MSFT filings exceed pypdf's default 100,000-element cap; the set loads them under the
    sandbox's limits, as the app does, so their 9 questions count."""
    eset = load_docugami(shared("qa", "docugami_sec10q"), only=MSFT)
    assert sorted(d.source for d in eset.documents) == sorted(MSFT)
    assert len(eset.items) == 9 and not any("not loaded" in n for n in eset.notes)  # 5 for Q1, 4 for Q2


def test_run_eval_on_two_aragog_papers(make_app, tmp_path):
    """End to end on the two smallest papers (18 pages, 18 questions): real loader, MiniLM, Chroma."""
    folder = shared("qa", "aragog")
    eset = load_aragog(folder, only={"distilbert.pdf", "roberta.pdf"})
    assert len(eset.items) == 18 and len(eset.documents) == 2
    qa = make_app(ingest_strategies="overlap")
    report = run_eval(qa, eset, k=4, strategies=["overlap"], log=lambda *_: None)
    rows = report["results"]
    assert set(rows) == {"overlap", "langchain 1000/200 dense", "bm25 1000/200"}
    for row in rows.values():
        assert row["questions"] == 18 and row["with_span"] == 0 and "hit_budget" not in row
        assert row["doc_hit"] >= 0.8 and 0.1 < row["answer_recall"] < 1 and 0 <= row["answer_found"] <= 1
        assert row["doc_top1"] > 0.5
        # the 4 sources the model reads (~800 words) lie inside the 1,000-word budget: never more recall
        assert 0.1 < row["recall_k"] <= row["answer_recall"] + 1e-9
    assert "answer_recall" in rows["overlap"]["vs bm25 1000/200"]
    paths = write_report(report, tmp_path / "out")
    md = paths["md"].read_text()
    assert "answer recall@1000w" in md and "answer recall@k" in md and "Δ recall" in md and "doc hit" in md
