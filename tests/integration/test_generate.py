"""Generators against real pieces: the loopback OpenAI server over HTTP, and the real MiniLM."""

from __future__ import annotations

import socket
import time

import pytest

from rag.answer.generate import (
    ExtractiveGenerator,
    OpenAIGenerator,
    condense_offline,
    condense_question,
    make_generator,
)
from rag.answer.prompts import PROMPTS, REFUSAL
from rag.backends.chat import LOCAL_SERVER_KEY, OpenAIChat
from rag.core.errors import GenerationError
from rag.core.protocols import Generator
from rag.core.types import Chunk, Hit, Source
from tests.openai_server import Reply

KEY = "sk-test-SECRET-0123456789abcdef"


def make_source(number: int, text: str, file: str = "a.pdf", page: int | None = 1) -> Source:
    chunk = Chunk(
        id=f"c{number}",
        doc_id=f"d{number}",
        strategy="sentence",
        index=0,
        text=text,
        start=0,
        end=len(text),
        source=file,
        title=file,
        page_start=page,
        page_end=page,
    )
    return Source(number=number, hit=Hit(chunk=chunk, score=1.0))


SOURCES = [
    make_source(
        1,
        "The Eiffel Tower was completed in 1889 for the World's Fair. It is 330 metres tall. "
        "Gustave Eiffel's company designed and built the tower.",
        file="tower.pdf",
        page=3,
    ),
    make_source(
        2,
        "Photosynthesis converts light energy into chemical energy. Chlorophyll absorbs mostly blue and red light. "
        "Plants store the energy as glucose.",
        file="plants.md",
        page=None,
    ),
    make_source(
        3,
        "The Rust compiler enforces memory safety through ownership. Borrowing rules are checked at compile time.",
        file="rust.txt",
        page=None,
    ),
]


@pytest.fixture
def llm_settings(make_settings, llm):
    def make(**overrides: object):
        values = {
            "openai_base_url": llm.base_url,
            "openai_api_key": KEY,
            "llm_model": "test-model",
            "llm_retries": 0,
            "llm_timeout_s": 5.0,
            **overrides,
        }
        return make_settings(**values)

    return make


# ----------------------------------------------------------------------------------------- LLM


def test_generate_sends_rules_sources_and_key(llm, llm_settings):
    gen = OpenAIGenerator(llm_settings(max_tokens=77), OpenAIChat())
    assert isinstance(gen, Generator) and gen.mode == "llm" and gen.name == "test-model"
    llm.script.push("The tower is 330 metres tall [1].")
    assert gen.generate("How tall is the Eiffel Tower?", SOURCES, None) == "The tower is 330 metres tall [1]."
    body = llm.script.requests[-1]
    assert body["model"] == "test-model"
    assert body["temperature"] == 0.0
    assert 77 in (body.get("max_tokens"), body.get("max_completion_tokens"))
    assert body["_headers"]["authorization"] == f"Bearer {KEY}"
    system, user = body["messages"][0], body["messages"][-1]
    assert system["role"] == "system" and system["content"] == PROMPTS.grounded_system
    assert REFUSAL in system["content"]
    assert '<source id="1" file="tower.pdf" page="3">' in user["content"]
    assert "Chlorophyll absorbs" in user["content"] and "How tall is the Eiffel Tower?" in user["content"]


def test_history_and_braces_reach_the_server_as_written(llm, llm_settings):
    gen = OpenAIGenerator(llm_settings(), OpenAIChat())
    llm.script.push("It is {x} [1].", "ok")
    history = [("What is {x}?", "A {placeholder} [2].")]
    source = make_source(1, "In templates, {x} and {question} are placeholders.", file="t.md", page=None)
    assert gen.generate("And {question}?", [source], history) == "It is {x} [1]."
    messages = llm.script.requests[-1]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == "What is {x}?" and messages[2]["content"] == "A {placeholder}."
    assert "<question>\nAnd {question}?\n</question>" in messages[3]["content"]
    assert "{x} and {question} are placeholders." in messages[3]["content"]
    # complete() takes plain role/content dicts too (the evaluation lab writes its one-off prompts so).
    assert gen.complete([{"role": "user", "content": "Say {ok}."}]) == "ok"
    assert llm.script.requests[-1]["messages"] == [{"role": "user", "content": "Say {ok}."}]


def test_base_url_alone_uses_placeholder_key(llm, make_settings):
    gen = OpenAIGenerator(make_settings(openai_base_url=llm.base_url, llm_retries=0), OpenAIChat())
    llm.script.push("ok")
    assert gen.generate("q", SOURCES[:1]) == "ok"
    assert llm.script.requests[-1]["_headers"]["authorization"] == f"Bearer {LOCAL_SERVER_KEY}"


