"""What `pip install .`, pipx or a container get: a wheel with every module, whose commands run.

The editable install of `make install` reads the source tree, so it hid a wheel that had no `rag/eval`
(a fixed package list skipped sub-packages): these tests build the real wheel and run it without the tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # builds a wheel: ~20 s

PACKAGES = ("rag", "ingest", "ui")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)],
        check=True,
        timeout=300,
        env={**os.environ, "TMPDIR": str(build)},
    )
    (found,) = out.glob("docqa-*.whl")
    return found


def test_the_wheel_holds_every_module_of_the_source_tree(wheel):
    files = [p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py") if "__pycache__" not in p.parts]
    source = {p.relative_to(REPO).as_posix() for p in files}
    with zipfile.ZipFile(wheel) as zf:
        packed = {n for n in zf.namelist() if n.endswith(".py")}
    assert source - packed == set(), "modules missing from the wheel"
    assert {"rag/eval/harness.py", "rag/core/protocols.py", "rag/backends/chroma_store.py"} <= packed
    assert not {n for n in packed if n.startswith("tests/")}, "the tests do not belong in the wheel"


def test_the_installed_wheel_runs_without_the_source_tree(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
    probe = (
        "import importlib, pkgutil, sys\n"
        f"site = {str(site)!r}\n"
        "for name in ('rag', 'ingest', 'ui'):\n"
        "    pkg = importlib.import_module(name)\n"
        "    assert pkg.__file__.startswith(site), pkg.__file__\n"
        "    for mod in pkgutil.walk_packages(pkg.__path__, name + '.'):\n"
        "        if not mod.name.endswith('__main__'):\n"
        "            importlib.import_module(mod.name)\n"
        "print('ok')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]
    for args in (["--version"], ["ui", "--help"], ["eval", "--help"], ["ingest", "--help"]):
        cli = subprocess.run(
            [sys.executable, "-m", "ui", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert cli.returncode == 0, (args, cli.stderr[-2000:])
    assert "docqa 0." in subprocess.run(
        [sys.executable, "-m", "ui", "--version"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    ).stdout


def test_version_matches_the_project_metadata():
    from importlib.metadata import version

    run = subprocess.run(
        [sys.executable, "-m", "ui", "--version"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0 and run.stdout.strip() == f"docqa {version('docqa')}"
