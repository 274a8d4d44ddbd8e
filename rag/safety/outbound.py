"""One redaction pass over everything that leaves docqa: whole answers, questions, streamed text, JSON.

Redacting only the answer text left three other exits open: a secret in a document came back in
`sources[].text` and `citations[].supporting_sentence`, a refusal still carried the passages holding it, and a
key typed into a question was echoed in `question` / `standalone_question` and stored in the semantic cache.
`Redactor` is the single place that knows every text field of an `Answer`; the Answerer calls it on the
question when it arrives (so the cache keys and stores redacted text) and on every answer it hands out,
early ones (refusals, cache hits, errors, no-sources) included. Front ends pass their JSON through
`redact_data` as a last guard. Redaction is idempotent: a second pass finds nothing new.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from rag.core.settings import Settings
from rag.core.types import Answer, Chunk, Source
from rag.safety.redact import PII_RULES, SECRET_RULES, describe, redact

_HIGH_RISK_PII = tuple(r for r in PII_RULES if r.kind in ("card number", "resident registration number"))
OUTPUT_RULES = {"off": (), "low": SECRET_RULES + _HIGH_RISK_PII, "medium": SECRET_RULES + PII_RULES}
OUTPUT_RULES["high"] = OUTPUT_RULES["medium"]

# Streamed answer text is held back this many characters (cut at a space) so that a secret split across
# pieces ("password is:" ... "Hunter2!") is complete before any of it is shown.
STREAM_HOLD = 120


def configured_secrets(settings: Settings) -> list[str]:
    """The secret values in the settings: API key, Chroma token, and the UI's passwords."""
    out = []
    for field in (settings.openai_api_key, settings.chroma_auth_token):
        if field is not None and field.get_secret_value():
            out.append(field.get_secret_value())
    if settings.auth is not None:
        for pair in settings.auth.get_secret_value().split(","):
            _, _, password = pair.partition(":")
            if password.strip():
                out.append(password.strip())
    return out


def _level(settings: Settings) -> str:
    return getattr(settings, "safety_level", "low") or "low"


class Redactor:
    """Redact secrets and personal data from every text field of an answer (an AnswerHook too)."""

    def _clean(self, settings: Settings) -> Callable[[str, list[str] | None], str]:
        rules = OUTPUT_RULES.get(_level(settings), OUTPUT_RULES["low"])
        secrets = configured_secrets(settings)

        def clean(text: str, kinds: list[str] | None = None) -> str:
            if not text or not isinstance(text, str):
                return text
            out, found = redact(text, rules, secrets)
            if kinds is not None:
                kinds.extend(found)
            return out

        return clean

    def redact_text(self, text: str, settings: Settings) -> str:
        return self._clean(settings)(text, None)

    def redact_data(self, data, settings: Settings):
        """Every string inside a JSON-like value (dicts, lists, tuples), keys kept."""
        clean = self._clean(settings)

        def walk(value):
            if isinstance(value, str):
                return clean(value, None)
            if isinstance(value, dict):
                return {k: walk(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [walk(v) for v in value]
            return value

        return walk(data)

    def redact_answer(self, answer: Answer, settings: Settings) -> Answer:
        """The answer with every text field redacted, and a notice saying what was removed."""
        clean = self._clean(settings)
        said: list[str] = []  # what the answer itself said (derived fields repeat it: counted once)
        shown: list[str] = []  # what the passages and the question held
        answer.text = clean(answer.text, said)
        notice = clean(answer.notice, said)
        answer.question = clean(answer.question, shown)
        answer.standalone_question = clean(answer.standalone_question, shown)
        answer.sources = [self._source(s, clean, shown) for s in answer.sources]
        texts = {s.number: s.hit.span.text for s in answer.sources}
        for citation in answer.citations:
            citation.answer_sentence = clean(citation.answer_sentence)
            supporting = clean(citation.supporting_sentence)
            if supporting != citation.supporting_sentence:
                citation.supporting_sentence = supporting
                at = texts.get(citation.source_number, "").find(supporting)  # highlight offsets follow the text
                if at >= 0:
                    citation.support_start, citation.support_end = at, at + len(supporting)
        if answer.faithfulness is not None:
            answer.faithfulness.note = clean(answer.faithfulness.note)
            for verdict in answer.faithfulness.verdicts:
                verdict.claim, verdict.reason = clean(verdict.claim), clean(verdict.reason)
        messages = []
        if said:
            messages.append(f"Safety filter: {describe(said)} removed from the answer.")
        if shown:
            messages.append(f"Safety filter: {describe(shown)} removed from the sources and the question.")
        answer.notice = " ".join([notice, *messages]).strip() if notice else " ".join(messages)
        return answer

    @staticmethod
    def _source(source: Source, clean, kinds: list[str]) -> Source:
        """A copy with redacted chunk texts (the retrieved Chunk objects may be shared with the indexes);
        what the shown span holds is counted, the parent around a matched child is not counted again."""

        def chunk(c: Chunk | None, count: bool) -> Chunk | None:
            if c is None:
                return None
            text = clean(c.text, kinds if count else None)
            return c if text == c.text else dataclasses.replace(c, text=text)

        hit = source.hit
        matched = chunk(hit.matched, True)
        parent = chunk(hit.chunk, hit.matched is None)
        if parent is hit.chunk and matched is hit.matched:
            return source
        return Source(source.number, dataclasses.replace(hit, chunk=parent, matched=matched), list(source.flags))

    # --- as an AnswerHook (rag.answer.answerer) ----------------------------------------------------
    def before_retrieve(self, question: str, standalone: str, settings: Settings) -> Answer | None:
        return None

    def before_generate(self, question: str, sources: list[Source], settings: Settings) -> Answer | None:
        return None

    def after_answer(self, answer: Answer, settings: Settings) -> Answer:
        return self.redact_answer(answer, settings)

    def stream(self, settings: Settings) -> StreamRedactor:
        return StreamRedactor(lambda text: self.redact_text(text, settings))


class StreamRedactor:
    """Redacts streamed answer text: shows the redacted text up to a space STREAM_HOLD characters back,
    so nothing of a secret is shown before the whole of it has arrived."""

    def __init__(self, redact_text: Callable[[str], str]) -> None:
        self._redact = redact_text
        self.raw = ""
        self.sent = 0

    def feed(self, piece: str) -> str:
        self.raw += piece
        clean = self._redact(self.raw)
        cut = max(clean.rfind(" ", 0, len(clean) - STREAM_HOLD), clean.rfind("\n", 0, len(clean) - STREAM_HOLD))
        if cut <= self.sent:
            return ""
        out, self.sent = clean[self.sent : cut], cut
        return out

    def flush(self) -> str:
        clean = self._redact(self.raw)
        out, self.sent = clean[self.sent :], len(clean)
        return out
