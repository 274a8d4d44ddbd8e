"""Ingest builds only the answering strategy; the others are built on demand, with progress, and answer
(issue 14). Also: the chunk count shown while embedding is the one the library then lists."""

from __future__ import annotations

import shutil
from pathlib import Path

from rag.core.types import FileReport, Strategy

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"


class Recorder:
    """A Progress that keeps every call (the CLI and the UI draw bars from the same calls)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, int, int]] = []
        self.planned = 0
        self.embedded = 0
        self.done: list[FileReport] = []

    def file_started(self, source: str, index: int, total: int) -> None:
        self.started.append((source, index, total))

    def chunks_planned(self, n: int) -> None:
        self.planned += n

    def chunks_embedded(self, n: int) -> None:
        self.embedded += n

    def file_done(self, report: FileReport) -> None:
        self.done.append(report)


def _files(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("heat_pumps.pdf", "solar_system_guide.md", "company_handbook.txt"):
        shutil.copy(DATA / name, folder / name)
    return folder


def test_default_ingest_builds_only_the_answering_strategy(make_app, tmp_path):
    qa = make_app()
    assert qa.settings.strategies == (qa.settings.strategy,) == (Strategy.PARENT_CHILD,)
    progress = Recorder()
    reports = qa.library.add_paths([_files(tmp_path)], progress=progress)
    assert [r.status for r in reports] == ["ingested"] * 3
    assert all(set(r.chunks) == {"parent-child"} for r in reports)
    assert all(set(r.chunks) == {"parent-child"} for r in qa.library.documents())
    # Counted one way: the progress total is the number of chunks the library lists.
    listed = sum(sum(r.chunks.values()) for r in qa.library.documents())
    assert progress.planned == progress.embedded == listed
    assert [s for s, _, _ in progress.started] == sorted(
        (r.source for r in reports), key=lambda s: (tmp_path / "docs" / s).stat().st_size
    )  # smallest first
    assert [r.source for r in reports] == ["company_handbook.txt", "heat_pumps.pdf", "solar_system_guide.md"]


def test_strategy_not_built_at_ingest_is_built_when_asked_with_progress(make_app, tmp_path):
    qa = make_app()
    qa.library.add_paths([_files(tmp_path)])
    before = qa.retriever.retrieve("How much paid leave do employees accrue?", strategy="sentence", mode="dense")
    assert not before.hits and "sentence" in before.notice  # said, not silently empty

    embedded: list[int] = []
    qa.embedder.embed = _counting(qa.embedder.embed, embedded)
    progress = Recorder()
    reports = qa.library.ensure_strategy("sentence", progress=progress)
    assert [r.status for r in reports] == ["ingested"] * 3
    assert [t for _, _, t in progress.started] == [3, 3, 3] and len(progress.done) == 3
    assert progress.planned == progress.embedded == sum(r.chunks["sentence"] for r in reports)
    # Sentences that are also parent-child children reuse the stored vectors instead of being embedded again.
    assert sum(embedded) == sum(r.embedded for r in reports) < progress.planned
    for record in qa.library.documents():
        assert set(record.chunks) == {"parent-child", "sentence"}
        assert record.chunks["sentence"] == qa.store.count("sentence") - sum(
            r.chunks["sentence"] for r in qa.library.documents() if r.source != record.source
        )
    hits = qa.retriever.retrieve("How many days of annual leave do full-time employees receive?", strategy="sentence")
    assert hits.hits and hits.hits[0].chunk.source == "company_handbook.txt"
    assert "25 days" in " ".join(h.chunk.text for h in hits.hits[:3])
    # The vectors reused are the vectors the embedder gives (same text, same vector).
    chunks, vectors = qa.store.get_chunks("sentence", [hits.hits[0].chunk.id], with_embeddings=True)
    assert float(vectors[0] @ qa.embedder.embed([chunks[0].text])[0]) > 0.999
    assert qa.library.ensure_strategy("sentence") == []  # nothing left: one registry read


def test_on_demand_build_says_when_the_file_is_gone(make_app, tmp_path):
    qa = make_app()
    folder = _files(tmp_path)
    qa.library.add_paths([folder / "company_handbook.txt"])
    (folder / "company_handbook.txt").unlink()
    [report] = qa.library.ensure_strategy(Strategy.OVERLAP)
    assert report.status == "failed" and "gone" in report.error
    assert qa.library.missing("overlap")  # still missing, and listed as such


def test_cli_ask_builds_a_strategy_on_first_use(cli_env, tmp_path):
    from tests.conftest import run_cli

    folder = _files(tmp_path)
    assert run_cli("ingest", str(folder), env=cli_env).returncode == 0
    got = run_cli("ask", "How much paid leave do employees accrue?", "--strategy", "overlap", env=cli_env)
    assert got.returncode == 0, got.stderr
    assert "building the overlap index for 3 document(s)" in got.stdout + got.stderr
    assert "company_handbook.txt" in got.stdout


def _counting(embed, sizes: list[int]):
    def wrapped(texts):
        sizes.append(len(texts))
        return embed(texts)

    return wrapped
