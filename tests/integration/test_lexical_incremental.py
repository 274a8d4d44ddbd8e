"""The lexical index is updated per document, persisted, and consistent after a kill (issue 14)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rag.backends.bm25 import LexicalIndex
from rag.core.types import Strategy

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
PC = [Strategy.PARENT_CHILD]
QUERIES = ["annual leave days", "largest planet Jupiter", "heat pump coefficient of performance", "remote work",
           "moons of Saturn", "오리너구리 알"]  # fmt: skip


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def _full_rebuild(qa, tmp_path: Path) -> LexicalIndex:
    """The same index built from scratch in another folder: what every incremental state must equal."""
    fresh = LexicalIndex(qa.store, "parent-child", tmp_path / f"rebuild-{len(list(tmp_path.glob('rebuild-*')))}")
    fresh.refresh()
    assert fresh.builds == 1 and fresh.updates == 0
    return fresh


def _same(a: LexicalIndex, b: LexicalIndex) -> None:
    assert a.size == b.size
    for q in QUERIES:
        got, want = a.search(q, 20), b.search(q, 20)
        assert [c for c, _ in got] == [c for c, _ in want], q
        assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-5), q


def test_adding_and_removing_one_document_equals_a_full_rebuild(make_app, tmp_path):
    qa = make_app()
    qa.ingestor.ingest_paths([DATA / "solar_system_guide.md", DATA / "company_handbook.txt"], PC)
    index = qa.retriever.lexical("parent-child")
    index.refresh()
    assert (index.builds, index.updates) == (1, 0)
    _same(index, _full_rebuild(qa, tmp_path))

    qa.ingestor.ingest_paths([DATA / "heat_pumps.pdf"], PC)  # add one
    assert index.refresh() and (index.builds, index.updates) == (1, 1)
    assert index.search("heat pump coefficient of performance", 1)
    _same(index, _full_rebuild(qa, tmp_path))

    assert qa.store.remove_document("company_handbook.txt")  # remove one
    assert index.refresh() and (index.builds, index.updates) == (1, 2)
    assert not index.search("annual leave carried over", 5) or all(
        "handbook" not in qa.store.get_chunks("parent-child", [c])[0].source for c, _ in index.search("annual leave", 5)
    )
    _same(index, _full_rebuild(qa, tmp_path))

    # Removed and added back (same content, same document id): its old rows must not come back twice.
    qa.ingestor.ingest_paths([DATA / "company_handbook.txt"], PC)
    assert index.refresh() and index.builds == 1
    _same(index, _full_rebuild(qa, tmp_path))

    # A changed file: the old version's rows go, the new ones come.
    docs = tmp_path / "docs"
    f = _write(docs, "note.txt", "The platypus lays eggs. 오리너구리는 알을 낳는 포유류이다.")
    qa.ingestor.ingest_paths([f], PC)
    _write(docs, "note.txt", "The wombat digs burrows. Its droppings are cubes.")
    qa.ingestor.ingest_paths([f], PC)
    index.refresh()
    assert index.search("platypus eggs", 5) == [] and index.search("wombat burrows", 1)
    _same(index, _full_rebuild(qa, tmp_path))

    # Persisted: a fresh object (another process) loads the segments and agrees, without rebuilding.
    again = LexicalIndex(qa.store, "parent-child", qa.retriever.lexical_folder)
    again.refresh()
    assert (again.builds, again.loads) == (0, 1)
    _same(again, index)


def test_many_updates_compact_into_one_segment(make_app, tmp_path, monkeypatch):
    from rag.backends import lexical_index

    monkeypatch.setattr(lexical_index, "MAX_SEGMENTS", 2)
    qa = make_app()
    index = qa.retriever.lexical("parent-child")
    for i in range(4):
        qa.ingestor.ingest_paths([_write(tmp_path / "d", f"n{i}.txt", f"Note {i}: the otter number {i} swims.")], PC)
        index.refresh()
    assert len(index._snapshot.segments) <= 2
    _same(index, _full_rebuild(qa, tmp_path))


KILLED = """
import os, signal, sys
from pathlib import Path
from rag.app import build_app
from rag.backends import lexical_index, lexical_segments
from rag.backends.bm25 import LexicalIndex
from rag.core.settings import Settings

settings = Settings(_env_file=None, data_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]))
qa = build_app(settings)
index = LexicalIndex(qa.store, "parent-child", qa.retriever.lexical_folder)
def killed(self, meta):
    os.kill(os.getpid(), signal.SIGKILL)  # after the new segment is written, before the manifest names it
lexical_segments.SegmentFiles.write_manifest = killed
index.refresh()
"""


def test_a_kill_mid_update_leaves_a_consistent_index(make_app, make_settings, tmp_path):
    qa = make_app()
    qa.ingestor.ingest_paths([DATA / "solar_system_guide.md"], PC)
    index = qa.retriever.lexical("parent-child")
    index.refresh()
    folder = index.folder
    manifest = (folder / "current.json").read_text()
    qa.ingestor.ingest_paths([DATA / "company_handbook.txt"], PC)  # committed in the store, not yet indexed

    settings = qa.settings
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    got = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLED), str(settings.data_dir),
                          str(settings.resolved_index_dir)], env=env, cwd=REPO, timeout=600)  # fmt: skip
    assert got.returncode == -9
    assert (folder / "current.json").read_text() == manifest  # the kill left the previous manifest
    assert len(list(folder.glob("seg-*.npz"))) == 2  # and an unreferenced segment

    after = LexicalIndex(qa.store, "parent-child", qa.retriever.lexical_folder)
    after.refresh()  # loads the old manifest, then applies the document it lacks
    assert (after.builds, after.loads, after.updates) == (0, 1, 1)
    assert after.search("annual leave days", 1)
    _same(after, _full_rebuild(qa, tmp_path))
    shutil.rmtree(folder)


def test_a_full_build_reports_its_progress_and_an_update_does_not(make_app, tmp_path):
    """Issue 14: a full keyword-index build (first question after an upgrade, a lost index folder) takes
    seconds to minutes at 100k chunks; it reports a step the CLI and the UI draw as a bar."""
    from tests.unit.test_activity import Recorder

    qa = make_app()
    qa.ingestor.ingest_paths([DATA / "solar_system_guide.md", DATA / "company_handbook.txt"], PC)
    heard = Recorder()
    with qa.activity.listening(heard):
        index = qa.retriever.lexical("parent-child")
        index.refresh()
        stored = qa.store.count("parent-child")
        assert heard.events[0] == ("start", "building the keyword index (parent-child)", 0, stored)
        assert heard.events[-1] == ("finish", "building the keyword index (parent-child)", stored, stored)
        heard.events.clear()
        qa.ingestor.ingest_paths([DATA / "heat_pumps.pdf"], PC)
        assert index.refresh() and index.updates == 1
    assert heard.events == []  # an incremental update is well under a second: no bar
