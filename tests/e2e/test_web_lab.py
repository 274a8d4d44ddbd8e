"""The Strategy lab tab: its /lab endpoint driven by gradio_client against the launched app (see
tests/test_web.py), the messages for libraries it cannot use, its own queue lane, and the
recommendation line on hand-made numbers."""

from __future__ import annotations

import re
import threading

import pytest

import ui.lab_tab
from rag.core.types import Strategy
from rag.eval.harness import BASELINES
from tests.conftest import SAMPLES
from tests.e2e.test_web import _rows, free_port, serve
from ui.lab_tab import EMPTY_LIBRARY, Lab, recommendation

STRATEGIES = ["sentence", "overlap", "parent-child"]
SAMPLE_FILES = ("heat_pumps.pdf", "solar_system_guide.md", "company_handbook.txt")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _ingest(qa, names=SAMPLE_FILES, strategies=None) -> None:
    for name in names:
        chosen = [Strategy(s) for s in strategies] if strategies else qa.settings.strategies
        assert qa.ingestor.ingest_file(SAMPLES / name, chosen).status == "ingested"


def _headers(table) -> list[str]:
    return table["headers"] if isinstance(table, dict) else []


def test_lab_endpoint_compares_every_strategy_with_the_baselines(make_app):
    qa = make_app(port=free_port())
    _ingest(qa)
    with serve(qa) as client:
        assert "/lab" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        message, method, table, image, recommended = client.predict(6, STRATEGIES, api_name="/lab")

    assert "Compared 3 strategies and 2 baselines on 6 questions" in message
    header, rows = _headers(table), _rows(table)
    assert header[0] == "strategy" and {"hit@1000w", "top-1", "MRR@10"} <= set(header)
    deltas = [h for h in header if h.startswith("Δ hit vs")]
    assert len(deltas) == 2  # one difference column per baseline
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert list(by_name) == [*STRATEGIES, *BASELINES]
    for name, row in by_name.items():
        for col in ("hit@1000w", "top-1", "MRR@10"):
            assert NUMBER.match(row[col]) and 0 <= float(row[col]) <= 1, (name, col, row[col])
        assert NUMBER.match(row["p50 ms"]), row
        for col in deltas:  # strategies carry a signed difference to each baseline; baselines none
            if name in BASELINES:
                assert row[col] == ""
            else:
                assert re.match(r"^[+-]\d\.\d{3}$", row[col]), (name, col, row[col])
                base = next(b for b in BASELINES if col.endswith(b.split()[0]))
                diff = float(row["hit@1000w"]) - float(by_name[base]["hit@1000w"])
                assert float(row[col]) == pytest.approx(diff, abs=0.0011)

    assert "**Method.**" in method and "cloze" in method and "**Bias.**" in method and "BM25" in method
    assert "Example questions" in method
    picked = re.search(r"Recommended for your documents: `([\w-]+)`", recommended)
    assert picked and picked.group(1) in STRATEGIES, recommended
    assert f"DOCQA_STRATEGY={picked.group(1)}" in recommended
    assert image is not None  # the chart (a PNG in Gradio's cache)
    path = image if isinstance(image, str) else image.get("path") or image.get("url")
    assert str(path).endswith(".png")


def test_lab_endpoint_on_an_empty_library_returns_a_message(make_app):
    qa = make_app(port=free_port())
    with serve(qa) as client:
        message, method, table, image, recommended = client.predict(10, STRATEGIES, api_name="/lab")
    assert EMPTY_LIBRARY in message and "Upload" in message
    assert "dq-error" not in message  # a hint, not a failure
    assert _rows(table) == [] and image is None and method == "" and recommended == ""


def test_lab_builds_the_strategies_ingest_left_out(make_app):
    qa = make_app()
    qa.warm_up()
    _ingest(qa, ("solar_system_guide.md", "company_handbook.txt"), ["sentence"])
    _ingest(qa, ("heat_pumps.pdf",), ["sentence", "overlap"])
    lab = Lab(qa)
    message, _, table, _, _ = lab.run(5, ["sentence", "overlap", "parent-child"], progress=lambda *a, **k: None)
    assert "Compared 3 strategies" in message, message
    assert [r[0] for r in table["data"]] == ["sentence", "overlap", "parent-child", *BASELINES]
    assert not qa.library.missing("overlap") and not qa.library.missing("parent-child")  # built on demand

    message, *_ = lab.run(5, [], progress=lambda *a, **k: None)
    assert "Choose at least one strategy" in message
    message, *_ = lab.run(5, ["semantic"], progress=lambda *a, **k: None)
    assert "Unknown strategy semantic" in message


