"""Shared fixtures: real components only (real MiniLM, real Chroma in a tmp dir, real files)."""

from __future__ import annotations

import os

from rag.core.settings import OFFLINE_ENV

for _k, _v in OFFLINE_ENV.items():  # before any ML import: nothing may be downloaded
    os.environ.setdefault(_k, _v)
for _k in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):  # the suite decides when an LLM exists
    os.environ.pop(_k, None)

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from rag.backends.st_embedder import HFTokenCounter, SentenceTransformerEmbedder  # noqa: E402
from rag.core.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLES = REPO / "data"


def shared(*parts: str) -> Path:
    """A path under ../shared/data; the test is skipped when that data is not beside the repo."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


@pytest.fixture(scope="session")
def counter() -> HFTokenCounter:
    return HFTokenCounter()


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    model = SentenceTransformerEmbedder()
    model.warm_up()
    return model


@pytest.fixture
def make_settings(tmp_path):
    """Settings isolated in tmp_path (no .env, no environment leaking in)."""

    def make(**overrides: object) -> Settings:
        values = {"data_dir": tmp_path / "data", "index_dir": tmp_path / "index", **overrides}
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def make_app(make_settings, embedder):
    """A DocQA over a fresh tmp store that shares the session's loaded embedder."""

    from rag.app import build_app

    apps = []

    def make(components: dict | None = None, **overrides: object):
        """`overrides`: settings; `components`: DocQA components replacing the default ones."""
        qa = build_app(make_settings(**overrides), **{"embedder": embedder, **(components or {})})
        apps.append(qa)
        return qa

    yield make
    for qa in apps:  # an embedded Chroma client holds ~30 files open: a long suite would run out
        qa.close()


@pytest.fixture(scope="session")
def openai_server():
    """A real loopback HTTP server speaking the OpenAI chat-completions protocol (scripted words)."""
    from tests.openai_server import OpenAIServer

    with OpenAIServer() as server:
        yield server


@pytest.fixture
def llm(openai_server):
    """The scripted server, reset for this test; `llm.base_url`, `llm.script.push(...)`."""
    openai_server.script.reset()
    yield openai_server
    openai_server.script.reset()


def run_cli(*args: str, env: dict, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    """The `docqa` command as a user runs it: a fresh process (python -m ui), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "ui", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, **kw
    )


@pytest.fixture
def cli_env(tmp_path) -> dict:
    """The environment for run_cli: this test's own data and index folders, no DOCQA_* from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    env.update(DOCQA_DATA_DIR=str(tmp_path / "data"), DOCQA_INDEX_DIR=str(tmp_path / "index"), COLUMNS="200")
    return env


LEVELS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config, items) -> None:
    """Each test gets the marker of the folder it lives in (tests/unit, tests/integration, tests/e2e),
    so `-m unit` or `-m "not e2e"` select by level without a decorator on every test."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for level in LEVELS:
            if level in parts:
                item.add_marker(getattr(pytest.mark, level))
