"""Which loader reads a question set: the PDF sets by their folder layout, else JSON / JSONL.

Its own module so that the JSON loaders (evalsets) and the PDF sets (pdfsets, which reuse evalsets'
types) never import each other.
"""

from __future__ import annotations

from pathlib import Path

from rag.eval.evalsets import EvalSet, load_jsonl, load_squad
from rag.eval.pdfsets import pdf_set_loader


def load_eval_set(path: str | Path, limit: int = 0) -> EvalSet:
    """The set at `path` (a file, or a folder holding one); `limit`: at most that many questions."""
    if (loader := pdf_set_loader(path := Path(path))) is not None:
        return loader(path, limit)
    if path.is_dir():  # a dataset folder: its one JSON / JSONL file
        found = sorted(path.glob("*.jsonl")) or sorted(path.glob("*.json"))
        if not found:
            raise ValueError(f"no .json or .jsonl dataset in {path}")
        path = found[0]
    return load_jsonl(path, limit) if path.suffix == ".jsonl" else load_squad(path, limit)
