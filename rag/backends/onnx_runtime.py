"""Inference on an exported sentence-transformers graph: ONNX Runtime plus the model's fast tokenizer.

Only onnxruntime, `tokenizers` and numpy: no torch, no transformers, so a process that finds a cached
export (rag/backends/onnx_embedder.py) never imports them. Pooling and normalisation are done here in numpy, as
sentence-transformers does them after the transformer.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from rag.core.errors import BackendError


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


class OnnxModel:
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