def test_no_llm_configured_is_a_clear_error(make_settings):
    with pytest.raises(GenerationError, match="OPENAI_API_KEY or OPENAI_BASE_URL") as info:
        OpenAIGenerator(make_settings(), OpenAIChat())
    assert info.value.kind == "config"


def test_stream_yields_pieces(llm, llm_settings):
    gen = OpenAIGenerator(llm_settings(), OpenAIChat())
    llm.script.push("Chlorophyll absorbs mostly blue and red light [2].")
    pieces = list(gen.stream("What does chlorophyll absorb?", SOURCES, None))
    assert len(pieces) > 3
    assert "".join(pieces) == "Chlorophyll absorbs mostly blue and red light [2]."
    assert llm.script.requests[-1]["stream"] is True
    assert llm.script.requests[-1]["messages"][0]["content"] == PROMPTS.grounded_system


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (401, "auth", "rejected the API key (401). Check OPENAI_API_KEY"),
        (403, "permission", "(403)"),
        (404, "not_found", "does not know model 'test-model' (404)"),
        (429, "rate_limit", "(429)"),
        (500, "server", "failed (HTTP 500)"),
        (503, "server", "failed (HTTP 503)"),
    ],
)
def test_http_errors_become_clear_generation_errors(llm, llm_settings, status, kind, expected):
    gen = OpenAIGenerator(llm_settings(), OpenAIChat())
    # Real servers echo (part of) a bad key back; it must not reach the user.
    llm.script.push(Reply(status=status, error_message=f"Incorrect API key provided: {KEY}"))
    with pytest.raises(GenerationError) as info:
        gen.generate("q", SOURCES)
    err = info.value
    assert err.kind == kind and err.status == status
    assert expected in str(err)
    _assert_clean(str(err))


@pytest.mark.parametrize("status", [401, 429, 500])
def test_stream_errors_raise_generation_error(llm, llm_settings, status):
    gen = OpenAIGenerator(llm_settings(), OpenAIChat())
    llm.script.push(Reply(status=status, error_message=KEY))
    with pytest.raises(GenerationError) as info:
        list(gen.stream("q", SOURCES))
    assert info.value.status == status
    _assert_clean(str(info.value))


def test_timeout(llm, llm_settings):
    gen = OpenAIGenerator(llm_settings(llm_timeout_s=0.3), OpenAIChat())
    llm.script.push(Reply(content="late", delay_s=0.6))
    with pytest.raises(GenerationError, match=r"did not answer within 0\.3 s") as info:
        gen.generate("q", SOURCES)
    assert info.value.kind == "timeout"
    _assert_clean(str(info.value))
    time.sleep(0.5)  # let the server's late write fail while this test still captures its output


@pytest.mark.parametrize("streaming", [False, True])
def test_closed_connection(llm, llm_settings, streaming):
    gen = OpenAIGenerator(llm_settings(), OpenAIChat())
    llm.script.push(Reply(close_connection=True))
    with pytest.raises(GenerationError, match=r"connection .* was closed") as info:
        list(gen.stream("q", SOURCES)) if streaming else gen.generate("q", SOURCES)
    assert info.value.kind == "connection"
    _assert_clean(str(info.value))


def test_connection_refused(make_settings):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://user:pw@127.0.0.1:{port}/v1"
    gen = OpenAIGenerator(make_settings(openai_base_url=url, openai_api_key=KEY, llm_retries=0), OpenAIChat())
    with pytest.raises(GenerationError, match="Could not connect") as info:
        gen.generate("q", SOURCES)
    assert info.value.kind == "connection"
    assert f"127.0.0.1:{port}/v1" in str(info.value) and "pw" not in str(info.value)
    _assert_clean(str(info.value))


def test_transient_error_is_retried(llm, llm_settings):
    gen = OpenAIGenerator(llm_settings(llm_retries=1), OpenAIChat())
    llm.script.push(Reply(status=500), "recovered")
    assert gen.generate("q", SOURCES) == "recovered"
    assert len(llm.script.requests) == 2


def _assert_clean(message: str) -> None:
    assert KEY not in message and KEY[10:] not in message
    assert "\n" not in message and "Traceback" not in message


# ---------------------------------------------------------------------------------- extractive


def test_extractive_picks_and_cites_the_answering_sentence(embedder):
    gen = ExtractiveGenerator(embedder)
    assert isinstance(gen, Generator) and gen.mode == "extractive"
    answer = gen.generate("When was the Eiffel Tower completed?", SOURCES, None)
    assert answer.startswith("The Eiffel Tower was completed in 1889 for the World's Fair [1].")
    assert "[2]" not in answer and "[3]" not in answer
    rust = gen.generate("How does Rust make memory safe?", SOURCES, None)
    assert "ownership [3]." in rust and "[1]" not in rust
    plants = gen.generate("Which light does chlorophyll absorb?", SOURCES, None)
    assert "Chlorophyll absorbs mostly blue and red light [2]." in plants


