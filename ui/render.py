"""HTML for the web UI: answers, source cards, the faithfulness badge and the header.

Pure functions from docqa's types to strings (no Gradio import), so the look is testable without a
browser. Every piece of document or model text is HTML-escaped (ui/render_base.py); nothing else builds
markup. Tables live in ui/render_tables.py, the page view and conversation list in ui/render_view.py.

Source numbers: the model cites the sources it was given as [n], and may skip [1]. The UI shows them
renumbered in the order the answer first cites them ([1], [2], ... then the uncited ones), everywhere on
screen; the chips keep the real number in a class (dq-src-<n>) for "see the source".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.prompts import REFUSAL
from rag.core.types import Answer, Citation, Faithfulness, Relevance, Source
from ui.render_base import (  # noqa: F401 (re-exported: the rest of the UI and the tests use render.*)
    CONTEXT_CHARS,
    SHORT_PASSAGE,
    banner,
    busy,
    esc,
    highlight,
    merge_spans,
    pages_label,
    short,
)
from ui.render_tables import (  # noqa: F401 (re-exported)
    FILE_KINDS,
    LIBRARY_HEADERS,
    REPORT_HEADERS,
    chunks_label,
    library_rows,
    library_summary,
    report_rows,
    report_summary,
)

MARKER_RE = re.compile(r"\[(\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*)\]")
_NUMBER = re.compile(r"\d{1,3}")

BAND_LABEL = {"high": "Well supported", "medium": "Partly supported", "low": "Weakly supported"}
VERDICT_LABEL = {"supported": "Supported", "not_supported": "Not supported", "contradicted": "Contradicted"}
VERDICT_ICON = {"supported": "✓", "not_supported": "✗", "contradicted": "⚠"}
OFFLINE_JUDGES = {"heuristic": "heuristic judge", "learned": "learned offline judge"}


def mode_banner(llm_enabled: bool) -> str:
    """Shown above the chat when no language model is configured."""
    if llm_enabled:
        return ""
    return banner(
        "warn",
        "Extractive mode — no language model configured.",
        "Answers quote the best-matching sentences of your documents and the faithfulness score comes from "
        "an offline judge learned from labelled data. For generated answers, set "
        "<code>OPENAI_API_KEY</code> (OpenAI) or "
        "<code>OPENAI_BASE_URL</code> (a local server such as Ollama or vLLM) and restart "
        "<code>docqa ui</code>.",
        html_body=True,
    )


THEME_TOGGLE = (
    '<button type="button" class="dq-theme-toggle" id="dq-theme-toggle" title="Switch light / dark mode">'
    '<span class="dq-when-light">☾ Dark</span><span class="dq-when-dark">☀ Light</span></button>'
)


def header(llm_enabled: bool, model: str, documents: int) -> str:
    mode = (
        f'<span class="dq-pill dq-pill-ok" title="answers are generated">LLM · {esc(model)}</span>'
        if llm_enabled
        else '<span class="dq-pill dq-pill-warn" title="no language model configured">Extractive mode</span>'
    )
    docs = f"{documents} document{'s' if documents != 1 else ''}"
    return (
        '<div class="dq-header"><div class="dq-brand"><span class="dq-logo" aria-hidden="true">dq</span><div>'
        "<h1>docqa</h1><p>Ask your documents. Every answer cites the page and sentence it comes from.</p>"
        f'</div></div><div class="dq-pills">{mode}<span class="dq-pill">{esc(docs)}</span>'
        f'<span class="dq-pill" title="no data leaves this machine">Offline</span>{THEME_TOGGLE}</div></div>'
    )


# --- source numbers as shown ------------------------------------------------------------------------
def display_numbers(answer: Answer) -> dict[int, int]:
    """Source number -> the number shown: cited sources in the order the answer first cites them, then
    the rest in retrieval order, so what the reader sees starts at [1] and has no gaps."""
    order: list[int] = []
    known = {s.number for s in answer.sources}
    for group in MARKER_RE.finditer(answer.text or ""):
        for n in map(int, _NUMBER.findall(group.group(1))):
            if n in known and n not in order:
                order.append(n)
    for c in answer.citations:
        if c.cited and c.source_number in known and c.source_number not in order:
            order.append(c.source_number)
    order += [s.number for s in answer.sources if s.number not in order]
    return {n: i + 1 for i, n in enumerate(order)}


def _chip(number: int, shown: int, turn: int | None) -> str:
    if turn is None:  # while streaming: not clickable yet
        return f'<sup class="dq-ref">[{shown}]</sup>'
    return (
        f'<sup class="dq-ref dq-go dq-turn-{turn} dq-src-{number}" title="Show this source">[{shown}]</sup>'
    )


def _marker_chips(escaped: str, numbers: dict[int, int] | None = None, turn: int | None = None) -> str:
    def chips(match: re.Match) -> str:
        found = [int(n) for n in _NUMBER.findall(match.group(1))]
        if numbers is None or any(n not in numbers for n in found):
            return f'<sup class="dq-ref">[{match.group(1)}]</sup>'
        return "".join(_chip(n, numbers[n], turn) for n in found)

    return MARKER_RE.sub(chips, escaped)


# --- the answer in the chat -------------------------------------------------------------------------
def is_refusal(answer: Answer) -> bool:
    """The answer declines: a safety refusal, nothing found, or the model's standard refusal sentence."""
    return answer.mode in ("refused", "no-sources") or (
        answer.text.strip() == REFUSAL and not _cited_sources(answer)
    )


