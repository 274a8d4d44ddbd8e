"""Which judge answers: the LLM judge (with the heuristic as its fallback) when a model is configured."""

from __future__ import annotations

from rag.core.protocols import ChatModels, Embedder, Judge
from rag.core.settings import Settings
from rag.judge.heuristic import HeuristicJudge
from rag.judge.llm import LLMJudge


def build_judge(settings: Settings, embedder: Embedder, chat_factory: ChatModels) -> Judge:
    """The LLM judge (heuristic as its fallback) when an LLM is configured, else the heuristic."""
    heuristic = HeuristicJudge(embedder)
    return LLMJudge(settings, heuristic, chat_factory) if settings.llm_enabled else heuristic