def test_extractive_keeps_the_antecedent_of_a_pronoun_sentence(embedder):
    answer = ExtractiveGenerator(embedder).generate("How tall is the Eiffel Tower?", SOURCES, None)
    assert "It is 330 metres tall [1]." in answer
    assert answer.index("completed in 1889") < answer.index("330 metres")  # source order
    assert len(answer.split()) <= 80


def test_extractive_refuses_when_nothing_matches(embedder):
    gen = ExtractiveGenerator(embedder)
    assert gen.generate("Who won the 2018 football World Cup?", SOURCES, None) == REFUSAL
    assert gen.generate("How do I bake sourdough bread?", SOURCES, None) == REFUSAL
    assert gen.generate("anything", [], None) == REFUSAL


def test_extractive_is_deterministic_and_streams_the_same_text(embedder):
    gen = ExtractiveGenerator(embedder)
    question = "What does photosynthesis convert?"
    first = gen.generate(question, SOURCES, None)
    assert first == gen.generate(question, list(SOURCES), None)
    pieces = list(gen.stream(question, SOURCES, None))
    assert len(pieces) > 1 and "".join(pieces) == first


def test_make_generator_follows_settings(make_settings, embedder, llm):
    assert make_generator(make_settings(), embedder, OpenAIChat()).mode == "extractive"
    assert make_generator(make_settings(openai_base_url=llm.base_url), embedder, OpenAIChat()).mode == "llm"


# ------------------------------------------------------------------------------------ condense

HISTORY = [
    {"role": "user", "content": "When was the Eiffel Tower built?"},
    {"role": "assistant", "content": "It was completed in 1889 [1]."},
]


def test_condense_with_llm(llm, llm_settings):
    gen = OpenAIGenerator(llm_settings(temperature=0.7), OpenAIChat())
    llm.script.push('"How tall is the Eiffel Tower?"')
    assert condense_question("How tall is it?", HISTORY, gen) == "How tall is the Eiffel Tower?"
    body = llm.script.requests[-1]
    assert body["temperature"] == 0
    assert body["messages"][0]["content"] == PROMPTS.condense_system
    assert "When was the Eiffel Tower built?" in body["messages"][1]["content"]
    assert "How tall is it?" in body["messages"][1]["content"]


def test_condense_without_history_asks_nobody(llm, llm_settings):
    gen = OpenAIGenerator(llm_settings(), OpenAIChat())
    assert condense_question("How tall is it?", [], gen) == "How tall is it?"
    assert condense_question("How tall is it?", None, None) == "How tall is it?"
    assert llm.script.requests == []


def test_condense_falls_back_to_the_offline_rule_when_the_llm_fails(llm, llm_settings):
    gen = OpenAIGenerator(llm_settings(), OpenAIChat())
    llm.script.push(Reply(status=500))
    assert condense_question("How tall is it?", HISTORY, gen) == condense_offline("How tall is it?", HISTORY)


def test_condense_offline_rule(embedder):
    extractive = ExtractiveGenerator(embedder)
    rewritten = condense_question("How tall is it?", HISTORY, extractive)
    assert rewritten == "How tall is the Eiffel Tower?"  # the pronoun takes the previous question's topic
    assert condense_question("What about its weight?", HISTORY, None) == "What about the Eiffel Tower's weight?"
    # A standalone question passes through unchanged.
    standalone = "Which pigment absorbs red light in plant leaves?"
    assert condense_question(standalone, HISTORY, None) == standalone
    # Chains keep their topic: the second follow-up inherits from the rewritten first one.
    chain = [*HISTORY, {"role": "user", "content": "How tall is it?"}, {"role": "assistant", "content": "330 m."}]
    assert condense_question("And who designed that?", chain, None) == "Who designed the Eiffel Tower?"
    # Pairs history (Gradio tuples) works the same way.
    assert condense_question("How tall is it?", [("When was the Eiffel Tower built?", "1889")], None) == rewritten
    # Nothing to substitute and no slot to fill: the previous question's words are prepended (the old rule).
    assert condense_question("How tall?", HISTORY, None) == "Eiffel Tower built: How tall?"


def test_condense_offline_korean():
    history = [("에펠탑의 높이는 얼마인가요?", "330미터입니다 [1].")]
    assert condense_question("그럼 그것은 언제 지어졌나요?", history, None) == "에펠탑은 언제 지어졌나요?"
