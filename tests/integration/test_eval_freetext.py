"""Issue 16: `docqa eval` on a JSONL set whose answers are free text (not spans of the document) reports the
free-text metrics of the PDF sets (doc hit, answer recall within the budget and @k) and page hit@k beside
page@1, instead of zeros."""

from __future__ import annotations

import json

import pytest

from rag.eval.harness import run_eval, short
from rag.eval.report import markdown
from rag.eval.sets import load_eval_set
from tests.conftest import SAMPLES


@pytest.fixture
def free_text_jsonl(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "heat_pumps.pdf").write_bytes((SAMPLES / "heat_pumps.pdf").read_bytes())
    rows = [  # written about the document, not copied from it
        {"question": "Who first described a heat pump, and when?", "answer": "Lord Kelvin, 1852", "page": 1},
        {
            "question": "How cold can it get outside before a cold-climate air-source heat pump stops?",
            "answer": "They keep running to about -25 °C outdoors.",
            "page": 1,
        },
        {"question": "What is the COP of a typical air-source heat pump?", "answer": "between 3 and 4", "page": 1},
    ]
    path = tmp_path / "free.jsonl"
    path.write_text("\n".join(json.dumps({**r, "document": "docs/heat_pumps.pdf"}) for r in rows), encoding="utf-8")
    return path


def test_free_text_jsonl_gets_free_text_metrics(make_app, free_text_jsonl):
    eset = load_eval_set(free_text_jsonl)
    assert all(not i.answers and i.gold_docs == ("docs/heat_pumps.pdf",) for i in eset.items)
    report = run_eval(make_app(), free_text_jsonl, k=4, strategies=["sentence"], log=lambda *_: None)
    row = report["results"]["sentence"]
    assert row["with_span"] == 0 and row["questions"] == 3
    assert row["doc_hit"] == 1.0 and row["doc_top1"] == 1.0
    assert row["answer_recall"] > 0.5 and row["recall_k"] > 0.3  # not the zeros of before
    assert 0 <= row["page_top1"] <= row["page_hit_k"] <= 1 and row["page_hit_k"] > 0
    assert "recall" in short(row) and "page hit@k" in short(row)
    text = markdown(report)
    assert "answer recall@1000w" in text and "page hit@k" in text
