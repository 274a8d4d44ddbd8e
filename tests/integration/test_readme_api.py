"""The README's Python API snippet runs as it is, in a fresh process, the way a user pastes it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from tests.conftest import REPO, SAMPLES

README = (REPO / "README.md").read_text()


def snippet(marker: str) -> str:
    block = re.search(rf"<!-- {marker}:start -->\n```python\n(.*?)```\n<!-- {marker}:end -->", README, re.S)
    assert block, f"README has no {marker} block"
    return block.group(1)


def test_readme_python_api_snippet_runs(tmp_path):
    (tmp_path / "data").mkdir()
    shutil.copy(SAMPLES / "heat_pumps.pdf", tmp_path / "data" / "heat_pumps.pdf")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCQA_", "OPENAI_"))}
    env["PYTHONPATH"] = str(REPO)
    run = subprocess.run(
        [sys.executable, "-c", snippet("python-api")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert lines[0] == "[('heat_pumps.pdf', 'ingested', 3)]"
    assert re.search(r"\('heat_pumps\.pdf', [123]\)", run.stdout), run.stdout  # a citation with its page
    kinds = [line.split()[0] for line in lines if line.split() and line.split()[0] in ("status", "delta", "answer")]
    assert kinds[0] == "status" and kinds[-1] == "answer"
    assert lines[-1] == "['heat_pumps.pdf']"
    assert (tmp_path / "data" / ".index" / "chroma").is_dir()  # the default index home under DATA_DIR
