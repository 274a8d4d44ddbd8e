"""PDF question sets with free-text answers: Docugami SEC 10-Q and ARAGOG, as `EvalSet`s for `docqa eval`.

Both sets ask questions about real PDFs and give the answer as prose written about the documents, not as a
span of them, and neither names a page. So there is nothing for hit@budget, top-1 or MRR to check; each
item names its gold document(s) instead (`EvalItem.gold_docs`) and is scored by doc hit, answer recall and
answer found within the word budget (defined in rag/eval/metrics.py). A line in the notes says so, and
the report explains the columns.

Docugami KG-RAG "SEC 10-Q" (a folder holding qna_data.csv and docs/*.pdf; qna_data_mini.csv works too):
- `Source Docs` is a glob over the PDF file names ("*2023 Q3 NVDA*" is one filing, "*AAPL*" all four of
  Apple's): it is matched case-sensitively against docs/*.pdf and every match is a gold document.
- Answers cite their files ("(SOURCE: 2022 Q3 AAPL.pdf)", "SOURCE(S): ...") and often open with "Based on
  the provided documents"; both are removed before scoring, since they name the file, not the answer.
- "2023 Q1 MSFT.pdf" and "2023 Q2 MSFT.pdf" hold arrays over pypdf's default 100,000-element cap; they
  load under the app's sandbox limits (ingest.loaders.sandbox_pdf_limits), which this loader uses too so
  the set sees what a user's ingestion sees. Every document that fails to load is listed with its reason,
  and a question is skipped (and counted) when any of its gold documents failed: its answer draws on a
  filing the index cannot hold, so its recall would measure the loader, not retrieval.

ARAGOG (a folder holding benchmark.json and papers_for_questions/*.pdf):
- benchmark.json has parallel `questions` and `ground_truths` lists and no field naming the paper. The
  paper is read off the question with the keyword table `ARAGOG_PAPERS` (first match wins; specific names
  first, so "DistilBERT ... compared to BERT" goes to DistilBERT, "SuperGLUE ... GLUE" to SuperGLUE).
- The 9 questions about GLM-130B are skipped: its PDF is not in the set. Questions that no keyword maps
  are skipped too; the notes count and number both. The red-teaming, long-tail and prompt-meaning papers
  are in the table although no question of this snapshot names them.

The corpus is every PDF of the set (those no question asks about are distractors, as in the sets' own use);
`limit` keeps the first N usable questions over that whole corpus. `only` (a set of PDF file names) loads
just those documents and keeps the questions answerable from them, for small runs such as the tests.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from pathlib import Path

from ingest.loaders import LoadError, load_document, sandbox_pdf_limits
from rag.core.types import LoadedDocument
from rag.eval.evalsets import EvalItem, EvalSet

METRIC_NOTE = (
    "free-text answers without spans or pages: doc hit, answer recall (share of the gold answer's key "
    "tokens in the passages within the word budget), answer found (recall >= 0.5) and doc@1 replace "
    "hit@budget, top-1 and MRR (rag/eval/metrics.py)"
)
ARAGOG_PAPERS: tuple[tuple[str, str], ...] = (
    # (regular expression searched in the question, PDF in papers_for_questions/; "" = no PDF in the set)
    (r"GLM-130B", ""),
    (r"DistilBERT", "distilbert.pdf"),
    (r"RoBERTa", "roberta.pdf"),
    (r"SuperGLUE", "superglue.pdf"),
    (r"HellaSwag", "hellaswag.pdf"),
    (r"DetectGPT", "DetectGPT.pdf"),
    (r"Task2Vec", "task2vec.pdf"),
    (r"CodeNet", "codenet.pdf"),
    (r"Megatron", "megatron.pdf"),
    (r"LLaMA", "llama.pdf"),
    (r"\bPAL\b", "PAL.pdf"),  # case-sensitive: PaLM is another model
    (r"(?i)\bmultitask test(?:ing)?\b|\bMMLU\b|\b57 tasks\b", "MMLU_measure.pdf"),
    (r"(?i)\bred[- ]teaming\b", "red_teaming.pdf"),
    (r"(?i)\blong[- ]tail", "llm_long_tail.pdf"),
    (r"(?i)\bmeaning of (?:a |the )?prompts?\b|\bprompt meaning\b", "meaning_of_prompt.pdf"),
    (r"\bBERT\b", "bert.pdf"),
)
_CITATION = re.compile(
    r"\(?\s*\bSOURCES?(?:\(S\))?\s*:[^\n)]*\)?"  # (SOURCE: a.pdf), SOURCE(S): a.pdf, b.pdf (to the line end)
    r"|\(?\"?\b\d{4} Q\d [A-Z]{2,5}\.pdf\"?\)?",  # a bare or quoted file name
    re.IGNORECASE,
)
_OPENER = re.compile(r"\b(?:based on|according to) the (?:provided |given )?(?:documents?|information)\s*,?", re.I)


def pdf_set_loader(path: Path) -> Callable[[Path, int], EvalSet] | None:
    """The loader for `path` when it is (a file of) one of these sets, else None (SQuAD/JSONL go on)."""
    if path.is_dir():
        if (path / "qna_data.csv").is_file():
            return load_docugami
        if (path / "benchmark.json").is_file() and (path / "papers_for_questions").is_dir():
            return load_aragog
        return None
    if path.suffix == ".csv" and (path.parent / "docs").is_dir():
        return load_docugami
    if path.suffix == ".json" and (path.parent / "papers_for_questions").is_dir():
        return load_aragog
    return None


def set_key(name: str, documents: Iterable[LoadedDocument]) -> str:
    """Names the eval collection: the set and the content hashes of the documents it holds."""
    ids = sorted(d.doc_id for d in documents)
    return hashlib.sha256("\0".join([name, *ids]).encode()).hexdigest()[:10]


def load_pdfs(folder: Path, names: Iterable[str]) -> tuple[dict[str, LoadedDocument], dict[str, str]]:
    """(loaded documents, {file name: reason it could not be loaded}); a bad PDF never raises."""
    docs: dict[str, LoadedDocument] = {}
    failed: dict[str, str] = {}
    for name in sorted(set(names)):
        try:
            with sandbox_pdf_limits():  # the set's own public files, read as the app's sandbox reads them
                docs[name] = load_document(folder / name)
        except LoadError as exc:
            failed[name] = str(exc)
    return docs, failed


def _build(
    name: str, folder: Path, items: list[EvalItem], notes: list[str], limit: int, only: Collection[str] | None
) -> EvalSet:
    """Load the corpus, every PDF in `folder` (or those in `only`): a PDF no question asks about stays in
    as a distractor, as the sets are meant to be used. Questions whose gold documents failed are dropped."""
    names = sorted(p.name for p in folder.glob("*.pdf"))
    if only is not None:
        kept = [i for i in items if set(i.gold_docs) <= set(only)]
        notes.append(f"restricted to {', '.join(sorted(only))}: {len(kept)} of {len(items)} questions")
        items, names = kept, [n for n in names if n in only]
    docs, failed = load_pdfs(folder, names)
    notes += [f"{doc} not loaded: {reason}" for doc, reason in failed.items()]
    lost = [i for i in items if any(d in failed for d in i.gold_docs)]
    if lost:
        notes.append(f"{_n(lost)} skipped: a gold document could not be loaded ({', '.join(failed)})")
        items = [i for i in items if i not in lost]
    if limit and limit < len(items):
        notes.append(f"limited to the first {limit} of {len(items)} usable questions (the corpus stays whole)")
        items = items[:limit]
    asked = {d for i in items for d in i.gold_docs}
    notes.append(f"{len(items)} questions over {len(docs)} documents ({len(set(docs) - asked)} without a question)")
    notes.append(METRIC_NOTE)
    documents = list(docs.values())
    return EvalSet(name, set_key(name, documents), documents, items, notes)


# --- Docugami SEC 10-Q --------------------------------------------------------------------------------
def clean_answer(answer: str) -> str:
    """The answer without its file citations and its "Based on the provided documents" opener."""
    return " ".join(_OPENER.sub(" ", _CITATION.sub(" ", answer)).split())


def docugami_items(csv_path: Path, pdf_names: Collection[str]) -> tuple[list[EvalItem], list[str]]:
    """One item per CSV row, its glob resolved to gold PDFs; rows matching no PDF are noted and left out."""
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    items, unmatched = [], Counter()
    for i, row in enumerate(rows):
        pattern = row["Source Docs"].strip()
        gold = tuple(sorted(n for n in pdf_names if fnmatch.fnmatchcase(n, pattern)))
        if not gold:
            unmatched[pattern] += 1
            continue
        answer = clean_answer(row["Answer"])
        items.append(EvalItem(f"sec10q-{i}", row["Question"].strip(), gold[0], (), answer, None, gold))
    notes = [f"{len(rows)} questions; Source Docs globs resolved against {len(pdf_names)} PDFs in docs/"]
    notes += [f"{_n(range(n))} skipped: glob {p!r} matches no PDF" for p, n in unmatched.items()]
    notes.append("answers: file citations (SOURCE: ….pdf) and the 'Based on the provided documents' opener removed")
    return items, notes


def load_docugami(path: Path, limit: int = 0, only: Collection[str] | None = None) -> EvalSet:
    """The Docugami SEC 10-Q set at `path` (its folder, or its qna_data*.csv beside docs/)."""
    csv_path = path / "qna_data.csv" if path.is_dir() else path
    folder = csv_path.parent / "docs"
    names = sorted(p.name for p in folder.glob("*.pdf"))
    items, notes = docugami_items(csv_path, names)
    return _build("docugami_sec10q", folder, items, notes, limit, only)


# --- ARAGOG -------------------------------------------------------------------------------------------
def aragog_paper(question: str) -> str | None:
    """The question's paper by ARAGOG_PAPERS: a PDF name, "" (a paper not in the set), None (no keyword)."""
    for pattern, pdf in ARAGOG_PAPERS:
        if re.search(pattern, question):
            return pdf
    return None


