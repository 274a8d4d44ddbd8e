"""The composition root: the one place that turns Settings into wired components.

Constructors here are cheap; `DocQA.warm_up()` loads the embedding model explicitly, once. The CLI, the
web UI, the benchmarks and the tests all build the app through `build_app`, so they run the same wiring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from ingest.chunkers import build_chunkers
from ingest.loaders import load_document
from ingest.pipeline import Ingestor
from ingest.sentences import split_sentences
from rag.embeddings import Embedder, HFTokenCounter
from rag.retrieve import Retriever
from rag.settings import Settings, offline_environment
from rag.store import ChunkStore, make_client


@dataclass
class DocQA:
    """Holds the wired components; heavier ones are built on first use and then reused."""

    settings: Settings

    @cached_property
    def counter(self) -> HFTokenCounter:
        return HFTokenCounter(self.settings.embedding_model)

    @cached_property
    def embedder(self) -> Embedder:
        """DOCQA_EMBEDDING_BACKEND: ONNX Runtime by default (torch's vectors, faster), torch as the fallback."""
        from rag.onnx_embedder import make_embedder

        return make_embedder(self.settings)

    @cached_property
    def chunkers(self) -> dict:
        return build_chunkers(self.settings, self.counter)

    @cached_property
    def store(self) -> ChunkStore:
        params = {s.value: c.params() for s, c in self.chunkers.items()}
        return ChunkStore(
            make_client(self.settings),
            self.settings.collection,
            self.embedder.name,
            self.embedder.dimension,
            params,
        )

    @cached_property
    def loader(self):
        """Loads one file: in a worker process with the time and memory limits (ingest/sandbox.py)."""
        s = self.settings
        if not s.file_sandbox:
            return load_document
        from ingest.sandbox import SandboxLoader

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
    def judge(self):
        from rag.judge import build_judge

        return build_judge(self.settings, self.embedder)

    def make_generator(self, settings: Settings):
        """A generator for these (possibly per-question) settings: the LLM if configured, else extractive."""
        from rag.generate import make_generator

        return make_generator(settings, self.embedder)

    @cached_property
    def answerer(self):
        from rag.answer import Answerer

        return Answerer(
            self.settings, self.retriever, self.embedder, self.judge, self.make_generator, self.answer_hooks
        )

    @cached_property
    def answer_hooks(self) -> list:
        """Steps around the answer road, in order (safety filters first, then the semantic cache)."""
        from rag.filters import safety_hooks

        return [*safety_hooks(), *self._cache_hooks()]

    def _cache_hooks(self) -> list:
        """The semantic cache goes last: it never sees refused questions and stores redacted answers."""
        return [self.cache] if self.settings.cache_enabled else []

    @cached_property
    def cache(self):
        """The semantic answer cache (rag/cache.py), kept in the Chroma collection <collection>__cache."""
        from rag.cache import SemanticCache

        return SemanticCache(self.store, self.embedder, self.settings)

    @cached_property
    def retriever(self) -> Retriever:
        """Hybrid retrieval; its BM25 indexes live under INDEX_DIR/lexical and follow the store."""
        return Retriever(self.store, self.embedder, self.counter, self.settings)

    def refresh_indexes(self, strategies: Sequence[str] | None = None) -> None:
        """Bring derived indexes (BM25) up to date now, so the first question after an ingest is fast."""
        self.retriever.refresh(strategies or self.settings.strategies)

    def close(self) -> None:
        """Release what this app holds open: the Chroma client (an embedded one keeps ~30 files open)
        and the loader's worker processes. Only what was built is touched; the app is unusable after."""
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


def build_app(settings: Settings) -> DocQA:
    from rag.filters import install_log_scrubber

    offline_environment()
    install_log_scrubber(settings)
    return DocQA(settings)
