"""HTML for the web UI: answers, source cards, the faithfulness badge, banners and report rows.

Pure functions from docqa's types to strings (no Gradio import), so the look is testable without a
browser. Every piece of document or model text is HTML-escaped here; nothing else builds markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from ingest.loaders import supported_types
from rag.core.types import Answer, Citation, DocumentRecord, Faithfulness, FileReport, Source

FILE_KINDS = supported_types()  # "PDF, TXT, Markdown, Word, HTML, HWP or HWPX": from the loader registry

MARKER_RE = re.compile(r"\[(\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*)\]")
CONTEXT_CHARS = 260  # passage context kept on each side of a highlighted sentence
SHORT_PASSAGE = 640  # passages up to this length are shown whole

BAND_LABEL = {"high": "Well supported", "medium": "Partly supported", "low": "Weakly supported"}
VERDICT_LABEL = {"supported": "Supported", "not_supported": "Not supported", "contradicted": "Contradicted"}
VERDICT_ICON = {"supported": "✓", "not_supported": "✗", "contradicted": "⚠"}
STATUS_ICON = {"ingested": "✓", "unchanged": "=", "failed": "✗"}


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- banners -----------------------------------------------------------------------------------------
def banner(kind: str, title: str, body: str = "", *, html_body: bool = False) -> str:
    """A callout: kind is info | warn | error | ok. `body` is escaped unless html_body."""
    icon = {"info": "ℹ", "warn": "⚠", "error": "✗", "ok": "✓"}.get(kind, "ℹ")
    text = body if html_body else esc(body)
    return (
        f'<div class="dq-banner dq-{esc(kind)}" role="status"><span class="dq-banner-icon">{icon}</span>'
        f"<div><strong>{esc(title)}</strong>{' ' + text if text else ''}</div></div>"
    )


def busy(text: str) -> str:
    """A banner with a spinner, for work in progress."""
    return (
        '<div class="dq-banner dq-info dq-busy" role="status"><span class="dq-spinner"></span>'
        f"<div><strong>{esc(text)}</strong></div></div>"
    )


def mode_banner(llm_enabled: bool) -> str:
    """Shown above the chat when no language model is configured."""
    if llm_enabled:
        return ""
    return banner(
        "warn",
        "Extractive mode — no language model configured.",
        "Answers quote the best-matching sentences of your documents and the faithfulness score comes from "
        "a heuristic judge. For generated answers, set <code>OPENAI_API_KEY</code> (OpenAI) or "
        "<code>OPENAI_BASE_URL</code> (a local server such as Ollama or vLLM) and restart "
        "<code>docqa ui</code>.",
        html_body=True,
    )


def header(llm_enabled: bool, model: str, documents: int) -> str:
    mode = (
        f'<span class="dq-pill dq-pill-ok" title="answers are generated">LLM · {esc(model)}</span>'
        if llm_enabled
        else '<span class="dq-pill dq-pill-warn" title="no language model configured">Extractive mode</span>'
    )
    docs = f"{documents} document{'s' if documents != 1 else ''}"
    return (
        '<div class="dq-header"><div class="dq-brand"><span class="dq-logo">dq</span><div>'
        "<h1>docqa</h1><p>Ask your documents. Every answer cites the page and sentence it comes from.</p>"
        f'</div></div><div class="dq-pills">{mode}<span class="dq-pill">{esc(docs)}</span>'
        '<span class="dq-pill" title="no data leaves this machine">Offline</span></div></div>'
    )


# --- the answer in the chat -------------------------------------------------------------------------
def _marker_chips(escaped: str) -> str:
    return MARKER_RE.sub(lambda m: f'<sup class="dq-ref">[{m.group(1)}]</sup>', escaped)


def answer_markdown(answer: Answer) -> str:
    """The assistant message: answer text with [n] chips, then where each cited source lies."""
    if answer.mode == "error":
        return f'<div class="dq-msg-error">✗ {esc(answer.text)}</div>'
    if answer.mode in ("no-sources", "refused"):
        return f'<div class="dq-msg-note">{esc(answer.text)}</div>'
    body = _flag_sentences(esc(answer.text), answer)
    body = _marker_chips(body.replace("\n", "  \n"))
    cited = _cited_sources(answer)
    if not cited:
        return body
    refs = " ".join(
        f'<span class="dq-cite-ref"><b>[{s.number}]</b> {esc(s.chunk.source)}{_page_suffix(_page_of(s, answer))}'
        f"{_ocr_suffix(s)}</span>"
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


def _page_of(source: Source, answer: Answer) -> int | None:
    for c in _citations_for(answer, source.number):
        if c.page is not None:
            return c.page
    return source.hit.span.page_start


def _page_suffix(page: int | None) -> str:
    return f", p. {page}" if page is not None else ""


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


def sources_html(answer: Answer) -> str:
    """The panel beside the chat: cited passages first, then the other retrieved passages."""
    if not answer.sources:
        return empty_sources()
    cited = _cited_sources(answer)
    cited_numbers = {s.number for s in cited}
    others = [s for s in answer.sources if s.number not in cited_numbers]
    parts: list[str] = []
    if answer.mode == "no-sources":
        parts.append('<h3 class="dq-section">Closest passages (below the relevance threshold)</h3>')
        parts.extend(source_card(s, answer) for s in answer.sources)
        return "".join(parts)
    if cited:
        parts.append(f'<h3 class="dq-section">Cited sources <span>{len(cited)}</span></h3>')
        parts.extend(source_card(s, answer) for s in cited)
    if others:
        cards = "".join(source_card(s, answer) for s in others)
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


def source_card(source: Source, answer: Answer) -> str:
    chunk = source.chunk
    citations = _citations_for(answer, source.number)
    spans = merge_spans((c.support_start, c.support_end) for c in citations)
    page = _page_of(source, answer)
    hit = source.hit
    score = (
        f'<span class="dq-meta" title="cosine similarity to the question">match {hit.dense_score:.2f}</span>'
        if hit.dense_score is not None
        else f'<span class="dq-meta" title="retrieval score">score {hit.score:.3f}</span>'
    )
    page_html = f'<span class="dq-page">page {page}</span>' if page is not None else ""
    if ocr := _ocr_label(source):
        page_html += f'<span class="dq-meta" title="text read by OCR from the page image">{ocr}</span>'
    flags = "".join(f'<span class="dq-chip dq-chip-warn">⚠ {esc(f)}</span>' for f in source.flags)
    supports = "".join(
        f'<div class="dq-supports">cited for “{esc(_short(c.answer_sentence, 150))}”</div>' for c in citations[:2]
    )
    full = ""
    excerpt = highlight(chunk.text, spans, window=CONTEXT_CHARS)
    if len(chunk.text) > SHORT_PASSAGE:
        full = (
            '<details class="dq-full"><summary>Show the whole passage</summary>'
            f'<div class="dq-passage">{highlight(chunk.text, spans, window=None)}</div></details>'
        )
    classes = "dq-card dq-cited" if citations else "dq-card"
    return (
        f'<article class="{classes}" data-source="{source.number}">'
        f'<header><span class="dq-num">{source.number}</span><span class="dq-file" title="{esc(chunk.source)}">'
        f"{esc(chunk.source)}</span>{page_html}{score}</header>"
        f"{f'<div class=dq-flags>{flags}</div>' if flags else ''}"
        f'<div class="dq-passage">{excerpt}</div>{supports}{full}</article>'
    )


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for a, b in sorted((a, b) for a, b in spans if b > a):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def highlight(text: str, spans: Sequence[tuple[int, int]], window: int | None = CONTEXT_CHARS) -> str:
    """Escape `text`, wrapping each span in <mark>; with `window`, keep only that much context around
    the highlights (cut at spaces, with ellipses). Without spans, the opening of the passage is shown."""
    spans = [(max(0, a), min(len(text), b)) for a, b in spans if 0 <= a < b]
    lo, hi = 0, len(text)
    if window is not None and len(text) > SHORT_PASSAGE:
        if spans:
            lo, hi = max(0, spans[0][0] - window), min(len(text), spans[-1][1] + window)
        else:
            hi = min(len(text), 2 * window)
        if lo > 0:  # start after a space, but never inside the first highlight
            cut = text.find(" ", lo)
            if 0 <= cut < (spans[0][0] if spans else hi):
                lo = cut + 1
        if hi < len(text):  # end before a space, but never inside the last highlight
            cut = text.rfind(" ", lo, hi)
            if cut > (spans[-1][1] if spans else lo):
                hi = cut
    out: list[str] = ["… " if lo > 0 else ""]
    pos = lo
    for a, b in spans:
        a, b = max(a, lo), min(b, hi)
        if a >= b:
            continue
        out.append(esc(text[pos:a]))
        out.append(f"<mark>{esc(text[a:b])}</mark>")
        pos = b
    out.append(esc(text[pos:hi]))
    out.append(" …" if hi < len(text) else "")
    # Paragraph breaks stay; single newlines are PDF line wraps, not meaning.
    return re.sub(r"\n{2,}", "<br><br>", "".join(out)).replace("\n", " ")


# --- faithfulness -----------------------------------------------------------------------------------
def faithfulness_html(f: Faithfulness | None, mode: str = "") -> str:
    if f is None:
        if mode in ("", "no-sources", "refused", "error"):
            return ""
        return '<div class="dq-faith dq-band-none"><span class="dq-score">—</span> faithfulness not checked</div>'
    band = f.band if f.band in BAND_LABEL else "medium"
    judge = "heuristic judge" if f.judge == "heuristic" else f"judge: {f.judge.removeprefix('llm:')}"
    bad = [v for v in f.verdicts if v.verdict != "supported"]
    summary = f"{len(f.verdicts)} claim{'s' if len(f.verdicts) != 1 else ''} checked"
    if bad:
        summary += f" · <b>{len(bad)} not supported</b>"
    rows = "".join(
        f'<li class="dq-v dq-v-{esc(v.verdict)}"><span class="dq-v-icon">{VERDICT_ICON.get(v.verdict, "?")}</span>'
        f'<div><div class="dq-v-claim">{esc(v.claim)}</div><div class="dq-v-meta">'
        f"<b>{esc(VERDICT_LABEL.get(v.verdict, v.verdict))}</b>"
        f"{f' · source [{v.source_number}]' if v.source_number else ''}"
        f"{' · ' + esc(v.reason) if v.reason else ''}"
        f"{''.join(f' <span class=dq-chip>{esc(x)}</span>' for x in v.flags)}</div></div></li>"
        for v in f.verdicts
    )
    note = f'<p class="dq-note">{esc(f.note)}</p>' if f.note else ""
    return (
        f'<div class="dq-faith dq-band-{esc(band)}" data-score="{f.score:.2f}">'
        f'<div class="dq-faith-head"><span class="dq-score">{f.score:.0%}</span><div>'
        f'<div class="dq-faith-label">Faithfulness · {esc(BAND_LABEL[band])}</div>'
        f'<div class="dq-faith-judge">{esc(judge)}</div></div></div>'
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


# --- ingestion and the library ----------------------------------------------------------------------
REPORT_HEADERS = ["File", "Status", "Pages", "Chunks", "Warnings", "Error"]
LIBRARY_HEADERS = ["Document", "Type", "Pages", "Chunks per strategy", "Ingested", "Warnings"]


def chunks_label(chunks: dict[str, int]) -> str:
    return " · ".join(f"{k} {v}" for k, v in sorted(chunks.items()))


def report_rows(reports: Sequence[FileReport]) -> list[list]:
    return [
        [
            r.source,
            f"{STATUS_ICON.get(r.status, '')} {r.status}",
            r.pages or "",
            chunks_label(r.chunks),
            "; ".join(r.warnings),
            r.error,
        ]
        for r in reports
    ]


def report_summary(reports: Sequence[FileReport]) -> str:
    if not reports:
        return banner("info", "No files selected.", f"Choose one or more {FILE_KINDS} files.")
    counts = {s: sum(r.status == s for r in reports) for s in ("ingested", "unchanged", "failed")}
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    seconds = sum(r.seconds for r in reports)
    text = " · ".join(parts) + f" in {seconds:.1f} s."
    if counts["failed"]:
        failed = ", ".join(r.source for r in reports if r.status == "failed")
        return banner("error" if counts["failed"] == len(reports) else "warn", text, f"Not stored: {failed}.")
    warned = sum(bool(r.warnings) for r in reports)
    extra = f"{warned} with warnings (see the table)." if warned else "Ask about them in the Chat tab."
    return banner("ok", text, extra)


def library_rows(records: Sequence[DocumentRecord]) -> list[list]:
    return [
        [
            r.source,
            (r.file_type or "").upper(),
            r.pages or "",
            chunks_label(r.chunks),
            datetime.fromtimestamp(r.ingested_at).strftime("%Y-%m-%d %H:%M") if r.ingested_at else "",
            "; ".join(r.warnings),
        ]
        for r in records
    ]


def library_summary(records: Sequence[DocumentRecord]) -> str:
    if not records:
        return banner("info", "The library is empty.", f"Upload {FILE_KINDS} files in the Upload tab.")
    pages = sum(r.pages for r in records)
    chunks = sum(sum(r.chunks.values()) for r in records)
    return (
        f'<div class="dq-stats"><div><b>{len(records)}</b><span>documents</span></div>'
        f"<div><b>{pages}</b><span>pages</span></div><div><b>{chunks}</b><span>chunks</span></div></div>"
    )
