"""Exporting a sentence-transformers model to ONNX, and the cache key of an export.

The recipe (used by rag/backends/onnx_embedder.py when its cache has no usable file): torch's exporter on the
model folder (nothing is downloaded), ONNX Runtime's transformer fusions, a check against torch on probe
sentences, optional int8 quantisation, and a meta.json that keeps the probes and torch's vectors so every
later load can check the file again. Needs torch, transformers and the `onnx` package; loading an export
does not (rag/backends/onnx_runtime.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.backends.onnx_runtime import OnnxModel
from rag.core.errors import BackendError
from rag.core.settings import offline_environment

log = logging.getLogger(__name__)

EXPORT_VERSION = 1  # bump when the export recipe changes: cached files are then rebuilt
OPSET = 17
FP32_TOLERANCE = 1e-3  # minimum cosine 1 - this against torch, at export and on load
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


def model_key(path: str) -> str:
    """Identifies the model by its files' names and contents (not their path or mtimes) and the export recipe.

    By content, so every install of the same model (each virtual environment, a reinstall) shares one
    export instead of leaving another ~110 MB copy behind; hashing the files costs ~0.1 s per warm-up."""
    root = Path(path)
    h = hashlib.blake2b(digest_size=8)
    h.update(f"v{EXPORT_VERSION}:opset{OPSET}".encode())
    if not root.is_dir():  # a hub name ("org/model"): no local files to read, so the name is the identity
        h.update(str(path).encode())
    for f in sorted(root.rglob("*")):
        if f.is_file() and not f.name.startswith("."):
            with f.open("rb") as stream:
                digest = hashlib.file_digest(stream, "sha1").hexdigest()
            h.update(f"{f.relative_to(root).as_posix()}:{digest}".encode())
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


def _atomic_write(target: Path, write) -> None:
    """`write(tmp_path)` then rename over target, so readers never see half a file."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


EXPORT_STAGES = 4  # loading, exporting, checking, quantising: what `on_stage` is called with, in order


def export_onnx(
    model_path: str, folder: Path, probes: Sequence[str] = PROBES, on_stage: Callable[[str], None] | None = None
) -> dict:
    """Export the transformer of a sentence-transformers folder to folder/model.onnx (fp32), optimise it,
    check it against torch on `probes`, quantise folder/model-int8.onnx, and write folder/meta.json.

    `on_stage(name)` hears each of the EXPORT_STAGES stages start (the first export takes ~20-60 s, shown
    as a progress bar). Needs torch, transformers and the `onnx` package (export only). Raises BackendError
    on any failure.
    """
    stage = on_stage or (lambda name: None)
    offline_environment()
    stage("loading the model")
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
    stage("exporting")
    _atomic_write(fp32, _export)
    stage("checking against torch")
    reference = SentenceTransformer(model_path, device="cpu").encode(
        list(probes), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    check = OnnxModel(fp32, model_path, mode, max_len).embed(list(probes), batch_size=len(probes))
    fp32_cos = float((check * reference).sum(axis=1).min())
    if fp32_cos < 1 - FP32_TOLERANCE:
        fp32.unlink(missing_ok=True)
        raise BackendError(f"the ONNX export disagrees with torch (min cosine {fp32_cos:.6f})")

    int8 = folder / "model-int8.onnx"
    int8_cos = None
    stage("quantising to int8")
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
        got = OnnxModel(int8, model_path, mode, max_len).embed(list(probes), batch_size=len(probes))
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
