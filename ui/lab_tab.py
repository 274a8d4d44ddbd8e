"""The "Strategy lab" tab: `docqa eval --lab` (rag/eval/lab.py) for people who never open a terminal.

It lives apart from ui/callbacks.py and ui/render.py because it is one self-contained feature: the
layout, the handler and the text it shows. Running the lab only reads the library (questions are made
from the stored chunks and retrieved against the existing indexes), so it can share the app with chat
and uploads; web.py gives it its own one-at-a-time queue lane so a long run never holds those up.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag.app import DocQA
from rag.core.types import ALL_STRATEGIES
from rag.eval.harness import BASELINES
from rag.eval.lab import run_lab
from rag.eval.report import LAB_BIAS, chart, table_rows
from ui import render
from ui.on_demand import GradioBuildProgress

DEFAULT_QUESTIONS = 30
MAX_QUESTIONS = 200  # each question is retrieved once per strategy and baseline: bound the cost of one click
EMPTY_LIBRARY = "Your library is empty."
EMPTY_HINT = f"Add {render.FILE_KINDS} files in the Upload tab; the lab makes its questions from them."
LLM_BIAS = (
    "Lab questions come from single sentences of your documents: a language model rephrased each cloze sentence "
    "as a question (a reply it could not use kept the cloze). That weakens, but does not remove, the word overlap "
    "that favours lexical retrieval (BM25) and small sentence-sized chunks, and every answer is still a number or "
    "a name from one sentence. Use the numbers to compare strategies on your documents, not as an absolute "
    "quality estimate."
)
DISPLAY_NAMES = {"langchain 1000/200 dense": "LangChain dense", "bm25 1000/200": "BM25"}
# Shown before a run and after one that could not run: real column names say what is coming
# (an empty Dataframe would show its numbered default columns).
NO_TABLE = {"headers": ["strategy", "hit@1000w", "top-1", "MRR@10", "Δ hit vs langchain", "Δ hit vs bm25"], "data": []}

Report = dict[str, Any]
log = logging.getLogger(__name__)


# --- what the tab shows (pure: report dict -> text) -----------------------------------------------
def comparison_table(report: Report) -> dict[str, list]:
    """The CLI's table (rag/eval/report.py) as Dataframe data, so both show the same numbers."""
    header, body = table_rows(report)
    return {"headers": header, "data": body}


def method_markdown(report: Report, llm: bool) -> str:
    """The method and its bias sit above the table: the numbers only mean something read with them.
    `llm`: whether a language model wrote the questions (run_lab uses one whenever it is configured)."""
    lab = report["lab"]
    bias = LLM_BIAS if llm else LAB_BIAS
    lines = [
        f"**Method.** {lab['method']}",
        "",
        f"**Bias.** {bias}",
        "",
        f"{report['questions']} questions over {report['documents']} documents · retrieval mode "
        f"`{report['retrieval_mode']}` · k = {report['k']} sources · budget {report['budget_words']} words. "
        "hit@Nw: the answer lies in the passages read in rank order up to N words; top-1: in the first "
        "passage; MRR@10: reciprocal rank of the first passage holding it; Δ: hit difference to a baseline.",
    ]
    if lab.get("examples"):
        lines += ["", "<details><summary>Example questions</summary>", ""]
        lines += [f"- {_md(q['question'])} → *{_md(q['answer'])}* ({_md(q['source'])})" for q in lab["examples"]]
        lines += ["", "</details>"]
    return "\n".join(lines)


def _md(text: str) -> str:
    """Document text shown as Markdown: escape what would turn a cloze blank or a name into markup."""
    return render.esc(text).replace("_", r"\_").replace("*", r"\*").replace("`", r"\`")


