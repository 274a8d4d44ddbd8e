"""Issue 19, items 4 and 5: a broken store is one sentence with what to do, exit code 2, no traceback, and
nothing changed on disk, for every command. The store is a real index built by docqa, then broken the
way disks and people break it: a read-only folder, a corrupt page ("database disk image is malformed"),
a truncated or 0-byte chroma.sqlite3 (refused, never replaced by a new empty index), a database gone from
beside its vector folders, and a Chroma server that is down."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rag.core.settings import Settings
from rag.core.types import Strategy
from tests.chroma_server import free_port
from tests.conftest import SAMPLES, run_cli

DOC = "company_handbook.txt"


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder) -> Path:
    """An index folder holding one document (built once, copied per case)."""
    from rag.app import build_app

    root = tmp_path_factory.mktemp("health")
    settings = Settings(_env_file=None, data_dir=root / "data", index_dir=root / "index")
    with build_app(settings, embedder=embedder) as qa:
        [report] = qa.library.add_paths([SAMPLES / DOC], [Strategy.SENTENCE])
        assert report.status == "ingested"
    return root / "index"


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


def corrupt(db: Path) -> None:
    with db.open("r+b") as fh:  # the header stays; the pages after it become noise
        fh.seek(8192)
        fh.write(os.urandom(64 * 1024))


def truncate(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 2)


def empty(db: Path) -> None:
    db.write_bytes(b"")


def gone(db: Path) -> None:
    db.unlink()


@contextlib.contextmanager
def read_only(folder: Path):
    """The folder read-only for docqa: a read-only bind mount when run as root (root ignores file modes),
    else the write bits removed."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot make a read-only folder here: {mounted.stderr!r}")
    try:
        remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr!r}")
        yield
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


def commands(doc: Path) -> dict[str, list[str]]:
    return {
        "docs list": ["docs", "list"],
        "docs remove": ["docs", "remove", DOC],
        "ingest": ["ingest", str(doc), "--strategy", "sentence"],
        "ask": ["ask", "What is the annual leave?", "--no-judge"],
        "index check": ["index", "check"],
    }


def run_all(names: list[str], env: dict, doc: Path) -> dict[str, subprocess.CompletedProcess]:
    every = commands(doc)
    with ThreadPoolExecutor(3) as pool:
        runs = {name: pool.submit(run_cli, *every[name], env=env) for name in names}
        return {name: run.result() for name, run in runs.items()}


def assert_one_clear_line(runs: dict[str, subprocess.CompletedProcess], *words: str) -> None:
    for name, run in runs.items():
        seen = run.stdout + run.stderr
        assert run.returncode == 2, (name, seen)
        assert "Traceback" not in seen and 'File "' not in seen, (name, seen)
        assert "error:" in run.stderr and all(w in " ".join(run.stderr.split()) for w in words), (name, seen)


@pytest.mark.parametrize(
    ("breakage", "names", "words"),
    [
        (empty, ["docs list", "ingest", "ask"], ["empty (0 bytes)", "restore"]),
        (corrupt, ["docs list", "ask", "docs remove"], ["corrupt", "restore"]),
        (truncate, ["docs list", "ingest"], ["truncated", "restore"]),
        (gone, ["docs list", "ingest"], ["no chroma.sqlite3", "incomplete"]),
    ],
    ids=["zero-bytes", "corrupt", "truncated", "database-gone"],
)
def test_a_broken_database_is_refused_and_left_as_it_is(built, cli_env, tmp_path, breakage, names, words):
    index = Path(cli_env["DOCQA_INDEX_DIR"])
    shutil.copytree(built, index)
    breakage(index / "chroma" / "chroma.sqlite3")
    before = snapshot(index)
    runs = run_all(names, cli_env, SAMPLES / DOC)
    assert_one_clear_line(runs, *words)
    assert snapshot(index) == before  # refused, not repaired or replaced by an empty index


def test_every_command_on_a_read_only_index_is_one_clear_error(built, cli_env):
    index = Path(cli_env["DOCQA_INDEX_DIR"])
    shutil.copytree(built, index)
    before = snapshot(index)
    with read_only(index):
        runs = run_all(list(commands(SAMPLES / DOC)), cli_env, SAMPLES / DOC)
    assert_one_clear_line(runs, "read-only", "writable")
    assert snapshot(index) == before


def test_docs_remove_with_the_chroma_server_down(cli_env):
    port = free_port()
    env = {**cli_env, "DOCQA_CHROMA_HOST": "127.0.0.1", "DOCQA_CHROMA_PORT": str(port)}
    runs = {"docs remove": run_cli("docs", "remove", DOC, env=env)}
    assert_one_clear_line(runs, f"127.0.0.1:{port}", "chroma run")
    assert not Path(cli_env["DOCQA_INDEX_DIR"]).exists()  # nothing created in server mode
