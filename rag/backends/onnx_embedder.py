"""Faster embedding: the same sentence-transformers vectors computed by ONNX Runtime.

The embedder bounds ingestion, and on CPU ONNX Runtime runs MiniLM about twice as fast as torch (see the
README's benchmark). Nothing is downloaded: the ONNX graph is exported locally from the model folder
(the bundled MiniLM by default) with torch's exporter, optimised with ONNX Runtime's transformer fusions,
checked against torch on probe sentences, and cached on disk (DOCQA_MODEL_CACHE_DIR, default
INDEX_DIR/models). Later processes load the cached graph without importing torch at all.

Backends (DOCQA_EMBEDDING_BACKEND):
- `torch`: sentence-transformers itself.
- `onnx`: the fp32 export. Its vectors agree with torch to ~1e-6 cosine (checked at export and on every
  load, tolerance 1e-3), so it keeps torch's embedder name: an index built with either backend is searched
  with the other without re-indexing.
- `onnx-int8`: dynamic int8 quantisation of the export. Faster again, but its vectors move by up to ~0.015
  cosine, so its embedder name gets a `+onnx-int8` suffix and switching to or from it asks for a re-index.

Any failure to export or load (the `onnx` package missing, an unwritable cache folder, a corrupt or
wrong cached file, a model with modules the ONNX path does not implement) falls back to torch, with the
reason logged and kept in `fallback_reason`. A cached file that fails to load or to reproduce the stored
reference vectors is exported again first.

The export recipe and the cache key are in rag/backends/onnx_export.py, the torch-free inference in
rag/backends/onnx_runtime.py; this module picks the backend, validates the cache, and falls back.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.backends.onnx_export import EXPORT_STAGES, EXPORT_VERSION, FP32_TOLERANCE, export_onnx, model_key
from rag.backends.onnx_runtime import OnnxModel
from rag.backends.st_embedder import SentenceTransformerEmbedder, resolve_model_path
from rag.core.activity import Activity, Step
from rag.core.errors import BackendError, ModelNotAvailable
from rag.core.settings import BUNDLED_MODEL, Settings, offline_environment

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "onnx-int8")
INT8_TOLERANCE = 0.05  # int8 moves vectors by ~0.015; this only catches a broken file


def embedder_name(model: str, backend: str) -> str:
    """The fingerprint name: torch and fp32 ONNX share it (same vectors), int8 does not."""
    return f"{model}+onnx-int8" if backend == "onnx-int8" else model


RECENT_SIZE = 4096  # texts remembered (384 floats each: ~6 MB)
RECENT_TEXT_CHARS = 2000  # sentences and questions, not whole parent passages


class OnnxEmbedder:
    """The Embedder protocol on ONNX Runtime, with a clean fallback to torch (see the module docstring)."""

    def __init__(
        self,
        model: str = BUNDLED_MODEL,
        cache_dir: Path | str = Path("data/.index/models"),
        batch_size: int = 32,
        quantized: bool = False,
        device: str = "cpu",
        activity: Activity | None = None,
    ) -> None:
        self.model_name = model
        self.activity = activity or Activity()  # the first export is a long step with a progress bar
        self.requested = "onnx-int8" if quantized else "onnx"
        self.name = embedder_name(model, self.requested)
        self.cache_dir = Path(cache_dir)
        self.backend = "unloaded"  # after warm_up: "onnx", "onnx-int8" or "torch"
        self.fallback_reason = ""
        self._path = resolve_model_path(model)
        self._batch_size = batch_size
        self._device = device
        self._onnx: OnnxModel | None = None
        self._torch: SentenceTransformerEmbedder | None = None
        self._dimension: int | None = None
        self._lock = threading.Lock()
        # Answering embeds the same source sentences up to three times (the extractive composer, citation
        # resolution, the judge): a small text -> vector memory makes the second and third time free.
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()

    @property
    def folder(self) -> Path:
        return self.cache_dir / "onnx" / model_key(self._path)

    def warm_up(self) -> None:
        with self._lock:
            if self._onnx is not None or self._torch is not None:
                return
            offline_environment()
            try:
                self._onnx = self._load_or_export()
                self.backend = self.requested
            except ModelNotAvailable:
                raise
            except Exception as exc:
                self.fallback_reason = f"{type(exc).__name__}: {exc}"
                log.warning("%s embedding backend unavailable, using torch: %s", self.requested, self.fallback_reason)
                self._torch = SentenceTransformerEmbedder(self.model_name, self._device, self._batch_size)
                self._torch.warm_up()
                self.backend = "torch"

    def _load_or_export(self) -> OnnxModel:
        folder = self.folder
        problem = ""
        try:
            return self._open(folder)
        except FileNotFoundError:
            problem = "not exported yet"
        except Exception as exc:
            problem = f"cached file unusable ({type(exc).__name__}: {exc})"
        log.info("exporting %s to ONNX under %s: %s", self.model_name, folder, problem)
        try:
            with self.activity.step("preparing the embedding model (first run only)", EXPORT_STAGES) as step:
                export_onnx(self._path, folder, on_stage=_stage_reporter(step))
                step.advance(EXPORT_STAGES - step.done, description="preparing the embedding model: done")
        except OSError as exc:
            raise BackendError(f"{problem}; cannot write the ONNX export under {folder}: {exc}") from exc
        except Exception as exc:
            raise BackendError(f"{problem}; export failed: {exc}") from exc
        return self._open(folder)

    def _open(self, folder: Path) -> OnnxModel:
        meta_file = folder / "meta.json"
        file = folder / ("model-int8.onnx" if self.requested == "onnx-int8" else "model.onnx")
        if not meta_file.is_file() or not file.is_file():
            raise FileNotFoundError(file)
        meta = json.loads(meta_file.read_text())
        if meta.get("export_version") != EXPORT_VERSION:
            raise BackendError(f"export version {meta.get('export_version')} != {EXPORT_VERSION}")
        model = OnnxModel(file, self._path, meta["pooling"], int(meta["max_seq_length"]))
        # The stored torch vectors catch a file that loads but computes something else.
        got = model.embed(list(meta["probes"]), batch_size=len(meta["probes"]))
        cos = float((got * np.asarray(meta["reference"], dtype=np.float32)).sum(axis=1).min())
        tolerance = INT8_TOLERANCE if self.requested == "onnx-int8" else FP32_TOLERANCE
        if cos < 1 - tolerance:
            raise BackendError(f"{file.name} no longer reproduces the reference vectors (min cosine {cos:.5f})")
        return model

    @property
    def dimension(self) -> int:
        if self._torch is not None:
            return self._torch.dimension
        if self._dimension is None:  # read from the model folder, no weights needed
            self._dimension = SentenceTransformerEmbedder(self.model_name).dimension
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._onnx is None and self._torch is None:
            self.warm_up()
        if self._torch is not None:
            return self._torch.embed(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        assert self._onnx is not None
        texts = list(texts)
        with self._recent_lock:
            known = {t: self._recent[t] for t in set(texts) if t in self._recent}
            for t in known:
                self._recent.move_to_end(t)
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        if todo:
            fresh = self._onnx.embed(todo, self._batch_size)
            with self._recent_lock:
                for t, v in zip(todo, fresh, strict=True):
                    known[t] = v
                    if len(t) <= RECENT_TEXT_CHARS:
                        self._recent[t] = v
                while len(self._recent) > RECENT_SIZE:
                    self._recent.popitem(last=False)
        return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def forget_recent(self) -> None:
        """Drop the remembered vectors (benchmarks time real embedding, not the memory)."""
        with self._recent_lock:
            self._recent.clear()


def _stage_reporter(step: Step):
    """on_stage for export_onnx: a stage starting means the one before it is done."""
    begun = False

    def on_stage(name: str) -> None:
        nonlocal begun
        step.advance(1 if begun else 0, description=f"preparing the embedding model (first run only): {name}")
        begun = True

    return on_stage


def make_embedder(settings: Settings, activity: Activity | None = None):
    """The embedder the settings ask for (DOCQA_EMBEDDING_BACKEND)."""
    backend = getattr(settings, "embedding_backend", "torch")
    s = settings
    if backend == "torch" or s.embedding_device != "cpu":  # ONNX here is a CPU path
        return SentenceTransformerEmbedder(s.embedding_model, s.embedding_device, s.embedding_batch_size)
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; choose from {', '.join(BACKENDS)}")
    return OnnxEmbedder(
        s.embedding_model,
        s.resolved_model_cache_dir,
        s.embedding_batch_size,
        quantized=backend == "onnx-int8",
        device=s.embedding_device,
        activity=activity,
    )
