"""Faithfulness judges on real pieces: the real MiniLM, a real loopback OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest

from rag.backends.chat import OpenAIChat
from rag.core.protocols import Judge
from rag.core.types import Chunk, ClaimVerdict, Hit, Source
from rag.judge.checks import (
    Claim,
    band_for,
    check_claim,
    extract_names,
    extract_numbers,
    is_refusal_sentence,
    score_verdicts,
)
from rag.judge.factory import build_judge
from rag.judge.heuristic import HeuristicJudge
from rag.judge.llm import LLMJudge, extract_json, parse_report
from rag.judge.prompt import JUDGE_PROMPT_VERSION
from tests.openai_server import Reply

VOSTOK = (
    "Vostok 1 was launched on 12 April 1961 from the Baikonur Cosmodrome. "
    "It carried the cosmonaut Yuri Gagarin once around the Earth. "
    "The flight lasted 108 minutes."
)
FACTORY = "In 2019 the company hired 1,000 workers, a 25 percent increase. Its budget grew to $1.5 million."


def src(number: int, text: str) -> Source:
    chunk = Chunk(f"c{number}", "doc", "sentence", number, text, 0, len(text), f"doc{number}.txt", "Doc")
    return Source(number, Hit(chunk, 1.0))


@pytest.fixture(scope="module")
def heuristic(embedder) -> HeuristicJudge:
    return HeuristicJudge(embedder)


# --- no-LLM checks ----------------------------------------------------------------------------------


def test_numbers_normalise_thousands_percent_and_scale():
    values = {m.value for m in extract_numbers("1,000 people, 25% and $1.5 million on 12th May")}
    assert values == {1000.0, 25.0, 1_500_000.0, 12.0}
    texts = {1: FACTORY}
    ok = Claim("The company hired 1000 workers in 2019, a 25% rise, and spent 1,500,000 dollars.", (1,))
    assert check_claim(ok, texts) == []
    bad = Claim("The company hired 1,200 workers, a 30 percent increase.", (1,))
    assert check_claim(bad, texts) == ["number 1,200 not in source [1]", "percentage 30 percent not in source [1]"]


def test_names_skip_sentence_openers_and_fold_case():
    assert extract_names("However, Gagarin flew. The flight was short.") == ["Gagarin"]
    # A lower-cased source (like CNN/DM) still contains the name; accents and possessives fold.
    assert check_claim(Claim("Björk's album Debut came out [1].", (1,)), {1: "bjork released debut in 1993"}) == []


def test_names_and_numbers_in_the_question_are_exempt():
    texts = {1: "The mission launched in 1969."}
    assert check_claim(Claim("Apollo 11 launched in 1969.", (1,)), texts, "When did Apollo 11 launch?") == []
    assert check_claim(Claim("Apollo 12 launched in 1969.", (1,)), texts, "When did Apollo 11 launch?") == [
        "number 12 not in source [1]"
    ]


def test_korean_numbers_are_checked():
    texts = {1: "회사는 2019년에 설립되었고 직원은 1,200명이다."}
    assert check_claim(Claim("회사는 2019년에 설립되었다.", (1,)), texts) == []
    assert check_claim(Claim("회사는 2020년에 설립되었다.", (1,)), texts) == ["number 2020 not in source [1]"]


def test_refusal_detection():
    assert is_refusal_sentence("The documents do not say.")
    assert is_refusal_sentence("The sources don't mention who won.")
    assert is_refusal_sentence("문서에는 관련 정보가 없습니다.")
    assert not is_refusal_sentence("Vostok 1 was launched in 1961 [1].")
    assert not is_refusal_sentence("문서에 따르면 회사는 2019년에 설립되었다.")


# --- score and band ---------------------------------------------------------------------------------


def test_score_and_band_arithmetic():
    assert (band_for(0.8), band_for(0.79), band_for(0.5), band_for(0.49)) == ("high", "medium", "medium", "low")
    v = [ClaimVerdict(f"c{i}", "supported") for i in range(3)] + [ClaimVerdict("c3", "contradicted")]
    f = score_verdicts(v, "heuristic")
    assert (f.score, f.band) == (0.75, "medium")
    v[0].flags.append("number 1 not in source [1]")  # a failed check never counts as supported
    assert score_verdicts(v, "heuristic").score == 0.5
    empty = score_verdicts([], "heuristic")
    assert (empty.score, empty.band) == (1.0, "high") and "refusal" in empty.note


# --- heuristic judge --------------------------------------------------------------------------------


def test_heuristic_supports_a_faithful_sentence(heuristic):
    f = heuristic.judge("When was Vostok 1 launched?", "Vostok 1 was launched in 1961 [1].", [src(1, VOSTOK)])
    assert isinstance(heuristic, Judge)
    assert (f.score, f.band, f.judge) == (1.0, "high", "heuristic")
    (v,) = f.verdicts
    assert v.verdict == "supported" and v.source_number == 1 and v.flags == []
    assert v.claim == "Vostok 1 was launched in 1961." and "similarity" in v.reason and "coverage" in v.reason
    assert "heuristic" in f.note


def test_heuristic_flags_a_changed_number(heuristic):
    f = heuristic.judge("When was Vostok 1 launched?", "Vostok 1 was launched in 1962 [1].", [src(1, VOSTOK)])
    (v,) = f.verdicts
    assert v.verdict == "not_supported"
    assert "number 1962 not in source [1]" in v.flags
    assert (f.score, f.band) == (0.0, "low")


def test_heuristic_flags_a_changed_name(heuristic):
    f = heuristic.judge(
        "Who flew?", "Vostok 1 carried the cosmonaut Yuri Titov around the Earth [1].", [src(1, VOSTOK)]
    )
    (v,) = f.verdicts
    assert v.verdict == "not_supported" and v.flags == ["name Titov not in source [1]"]


def test_heuristic_rejects_an_unrelated_claim(heuristic):
    answer = "The fruit is rich in potassium and tastes sweet [1]."
    f = heuristic.judge("What about fruit?", answer, [src(1, VOSTOK)])
    assert f.verdicts[0].verdict == "not_supported" and f.verdicts[0].flags == []


def test_heuristic_mixed_answer_scores_per_claim(heuristic):
    answer = "Vostok 1 carried Yuri Gagarin around the Earth [1]. The flight lasted 118 minutes [1]."
    f = heuristic.judge("Tell me about Vostok 1.", answer, [src(1, VOSTOK), src(2, FACTORY)])
    assert [v.verdict for v in f.verdicts] == ["supported", "not_supported"]
    assert f.verdicts[1].flags == ["number 118 not in source [1]"]
    assert (f.score, f.band) == (0.5, "medium")


def test_heuristic_checks_the_cited_source_only(heuristic):
    # 2019 is in source 2, but the sentence cites source 1: the cited source must hold the number.
    f = heuristic.judge("When?", "Vostok 1 was launched in 2019 [1].", [src(1, VOSTOK), src(2, FACTORY)])
    assert f.verdicts[0].flags == ["number 2019 not in source [1]"]
    # Without a marker, any source may hold it, and the flag says so.
    f = heuristic.judge("When?", "Vostok 1 was launched in 1959.", [src(1, VOSTOK), src(2, FACTORY)])
    assert f.verdicts[0].flags == ["number 1959 not in any source"]


@pytest.mark.parametrize("answer", ["The documents do not say.", "The documents do not say [1].", "", "  "])
def test_refusal_is_faithful(heuristic, answer):
    f = heuristic.judge("Who won in 1990?", answer, [src(1, VOSTOK)])
    assert (f.score, f.band, f.verdicts) == (1.0, "high", [])
    assert "refusal" in f.note


# --- LLM judge against the loopback server -----------------------------------------------------------


def claim(text: str, verdict: str = "supported", source: int | None = 1) -> dict:
    return {"claim": text, "reason": "stated in the source", "source": source, "verdict": verdict}


def report(*claims: dict) -> dict:
    return {"claims": list(claims)}


@pytest.fixture
def make_llm_judge(make_settings, llm, heuristic):
    def make(**overrides: object) -> LLMJudge:
        values = {"openai_base_url": llm.base_url, "llm_retries": 0, "llm_timeout_s": 10, **overrides}
        return LLMJudge(make_settings(**values), heuristic, OpenAIChat())

    return make


def test_llm_judge_reads_a_tool_call(make_llm_judge, llm):
    llm.script.push(
        Reply(
            tool_call={
                "name": "JudgeReport",
                "arguments": report(claim("Vostok 1 was launched in 1961."), claim("It was crewed.", "not_supported")),
            }
        )
    )
    f = make_llm_judge().judge("When?", "Vostok 1 was launched in 1961 [1]. It was crewed.", [src(1, VOSTOK)])
    assert f.judge == "llm:gpt-4o-mini" and JUDGE_PROMPT_VERSION in f.note
    assert [v.verdict for v in f.verdicts] == ["supported", "not_supported"]
    assert (f.score, f.band) == (0.5, "medium")
    assert len(llm.script.requests) == 1


def test_llm_judge_reads_plain_json_text(make_llm_judge, llm):
    text = "Here is my judgement:\n```json\n" + json.dumps(report(claim("Vostok 1 flew for 108 minutes."))) + "\n```"
    llm.script.push(text)
    f = make_llm_judge().judge("How long?", "The flight lasted 108 minutes [1].", [src(1, VOSTOK)])
    assert (f.score, f.judge) == (1.0, "llm:gpt-4o-mini")
    assert f.verdicts[0].claim == "Vostok 1 flew for 108 minutes." and f.verdicts[0].source_number == 1


def test_llm_judge_retries_a_malformed_reply_once(make_llm_judge, llm):
    llm.script.push("I think it is fine!", json.dumps(report(claim("Vostok 1 carried Yuri Gagarin."))))
    f = make_llm_judge().judge("Who?", "It carried Yuri Gagarin [1].", [src(1, VOSTOK)])
    assert (f.score, f.judge) == (1.0, "llm:gpt-4o-mini")
    assert "retried once" in f.note
    assert len(llm.script.requests) == 2


def test_llm_judge_falls_back_after_two_malformed_replies(make_llm_judge, llm):
    llm.script.push("not json", Reply(tool_call={"name": "JudgeReport", "arguments": {"claims": [{"x": 1}]}}))
    f = make_llm_judge().judge("When?", "Vostok 1 was launched in 1961 [1].", [src(1, VOSTOK)])
    assert f.judge == "heuristic"
    assert f.note.startswith("LLM judge failed twice (") and "heuristic used" in f.note
    assert (f.score, f.band) == (1.0, "high")
    assert len(llm.script.requests) == 2


def test_llm_judge_falls_back_on_http_500(make_llm_judge, llm):
    llm.script.push(Reply(status=500, error_message="boom"), Reply(status=500, error_message="boom"))
    f = make_llm_judge().judge("When?", "Vostok 1 was launched in 1962 [1].", [src(1, VOSTOK)])
    assert f.judge == "heuristic" and "HTTP 500" in f.note and "heuristic used" in f.note
    assert f.verdicts[0].flags == ["number 1962 not in source [1]"]


def test_numeric_check_overrides_an_llm_supported_verdict(make_llm_judge, llm):
    llm.script.push(Reply(tool_call={"name": "JudgeReport", "arguments": report(claim("Vostok 1 launched in 1962."))}))
    f = make_llm_judge().judge("When?", "Vostok 1 was launched in 1962 [1].", [src(1, VOSTOK)])
    (v,) = f.verdicts
    assert v.verdict == "not_supported" and v.flags == ["number 1962 not in source [1]"]
    assert "overridden" in v.reason and f.score == 0.0


def test_a_number_the_judge_silently_corrected_is_still_caught(make_llm_judge, llm):
    # The judge rewrote the claim with the source's year and approved it; the answer said 1962.
    llm.script.push(json.dumps(report(claim("Vostok 1 was launched in 1961."))))
    f = make_llm_judge().judge("When?", "Vostok 1 was launched in 1962 [1].", [src(1, VOSTOK)])
    assert f.verdicts[0].flags == ["number 1962 not in source [1]"] and f.score == 0.0


def test_llm_request_uses_temperature_zero_and_the_judge_model(make_llm_judge, llm):
    llm.script.push(json.dumps(report(claim("Vostok 1 was launched in 1961."))))
    judge = make_llm_judge(judge_model="judge-model-x", llm_model="answer-model")
    f = judge.judge("When?", "Vostok 1 was launched in 1961 [1].", [src(1, VOSTOK)])
    assert f.judge == "llm:judge-model-x"
    (body,) = llm.script.requests
    assert body["model"] == "judge-model-x" and body["temperature"] == 0
    assert body["tools"][0]["function"]["name"] == "JudgeReport"
    assert "Judge only against the numbered sources" in body["messages"][0]["content"]
    assert "Vostok 1 was launched on 12 April 1961" in body["messages"][1]["content"]


def test_llm_judge_drops_tools_when_the_server_rejects_them(make_llm_judge, llm):
    llm.script.push(
        Reply(status=400, error_message="tools are not supported"),
        json.dumps(report(claim("Vostok 1 was launched in 1961."))),
    )
    f = make_llm_judge().judge("When?", "Vostok 1 was launched in 1961 [1].", [src(1, VOSTOK)])
    assert (f.score, f.judge) == (1.0, "llm:gpt-4o-mini")
    assert "tools" in llm.script.requests[0] and "tools" not in llm.script.requests[1]


def test_llm_judge_does_not_call_for_a_refusal(make_llm_judge, llm):
    f = make_llm_judge().judge("Who won?", "The documents do not say.", [src(1, VOSTOK)])
    assert (f.score, f.band, f.note) == (1.0, "high", f.note) and "refusal" in f.note
    assert llm.script.requests == []


def test_tolerant_parsing():
    assert extract_json('```\n{"claims": [{"claim": "a", "verdict": "x"},]}\n```') == {
        "claims": [{"claim": "a", "verdict": "x"}]
    }
    verdicts = parse_report(
        {"claims": [{"statement": "A", "label": "Not Supported", "source_number": "[2]"}, claim("B", "Refuted", 9)]},
        {1, 2},
    )
    assert [(v.claim, v.verdict, v.source_number) for v in verdicts] == [
        ("A", "not_supported", 2),
        ("B", "contradicted", None),
    ]


def test_build_judge_picks_by_settings(make_settings, embedder, llm):
    # Offline the learned judge is the default (tests/integration/test_learned_judge.py); the heuristic
    # stays selectable, also as the LLM judge's fallback.
    assert isinstance(build_judge(make_settings(judge="heuristic"), embedder, OpenAIChat()), HeuristicJudge)
    judge = build_judge(make_settings(openai_base_url=llm.base_url, judge="llm"), embedder, OpenAIChat())
    assert isinstance(judge, LLMJudge) and not isinstance(judge.fallback, LLMJudge)


def test_no_sources_means_nothing_is_supported(heuristic):
    f = heuristic.judge("When?", "Vostok 1 was launched in 1961.", [])
    assert (f.score, f.band) == (0.0, "low") and f.verdicts[0].verdict == "not_supported"
