"""The LLM judge: one chat call splits the answer into claims and gives each a verdict.

What it does about the usual failures of LLM-as-judge faithfulness metrics (RAGAS, TruLens, G-Eval):
- Parse errors: the schema is requested as a forced tool call (`with_structured_output`,
  method="function_calling"), but any reply is accepted that carries the JSON somewhere: tool-call
  arguments, invalid tool-call strings, or plain text (code fences, prose around it, trailing commas).
  Verdict spellings are normalised ("Supported", "unsupported", "refuted"). A server that rejects tool
  calling (HTTP 400) is asked again in plain JSON mode. A reply that still cannot be used is retried
  once; a second failure falls back to the heuristic judge, and the note says so. Judging never raises.
- Run-to-run variance: temperature 0, a fixed seed, sources in number order, claims in answer order.
- Wrong or "corrected" numbers and names: the exact checks of rag.judge.checks run on both the judge's claims
  and the original answer sentences, and override a "supported" verdict.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from rag.core.protocols import ChatModels, Judge
from rag.core.settings import Settings
from rag.core.types import ClaimVerdict, Faithfulness, Source
from rag.judge.checks import (
    CONTRADICTED,
    MARKER_RE,
    NOT_SUPPORTED,
    SUPPORTED,
    Claim,
    apply_flags,
    check_claim,
    fact_key,
    refusal_faithfulness,
    score_verdicts,
    split_claims,
)
from rag.judge.prompt import JUDGE_PROMPT_VERSION, build_judge_messages

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

JUDGE_MAX_TOKENS = 2048
JUDGE_SEED = 0
ATTEMPTS = 2  # a malformed or failed reply is retried once

_VERDICT_WORDS = {
    SUPPORTED: ("supported", "support", "supports", "entailed", "entailment", "yes", "true", "faithful", "grounded"),
    NOT_SUPPORTED: (
        "not_supported", "unsupported", "not_enough_info", "not_enough_information", "insufficient",
        "neutral", "no", "unverifiable", "not_verifiable", "partially_supported", "partial", "unknown",
        "not_mentioned", "not_found", "ungrounded",
    ),
    CONTRADICTED: ("contradicted", "contradiction", "contradicts", "refuted", "refutes", "false", "conflict"),
}  # fmt: skip
_VERDICT_LOOKUP = {w: v for v, words in _VERDICT_WORDS.items() for w in words}


class JudgedClaim(BaseModel):
    """One self-contained claim of the answer and the verdict on it."""

    claim: str = Field(description="The claim, self-contained, numbers and names exactly as in the answer.")
    reason: str = Field(description="One short sentence pointing at the evidence in the sources.")
    source: int | None = Field(None, description="Number of the source that supports or contradicts it.")
    verdict: Literal["supported", "not_supported", "contradicted"] = Field(
        description="supported: a source states or directly entails it; contradicted: a source states "
        "otherwise; not_supported: no source states it."
    )


class JudgeReport(BaseModel):
    """All claims of the answer, in the order the answer states them, each with its verdict."""

    claims: list[JudgedClaim]


class MalformedReply(ValueError):
    """The judge's reply carries no usable claims/verdicts."""


def extract_json(text: str) -> Any:
    """The JSON value in a model's text: code fences, prose around it and trailing commas tolerated."""
    text = text.strip()
    fenced = re.search(r"```(?:json|JSON)?\s*(.*?)```", text, re.DOTALL)
    candidates = [fenced.group(1)] if fenced else []
    for open_, close in (("{", "}"), ("[", "]")):
        a, b = text.find(open_), text.rfind(close)
        if a != -1 and b > a:
            candidates.append(text[a : b + 1])
    candidates.append(text)
    for candidate in candidates:
        for attempt in (candidate, re.sub(r",\s*([}\]])", r"\1", candidate)):
            try:
                return json.loads(attempt)
            except (json.JSONDecodeError, TypeError):
                continue
    raise MalformedReply(f"no JSON in reply: {text[:80]!r}")


def _source_number(value: Any, valid: set[int]) -> int | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool) or value is None:
        return None
    match = re.search(r"\d+", str(value))
    number = int(match.group(0)) if match else None
    return number if number in valid else None


def parse_report(payload: Any, valid_sources: set[int]) -> list[ClaimVerdict]:
    """Normalise a judge reply (dict/list/JSON text) into verdicts; MalformedReply when unusable."""
    if isinstance(payload, str):
        payload = extract_json(payload)
    items = payload
    if isinstance(payload, dict):
        items = next((payload[k] for k in ("claims", "statements", "verdicts", "results") if k in payload), None)
        if items is None and "claim" in payload:
            items = [payload]
    if not isinstance(items, list) or not items:
        raise MalformedReply("reply has no list of claims")
    verdicts: list[ClaimVerdict] = []
    for item in items:
        if not isinstance(item, dict):
            raise MalformedReply("a claim is not an object")
        claim = next((item[k] for k in ("claim", "statement", "text") if isinstance(item.get(k), str)), "")
        raw = next((item[k] for k in ("verdict", "label", "judgement", "judgment") if k in item), None)
        key = re.sub(r"[\s\-]+", "_", str(raw).strip().lower()) if raw is not None else ""
        if not claim.strip() or key not in _VERDICT_LOOKUP:
            raise MalformedReply(f"claim without text or with unknown verdict {raw!r}")
        source = next((item[k] for k in ("source", "source_number", "source_id", "citation") if k in item), None)
        reason = next((str(item[k]) for k in ("reason", "explanation", "evidence") if item.get(k)), "")
        verdicts.append(
            ClaimVerdict(claim.strip(), _VERDICT_LOOKUP[key], _source_number(source, valid_sources), reason.strip())
        )
    return verdicts