def load_aragog(path: Path, limit: int = 0, only: Collection[str] | None = None) -> EvalSet:
    """The ARAGOG set at `path` (its folder, or benchmark.json beside papers_for_questions/)."""
    json_path = path / "benchmark.json" if path.is_dir() else path
    folder = json_path.parent / "papers_for_questions"
    raw = json.loads(json_path.read_text(encoding="utf-8"))
    questions, truths = raw["questions"], raw["ground_truths"]
    if len(questions) != len(truths):
        raise ValueError(f"{json_path}: {len(questions)} questions but {len(truths)} ground truths")
    present = {p.name for p in folder.glob("*.pdf")}
    items, absent, unmapped = [], {}, []
    for i, (question, truth) in enumerate(zip(questions, truths, strict=True)):
        pdf = aragog_paper(question)
        if pdf is None:
            unmapped.append(i)
        elif pdf not in present:
            absent.setdefault(pdf or "GLM-130B", []).append(i)
        else:
            items.append(EvalItem(f"aragog-{i}", question.strip(), pdf, (), truth.strip(), None, (pdf,)))
    notes = [f"{len(questions)} questions; {len(items)} mapped to a paper by the keyword table ARAGOG_PAPERS"]
    for paper, skipped in absent.items():
        notes.append(f"{_n(skipped)} skipped, no PDF of {paper} in the set: {_numbers(skipped)}")
    if unmapped:
        notes.append(f"{_n(unmapped)} skipped, no keyword names their paper: {_numbers(unmapped)}")
    return _build("aragog", folder, items, notes, limit, only)


def _numbers(indexes: list[int]) -> str:
    return ("questions " if len(indexes) > 1 else "question ") + ", ".join(str(i) for i in indexes) + " (0-based)"


def _n(things: Collection) -> str:
    return f"{len(things)} question" + ("" if len(things) == 1 else "s")