def _rank_key(row: dict) -> tuple[float, ...]:
    # Finding the answer at all matters most, then how high; at equal quality, less context and less time.
    return (
        round(row.get("hit_budget", 0.0), 9),
        round(row.get("mrr10", 0.0), 9),
        round(row.get("top1", 0.0), 9),
        -row.get("context_words", 0.0),
        -row.get("p50_ms", 0.0),
    )


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def recommendation(report: Report) -> str:
    """One line a non-expert can act on, with the margin that justifies it (or the lack of one)."""
    rows = report["results"]
    ours = sorted((n for n in rows if n not in BASELINES), key=lambda n: _rank_key(rows[n]), reverse=True)
    if not ours:
        return "No chunking strategy was run, so there is nothing to recommend."
    best, row = ours[0], rows[ours[0]]
    n = max(row.get("with_span", report["questions"]), 1)
    text = (
        f"**Recommended for your documents: `{best}`**: it found the answer within {report['budget_words']} "
        f"words for {_pct(row.get('hit_budget', 0.0))} of {n} questions (top-1 {_pct(row.get('top1', 0.0))})"
    )
    if len(ours) > 1:
        other = rows[ours[1]]
        tied = [f"`{name}`" for name in ours[1:] if _rank_key(rows[name])[:3] == _rank_key(row)[:3]]
        if tied and other.get("context_words", 0) > row.get("context_words", 0):
            text += (
                f"; it ties with {' and '.join(tied)} on every answer metric and needs less context "
                f"({row.get('context_words', 0):.0f} words vs {other.get('context_words', 0):.0f} for `{ours[1]}`)"
            )
        elif tied:
            text += f"; it ties with {' and '.join(tied)} on every answer metric and was faster"
        elif row.get("hit_budget", 0.0) - other.get("hit_budget", 0.0) <= 1 / n:
            text += f"; `{ours[1]}` is within one question of it, too close to call: run more questions"
        else:
            gap = row.get("hit_budget", 0.0) - other.get("hit_budget", 0.0)
            text += f", {100 * gap:.0f} points ahead of `{ours[1]}`"
    deltas = []
    for base in BASELINES:
        delta = row.get(f"vs {base}", {}).get("hit_budget")
        if delta is not None:
            deltas.append(f"{100 * delta:+.0f} points vs {DISPLAY_NAMES.get(base, base)}")
    if deltas:
        text += " (" + ", ".join(deltas).replace("+0 points", "±0 points") + ")"
    text += ". Choose it under Answer settings → Chunking strategy, or set `DOCQA_STRATEGY=" + best + "`."
    bases = sorted((b for b in BASELINES if b in rows), key=lambda b: _rank_key(rows[b]), reverse=True)
    if bases and rows[bases[0]].get("hit_budget", 0.0) > row.get("hit_budget", 0.0):
        text += f" {DISPLAY_NAMES.get(bases[0], bases[0])} did better on these questions"
        text += (
            "; cloze questions favour it (see the bias above), so check with questions of your own."
            if "bm25" in bases[0]
            else "."
        )
    return text


# --- the handler ------------------------------------------------------------------------------------
class Lab:
    """Runs the lab for the web UI and turns every expected failure into a message, never a traceback."""

    def __init__(self, qa: DocQA) -> None:
        self.qa = qa

    def run(
        self,
        questions: float | None,
        strategies: Sequence[str] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it)
    ) -> tuple[str, str, dict, Any, str]:
        """Every outcome, an empty or unsuited library included, comes back as a message in the tab rather
        than a raised error, so the page and API callers see the same explanation. Returns (message HTML,
        method Markdown, table, chart image, recommendation Markdown)."""
        nothing = {"headers": list(NO_TABLE["headers"]), "data": []}
        records = self.qa.library.documents()
        if not records:
            return render.banner("info", EMPTY_LIBRARY, EMPTY_HINT), "", nothing, None, ""
        known = [s.value for s in ALL_STRATEGIES]
        wanted = known if strategies is None else [s for s in known if s in set(strategies)]
        unknown = sorted(set(strategies or []) - set(known))
        if unknown or not wanted:
            title = f"Unknown strategy {', '.join(unknown)}." if unknown else "Choose at least one strategy."
            return render.banner("error", title, f"Strategies: {', '.join(known)}."), "", nothing, None, ""
        for s in wanted:  # ingest builds only the answering strategy: the others are built now, with a bar
            if self.qa.library.missing(s):
                self.qa.library.ensure_strategy(s, progress=GradioBuildProgress(progress, s))
        records = self.qa.library.documents()
        indexed = {s: sum(s in r.chunks for r in records) for s in wanted}
        run = [s for s in wanted if indexed[s]]
        notes = [f"{s} is not indexed for any document and was left out." for s in wanted if not indexed[s]]
        notes += [
            f"{s} is indexed for {indexed[s]} of {len(records)} documents, so its numbers count the others as misses."
            for s in run
            if indexed[s] < len(records)
        ]
        if not run:
            body = "Re-ingest your documents with them (Upload → Chunking strategy: All strategies)."
            return render.banner("warn", "None of the chosen strategies is indexed.", body), "", nothing, None, ""

        n = max(1, min(int(questions or DEFAULT_QUESTIONS), MAX_QUESTIONS))
        t0 = time.perf_counter()
        progress(0.0, desc="Generating questions from your library")
        try:
            report = run_lab(self.qa, n, strategies=run, log=self._progress_log(progress, run))
        except ValueError as exc:  # an empty library or no usable sentence: say so, keep the tab usable
            return render.banner("warn", "The lab could not run.", str(exc)), "", nothing, None, ""
        except Exception as exc:  # the store failed: show why, and keep the traceback for the operator
            log.exception("strategy lab failed")
            return render.banner("error", "The lab failed.", str(exc)), "", nothing, None, ""
        progress(1.0, desc="Drawing the chart")
        if report["questions"] < n:
            notes.append(
                f"Only {report['questions']} informative sentences were found, so {report['questions']} "
                f"questions instead of {n}."
            )
        title = (
            f"Compared {len(run)} {'strategy' if len(run) == 1 else 'strategies'} and {len(BASELINES)} baselines "
            f"on {report['questions']} questions in {time.perf_counter() - t0:.1f} s."
        )
        message = render.banner("warn" if notes else "ok", title, " ".join(notes))
        llm = self.qa.settings.llm_enabled
        return message, method_markdown(report, llm), comparison_table(report), _chart(report), recommendation(report)

    @staticmethod
    def _progress_log(progress: gr.Progress, strategies: list[str]) -> Callable[[str], None]:
        """run_lab logs one line once the questions exist, then one per finished strategy and baseline
        (in that order): that is enough to move the bar and name what runs now."""
        steps = [*strategies, *BASELINES]
        done = 0

        def step(line: object) -> None:
            nonlocal done
            text = str(line)
            if text.startswith("lab:"):
                head = text.removeprefix("lab:").strip()
            else:
                done = min(done + 1, len(steps))
                head = f"{done} of {len(steps)} done"
            if done < len(steps):
                kind = "baseline" if steps[done] in BASELINES else "strategy"
                progress(0.1 + 0.85 * done / len(steps), desc=f"{head} · {kind} {steps[done]}")

        return step


