"""Evaluation output: a terminal table, JSON, and a Markdown report with a bar chart (matplotlib, Agg).

Columns appear only when some row has the metric: span sets show hit/top-1/MRR, the free-text PDF sets
(no spans) doc hit, answer recall and answer found instead; the Δ columns compare each strategy to the
baselines on the headline metric of the set (hit@budget, else answer recall).
"""

from __future__ import annotations

import json
from pathlib import Path

from rag.eval.harness import BASELINES
from rag.eval.metrics import FOUND_AT

COLUMNS = (
    ("hit_budget", "hit@{budget}w", "{:.3f}"),
    ("hit_k", "hit@k", "{:.3f}"),
    ("top1", "top-1", "{:.3f}"),
    ("mrr10", "MRR@10", "{:.3f}"),
    ("page_top1", "page@1", "{:.3f}"),
    ("page_hit_k", "page hit@k", "{:.3f}"),
    ("doc_hit", "doc hit@{budget}w", "{:.3f}"),
    ("answer_recall", "answer recall@{budget}w", "{:.3f}"),
    ("recall_k", "answer recall@k", "{:.3f}"),
    ("answer_found", "answer found", "{:.3f}"),
    ("doc_top1", "doc@1", "{:.3f}"),
    ("faithfulness", "faithfulness", "{:.3f}"),
    ("answer_f1", "answer F1", "{:.3f}"),
    ("p50_ms", "p50 ms", "{:.0f}"),
    ("p95_ms", "p95 ms", "{:.0f}"),
    ("context_words", "context words", "{:.0f}"),
)
LAB_BIAS = (
    "Lab questions are cloze sentences cut from the documents themselves: they share almost every word with "
    "their source sentence, so lexical retrieval (BM25) and small sentence-sized chunks are favoured. Use the "
    "numbers to compare strategies on your documents, not as an absolute quality estimate."
)


def _columns(report: dict) -> list[tuple[str, str, str]]:
    rows = report["results"].values()
    present = [c for c in COLUMNS if any(r.get(c[0]) is not None for r in rows)]
    return [(key, label.format(budget=report["budget_words"]), f) for key, label, f in present]


def _cell(row: dict, key: str, fmt: str) -> str:
    value = row.get(key)
    return "–" if value is None else fmt.format(value)


def headline(report: dict) -> tuple[str, str]:
    """(metric, short name) the Δ columns compare: hit@budget for span sets, answer recall for free text."""
    rows = report["results"].values()
    if any("hit_budget" in r for r in rows) or not any("answer_recall" in r for r in rows):
        return "hit_budget", "hit"
    return "answer_recall", "recall"


def table_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    cols = _columns(report)
    metric, name = headline(report)
    header = ["strategy", *[c[1] for c in cols]]
    for base in BASELINES:
        if base in report["results"]:
            header.append(f"Δ {name} vs {base.split()[0]}")
    body = []
    for name, row in report["results"].items():
        cells = [name, *[_cell(row, key, fmt) for key, _, fmt in cols]]
        for base in BASELINES:
            if base in report["results"]:
                delta = row.get(f"vs {base}", {}).get(metric)
                cells.append("" if delta is None else f"{delta:+.3f}")
        body.append(cells)
    return header, body


