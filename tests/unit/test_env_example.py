"""`.env.example` lists every setting at its default, generated from the Settings model like the README table."""

from __future__ import annotations

import re

from rag.core.settings import Settings, env_example, env_name
from tests.conftest import REPO

EXAMPLE = REPO / ".env.example"


def test_env_example_matches_the_settings():
    assert EXAMPLE.read_text() == env_example(), "run: python -m tests.update_readme"


def test_env_example_names_every_setting_once():
    names = re.findall(r"^# ([A-Z0-9_]+)=", EXAMPLE.read_text(), re.M)
    assert sorted(names) == sorted(env_name(f) for f in Settings.model_fields)


def test_env_example_uncommented_loads_as_the_defaults(tmp_path):
    """Every line, uncommented, is a valid .env that gives the default settings (nothing mistyped)."""
    env = tmp_path / ".env"
    lines = [line[2:] for line in EXAMPLE.read_text().splitlines() if re.match(r"^# [A-Z0-9_]+=.", line)]
    env.write_text("\n".join(lines) + "\n")
    loaded = Settings(_env_file=env)
    defaults = Settings(_env_file=None)
    for field in Settings.model_fields:
        assert getattr(loaded, field) == getattr(defaults, field), field
