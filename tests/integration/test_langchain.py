"""`DocQA.as_retriever()` as LangChain sees it: a BaseRetriever over the real hybrid retrieval (MiniLM,
Chroma and BM25 in a tmp dir), inside an LCEL chain whose ChatOpenAI talks HTTP to the loopback server.

None of these starts a Chroma server or is slow, so none carries a marker (pyproject.toml): the
OpenAI-compatible server of tests/openai_server.py runs in-process, as in test_generate.py.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnablePassthrough
from langchain_openai import ChatOpenAI

from rag.core.settings import Settings
from tests.conftest import SAMPLES

DOCS = ("heat_pumps.pdf", "solar_system_guide.md", "company_handbook.txt")
STRATEGIES = ("parent-child", "sentence")
HEAT_PUMP_QUESTION = "What COP does a typical air-source heat pump have?"


@pytest.fixture(scope="module")
def qa(tmp_path_factory, embedder):
    """Three sample documents (a PDF with pages, Markdown with sections, plain text) ingested once with
    the default strategy and the sentence strategy; the tests only read. Built as conftest's
    `make_app` builds its apps, but module-scoped: an ingest costs ~20 s per strategy on this CPU."""
    from rag.app import build_app

    root = tmp_path_factory.mktemp("langchain")
    docs = root / "docs"
    docs.mkdir()
    for name in DOCS:
        shutil.copy(SAMPLES / name, docs / name)
    app = build_app(Settings(_env_file=None, data_dir=root / "data", index_dir=root / "index"), embedder=embedder)
    reports = app.library.add_paths([docs / name for name in DOCS], STRATEGIES)
    assert [r.status for r in reports] == ["ingested"] * len(DOCS), [(r.source, r.error) for r in reports]
    yield app
    app.close()


def format_docs(docs: list[Document]) -> str:
    """The context block a chain builds: each passage behind its file and pages."""
    return "\n\n".join(f"[{d.metadata['source']} p. {d.metadata['pages'] or '-'}]\n{d.page_content}" for d in docs)


def test_invoke_returns_documents_with_provenance_and_scores(qa):
    retriever = qa.as_retriever()
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke(HEAT_PUMP_QUESTION)
    hits = qa.retriever.retrieve(HEAT_PUMP_QUESTION).hits
    assert docs and all(isinstance(d, Document) for d in docs)
    assert [d.id for d in docs] == [h.chunk.id for h in hits]  # the same ranking as docqa's own retrieval
    assert len(docs) == qa.settings.top_k
    top = docs[0]
    meta = top.metadata
    assert meta["source"] == "heat_pumps.pdf" and meta["title"]
    assert meta["chunk_id"] == top.id and meta["doc_id"] == hits[0].chunk.doc_id
    assert meta["strategy"] == "parent-child"  # the settings' default strategy
    assert isinstance(meta["page"], int) and 1 <= meta["page"] <= (meta["page_end"] or meta["page"])
    assert meta["pages"] == hits[0].chunk.pages_label
    # parent-child: the parent is returned, and the child that matched points at its own page
    assert meta["matched_text"] in top.page_content and "COP" in meta["matched_text"]
    assert meta["page"] <= meta["matched_page"] <= (meta["page_end"] or meta["page"])
    assert [d.metadata["rank"] for d in docs] == list(range(1, len(docs) + 1))
    scores = [d.metadata["score"] for d in docs]
    assert all(isinstance(s, float) for s in scores) and scores == sorted(scores, reverse=True)
    assert all(d.metadata["dense_score"] is not None for d in docs)  # cosine for every hit
    assert meta["lexical_score"] > 0  # hybrid: BM25 found it too


def test_markdown_documents_carry_a_section_and_no_page(qa):
    docs = qa.as_retriever(strategy="sentence", k=3, doc_filter=["solar_system_guide.md"]).invoke(
        "Which planet is the largest?"
    )
    assert any("Jupiter is the largest planet" in d.page_content for d in docs)
    assert all(d.metadata["page"] is None and d.metadata["pages"] == "" for d in docs)
    assert any(d.metadata["section"] for d in docs)
    assert all("matched_id" not in d.metadata for d in docs)  # only parent-child hits have a child


def test_options_pass_through(qa):
    two = qa.as_retriever(strategy="sentence", k=2).invoke(HEAT_PUMP_QUESTION)
    assert len(two) == 2 and {d.metadata["strategy"] for d in two} == {"sentence"}
    only = qa.as_retriever(k=4, doc_filter=["company_handbook.txt"]).invoke(HEAT_PUMP_QUESTION)
    assert only and {d.metadata["source"] for d in only} == {"company_handbook.txt"}
    lexical = qa.as_retriever(strategy="sentence", mode="lexical", k=3).invoke("Olympus Mons")
    assert "Olympus Mons" in lexical[0].page_content
    assert qa.as_retriever().invoke("   ") == []  # an empty question finds nothing rather than raising
    with pytest.raises(ValueError, match=r"unknown retrieval option.*top_k"):
        qa.as_retriever(top_k=3)  # a misspelt option fails where it is written


def test_batch_and_async_give_the_same_documents(qa):
    retriever = qa.as_retriever(strategy="sentence", k=3)
    first, second = retriever.batch([HEAT_PUMP_QUESTION, "Which planet is the largest?"])
    assert [d.id for d in first] == [d.id for d in retriever.invoke(HEAT_PUMP_QUESTION)]
    assert second[0].metadata["source"] == "solar_system_guide.md"
    assert [d.id for d in asyncio.run(retriever.ainvoke(HEAT_PUMP_QUESTION))] == [d.id for d in first]


def test_retriever_in_an_lcel_chain_with_chat_openai(qa, llm):
    settings = qa.settings.model_copy(
        update={"openai_base_url": llm.base_url, "llm_model": "test-model", "llm_retries": 0, "llm_timeout_s": 5.0}
    )
    chat_model = qa.chat_factory(settings)  # rag.backends.chat.OpenAIChat: the app's one chat-model factory
    assert isinstance(chat_model, ChatOpenAI)
    retriever = qa.as_retriever(strategy="sentence", k=3)
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context only."), ("human", "Context:\n{context}\n\nQuestion: {question}")]
    )
    chain = {"context": retriever | format_docs, "question": RunnablePassthrough()} | prompt | chat_model
    chain = chain | StrOutputParser()
    reply = "A typical air-source heat pump has a COP of 3 to 4 [heat_pumps.pdf p. 1]."
    llm.script.push(reply)

    assert chain.invoke(HEAT_PUMP_QUESTION) == reply
    (request,) = llm.script.requests
    assert request["model"] == "test-model"
    system, user = request["messages"]
    assert system == {"role": "system", "content": "Answer from the context only."}
    passages = retriever.invoke(HEAT_PUMP_QUESTION)
    assert user["content"] == f"Context:\n{format_docs(passages)}\n\nQuestion: {HEAT_PUMP_QUESTION}"
    assert any("COP of 3 to 4" in d.page_content for d in passages)  # the answering passage was sent
    assert "[heat_pumps.pdf p. " in user["content"]