def print_table(report: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    header, body = table_rows(report)
    table = Table(title=f"{report['dataset']}: {report['questions']} questions, k={report['k']}")
    for col in header:
        table.add_column(col, overflow="fold")
    for cells in body:
        table.add_row(*cells)
    (console or Console()).print(table)


def markdown_table(report: dict) -> str:
    header, body = table_rows(report)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def chart(report: dict, path: Path) -> Path:
    """Grouped bars per strategy and baseline: hit within the budget, top-1, MRR@10 (and page@1), or for
    free-text sets doc hit, answer recall and answer found."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charted = ("hit_budget", "top1", "mrr10", "page_top1", "doc_hit", "answer_recall", "answer_found", "doc_top1")
    metrics = [(k, label) for k, label, _ in _columns(report) if k in charted]
    names = list(report["results"])
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(names)), 4), dpi=100)
    width = 0.8 / max(len(metrics), 1)
    for j, (key, label) in enumerate(metrics):
        values = [report["results"][n].get(key) or 0.0 for n in names]
        xs = [i + (j - (len(metrics) - 1) / 2) * width for i in range(len(names))]
        bars = ax.bar(xs, values, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(range(len(names)), names, rotation=15, ha="right", fontsize=8)
    ax.set_ylim(0, 1.2)  # headroom above 1.0 for the legend row: it covered the bars of a perfect score
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_title(f"{report['dataset']} ({report['questions']} questions, k={report['k']})")
    ax.legend(fontsize=8, loc="upper center", ncols=max(len(metrics), 1), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def markdown(report: dict, chart_name: str | None = None) -> str:
    ingest = report.get("ingest") or {}
    lines = [f"# Evaluation: {report['dataset']}", ""]
    lines.append(
        f"{report['questions']} questions over {report['documents']} documents; retrieval mode "
        f"`{report['retrieval_mode']}`, k = {report['k']} sources, context budget {report['budget_words']} words."
    )
    if ingest.get("chunks"):
        chunks = ", ".join(f"{s} {n}" for s, n in ingest["chunks"].items())
        secs = ingest.get("ingest_seconds")
        lines.append(f"Ingest: {chunks} chunks" + (f", {secs:.1f} s (all strategies together)." if secs else "."))
    lines += ["", markdown_table(report), ""]
    if chart_name:
        lines += [f"![retrieval metrics]({chart_name})", ""]
    lines += [
        "hit@Nw: the gold answer span lies inside the passages taken in rank order until N words; hit@k: "
        "inside the k sources handed to the model; top-1: inside the first passage; MRR@10: reciprocal rank "
        "of the first passage holding the answer; page@1: the first source is on the gold page; page hit@k: "
        "one of the k sources is; "
        "latencies include the query embedding. Δ: difference in hit@budget to the baseline.",
        "",
    ]
    if headline(report)[0] == "answer_recall":
        budget = report["budget_words"]
        lines[-2] = (
            f"Free-text answers (no gold span or page): doc hit@{budget}w: a passage taken in rank order within "
            f"{budget} words comes from a gold document; answer recall@{budget}w: share of the gold answer's key "
            "tokens (numbers with `1,234` → `1234`, `$`/`%` dropped; lowercased words minus stopwords) found in "
            f"those passages, averaged; answer recall@k: the same over the k sources handed to the model (what "
            f"it reads); answer found: recall ≥ {FOUND_AT}, as a hit rate. A lower bound (no "
            "stemming, long answers), for comparing strategies. doc@1: the first passage comes from a gold "
            "document (doc hit favours small chunks: more of them fit the budget). Δ: difference in answer "
            "recall to the baseline; latencies include the query embedding."
        )
    if not report.get("llm"):
        lines += ["Answers were not scored: no language model is configured.", ""]
    if report.get("lab"):
        lines += ["## How the questions were made", "", report["lab"]["method"], "", f"**Bias.** {LAB_BIAS}", ""]
        lines += ["Examples:", ""]
        lines += [f"- {q['question']} → *{q['answer']}* ({q['source']})" for q in report["lab"]["examples"]]
        lines.append("")
    for note in report.get("notes") or []:
        lines.append(f"- {note}")
    return "\n".join(lines).rstrip() + "\n"


def write_report(report: dict, out: str | Path, stem: str | None = None) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or report["dataset"]
    png = chart(report, out / f"{stem}.png")
    paths = {"json": out / f"{stem}.json", "md": out / f"{stem}.md", "png": png}
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    paths["md"].write_text(markdown(report, png.name), encoding="utf-8")
    return paths
