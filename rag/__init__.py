"""docqa: ask your documents, with cited sources and a faithfulness score.

Start at rag/app.py (the composition root) and rag/core/protocols.py (the seams between layers).

The Python API (README "Python API"): `from rag import build_app, load_settings, AskOptions`. The names are
resolved on first use (PEP 562), so `import rag.core.settings` does not load Chroma, ONNX Runtime or torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.answer.answerer import AskOptions
    from rag.app import DocQA, build_app
    from rag.core.settings import Settings, load_settings
    from rag.core.types import Answer, Strategy

# Public name -> the module that defines it.
_EXPORTS = {
    "build_app": "rag.app",
    "DocQA": "rag.app",
    "load_settings": "rag.core.settings",
    "Settings": "rag.core.settings",
    "AskOptions": "rag.answer.answerer",
    "Answer": "rag.core.types",
    "Strategy": "rag.core.types",
}
__all__ = ["Answer", "AskOptions", "DocQA", "Settings", "Strategy", "build_app", "load_settings"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
