"""The composition root: the one place that turns Settings into wired components.

Every other module receives its collaborators through its constructor and knows them only by the
Protocols in rag/core/protocols.py; this module is the only one that names a concrete backend. The CLI,
the web UI, the benchmarks, the evaluation and the tests all build the app through `build_app`, so they
run the same wiring, and swap a component by passing it in (`build_app(settings, embedder=...)`).

Constructors here are cheap; `DocQA.warm_up()` loads the embedding model explicitly, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.chunkers import build_chunkers
from ingest.loaders import load_document
from ingest.pipeline import Ingestor
from ingest.sandbox import SandboxLoader
from rag.answer.answerer import Answerer
from rag.answer.cache import SemanticCache
from rag.answer.generate import make_generator
from rag.backends.bm25 import LexicalIndex
from rag.backends.chat import OpenAIChat
from rag.backends.chroma_client import make_client
from rag.backends.chroma_store import ChunkStore
from rag.backends.e5_embedder import E5Embedder
from rag.backends.onnx_embedder import make_embedder
from rag.backends.page_render import PdfiumPageRenderer
from rag.backends.st_embedder import HFTokenCounter
from rag.conversations import Conversations
from rag.core.activity import Activity
from rag.core.pageview import PageView
from rag.core.protocols import (
    ChatModels,
    ChunkIndex,
    Embedder,
    Generator,
    Judge,
    Loader,
    PageRenderer,
    TokenCounter,
)
from rag.core.sentences import split_sentences
from rag.core.settings import Settings, offline_environment
from rag.judge.factory import build_judge
from rag.library import Library
from rag.retrieval.hybrid import Retriever
from rag.safety.filters import install_log_scrubber, safety_hooks
from rag.safety.outbound import Redactor
from rag.viewer import SourceViewer

if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever

# What `DocQA(settings, **overrides)` accepts: each is built on first use unless given.
COMPONENTS = (
    "activity",
    "counter",
    "embedder",
    "multilingual",
    "chunkers",
    "store",
    "loader",
    "ingestor",
    "library",
    "chat_factory",
    "judge",
    "answerer",
    "answer_hooks",
    "redactor",
    "cache",
    "retriever",
    "page_renderer",
    "viewer",
    "conversations",
)


class DocQA:
    """Holds the wired components; each is built on first use and then reused.

    Pass ready-made components as keyword arguments to use them instead (tests share one loaded
    embedder; the evaluation points a second app at another collection with the same models).
    """

    def __init__(self, settings: Settings, **overrides: Any) -> None:
        unknown = sorted(set(overrides) - set(COMPONENTS))
        if unknown:
            raise TypeError(f"unknown component(s) {', '.join(unknown)}; known: {', '.join(COMPONENTS)}")
        self.settings = settings
        self.__dict__.update(overrides)  # a cached_property reads its value from the instance first

    def __repr__(self) -> str:
        built = [name for name in COMPONENTS if name in self.__dict__]
        return f"DocQA(collection={self.settings.collection!r}, built={built})"

    def components(self, *names: str) -> dict[str, Any]:
        """The named components (built if needed): what another app over the same models reuses."""
        return {name: getattr(self, name) for name in names}

    @cached_property
    def activity(self) -> Activity:
        """Where long steps (a full BM25 build, the first ONNX export) report progress; front ends listen
        while a command or request runs (`with qa.activity.listening(bar): ...`)."""
        return Activity()

    @cached_property
    def counter(self) -> TokenCounter:
        return HFTokenCounter(self.settings.embedding_model)

    @cached_property
    def embedder(self) -> Embedder:
        """DOCQA_EMBEDDING_BACKEND: ONNX Runtime by default (torch's vectors, faster), torch as the fallback."""
        return make_embedder(self.settings, self.activity)

    @cached_property
    def multilingual(self) -> Embedder | None:
        """The multilingual e5 embedder of the side collections and the e5 leg (DOCQA_MULTILINGUAL);
        None when the mode is off. Loads on first use; if it cannot, docqa runs without it and says why."""
        if self.settings.multilingual == "off":
            return None
        return E5Embedder(batch_size=self.settings.embedding_batch_size, package=self.settings.e5_package)

    @property
    def multilingual_notice(self) -> str:
        """Why the multilingual leg is off although DOCQA_MULTILINGUAL asks for it ("" when it works)."""
        e5 = self.multilingual
        if e5 is None:
            return ""
        reason = e5.check() if hasattr(e5, "check") else ""
        return f"Multilingual search is off: {reason}. Keyword search (BM25) still finds Korean text." if reason else ""

    @cached_property
    def chunkers(self) -> dict:
        return build_chunkers(self.settings, self.counter)

    @cached_property
    def store(self) -> ChunkIndex:
        params = {s.value: c.params() for s, c in self.chunkers.items()}
        return ChunkStore(
            make_client(self.settings),
            self.settings.collection,
            self.embedder.name,
            self.embedder.dimension,
            params,
            multilingual=self.multilingual,
            multilingual_mode=self.settings.multilingual,
        )

    @cached_property
    def loader(self) -> Loader:
        """Loads one file: in a worker process with the time and memory limits (ingest/sandbox.py)."""
        s = self.settings
        if not s.file_sandbox:
            return load_document
        return SandboxLoader(timeout_s=s.file_timeout_s, memory_mb=s.file_memory_mb)

    @cached_property
    def ingestor(self) -> Ingestor:
        s = self.settings
        return Ingestor(
            self.store,
            self.embedder,
            self.chunkers,
            split_sentences,
            self.loader,
            max_bytes=int(s.max_file_mb * 1024 * 1024),
            max_pages=s.max_pages,
            batch_size=s.embedding_batch_size,
            store_batch_size=s.store_batch_size,
        )

    @cached_property
    def library(self) -> Library:
        """The document library every front end calls: add, upload, list, remove, re-ingest, rebuild."""
        return Library(self.settings, self.store, self.ingestor, self.refresh_indexes)

    @cached_property
    def chat_factory(self) -> ChatModels:
        """Builds the chat model for the generator, the LLM judge and follow-up condensing."""
        return OpenAIChat()

    @cached_property
    def judge(self) -> Judge:
        return build_judge(self.settings, self.embedder, self.chat_factory)

    def make_generator(self, settings: Settings) -> Generator:
        """A generator for these (possibly per-question) settings: the LLM if configured, else extractive."""
        return make_generator(settings, self.embedder, self.chat_factory, self.multilingual)

    @cached_property
    def answerer(self) -> Answerer:
        return Answerer(
            self.settings,
            self.retriever,
            self.embedder,
            self.judge,
            self.make_generator,
            self.answer_hooks,
            redactor=self.redactor,
        )

    @cached_property
    def redactor(self) -> Redactor:
        """The one outbound redaction pass (rag/safety/outbound.py): questions, answers with their sources
        and citations, streamed text, the cache, and the JSON the front ends print or serve."""
        return Redactor()

    @cached_property
    def answer_hooks(self) -> list:
        """Steps around the answer road, in order (safety filters first, then the semantic cache)."""
        return [*safety_hooks(), *self._cache_hooks()]

    def _cache_hooks(self) -> list:
        """The semantic cache goes last: it never sees refused questions and stores redacted answers."""
        return [self.cache] if self.settings.cache_enabled else []

    @cached_property
    def cache(self) -> SemanticCache:
        """The semantic answer cache (rag/answer/cache.py), kept in the Chroma collection <collection>__cache."""
        return SemanticCache(self.store, self.embedder, self.settings)

    @cached_property
    def retriever(self) -> Retriever:
        """Hybrid retrieval; its BM25 indexes live under INDEX_DIR/lexical and follow the store."""
        activity = self.activity

        def bm25_index(store: ChunkIndex, strategy: str, folder: Path) -> LexicalIndex:
            return LexicalIndex(store, strategy, folder, activity=activity)

        return Retriever(
            self.store, self.embedder, self.counter, self.settings, bm25_index, multilingual=self.multilingual
        )

    def as_retriever(self, **options: Any) -> BaseRetriever:
        """docqa's hybrid retrieval as a LangChain retriever, for use inside any LCEL chain.

        `options` are `Retriever.retrieve` arguments (strategy, k, mode, mmr, threshold, doc_filter...)."""
        from rag.retrieval.langchain import DocQARetriever  # langchain_core's retriever stack: ~0.8 s to import

        return DocQARetriever(retriever=self.retriever, options=options)

    @cached_property
    def page_renderer(self) -> PageRenderer:
        return PdfiumPageRenderer()

    @cached_property
    def viewer(self) -> SourceViewer:
        """See the source: cited PDF pages as images, other formats as the passage in context."""
        return SourceViewer(self.store, self.page_renderer, self.loader, int(self.settings.max_file_mb * 1024 * 1024))

    def page_view(self, source: str, page: int | None = None, quote: str = "") -> PageView:
        """Page `page` of document `source` with `quote` highlighted (see rag/viewer.py); never raises."""
        return self.viewer.view(source, page, quote)

    @cached_property
    def conversations(self) -> Conversations:
        """Saved conversations (SQLite) under the index dir: INDEX_DIR/conversations.sqlite3."""
        return Conversations(self.settings.resolved_index_dir / "conversations.sqlite3")

    def refresh_indexes(self, strategies: Sequence[str] | None = None) -> None:
        """Bring derived indexes (BM25) up to date now, so the first question after an ingest is fast."""
        self.retriever.refresh(strategies or self.settings.strategies)

    def close(self) -> None:
        """Release what this app holds open: the Chroma client (an embedded one keeps ~30 files open)
        and the loader's worker processes. Only what was built is touched; the app is unusable after."""
        retriever = self.__dict__.get("retriever")
        if retriever is not None and hasattr(retriever, "prefetch"):
            retriever.prefetch.close()  # its BM25 worker thread
        store = self.__dict__.pop("store", None)
        if store is not None:
            store.close()
        loader = self.__dict__.pop("loader", None)
        if loader is not None and hasattr(loader, "close"):
            loader.close()

    def __enter__(self) -> DocQA:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def warm_up(self) -> DocQA:
        """Load the models now rather than on the first request."""
        _ = self.store  # first: an unreachable Chroma server fails in a second, not after the model loads
        self.embedder.warm_up()
        return self


def build_app(settings: Settings, **components: Any) -> DocQA:
    """The app for these settings; `components` replace the default ones (see COMPONENTS)."""
    offline_environment()
    install_log_scrubber(settings)
    return DocQA(settings, **components)
