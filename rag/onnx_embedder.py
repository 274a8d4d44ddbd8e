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
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import threading
import time
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.embeddings import ModelNotAvailable, SentenceTransformerEmbedder, resolve_model_path
from rag.settings import BUNDLED_MODEL, Settings, offline_environment

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "onnx-int8")
EXPORT_VERSION = 1  # bump when the export recipe changes: cached files are then rebuilt
OPSET = 17
FP32_TOLERANCE = 1e-3  # minimum cosine 1 - this against torch, at export and on load
INT8_TOLERANCE = 0.05  # int8 moves vectors by ~0.015; this only catches a broken file
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_SUPPORTED_MODULES = {"Transformer", "Pooling", "Normalize"}

# Varied lengths in one batch, so the check covers padding as well as the vectors.
PROBES = (
    "Employees accrue 1.5 days of paid leave per month.",
    "How far is Mars from the Sun?",
    "The heat pump's coefficient of performance falls as the outdoor temperature drops, so at -15 °C "
    "an air-source unit may deliver only twice the heat it draws as electricity, and a backup resistance "
    "heater covers the rest of the load on the coldest days of the year.",
    "ok",
    "세종대왕은 한글을 창제했다.",
)


class BackendError(RuntimeError):
    """The ONNX backend cannot be used for this model (the caller falls back to torch)."""


def embedder_name(model: str, backend: str) -> str:
    """The fingerprint name: torch and fp32 ONNX share it (same vectors), int8 does not."""
    return f"{model}+onnx-int8" if backend == "onnx-int8" else model


def _model_key(path: str) -> str:
    """Identifies the model files (names, sizes, mtimes) and the export recipe."""
    root = Path(path)
    h = hashlib.blake2b(digest_size=8)
    h.update(f"v{EXPORT_VERSION}:opset{OPSET}:{root.resolve()}".encode())
    for f in sorted(root.rglob("*")):
        if f.is_file() and not f.name.startswith("."):
            st = f.stat()
            h.update(f"{f.relative_to(root)}:{st.st_size}:{int(st.st_mtime)}".encode())
    return f"{root.name if root.name != 'model' else root.parent.name}-{h.hexdigest()}"