def answer_markdown(answer: Answer, turn: int | None = None) -> str:
    """The assistant message: answer text with [n] chips, then where each cited source lies. `turn`
    (0-based) makes the chips open the page view of that turn's sources."""
    if answer.mode == "error":
        return f'<div class="dq-msg-error">✗ {esc(answer.text)}</div>'
    if is_refusal(answer):
        reason = answer.notice if answer.notice and answer.notice != answer.text else ""
        if not reason and answer.text.strip() == REFUSAL:
            reason = "None of the passages found says anything about this question."
        why = f'<div class="dq-reason"><b>Why:</b> {esc(reason)}</div>' if reason else ""
        return f'<div class="dq-msg-note">{esc(answer.text)}</div>{why}'
    numbers = display_numbers(answer)
    body = _flag_sentences(esc(answer.text), answer)
    body = _marker_chips(body.replace("\n", "  \n"), numbers, turn)
    cited = sorted(_cited_sources(answer), key=lambda s: numbers[s.number])
    if not cited:
        return body
    go = "" if turn is None else f" dq-go dq-turn-{turn}"
    refs = " ".join(
        f'<span class="dq-cite-ref{go} dq-src-{s.number}" title="{esc(s.chunk.source)}"><b>[{numbers[s.number]}]</b> '
        f"{esc(s.chunk.source)}{_page_suffix(s)}{_ocr_suffix(s)}</span>"
        for s in cited
    )
    return f'{body}\n\n<div class="dq-cites">{refs}</div>'


def _flag_sentences(escaped: str, answer: Answer) -> str:
    """Underline answer sentences that cite nothing, or that the judge found unsupported."""
    notes: dict[str, str] = {}
    for c in answer.citations:
        if not c.cited:
            notes.setdefault(c.answer_sentence.strip(), "No source is cited for this sentence")
    if answer.faithfulness is not None:
        for v in answer.faithfulness.verdicts:
            if v.verdict != "supported":
                notes[v.claim.strip()] = f"{VERDICT_LABEL.get(v.verdict, v.verdict)} by the sources"
    for sentence, note in notes.items():
        target = esc(sentence.rstrip(".!?").strip())
        if len(target) >= 8 and escaped.count(target) == 1:
            escaped = escaped.replace(target, f'<span class="dq-uncited" title="{esc(note)}">{target}</span>')
    return escaped


def streaming_markdown(text: str) -> str:
    return _marker_chips(esc(text).replace("\n", "  \n")) + ' <span class="dq-caret">▍</span>'


def _cited_sources(answer: Answer) -> list[Source]:
    numbers = {c.source_number for c in answer.citations if c.cited and c.source_number is not None}
    return [s for s in answer.sources if s.number in numbers]


def _citations_for(answer: Answer, number: int) -> list[Citation]:
    return [c for c in answer.citations if c.source_number == number and c.cited]


def cited_page(source: Source, answer: Answer) -> int | None:
    """The page the page view opens: the supporting sentence's page, else where the passage starts."""
    for c in _citations_for(answer, source.number):
        if c.page is not None:
            return c.page
    return source.hit.span.page_start


def quote_for(source: Source, answer: Answer) -> str:
    """What the page view highlights: the supporting sentence, else the passage itself."""
    for c in _citations_for(answer, source.number):
        if c.supporting_sentence.strip():
            return c.supporting_sentence
    return source.hit.span.text


def _page_suffix(source: Source) -> str:
    label = pages_label(source.hit.span.page_start, source.hit.span.page_end)
    return f", {label}" if label else ""


def _ocr_label(source: Source) -> str:
    """'OCR 91%' when the passage was read from a page image: its words may be misread."""
    conf = source.hit.span.ocr_confidence
    return "" if conf is None else f"OCR {conf:.0%}"


