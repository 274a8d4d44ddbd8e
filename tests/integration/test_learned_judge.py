"""The learned offline judge: its committed weights load offline, it gives per-claim verdicts that catch
a wrong number, name or invented detail and accept a verbatim claim, the factory makes it the offline
default, and its training command is reproducible."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.backends.chat import OpenAIChat
from rag.core.types import Chunk, Hit, Source
from rag.judge.checks import NOT_SUPPORTED, SUPPORTED
from rag.judge.factory import build_judge
from rag.judge.features import FEATURES, expand
from rag.judge.heuristic import HeuristicJudge
from rag.judge.learned import WEIGHTS_FILE, LearnedJudge, WeightsError, load_weights
from rag.judge.llm import LLMJudge
from tests.conftest import REPO, shared

SPACE = (
    "Vostok 1 was launched on 12 April 1961 from the Baikonur Cosmodrome. "
    "It carried the cosmonaut Yuri Gagarin once around the Earth. "
    "The flight lasted 108 minutes and ended with a parachute landing near Engels."
)


def src(number: int, text: str) -> Source:
    chunk = Chunk(f"c{number}", "doc", "sentence", number, text, 0, len(text), f"doc{number}.txt", "Doc")
    return Source(number, Hit(chunk, 1.0))


@pytest.fixture(scope="module")
def learned(embedder) -> LearnedJudge:
    return LearnedJudge(embedder)


def test_committed_weights_are_small_verified_and_say_where_they_come_from():
    assert WEIGHTS_FILE.stat().st_size < 1_000_000
    w = load_weights()
    assert w.features == FEATURES and len(w.coef) == len(expand([0.0] * len(FEATURES)))
    assert 0.0 < w.threshold < 1.0
    assert w.provenance["trained_by"] == "benchmarks/train_judge.py"
    assert w.provenance["split"]["seed"] == 13 and "sha256_16" in w.provenance["data"]


def test_per_claim_verdicts_accept_verbatim_and_reject_wrong_number_and_name(learned):
    answer = (
        "Vostok 1 was launched on 12 April 1961 from the Baikonur Cosmodrome [1]. "
        "The flight lasted 180 minutes [1]. "
        "It carried the cosmonaut Alexei Leonov once around the Earth [1]."
    )
    f = learned.judge("Tell me about Vostok 1.", answer, [src(1, SPACE)])
    assert f.judge == "learned" and len(f.verdicts) == 3
    verbatim, number, name = f.verdicts
    assert verbatim.verdict == SUPPORTED and not verbatim.flags
    assert verbatim.reason.startswith("learned: P(unsupported)")
    assert number.verdict == NOT_SUPPORTED and number.flags == ["number 180 not in source [1]"]
    assert name.verdict == NOT_SUPPORTED and any("Alexei" in flag for flag in name.flags)
    assert f.score == pytest.approx(1 / 3)


def test_the_model_itself_ranks_an_invented_claim_above_a_copied_one(learned):
    """No number or name to flag: the verdict comes from the learned weights alone."""
    question = "How did the flight end?"
    copied = learned.risks(
        question, "The flight lasted 108 minutes and ended with a parachute landing near Engels [1].", [src(1, SPACE)]
    )
    invented = learned.risks(
        question, "The crew splashed down in the ocean after the engine exploded and burned [1].", [src(1, SPACE)]
    )
    (a_copied, r_copied), (a_invented, r_invented) = copied[0], invented[0]
    assert not a_copied.flags and not a_invented.flags
    assert r_copied < learned.weights.threshold <= r_invented
    assert learned.verdict(a_copied, r_copied).verdict == SUPPORTED
    assert learned.verdict(a_invented, r_invented).verdict == NOT_SUPPORTED


def test_a_refusal_or_no_sources_is_handled_like_the_other_judges(learned):
    assert learned.judge("q?", "The documents do not say.", [src(1, SPACE)]).score == 1.0
    f = learned.judge("q?", "Vostok 1 flew in 1961.", [])
    assert (f.score, f.judge) == (0.0, "learned") and f.verdicts[0].flags


def test_factory_picks_the_learned_judge_offline_and_keeps_the_others_selectable(make_settings, embedder, llm):
    assert isinstance(build_judge(make_settings(), embedder, OpenAIChat()), LearnedJudge)
    assert isinstance(build_judge(make_settings(judge="heuristic"), embedder, OpenAIChat()), HeuristicJudge)
    with_llm = build_judge(make_settings(openai_base_url=llm.base_url), embedder, OpenAIChat())
    assert isinstance(with_llm, LLMJudge) and isinstance(with_llm.fallback, LearnedJudge)
    forced = build_judge(make_settings(openai_base_url=llm.base_url, judge="learned"), embedder, OpenAIChat())
    assert isinstance(forced, LearnedJudge)


def test_missing_or_foreign_weights_are_refused_with_a_reason(tmp_path):
    with pytest.raises(WeightsError, match=r"not found.*train_judge"):
        load_weights(tmp_path / "none.json")
    data = json.loads(WEIGHTS_FILE.read_text())
    data["features"] = [*data["features"][:-1], "something_else"]
    bad = tmp_path / "w.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(WeightsError, match="other features"):
        load_weights(bad)
    data = json.loads(WEIGHTS_FILE.read_text())
    data["coef"][0] += 1.0
    bad.write_text(json.dumps(data))
    with pytest.raises(WeightsError, match="sha256"):
        load_weights(bad)


def test_training_is_reproducible_on_a_small_sample(tmp_path):
    shared("judge", "halueval")
    outs = []
    for name in ("a.json", "b.json"):
        out = tmp_path / name
        cmd = [sys.executable, "benchmarks/train_judge.py", "--limit", "12", "--no-cache", "--out", str(out)]
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, env=dict(os.environ))
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    trained = load_weights(tmp_path / "a.json")
    assert trained.provenance["data"]["limit_per_file"] == 12 and trained.provenance["train_answers"] > 0
