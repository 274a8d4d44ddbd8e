"""The composition root: components are swapped by passing them in, never by writing into the app."""

from __future__ import annotations

import pytest

from rag.app import COMPONENTS, DocQA
from rag.core.settings import Settings


class StubEmbedder:
    name = "stub"
    dimension = 3

    def warm_up(self) -> None: ...


def test_overrides_replace_a_component_and_the_rest_is_built_from_it(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    stub = StubEmbedder()
    qa = DocQA(settings, embedder=stub)
    assert qa.embedder is stub
    assert "store" not in repr(qa)  # nothing else was built by construction
    assert qa.judge.embedder is stub  # components built later receive the override
    assert qa.components("embedder") == {"embedder": stub}


def test_unknown_components_are_refused_with_the_known_names(tmp_path):
    with pytest.raises(TypeError, match=r"unknown component.*embeder.*known: activity, counter, embedder"):
        DocQA(Settings(_env_file=None, index_dir=tmp_path), embeder=object())
    assert "embedder" in COMPONENTS and "library" in COMPONENTS
