"""The Dockerfile and compose.yaml stay true to the code (Docker itself is not run here): every variable they set
is a setting that loads, the pins match pyproject and the Makefile, the build-time warm-up names real code,
and the Chroma service's own command and health check work against a real `chroma run`."""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from pathlib import Path

import yaml

from rag.core.settings import OFFLINE_ENV, Settings, env_name
from tests.conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SETTING_NAMES = {env_name(f) for f in Settings.model_fields}


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(m.group(1).upper(), m.group(2)) for m in re.finditer(r"^(\w+)\s+(.*)$", joined, re.M)]


def _docker_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instr, args in _instructions(DOCKERFILE):
        if instr == "ENV":
            env.update(dict(part.split("=", 1) for part in shlex.split(args)))
    return env


def _interpolate(value: str) -> str:
    """compose's ${VAR:-default} with nothing set in the shell: the default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


# --- Dockerfile ---------------------------------------------------------------------------------------
def test_dockerfile_base_image_matches_the_python_pin():
    base = next(args for instr, args in _instructions(DOCKERFILE) if instr == "FROM")
    assert base == "python:3.11-slim"
    assert PYPROJECT["project"]["requires-python"] == ">=3.11,<3.12"


def test_dockerfile_installs_the_makefile_torch_pin_first_then_the_package():
    runs = [args for instr, args in _instructions(DOCKERFILE) if instr == "RUN"]
    torch = [i for i, r in enumerate(runs) if "torch==" in r]
    package = [i for i, r in enumerate(runs) if re.search(r"pip install \.(\s|$)", r)]
    assert torch and package and torch[0] < package[0]
    pin = re.search(r"torch==([\w.+]+)", runs[torch[0]]).group(1)
    assert f"torch=={pin}" in (REPO / "Makefile").read_text()
    assert "download.pytorch.org/whl/cpu" in runs[torch[0]]  # the CPU build, not CUDA wheels


def test_dockerfile_has_tesseract_with_english_and_korean():
    assert {"tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-kor"} <= set(DOCKERFILE.split())


def test_dockerfile_runs_offline_with_valid_settings():
    env = _docker_env()
    for key, value in OFFLINE_ENV.items():
        assert env.get(key) == value, key
    docqa = {k: v for k, v in env.items() if k.startswith("DOCQA_")}
    assert set(docqa) <= SETTING_NAMES, set(docqa) - SETTING_NAMES
    settings = Settings(_env_file=None, **{k.removeprefix("DOCQA_").lower(): v for k, v in docqa.items()})
    assert settings.resolved_model_cache_dir == Path("/opt/docqa/models")
    assert settings.host == "0.0.0.0"  # reachable from outside the container


def test_dockerfile_build_time_warm_up_names_real_code():
    """The ONNX export runs at build time (not in site-packages, not at first start): its snippet compiles
    and every name it uses exists."""
    run = next(args for instr, args in _instructions(DOCKERFILE) if instr == "RUN" and "warm_up" in args)
    code = shlex.split(run)[2]  # python -c "<code>"
    compile(code, "Dockerfile", "exec")
    from rag.app import build_app  # noqa: F401 (the snippet's imports)
    from rag.backends.onnx_embedder import make_embedder

    embedder = make_embedder(Settings(_env_file=None))  # what build_app(...).embedder is; nothing loads yet
    assert callable(embedder.warm_up) and embedder.backend == "unloaded" and embedder.fallback_reason == ""
    assert "DOCQA_MODEL_CACHE_DIR=/opt/docqa/models" in DOCKERFILE.replace(" \\\n", " ")


def test_dockerfile_copies_every_package_and_the_samples():
    copied = " ".join(args for instr, args in _instructions(DOCKERFILE) if instr == "COPY")
    for package in {p.split(".")[0] for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}:
        assert re.search(rf"(^|\s){package}(\s|$)", copied), package
    samples = [p for pattern in re.findall(r"(data/\S+)", copied) for p in REPO.glob(pattern)]
    assert {p.name for p in samples} >= {"heat_pumps.pdf", "solar_system_guide.md", "company_handbook.txt"}
    cmd = next(args for instr, args in _instructions(DOCKERFILE) if instr == "CMD")
    assert "docqa ui" in cmd and "docqa" in PYPROJECT["project"]["scripts"]


def test_dockerignore_keeps_local_state_and_secrets_out():
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", ".env", "data/.index", ".git"} <= set(ignored)


# --- compose.yaml -------------------------------------------------------------------------------------
def test_compose_has_docqa_and_a_chroma_server_on_named_volumes():
    services = COMPOSE["services"]
    assert set(services) == {"docqa", "chroma"}
    assert set(COMPOSE["volumes"]) == {"chroma-data", "docqa-data"}
    for name, service in services.items():
        for mount in service["volumes"]:
            volume = mount.partition(":")[0]
            assert volume in COMPOSE["volumes"], (name, mount)
    chroma = services["chroma"]
    assert chroma["command"][:2] == ["chroma", "run"]
    path = chroma["command"][chroma["command"].index("--path") + 1]
    assert any(m.endswith(":" + path) for m in chroma["volumes"])  # the database lives on the volume
    # The server is the chromadb of the docqa image: the same version as the client by construction.
    assert chroma["image"] == services["docqa"]["image"] and chroma["build"] == services["docqa"]["build"]
    assert services["docqa"]["depends_on"]["chroma"]["condition"] == "service_healthy"


def test_compose_environment_names_real_settings_that_load(monkeypatch):
    docqa = COMPOSE["services"]["docqa"]
    env = {k: _interpolate(v) for k, v in docqa["environment"].items()}
    assert set(env) <= SETTING_NAMES, set(env) - SETTING_NAMES
    for key in [k for k in os.environ if k.startswith(("DOCQA_", "OPENAI_"))]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)
    chroma_cmd = COMPOSE["services"]["chroma"]["command"]
    assert settings.chroma_host == "chroma" and settings.chroma_port == int(chroma_cmd[chroma_cmd.index("--port") + 1])
    assert not settings.llm_enabled and settings.auth is not None and not settings.auth.get_secret_value()
    data_mount = next(m for m in docqa["volumes"] if m.startswith("docqa-data:"))
    assert settings.data_dir == Path(data_mount.split(":")[1])
    assert settings.resolved_index_dir.is_relative_to(settings.data_dir)  # uploads and conversations persist
    published = _interpolate(docqa["ports"][0]).rsplit(":", 1)[1]
    assert int(published) == settings.port and settings.host == "0.0.0.0"
