"""The README stays true: every setting is documented, and the set-up commands exist."""

from __future__ import annotations

import re

from rag.core.settings import Settings, env_name, settings_table
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme():
    missing = [env_name(f) for f in Settings.model_fields if f"`{env_name(f)}`" not in README]
    assert not missing, f"undocumented settings: {missing} (run: python -m tests.update_readme)"


def test_readme_settings_table_matches_the_code():
    block = re.search(r"<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->", README, re.S)
    assert block and block.group(1).strip() == settings_table().strip(), "run: python -m tests.update_readme"


def test_ci_runs_the_readme_test_command():
    assert "make test" in README and "make run" in README
    assert "make test" in (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert "torch==2.13.0" in makefile and re.search(r"^test:", makefile, re.M)
