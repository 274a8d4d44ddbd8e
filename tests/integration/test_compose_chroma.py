"""compose.yaml's Chroma service: its command and health check, run here against the `chroma run` of the
chromadb this package installs (the image runs the same one; Docker itself is not available to the tests)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.e2e.test_web import free_port

COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())


def test_compose_chroma_command_and_health_check_work(tmp_path):
    """The service's command starts a server that persists under --path, and its health check passes."""
    chroma = COMPOSE["services"]["chroma"]
    port = free_port()
    cmd = [Path(sys.executable).parent / "chroma", *chroma["command"][1:]]
    cmd[cmd.index("--path") + 1] = str(tmp_path / "chroma")
    cmd[cmd.index("--host") + 1] = "127.0.0.1"
    cmd[cmd.index("--port") + 1] = str(port)
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    check = [
        sys.executable if c == "python" else c.replace("8000", str(port)) for c in chroma["healthcheck"]["test"][1:]
    ]
    try:
        for _ in range(chroma["healthcheck"]["retries"] * 4):
            if subprocess.run(check, capture_output=True, timeout=30).returncode == 0:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the compose health check never passed against `chroma run`")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (tmp_path / "chroma").is_dir()  # it persisted where --path points
