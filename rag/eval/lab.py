"""Strategy lab: test questions generated from the user's own library, then the `docqa eval` comparison.

Offline method (no LLM configured): the documents' text is rebuilt from the stored chunks (their
document-level offsets), split into sentences, and "informative" sentences are kept: 8-40 words with a
number or a capitalised name that does not open the sentence. In each, one span is masked, a number if
there is one, else the capitalised name, and the sentence becomes a cloze question ("... ____ ...?")
whose gold answer is the masked span at its document offsets. Sentences are drawn with a fixed seed,
round-robin over the documents. With an LLM configured, the model writes one question per drawn sentence
whose answer is the masked span (the gold span stays the same); the cloze is kept if its reply is unusable.

Bias: a cloze question repeats its source sentence nearly word for word, which favours lexical retrieval
(BM25) and small, sentence-sized chunks. Compare strategies with it; do not read it as absolute quality.
"""

from __future__ import annotations

import random
import re

from rag.answer.generate import OpenAIGenerator
from rag.core.sentences import split_sentences
from rag.core.types import ALL_STRATEGIES, PARENTS, LoadedDocument
from rag.eval.datasets import AnswerSpan, make_document
from rag.eval.evalsets import EvalItem
from rag.eval.harness import add_deltas, evaluate

NUMBER = re.compile(r"(?<![\w.])\d[\d,.]*\d(?:\s?%)?|(?<![\w.])\d(?:\s?%)?")
NAME = re.compile(r"(?<![\w-])[A-Z][\w-]+(?:\s+(?:of\s+|the\s+)?[A-Z][\w-]+)*")
WORD = re.compile(r"\S+")
METHOD = (
    "Questions were generated from sentences of your documents: sentences of 8–40 words that contain a number "
    "or a capitalised name were drawn at random (fixed seed, round-robin over documents); in each, a number "
    "(else the name) was masked and the sentence became a cloze question whose gold answer is the masked span. "
    "{llm}"
)


def library_documents(qa) -> list[LoadedDocument]:
    """Each stored document's text, rebuilt from its chunks at their offsets (gaps become spaces)."""
    pieces: dict[str, list] = {}
    titles: dict[str, str] = {}
    kinds = [s.value for s in ALL_STRATEGIES] + [PARENTS]  # whichever strategies ingest built
    for kind in kinds:
        try:
            for c in qa.store.iter_chunks(kind):
                pieces.setdefault(c.source, []).append((c.start, c.text))
                titles[c.source] = c.title
        except Exception:  # a strategy never ingested has no collection
            continue
    docs = []
    for source, parts in sorted(pieces.items()):
        buf = [" "] * max(s + len(t) for s, t in parts)
        for start, text in parts:
            buf[start : start + len(text)] = text
        docs.append(make_document(source, titles[source], "".join(buf)))
    return docs


def cloze(sentence: str) -> tuple[int, int] | None:
    """The span to mask in `sentence`: a number, else a capitalised name not opening the sentence."""
    n = len(WORD.findall(sentence))
    if not 8 <= n <= 40:
        return None
    m = NUMBER.search(sentence)
    if m is None:
        m = next((x for x in NAME.finditer(sentence) if x.start() > 0), None)
    if m is None or m.end() - m.start() >= len(sentence) // 2:
        return None
    return m.start(), m.end()


def candidates(doc: LoadedDocument) -> list[tuple[int, int, int, int]]:
    """(sentence start, sentence end, answer start, answer end) in document offsets."""
    out = []
    for a, b in split_sentences(doc.text):
        span = cloze(doc.text[a:b])
        if span is not None:
            out.append((a, b, a + span[0], a + span[1]))
    return out


def make_questions(docs: list[LoadedDocument], n: int, seed: int = 7, generator=None) -> list[EvalItem]:
    rng = random.Random(seed)
    pools = []
    for doc in docs:
        cands = candidates(doc)
        rng.shuffle(cands)
        if cands:
            pools.append((doc, cands))
    items: list[EvalItem] = []
    while len(items) < n and any(c for _, c in pools):
        for doc, cands in pools:
            if cands and len(items) < n:
                a, b, s, e = cands.pop()
                sentence, answer = doc.text[a:b], doc.text[s:e]
                question = sentence[: s - a] + "____" + sentence[e - a :].rstrip(" .;:") + "?"
                question = " ".join(question.split())
                if generator is not None:
                    question = llm_question(generator, sentence, answer) or question
                span = AnswerSpan(answer, s, e)
                items.append(EvalItem(f"lab-{len(items)}", question, doc.source, (span,), answer))
    return items


def llm_question(generator, sentence: str, answer: str) -> str | None:
    prompt = (
        "Write one question, in the language of the sentence, that this sentence answers and whose answer is "
        f"exactly «{answer}». Do not copy the sentence word for word. Reply with the question only.\n\n"
        f"Sentence: {sentence}"
    )
    try:
        reply = generator.complete([{"role": "user", "content": prompt}]).strip()
    except Exception:
        return None
    reply = reply.splitlines()[0].strip() if reply else ""
    return reply if reply.endswith("?") and 3 <= len(reply.split()) <= 60 else None


def run_lab(
    qa,
    questions: int = 30,
    *,
    strategies: list[str] | None = None,
    k: int | None = None,
    budget: int = 1000,
    seed: int = 7,
    log=print,
) -> dict:
    """Generate `questions` from the library and compare strategies and baselines on them."""
    qa.warm_up()
    docs = library_documents(qa)
    if not docs:
        raise ValueError("the library is empty: ingest some documents first")
    generator = None
    if qa.settings.llm_enabled:
        generator = OpenAIGenerator(qa.settings, qa.chat_factory)
    items = make_questions(docs, questions, seed, generator)
    if not items:
        raise ValueError("no informative sentences (8-40 words with a number or a name) in the library")
    log(f"lab: {len(items)} questions from {len(docs)} documents")
    for strategy in strategies or [s.value for s in ALL_STRATEGIES]:  # built on demand if ingest left it out
        if qa.library.missing(strategy):
            log(f"lab: building the {strategy} index for the documents that lack it")
            qa.library.ensure_strategy(strategy)
    qa.refresh_indexes()
    # The baseline's vectors are cached by content: a second lab run over the same library embeds nothing.
    cache = qa.settings.resolved_index_dir / "eval-baselines"
    rows = evaluate(qa, docs, items, strategies, k, budget, cache_dir=cache, log=log)
    add_deltas(rows)
    llm = "The language model rephrased each cloze as a question." if generator else "No language model was used."
    return {
        "dataset": "lab",
        "path": "library",
        "collection": qa.settings.collection,
        "questions": len(items),
        "documents": len(docs),
        "notes": [],
        "k": k or qa.settings.top_k,
        "budget_words": budget,
        "retrieval_mode": qa.settings.retrieval_mode,
        "llm": False,
        "lab": {
            "method": METHOD.format(llm=llm),
            "examples": [{"question": i.question, "answer": i.answer_text, "source": i.source} for i in items[:5]],
            "questions": [{"question": i.question, "answer": i.answer_text, "source": i.source} for i in items],
        },
        "results": rows,
    }