def test_with_a_language_model_the_questions_are_its_own_and_the_bias_says_so(make_app, llm):
    from tests.openai_server import Reply

    llm.script.default = lambda body: Reply(content="How large is the yearly learning budget per employee?")
    qa = make_app(openai_base_url=llm.base_url, openai_api_key="test", llm_model="scripted")
    qa.warm_up()
    _ingest(qa, ("company_handbook.txt",), ["sentence"])
    message, method, table, _, _ = Lab(qa).run(3, ["sentence"], progress=lambda *a, **k: None)
    assert "on 3 questions" in message and [r[0] for r in table["data"]] == ["sentence", *BASELINES]
    assert "language model rephrased" in method and "No language model was used" not in method
    assert "How large is the yearly learning budget" in method  # the model's questions are the examples


def test_a_running_lab_does_not_block_chat_or_the_library(make_app, monkeypatch):
    """The lab has its own queue lane: while one run is held up, /ask and /documents still answer."""
    qa = make_app(port=free_port(), cache_enabled=False)
    _ingest(qa)
    started, release = threading.Event(), threading.Event()
    real = ui.lab_tab.run_lab

    def held(*args, **kwargs):
        started.set()
        assert release.wait(120), "the test never released the lab"
        return real(*args, **kwargs)

    monkeypatch.setattr(ui.lab_tab, "run_lab", held)
    with serve(qa) as client:
        job = client.submit(5, ["sentence"], api_name="/lab")
        assert started.wait(60), "the lab did not start"
        try:
            text, result = client.predict("How efficient is a heat pump?", None, {"judge": False}, api_name="/ask")
            assert result["mode"] == "extractive" and text
            assert len(client.predict(api_name="/documents")) == 3
            assert not job.done()  # the lab is still held while both answered
        finally:
            release.set()
        message, *_ = job.result(timeout=300)
    assert "Compared 1 strategy and 2 baselines on 5 questions" in message


# --- the recommendation line (pure) ------------------------------------------------------------------
def _row(hit: float, mrr: float, top1: float, words: float, deltas: tuple[float, float] = (0.0, 0.0)) -> dict:
    row = {"hit_budget": hit, "mrr10": mrr, "top1": top1, "context_words": words, "p50_ms": 10.0, "with_span": 20}
    row.update({f"vs {b}": {"hit_budget": d} for b, d in zip(BASELINES, deltas, strict=True)})
    return row


def _report(results: dict) -> dict:
    return {"questions": 20, "budget_words": 1000, "results": results}


def test_recommendation_prefers_hits_then_less_context_and_says_how_close():
    base = {BASELINES[0]: _row(0.6, 0.5, 0.4, 800), BASELINES[1]: _row(0.7, 0.6, 0.5, 800)}
    clear = recommendation(
        _report({"sentence": _row(0.7, 0.6, 0.5, 300), "overlap": _row(0.9, 0.8, 0.7, 600, (0.3, 0.2)), **base})
    )
    assert "Recommended for your documents: `overlap`" in clear and "20 points ahead of `sentence`" in clear
    assert "+30 points vs LangChain dense, +20 points vs BM25" in clear

    tie = recommendation(
        _report(
            {
                "overlap": _row(1.0, 1.0, 1.0, 850),
                "sentence": _row(1.0, 1.0, 1.0, 120),
                "parent-child": _row(1.0, 1.0, 1.0, 1300),
            }
        )
    )
    assert "Recommended for your documents: `sentence`" in tie
    assert "ties with `overlap` and `parent-child`" in tie and "less context (120 words vs 850 for `overlap`)" in tie

    close = recommendation(_report({"sentence": _row(0.80, 0.7, 0.6, 300), "overlap": _row(0.85, 0.7, 0.6, 600)}))
    assert "`overlap`" in close and "within one question" in close and "run more questions" in close

    behind = recommendation(_report({"sentence": _row(0.5, 0.4, 0.3, 300, (-0.1, -0.2)), **base}))
    assert "-20 points vs BM25" in behind and "BM25 did better on these questions" in behind