def _ocr_suffix(source: Source) -> str:
    return f" ({label})" if (label := _ocr_label(source)) else ""


# --- sources panel ----------------------------------------------------------------------------------
def empty_sources() -> str:
    return (
        '<div class="dq-empty"><div class="dq-empty-icon">❝</div><p><strong>Sources appear here.</strong></p>'
        "<p>Each cited passage is shown with its file and page, the supporting sentence highlighted.</p></div>"
    )


def sources_html(answer: Answer, turn: int | None = None) -> str:
    """The panel beside the chat: cited passages first, then the other retrieved passages. A refusal
    shows its reason, not passages that do not answer the question."""
    if answer.mode == "refused" or (is_refusal(answer) and answer.mode != "no-sources"):
        reason = answer.notice if answer.notice and answer.notice != answer.text else (
            "The passages found do not answer this question, so none is listed."
        )
        return banner("info", "Not answered from your documents.", reason)
    if not answer.sources:
        return empty_sources() if answer.mode != "no-sources" else banner("info", "Nothing matched.", answer.notice)
    numbers = display_numbers(answer)
    cited = sorted(_cited_sources(answer), key=lambda s: numbers[s.number])
    cited_numbers = {s.number for s in cited}
    others = [s for s in answer.sources if s.number not in cited_numbers]
    parts: list[str] = []
    if answer.mode == "no-sources":
        parts.append(banner("info", "No passage is close enough to answer.", answer.notice))
        cards = "".join(source_card(s, answer, turn, numbers) for s in answer.sources)
        parts.append(
            f'<details class="dq-more"><summary>Closest passages, below the relevance threshold '
            f"<span>{len(answer.sources)}</span></summary>{cards}</details>"
        )
        return "".join(parts)
    if cited:
        parts.append(f'<h3 class="dq-section">Cited sources <span>{len(cited)}</span></h3>')
        parts.extend(source_card(s, answer, turn, numbers) for s in cited)
    if others:
        cards = "".join(source_card(s, answer, turn, numbers) for s in others)
        if cited:
            parts.append(
                f'<details class="dq-more"><summary>Also retrieved, not cited <span>{len(others)}</span>'
                f"</summary>{cards}</details>"
            )
        else:
            parts.append(f'<h3 class="dq-section">Retrieved passages <span>{len(others)}</span></h3>{cards}')
    uncited = [c for c in answer.citations if not c.cited]
    if uncited:
        parts.append(
            f'<p class="dq-note">{len(uncited)} answer sentence{"s" if len(uncited) != 1 else ""} carried no '
            "citation marker.</p>"
        )
    if answer.dropped_markers:
        n = answer.dropped_markers
        parts.append(f'<p class="dq-note">{n} marker(s) pointed at no source and were dropped.</p>')
    return "".join(parts)


def source_card(
    source: Source, answer: Answer, turn: int | None = None, numbers: dict[int, int] | None = None
) -> str:
    chunk = source.chunk
    shown = (numbers or display_numbers(answer)).get(source.number, source.number)
    citations = _citations_for(answer, source.number)
    spans = merge_spans((c.support_start, c.support_end) for c in citations)
    span = source.hit.span
    hit = source.hit
    score = (
        f'<span class="dq-meta" title="cosine similarity to the question">match {hit.dense_score:.2f}</span>'
        if hit.dense_score is not None
        else f'<span class="dq-meta" title="retrieval score">score {hit.score:.3f}</span>'
    )
    label = pages_label(span.page_start, span.page_end, short_form=False)
    page_html = f'<span class="dq-page">{label}</span>' if label else ""
    if ocr := _ocr_label(source):
        page_html += f'<span class="dq-meta" title="text read by OCR from the page image">{ocr}</span>'
    flags = "".join(f'<span class="dq-chip dq-chip-warn">⚠ {esc(f)}</span>' for f in source.flags)
    supports = "".join(
        f'<div class="dq-supports">cited for “{esc(short(c.answer_sentence, 150))}”</div>' for c in citations[:2]
    )
    full = ""
    excerpt = highlight(chunk.text, spans, window=CONTEXT_CHARS)
    if len(chunk.text) > SHORT_PASSAGE:
        full = (
            '<details class="dq-full"><summary>Show the whole passage</summary>'
            f'<div class="dq-passage">{highlight(chunk.text, spans, window=None)}</div></details>'
        )
    what = "page" if (chunk.source.lower().endswith(".pdf") and span.page_start is not None) else "passage"
    open_btn = (
        f'<button type="button" class="dq-open dq-go dq-turn-{turn} dq-src-{source.number}">View {what}</button>'
        if turn is not None
        else ""
    )
    classes = "dq-card dq-cited" if citations else "dq-card"
    return (
        f'<article class="{classes}" data-source="{shown}">'
        f'<header><span class="dq-num">{shown}</span><span class="dq-file" title="{esc(chunk.source)}">'
        f"{esc(chunk.source)}</span>{page_html}{score}</header>"
        f"{f'<div class=dq-flags>{flags}</div>' if flags else ''}"
        f'<div class="dq-passage">{excerpt}</div>{supports}{full}{open_btn}</article>'
    )


