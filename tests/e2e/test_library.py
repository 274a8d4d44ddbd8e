"""The Library service: the web UI and the CLI change the library through it, so they leave the same state.

Before it existed, `docqa docs remove` left a UI upload's stored copy behind and skipped the BM25
refresh the UI did; these tests drive both front ends over one store and check what each leaves.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.core.types import Strategy
from rag.library import DocumentNotFound, SourceFileGone
from tests.conftest import REPO, run_cli

SAMPLES = REPO / "data"
QUIET = lambda *a, **k: None  # noqa: E731 (a gr.Progress stand-in)


def _lexical_sources(qa, question: str) -> set[str]:
    hits = qa.retriever.retrieve(question, strategy="sentence", mode="lexical", k=5).hits
    return {h.chunk.source for h in hits}


def test_library_add_remove_reingest_keep_the_lexical_index_current(make_app, tmp_path):
    qa = make_app()
    doc = tmp_path / "solar_system_guide.md"
    shutil.copy(SAMPLES / "solar_system_guide.md", doc)
    (report,) = qa.library.add_paths([doc], [Strategy.SENTENCE])
    assert report.status == "ingested"
    assert _lexical_sources(qa, "Olympus Mons volcano") == {"solar_system_guide.md"}  # no manual refresh
    assert qa.library.reingest("solar_system_guide.md").status == "unchanged"
    qa.library.remove("solar_system_guide.md")
    assert _lexical_sources(qa, "Olympus Mons volcano") == set()
    with pytest.raises(DocumentNotFound, match=r"no document named 'solar_system_guide\.md'"):
        qa.library.remove("solar_system_guide.md")
    qa.library.add_paths([doc], [Strategy.SENTENCE])
    doc.unlink()
    with pytest.raises(SourceFileGone, match="is gone"):
        qa.library.reingest("solar_system_guide.md")


def test_an_upload_removed_from_the_cli_leaves_nothing_behind(make_app, cli_env, tmp_path):
    """UI upload, then `docqa docs remove`: the stored copy goes and BM25 forgets it, as from the UI."""
    from ui.callbacks import Callbacks

    qa = make_app(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    cache = tmp_path / "gradio-cache" / "abc"
    cache.mkdir(parents=True)
    shutil.copy(SAMPLES / "company_handbook.txt", cache / "company_handbook.txt")
    *_, (rows, _) = Callbacks(qa).upload([str(cache / "company_handbook.txt")], "sentence", progress=QUIET)
    assert "ingested" in rows[0][1]
    stored = Path(qa.library.get("company_handbook.txt").path)
    assert stored.is_file() and stored.is_relative_to(qa.library.upload_dir)
    assert _lexical_sources(qa, "probation notice period") == {"company_handbook.txt"}
    qa.close()  # the CLI opens the same embedded store

    removed = run_cli("docs", "remove", "company_handbook.txt", env=cli_env)
    assert removed.returncode == 0, removed.stderr
    assert not stored.exists() and not stored.parent.exists()
    again = make_app(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    assert again.library.documents() == []
    assert _lexical_sources(again, "probation notice period") == set()  # the persisted BM25 index was refreshed too
    missing = run_cli("docs", "remove", "company_handbook.txt", env=cli_env)
    assert missing.returncode == 1 and "no document named 'company_handbook.txt'" in missing.stderr


def test_cli_ingest_and_ui_remove_agree(make_app, cli_env, tmp_path):
    """`docqa ingest`, then the UI's remove: the document and its keyword entries are gone for both."""
    from ui.callbacks import Callbacks

    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SAMPLES / "solar_system_guide.md", folder)
    ingested = run_cli("ingest", str(folder), "--strategy", "sentence", env=cli_env)
    assert ingested.returncode == 0, ingested.stderr
    qa = make_app(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    assert [r.source for r in qa.library.documents()] == ["solar_system_guide.md"]
    assert _lexical_sources(qa, "Olympus Mons volcano") == {"solar_system_guide.md"}
    result = Callbacks(qa).remove("solar_system_guide.md")
    assert result["removed"] is True
    assert _lexical_sources(qa, "Olympus Mons volcano") == set()
    assert folder.joinpath("solar_system_guide.md").is_file()  # a file ingested in place is never deleted
    listed = run_cli("docs", "list", "--json", env=cli_env)
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"
