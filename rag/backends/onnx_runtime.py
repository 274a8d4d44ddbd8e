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

TOKEN_BUDGET = 4096  # padded word pieces per batch: 32 texts of 128, up to MAX_BATCH shorter ones
MAX_BATCH = 64


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
        # Idle worker threads sleep instead of spinning: during ingest the sandbox worker and the chunker run
        # beside the embedder on the same cores, and spinning threads would take their CPU (and a shared
        # machine's). Throughput of the large ingest batches is unchanged.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tok, self.pad_id = _load_tokenizer(model_path, max_len)
        self.pooling = pooling
        self._lock = threading.Lock()  # one tokenizer object shared by threads

    def embed(self, texts: list[str], batch_size: int = 32, token_budget: int = TOKEN_BUDGET) -> np.ndarray:
        """Vectors of `texts`, batched by length: texts are tokenised once, sorted by their length in word
        pieces, and cut into batches of at most `token_budget` padded pieces (and at least `batch_size`
        texts, at most MAX_BATCH). Sorting the whole call by length is what matters: a batch pads to its longest
        text, and a sentence next to a 250-piece window costs as much as the window."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            encodings = self.tok.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        out: np.ndarray | None = None
        start = 0
        while start < len(order):
            width = max(1, lengths[order[start]])  # the longest of this batch: the padded width
            n = min(MAX_BATCH, max(batch_size, token_budget // width), len(order) - start)
            idx = order[start : start + n]
            start += n
            ids = np.full((n, width), self.pad_id, dtype=np.int64)
            mask = np.zeros((n, width), dtype=np.int64)
            types = np.zeros((n, width), dtype=np.int64)
            for row, i in enumerate(idx):
                e = encodings[i]
                ids[row, : lengths[i]] = e.ids
                mask[row, : lengths[i]] = 1
                types[row, : lengths[i]] = e.type_ids
            arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            hidden = self.session.run(None, {name: arrays[name] for name in self.inputs})[0]
            vectors = _pool(hidden, mask, self.pooling)
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
        assert out is not None
        return out


def _load_tokenizer(model_path: str, max_len: int) -> tuple:
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
    tok.no_padding()  # padded per batch, to that batch's longest text (OnnxModel.embed)
    return tok, 0 if pad_id is None else pad_id