def _payload(message: Any) -> Any:
    """Whatever in an AIMessage may hold the report: tool-call args, broken tool-call text, content."""
    for call in getattr(message, "tool_calls", None) or []:
        if call.get("args"):
            return call["args"]
    for call in getattr(message, "invalid_tool_calls", None) or []:
        if call.get("args"):
            return call["args"]
    content = getattr(message, "content", "")
    if isinstance(content, list):  # content blocks
        content = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    if not str(content).strip():
        raise MalformedReply("empty reply")
    return str(content)


def describe(exc: BaseException) -> str:
    """A short, user-readable reason for a failed attempt."""
    status = getattr(exc, "status_code", None)
    text = str(getattr(exc, "message", "") or exc).replace("\n", " ")
    head = f"HTTP {status}" if status else type(exc).__name__
    return f"{head}: {text[:120]}" if text else head


def _overlap(a: str, b: str) -> float:
    wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    return len(wa & wb) / max(1, len(wa))


class LLMJudge:
    """Claims and verdicts from an OpenAI-compatible chat model, with checks, retry and fallback."""

    def __init__(self, settings: Settings, fallback: Judge, chat_factory: ChatModels) -> None:
        self.settings = settings
        self.chat_factory = chat_factory  # rag/backends/chat.py: the same factory as the generator's
        self.fallback = fallback
        self.model = settings.judge_model or settings.llm_model
        self.name = f"llm:{self.model}"
        self.prompt_version = JUDGE_PROMPT_VERSION
        self._chat: Any = None
        self._use_tools = True  # switched off for good when the server rejects tool calling
        self._lock = threading.Lock()

    def _client(self) -> Any:
        """The ChatOpenAI client, built on first use (constructing the judge stays cheap)."""
        with self._lock:
            if self._chat is None:
                self._chat = self.chat_factory(
                    self.settings, model=self.model, temperature=0, seed=JUDGE_SEED, max_tokens=JUDGE_MAX_TOKENS
                )
            return self._chat

    def _ask(self, messages: list[BaseMessage], valid: set[int]) -> list[ClaimVerdict]:
        chat = self._client()
        if self._use_tools:
            structured = chat.with_structured_output(JudgeReport, method="function_calling", include_raw=True)
            out = structured.invoke(messages)
            if out.get("parsed") is not None:
                return parse_report(out["parsed"].model_dump(), valid)
            return parse_report(_payload(out["raw"]), valid)
        return parse_report(_payload(chat.invoke(messages)), valid)

    def judge(self, question: str, answer: str, sources: list[Source]) -> Faithfulness:
        claims, refusals = split_claims(answer, sources)
        if not claims:
            return refusal_faithfulness(self.name, refusals)
        if not sources:
            verdicts = [ClaimVerdict(c.text, NOT_SUPPORTED, None, "no sources were given") for c in claims]
            return score_verdicts(verdicts, self.name, "no sources")
        messages = build_judge_messages(question, answer, sources)
        valid = {s.number for s in sources}
        errors: list[str] = []
        while len(errors) < ATTEMPTS:
            try:
                verdicts = self._ask(messages, valid)
            except Exception as exc:  # the judge must never break an answer
                if self._use_tools and self.chat_factory.rejects_tools(exc):
                    self._use_tools = False  # e.g. "tools not supported": ask for plain JSON instead
                    continue
                errors.append(describe(exc))
                continue
            self._check(verdicts, claims, sources, question)
            note = f"prompt {self.prompt_version}"
            if errors:
                note += f"; first reply failed ({errors[0]}), retried once"
            return score_verdicts(verdicts, self.name, note)
        result = self.fallback.judge(question, answer, sources)
        note = f"LLM judge failed twice ({'; '.join(errors)}); {self.fallback.name} used"
        result.note = f"{note}. {result.note}" if result.note else note
        return result

    @staticmethod
    def _check(verdicts: list[ClaimVerdict], claims: Sequence[Claim], sources: Sequence[Source], question: str) -> None:
        """Apply the fact checks to the judge's claims and to the answer's own sentences.

        A judge's claim is checked against the source it named (else its markers, else all sources). The
        original sentences are checked against the sources they cited, so a number the judge silently
        corrected while rewriting a claim is still caught; such a flag goes to the judge's claim that
        shares most words with the sentence.
        """
        texts = {s.number: s.chunk.text for s in sources}
        for v in verdicts:
            markers = tuple(int(n) for m in MARKER_RE.finditer(v.claim) for n in re.findall(r"\d+", m.group(0)))
            cited = (v.source_number,) if v.source_number is not None else markers
            apply_flags(v, check_claim(Claim(MARKER_RE.sub("", v.claim), cited), texts, question))
        for claim in claims:
            for flag in check_claim(claim, texts, question):
                if any(fact_key(flag) == fact_key(f) for v in verdicts for f in v.flags):
                    continue
                target = max(verdicts, key=lambda v: _overlap(claim.text, v.claim))
                apply_flags(target, [flag])