def _chart(report: Report) -> Any:
    """The report's bar chart as an image held in memory (no PNG left behind in a temp folder)."""
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="docqa-lab-") as tmp, Image.open(chart(report, Path(tmp) / "c.png")) as img:
        return img.copy()


# --- layout ---------------------------------------------------------------------------------------
def build_tab(qa: DocQA, *, concurrency_limit: int = 1) -> None:
    """The tab and its event; call inside the app's gr.Tabs."""
    lab = Lab(qa)
    strategies = [s.value for s in ALL_STRATEGIES]  # all by default: comparing them is the lab's point
    with gr.Tab("Strategy lab", id="lab", elem_id="dq-tab-lab"):
        gr.Markdown(
            "Which chunking strategy suits **your** documents? The lab writes test questions from your "
            "library, retrieves each with every strategy and with two common baselines, and compares how "
            "often the answer is found. Strategies that ingest did not build are built first, with a progress bar; "
            "chat and uploads keep working meanwhile.",
            elem_classes="dq-small",
        )
        with gr.Row(equal_height=False, elem_classes="dq-toolbar"):
            questions = gr.Slider(
                5, MAX_QUESTIONS, value=DEFAULT_QUESTIONS, step=5, label="Questions", scale=2, elem_id="dq-lab-n"
            )
            chosen = gr.CheckboxGroup(
                strategies, value=strategies, label="Strategies to compare", scale=3, elem_id="dq-lab-strategies"
            )
            run_btn = gr.Button("Run the lab", variant="primary", scale=1, elem_id="dq-lab-run")
        message = gr.HTML("", elem_id="dq-lab-message")
        method = gr.Markdown("", elem_id="dq-lab-method")  # first: the numbers only mean something with it
        table = gr.Dataframe(
            value=NO_TABLE,
            interactive=False,
            wrap=True,
            label="Retrieval on the generated questions",
            elem_id="dq-lab-table",
        )
        recommended = gr.Markdown("", elem_id="dq-lab-recommendation")
        image = gr.Image(
            None,
            type="pil",
            format="png",
            label="Retrieval metrics",
            interactive=False,
            buttons=["download", "fullscreen"],  # no "share": it posts to Hugging Face
            visible=False,
            elem_id="dq-lab-chart",
        )

    run_btn.click(
        lab.run,
        [questions, chosen],
        [message, method, table, image, recommended],
        api_name="lab",
        api_description="Strategy lab: generate N questions from the library and compare the chosen strategies "
        "with two baselines; returns (message HTML, method Markdown, table, chart PNG, recommendation).",
        show_progress_on=[table],
        concurrency_id="lab",
        concurrency_limit=concurrency_limit,
    ).then(
        # The chart box only once there is a chart: an empty image box under "your library is empty"
        # reads like something failed to load. A separate step keeps /lab's outputs plain values.
        lambda img: gr.Image(visible=img is not None),
        [image],
        [image],
        api_visibility="private",
        show_progress="hidden",
    )
