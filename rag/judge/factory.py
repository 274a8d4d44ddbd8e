"""Which judge answers: the LLM judge when a model is configured, else the learned offline judge.

DOCQA_JUDGE picks one explicitly: `learned`, `heuristic`, or `llm` (which needs a model; without one the
offline judge answers). The learned judge needs its weights file (rag/judge/learned_weights.json); when it
is missing or damaged, the heuristic answers instead, so a broken file never stops an answer.
"""

from __future__ import annotations

from rag.core.protocols import ChatModels, Embedder, Judge
from rag.core.settings import Settings
from rag.judge.heuristic import HeuristicJudge
from rag.judge.learned import LearnedJudge, WeightsError, load_weights
from rag.judge.llm import LLMJudge


def offline_judge(embedder: Embedder, choice: str = "learned") -> Judge:
    """The learned judge (unless the heuristic is asked for or the weights cannot be read)."""
    if choice != "heuristic":
        try:
            return LearnedJudge(embedder, load_weights())
        except WeightsError:
            pass
    return HeuristicJudge(embedder)


def build_judge(settings: Settings, embedder: Embedder, chat_factory: ChatModels) -> Judge:
    """The LLM judge (the offline judge as its fallback) when an LLM is configured and not overridden,
    else the offline judge DOCQA_JUDGE names (learned by default)."""
    choice = getattr(settings, "judge", "auto")
    offline = offline_judge(embedder, choice)
    if settings.llm_enabled and choice in ("auto", "llm"):
        return LLMJudge(settings, offline, chat_factory)
    return offline
