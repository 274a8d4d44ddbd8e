"""The evaluation harness and the strategy lab, on real pieces (MiniLM, Chroma in tmp, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.eval.datasets import AnswerSpan
from rag.eval.evalsets import find_spans
from rag.eval.harness import evaluate, run_eval, token_f1
from rag.eval.lab import cloze, make_questions, run_lab
from rag.eval.metrics import Passage, judge_question, summarize
from rag.eval.report import write_report
from rag.eval.sets import load_eval_set
from tests.conftest import REPO, SAMPLES

ARTICLES = [
    (
        "Volcanoes",
        "Mount Etna is an active volcano on the east coast of Sicily. It erupted in 1669 and destroyed part of "
        "Catania. Etna is about 3,357 metres high and is the tallest active volcano in Europe.",
        [("When did Etna erupt and destroy part of Catania?", "1669"), ("How high is Mount Etna?", "3,357 metres")],
    ),
    (
        "Rivers",
        "The Danube flows through ten countries before it reaches the Black Sea. Vienna, Budapest and Belgrade "
        "lie on its banks. The river is 2,850 kilometres long.",
        [("Into which sea does the Danube flow?", "Black Sea"), ("How long is the Danube?", "2,850 kilometres")],
    ),
    (
        "Bridges",
        "The Golden Gate Bridge opened in 1937 in San Francisco. Its main span is 1,280 metres long. The bridge "
        "is painted in a colour called International Orange.",
        [
            ("When did the Golden Gate Bridge open?", "1937"),
            ("What colour is the Golden Gate Bridge?", "International Orange"),
        ],
    ),
]


@pytest.fixture
def squad_file(tmp_path):
    data = []
    for title, context, qas in ARTICLES:
        items = [
            {"id": f"{title}-{i}", "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
            for i, (q, a) in enumerate(qas)
        ]
        data.append({"title": title, "paragraphs": [{"context": context, "qas": items}]})
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"version": "1.1", "data": data}), encoding="utf-8")
    return path


@pytest.fixture
def pdf_jsonl(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "heat_pumps.pdf").write_bytes((SAMPLES / "heat_pumps.pdf").read_bytes())
    rows = [
        {"question": "How low do cold-climate air-source heat pumps keep working?", "answer": "-25 °C", "page": 2},
        {"question": "How must a heat pump be sized?", "answer": "room-by-room heat loss calculation", "page": 3},
        {
            "question": "What does a heat pump move?",
            "answer": "from a cold place to a warm place",
            "page": 1,
        },
    ]
    path = tmp_path / "heat.jsonl"
    path.write_text("\n".join(json.dumps({**r, "document": "docs/heat_pumps.pdf"}) for r in rows), encoding="utf-8")
    return path


def test_metrics_hand_checked():
    text = "alpha beta gamma delta epsilon"
    gold = (AnswerSpan("gamma", 11, 16),)
    passages = [Passage("d", 0, 10, text[:10]), Passage("d", 11, 22, text[11:22]), Passage("d", 23, 30, text[23:])]
    r = judge_question(passages, "d", gold, 0.01, budget_words=3)  # budget: 2 + 1 of 2 words -> "gamma"
    assert (r.hit_budget, r.top1, r.rank) == (True, False, 2)
    assert not judge_question(passages, "d", gold, 0.01, budget_words=2).hit_budget
    s = summarize([r, judge_question(passages[1:], "d", gold, 0.03)])
    assert s["mrr10"] == pytest.approx((1 / 2 + 1) / 2) and s["top1"] == 0.5
    assert token_f1("It erupted in 1669 [1].", "1669") == pytest.approx(2 * (1 / 4) / (1 / 4 + 1))
    assert token_f1("Black Sea", "the black sea") == pytest.approx(0.8)
    assert [a.start for a in find_spans("A b a", "a")] == [4] and find_spans("A b", "a")[0].text == "A"


def test_harness_on_tiny_squad(make_app, squad_file):
    qa = make_app()
    eset = load_eval_set(squad_file)
    assert len(eset.documents) == 3 and len(eset.items) == 6
    report = run_eval(qa, squad_file, k=3, log=lambda *_: None)
    assert report["collection"] == f"docqa_eval_{eset.key}"
    rows = report["results"]
    assert set(rows) == {"sentence", "overlap", "parent-child", "langchain 1000/200 dense", "bm25 1000/200"}
    for row in rows.values():
        assert row["questions"] == 6 and 0 <= row["mrr10"] <= 1 and row["p95_ms"] >= row["p50_ms"]
    # tiny articles fit in one baseline chunk and in the 1,000-word budget: everything is found
    assert rows["langchain 1000/200 dense"]["hit_budget"] == 1.0 and rows["sentence"]["hit_budget"] == 1.0
    assert rows["sentence"]["vs bm25 1000/200"]["hit_budget"] == 0.0
    assert report["ingest"]["chunks"]["sentence"] > 0
    again = run_eval(qa, squad_file, k=3, strategies=["sentence"], log=lambda *_: None)  # reuses the collection
    assert again["ingest"]["ingest_seconds"] == report["ingest"]["ingest_seconds"]
    assert qa.store.list_documents() == []  # the user's own collection is untouched


def test_harness_on_pdf_jsonl_pages(make_app, pdf_jsonl, tmp_path):
    qa = make_app()
    report = run_eval(qa, pdf_jsonl, k=4, strategies=["parent-child", "sentence"], log=lambda *_: None)
    rows = report["results"]
    assert rows["sentence"]["with_span"] == 3 and "page_top1" in rows["sentence"]
    assert all(0 <= r["page_top1"] <= 1 for r in rows.values()) and rows["bm25 1000/200"]["page_top1"] > 0
    paths = write_report(report, tmp_path / "out")
    assert paths["png"].read_bytes()[:4] == b"\x89PNG" and "page@1" in paths["md"].read_text()


def test_cloze_and_lab(make_app, tmp_path):
    assert cloze("The bridge opened in 1937 after four years of building work.") == (21, 25)
    assert cloze("Short 1937 sentence.") is None
    qa = make_app()
    qa.warm_up()
    qa.ingestor.ingest_paths(
        [SAMPLES / "solar_system_guide.md", SAMPLES / "company_handbook.txt"], qa.settings.strategies
    )
    from rag.eval.lab import library_documents

    docs = library_documents(qa)
    items = make_questions(docs, 8)
    assert len(items) == 8 and all("____" in i.question for i in items)
    for item in items:  # the gold span is the masked text at its document offsets
        doc = next(d for d in docs if d.source == item.source)
        a = item.answers[0]
        assert doc.text[a.start : a.end] == a.text
    report = run_lab(qa, 8, k=4, log=lambda *_: None)
    paths = write_report(report, tmp_path / "lab", "lab")
    md = paths["md"].read_text()
    assert paths["png"].stat().st_size > 1000 and "favour" in md and "BM25" in md
    assert (
        evaluate(qa, docs, items[:2], ["sentence"], baselines=False, log=lambda *_: None)["sentence"]["questions"] == 2
    )


def test_cli_eval_subprocess(squad_file, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DOCQA_"))}
    env.update(DOCQA_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    out = tmp_path / "res"
    cmd = [
        sys.executable,
        "-m",
        "ui",
        "eval",
        str(squad_file),
        "--strategies",
        "sentence",
        "--k",
        "3",
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert {p.suffix for p in out.iterdir()} == {".json", ".md", ".png"}
    report = json.loads((out / "tiny.json").read_text())
    assert report["results"]["sentence"]["questions"] == 6