def _read_pooling(path: str) -> tuple[str, int]:
    """('mean' | 'cls' | 'max', max_seq_length) from a sentence-transformers folder."""
    root = Path(path)
    try:
        modules = json.loads((root / "modules.json").read_text())
    except OSError as exc:
        raise BackendError(f"{path} is not a sentence-transformers folder (no modules.json)") from exc
    kinds = {m.get("type", "").rsplit(".", 1)[-1] for m in modules}
    if not kinds <= _SUPPORTED_MODULES:
        raise BackendError(f"modules {sorted(kinds - _SUPPORTED_MODULES)} are not implemented by the ONNX backend")
    pooling = next((m for m in modules if m.get("type", "").endswith("Pooling")), None)
    mode = "mean"
    if pooling is not None:
        config = json.loads((root / pooling["path"] / "config.json").read_text())
        if config.get("pooling_mode_cls_token"):
            mode = "cls"
        elif config.get("pooling_mode_max_tokens"):
            mode = "max"
        elif config.get("pooling_mode_mean_sqrt_len_tokens") or config.get("pooling_mode_weightedmean_tokens"):
            raise BackendError("this pooling mode is not implemented by the ONNX backend")
    max_len = 256
    cfg = root / "sentence_bert_config.json"
    if cfg.is_file():
        max_len = int(json.loads(cfg.read_text()).get("max_seq_length", max_len))
    return mode, max_len


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    m = mask[..., None].astype(np.float32)
    if mode == "cls":
        vectors = hidden[:, 0]
    elif mode == "max":
        vectors = np.where(m > 0, hidden, -1e9).max(axis=1)
    else:
        vectors = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def _atomic_write(target: Path, write) -> None:
    """`write(tmp_path)` then rename over target, so readers never see half a file."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def export_onnx(model_path: str, folder: Path, probes: Sequence[str] = PROBES) -> dict:
    """Export the transformer of a sentence-transformers folder to folder/model.onnx (fp32), optimise it,
    check it against torch on `probes`, quantise folder/model-int8.onnx, and write folder/meta.json.

    Needs torch, transformers and the `onnx` package (export only). Raises BackendError on any failure.
    """
    offline_environment()
    t0 = time.perf_counter()
    mode, max_len = _read_pooling(model_path)
    if importlib.util.find_spec("onnx") is None:  # torch's exporter needs it; fail early and clearly
        raise BackendError("exporting to ONNX needs the `onnx` package (pip install onnx)")
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()
    sample = tok(list(probes[:2]), padding=True, truncation=True, max_length=max_len, return_tensors="pt")
    inputs = [name for name in _INPUTS if name in sample]

    class _Wrapper(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            return self.inner(**dict(zip(inputs, args, strict=True))).last_hidden_state

    def _export(tmp: Path) -> None:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about constant shapes
            torch.onnx.export(
                _Wrapper(model),
                tuple(sample[n] for n in inputs),
                str(tmp),
                input_names=inputs,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*inputs, "last_hidden_state"]},
                opset_version=OPSET,
                dynamo=False,
            )
        _optimise(tmp, model.config)

    fp32 = folder / "model.onnx"
    _atomic_write(fp32, _export)
    reference = SentenceTransformer(model_path, device="cpu").encode(
        list(probes), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    check = _OnnxModel(fp32, model_path, mode, max_len).embed(list(probes), batch_size=len(probes))
    fp32_cos = float((check * reference).sum(axis=1).min())
    if fp32_cos < 1 - FP32_TOLERANCE:
        fp32.unlink(missing_ok=True)
        raise BackendError(f"the ONNX export disagrees with torch (min cosine {fp32_cos:.6f})")

    int8 = folder / "model-int8.onnx"
    int8_cos = None
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        def _quantize(tmp: Path) -> None:
            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.ERROR)  # the quantiser logs advice on the root logger
            try:
                quantize_dynamic(
                    str(fp32),
                    str(tmp),
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # fused ops lack type info
                )
            finally:
                root.setLevel(level)

        _atomic_write(int8, _quantize)
        got = _OnnxModel(int8, model_path, mode, max_len).embed(list(probes), batch_size=len(probes))
        int8_cos = float((got * reference).sum(axis=1).min())
    except Exception as exc:  # int8 is optional; the fp32 file stays usable
        log.warning("int8 quantisation failed: %s", exc)
        int8.unlink(missing_ok=True)

    meta = {
        "export_version": EXPORT_VERSION,
        "model_path": str(model_path),
        "pooling": mode,
        "max_seq_length": max_len,
        "inputs": inputs,
        "probes": list(probes),
        "reference": reference.round(6).tolist(),
        "fp32_min_cosine": fp32_cos,
        "int8_min_cosine": int8_cos,
        "torch": torch.__version__,
        "export_s": round(time.perf_counter() - t0, 2),
    }
    _atomic_write(folder / "meta.json", lambda tmp: tmp.write_text(json.dumps(meta)))
    log.info("exported %s to ONNX in %.1f s (min cosine vs torch %.7f)", model_path, meta["export_s"], fp32_cos)
    return meta


def _optimise(path: Path, config) -> None:
    """ONNX Runtime's offline BERT fusions (attention, layer norm, GELU); skipped if they do not apply."""
    try:
        from onnxruntime.transformers import optimizer

        heads = int(getattr(config, "num_attention_heads", 0) or 0)
        hidden = int(getattr(config, "hidden_size", 0) or 0)
        opt = optimizer.optimize_model(str(path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
        opt.save_model_to_file(str(path))
    except Exception as exc:  # the plain export is still correct, only a little slower
        log.info("ONNX Runtime transformer optimisation skipped: %s", exc)


class _OnnxModel:
    """An ONNX Runtime session plus the model's tokenizer and pooling (no torch, no transformers)."""

    def __init__(self, path: Path, model_path: str, pooling: str, max_len: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tok = _load_tokenizer(model_path, max_len)
        self.pooling = pooling
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # less padding, as sentence-transformers
        out: np.ndarray | None = None
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            with self._lock:
                encodings = self.tok.encode_batch([texts[i] for i in idx])
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            arrays = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": mask,
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            hidden = self.session.run(None, {name: arrays[name] for name in self.inputs})[0]
            vectors = _pool(hidden, mask, self.pooling)
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
        assert out is not None
        return out


def _load_tokenizer(model_path: str, max_len: int):
    """The model's fast tokenizer from tokenizer.json, set up as sentence-transformers calls it."""
    from tokenizers import Tokenizer

    file = Path(model_path) / "tokenizer.json"
    if not file.is_file():
        raise BackendError(f"{model_path} has no tokenizer.json (needed by the ONNX backend)")
    tok = Tokenizer.from_file(str(file))
    tok.enable_truncation(max_length=max_len)
    config = Path(model_path) / "tokenizer_config.json"
    pad_token = json.loads(config.read_text()).get("pad_token", "[PAD]") if config.is_file() else "[PAD]"
    if isinstance(pad_token, dict):
        pad_token = pad_token.get("content", "[PAD]")
    pad_id = tok.token_to_id(pad_token)
    tok.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token=pad_token)
    return tok


class OnnxEmbedder:
    """The Embedder protocol on ONNX Runtime, with a clean fallback to torch (see the module docstring)."""

    def __init__(
        self,
        model: str = BUNDLED_MODEL,
        cache_dir: Path | str = Path("data/.index/models"),
        batch_size: int = 32,
        quantized: bool = False,
        device: str = "cpu",
    ) -> None:
        self.model_name = model
        self.requested = "onnx-int8" if quantized else "onnx"
        self.name = embedder_name(model, self.requested)
        self.cache_dir = Path(cache_dir)
        self.backend = "unloaded"  # after warm_up: "onnx", "onnx-int8" or "torch"
        self.fallback_reason = ""
        self._path = resolve_model_path(model)
        self._batch_size = batch_size
        self._device = device
        self._onnx: _OnnxModel | None = None
        self._torch: SentenceTransformerEmbedder | None = None
        self._dimension: int | None = None
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        return self.cache_dir / "onnx" / _model_key(self._path)

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

    def _load_or_export(self) -> _OnnxModel:
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
            export_onnx(self._path, folder)
        except OSError as exc:
            raise BackendError(f"{problem}; cannot write the ONNX export under {folder}: {exc}") from exc
        except Exception as exc:
            raise BackendError(f"{problem}; export failed: {exc}") from exc
        return self._open(folder)

    def _open(self, folder: Path) -> _OnnxModel:
        meta_file = folder / "meta.json"
        file = folder / ("model-int8.onnx" if self.requested == "onnx-int8" else "model.onnx")
        if not meta_file.is_file() or not file.is_file():
            raise FileNotFoundError(file)
        meta = json.loads(meta_file.read_text())
        if meta.get("export_version") != EXPORT_VERSION:
            raise BackendError(f"export version {meta.get('export_version')} != {EXPORT_VERSION}")
        model = _OnnxModel(file, self._path, meta["pooling"], int(meta["max_seq_length"]))
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
        return self._onnx.embed(list(texts), self._batch_size)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def make_embedder(settings: Settings):
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
    )