# --- faithfulness -----------------------------------------------------------------------------------
def relevance_line(r: Relevance | None) -> str:
    """Relevance beside faithfulness: a quoted sentence is always faithful, so say whether it answers."""
    if r is None:
        return ""
    words = f" · {esc(r.note)}" if r.note else ""
    score = f"{r.score:.2f}"
    return f'<div class="dq-faith-judge dq-relevance" data-relevance="{score}">Relevance {r.score:.0%}{words}</div>'


def faithfulness_html(
    f: Faithfulness | None, mode: str = "", numbers: dict[int, int] | None = None, relevance: Relevance | None = None
) -> str:
    """The score badge; `numbers` maps source numbers to the ones the answer shows (display_numbers). A low
    relevance replaces the score with words (the passages may not answer), a medium one caps the colour."""
    if f is None:
        if mode in ("", "no-sources", "refused", "error"):
            return ""
        return (
            '<div class="dq-faith dq-band-none"><span class="dq-score">—</span> faithfulness not checked'
            f"{relevance_line(relevance)}</div>"
        )
    band = f.band if f.band in BAND_LABEL else "medium"
    off_topic = relevance is not None and relevance.band == "low"
    if relevance is not None and relevance.band != "high" and band == "high":
        band = "medium" if not off_topic else "low"
    judge = OFFLINE_JUDGES.get(f.judge) or f"judge: {f.judge.removeprefix('llm:')}"
    bad = [v for v in f.verdicts if v.verdict != "supported"]
    summary = f"{len(f.verdicts)} claim{'s' if len(f.verdicts) != 1 else ''} checked"
    if bad:
        summary += f" · <b>{len(bad)} not supported</b>"
    rows = "".join(
        f'<li class="dq-v dq-v-{esc(v.verdict)}"><span class="dq-v-icon">{VERDICT_ICON.get(v.verdict, "?")}</span>'
        f'<div><div class="dq-v-claim">{esc(v.claim)}</div><div class="dq-v-meta">'
        f"<b>{esc(VERDICT_LABEL.get(v.verdict, v.verdict))}</b>"
        f"{f' · source [{(numbers or {}).get(v.source_number, v.source_number)}]' if v.source_number else ''}"
        f"{' · ' + esc(v.reason) if v.reason else ''}"
        f"{''.join(f' <span class=dq-chip>{esc(x)}</span>' for x in v.flags)}</div></div></li>"
        for v in f.verdicts
    )
    note = f'<p class="dq-note">{esc(f.note)}</p>' if f.note else ""
    return (
        f'<div class="dq-faith dq-band-{esc(band)}" data-score="{f.score:.2f}">'
        f'<div class="dq-faith-head"><span class="dq-score">{"?" if off_topic else f"{f.score:.0%}"}</span><div>'
        + (
            f'<div class="dq-faith-label">{esc(relevance.note)}</div>'
            f'<div class="dq-faith-judge">Faithfulness {f.score:.0%} · {esc(judge)}</div>'
            if off_topic and relevance is not None
            else f'<div class="dq-faith-label">Faithfulness · {esc(BAND_LABEL[band])}</div>'
            f'<div class="dq-faith-judge">{esc(judge)}</div>{relevance_line(relevance)}'
        )
        + "</div></div>"
        f'<div class="dq-bar"><span style="width:{max(0.0, min(1.0, f.score)) * 100:.0f}%"></span></div>'
        f'<details class="dq-claims"{" open" if bad else ""}><summary>{summary}</summary>'
        f"<ul>{rows}</ul>{note}</details></div>"
    )


def status_title(step: str) -> str:
    return f"{step}…"


def steps_log(steps: Sequence[str], timings: dict[str, float]) -> str:
    keys = {"Understanding the question": "condense", "Searching your documents": "retrieve"}
    keys |= {"Writing the answer": "generate", "Checking faithfulness": "judge"}
    lines = []
    for step in steps:
        t = timings.get(keys.get(step, ""))
        lines.append(f"- {step}" + (f" ({t:.1f} s)" if t is not None else ""))
    return "\n".join(lines)


