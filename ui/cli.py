"""The `docqa` command: a thin layer that parses flags, calls the app, and prints.

Decisions live in rag/ and ingest/; this module only translates between the terminal and them.
"""

from __future__ import annotations

import json
import logging
import sys
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated

import typer

from ingest.loaders import supported_types
from rag.answer.answerer import AskOptions
from rag.app import DocQA, build_app
from rag.backends.chroma_client import store_problem
from rag.core.errors import FingerprintMismatch, StoreUnavailable
from rag.core.settings import load_settings, offline_environment, parse_strategies, settings_table, settings_values
from rag.core.types import Strategy
from rag.library import UNSUPPORTED, DocumentNotFound
from ui.cli_output import (
    RichProgress,
    RichSteps,
    console,
    docs_table,
    fail,
    ids,
    out,
    print_answer,
    print_health,
    progress_bars,
    report_table,
    skipped_lines,
    stream_answer,
)
from ui.logsetup import setup_from_settings
from ui.on_demand import build_on_demand

log = logging.getLogger(__name__)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Ask your documents, with cited sources.")
docs_app = typer.Typer(no_args_is_help=True, help="The document library.")
app.add_typer(docs_app, name="docs")
index_app = typer.Typer(no_args_is_help=True, help="Index health: is every stored chunk found by its own vector?")
app.add_typer(index_app, name="index")


def _version(value: bool) -> None:
    if value:
        out.print(f"docqa {package_version('docqa')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "-v", "--verbose", count=True, help="Log more to stderr: -v docqa's DEBUG, -vv other libraries' too."
        ),
    ] = 0,
) -> None:
    """Ask your documents, with cited sources."""
    setup_from_settings(verbose, console)  # one handler for every command: DOCQA_LOG_LEVEL, -v, secrets redacted


def _app(*, quiet: bool = False, **overrides: object) -> DocQA:
    """The app for one command, with its long steps (first ONNX export, full BM25 builds) shown on stderr
    (`quiet`: not at all, for --json)."""
    try:
        qa = build_app(load_settings(**overrides))
    except ValueError as exc:
        console.print(f"[red]error:[/] invalid settings: {exc}")
        raise typer.Exit(2) from None
    qa.activity.add_listener(RichSteps(console, quiet=quiet))
    return qa


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help=f"Files and folders (read recursively): {supported_types(suffixes=True)}."),
    ],
    strategy: Annotated[str, typer.Option(help="sentence, overlap, parent-child, a comma list, or all.")] = "",
    glob: Annotated[str | None, typer.Option(help="Only files matching this pattern, e.g. '**/*.pdf'.")] = None,
    rebuild: Annotated[bool, typer.Option(help="Drop the whole index first (after changing models).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    if_empty: Annotated[bool, typer.Option(help="Do nothing when the index already holds documents.")] = False,
) -> None:
    """Ingest documents into the index (unchanged files are skipped; changed files are replaced)."""
    qa = _app(quiet=as_json)
    if if_empty and not rebuild:
        try:
            count = len(qa.library.documents())
        except (FingerprintMismatch, StoreUnavailable) as exc:
            raise fail(str(exc)) from None
        if count:
            console.print(f"index already holds {count} documents; nothing to do (--if-empty)")
            if as_json:
                out.print_json("[]")
            return
    try:
        strategies = parse_strategies(strategy) if strategy else qa.settings.strategies
    except ValueError as exc:
        raise fail(str(exc)) from None
    if rebuild:
        qa.library.rebuild()
    try:
        qa.warm_up()
        with progress_bars(console, disable=as_json or not console.is_terminal) as progress:
            reports = qa.library.add_paths(paths, strategies, glob=glob, progress=RichProgress(progress))
    except (FingerprintMismatch, StoreUnavailable) as exc:
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps([r.__dict__ for r in reports]))
    else:
        out.print(report_table(reports))
        for line in skipped_lines(reports):
            console.print(line, markup=False, highlight=False)
    failed = sum(r.status == "failed" for r in reports)
    if all(r.status == "skipped" and r.warnings[0].startswith(UNSUPPORTED) for r in reports):
        raise fail(f"no supported files found ({supported_types(suffixes=True)})", 1)
    if failed:
        console.print(f"[red]{failed} of {len(reports)} files failed[/]")
        raise typer.Exit(1)


@docs_app.command("list")
def docs_list(as_json: Annotated[bool, typer.Option("--json", help="Print the documents as JSON.")] = False) -> None:
    """List ingested documents."""
    qa = _app()
    try:
        records = qa.library.documents()
    except (FingerprintMismatch, StoreUnavailable) as exc:
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps([r.__dict__ for r in records]))
        return
    out.print(docs_table(records))


@docs_app.command("remove")
def docs_remove(
    name: Annotated[str, typer.Argument(help="Document name as shown by `docqa docs list`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Remove a document and all its chunks (exit 1 when there is no such document)."""
    qa = _app()
    try:
        qa.library.remove(name)
    except DocumentNotFound as exc:
        if as_json:
            out.print_json(json.dumps({"removed": False, "name": name, "error": str(exc)}))
        raise fail(str(exc), 1) from None
    except (FingerprintMismatch, StoreUnavailable) as exc:
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps({"removed": True, "name": name}))
    else:
        out.print(f"removed {name}")


def _index_call(action, strategy: str):
    """Run a Library health action; every failure becomes one line and exit code 2."""
    try:
        return action(parse_strategies(strategy) if strategy else None)
    except (FingerprintMismatch, StoreUnavailable, ValueError) as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # Chroma's own errors: one line, not a traceback
        raise fail(f"{type(exc).__name__}: {exc}") from None


@index_app.command("check")
def index_check(
    full: Annotated[bool, typer.Option("--full", help="Check every chunk, not a random sample.")] = False,
    sample: Annotated[int, typer.Option(min=1, help="Chunks checked per collection without --full.")] = 200,
    strategy: Annotated[str, typer.Option(help="Only these strategies (comma list); default: all stored.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Query stored chunks with their own vectors; exit 1 when one is not found (then `docqa index repair`)."""
    qa = _app()
    reports = _index_call(lambda chosen: qa.library.check(chosen, full=full, sample=sample), strategy)
    bad = sum(len(r.unreachable) for r in reports)
    lines = [
        f"{r.kind}: {'all' if r.full else 'a sample of'} {r.checked} of {r.total} chunks checked, "
        + ("all reachable" if r.ok else f"[red]{len(r.unreachable)} unreachable[/]: {ids(r.unreachable)}")
        + (f", {len(r.orphans)} of them through the exact-search list" if r.orphans else "")
        + f" ({r.seconds:.1f} s)"
        for r in reports
    ]
    print_health(reports, lines or ["the index holds no chunks; nothing to check"], as_json, bad)
    if bad:
        console.print(f"[red]{bad} chunks are not found by their own vector[/]; run `docqa index repair`")
        raise typer.Exit(1)


@index_app.command("repair")
def index_repair(
    strategy: Annotated[str, typer.Option(help="Only these strategies (comma list); default: all stored.")] = "",
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when every chunk is reachable.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Rebuild collections with unreachable chunks from their stored vectors (no re-embedding)."""
    qa = _app()
    reports = _index_call(lambda chosen: qa.library.repair(chosen, force=force), strategy)
    left = sum(len(r.unreachable_after) for r in reports)
    lines = [
        f"{r.kind}: rebuilt {r.records} chunks from stored vectors ({len(r.unreachable_before)} were unreachable), "
        + ("now all reachable" if r.ok else f"[red]{len(r.unreachable_after)} still unreachable[/]")
        + f" ({r.seconds:.1f} s)"
        if r.rebuilt
        else f"{r.kind}: all {r.records} chunks reachable, left as it is ({r.seconds:.1f} s)"
        for r in reports
    ]
    print_health(reports, lines or ["the index holds no chunks; nothing to repair"], as_json, left)
    if left:
        console.print(f"[red]{left} chunks are still not found by their own vector[/]")
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to ask your documents.")],
    strategy: Annotated[str | None, typer.Option(help="sentence, overlap or parent-child.")] = None,
    k: Annotated[int | None, typer.Option("--k", help="Number of sources.")] = None,
    mode: Annotated[str | None, typer.Option(help="Retrieval: hybrid, dense or lexical.")] = None,
    mmr: Annotated[bool | None, typer.Option("--mmr/--no-mmr", help="Diversify sources.")] = None,
    threshold: Annotated[float | None, typer.Option(help="Minimum cosine similarity of a source.")] = None,
    doc: Annotated[list[str] | None, typer.Option(help="Only search this document (repeatable).")] = None,
    judge: Annotated[bool, typer.Option("--judge/--no-judge", help="Score faithfulness.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured result as JSON.")] = False,
    stream: Annotated[
        bool, typer.Option("--stream/--no-stream", help="Print the answer as the language model writes it.")
    ] = True,
) -> None:
    """Answer a question from the ingested documents, with citations and a faithfulness score.

    With a language model the answer streams as it is written (--no-stream waits for the whole answer);
    extractive answers print at once. Exit 1 when the answer failed (e.g. the model server), 2 on a bad
    option or store error."""
    try:
        options = AskOptions(
            strategy=Strategy(strategy) if strategy else None,
            k=k,
            retrieval_mode=mode,
            mmr=mmr,
            threshold=threshold,
            documents=doc or None,
            judge=judge,
        )
    except ValueError:
        raise fail(f"unknown strategy {strategy!r}; choose sentence, overlap or parent-child") from None
    qa = _app(quiet=as_json)
    streamed = False
    try:
        options.apply(qa.settings)  # a bad option value fails before the models load
        log.debug("question: %s", question)
        qa.warm_up()
        build_on_demand(qa, options.strategy or qa.settings.strategy, console, quiet=as_json)
        if stream and not as_json and qa.settings.llm_enabled:
            result, streamed = stream_answer(qa.answerer.stream(question, options=options), console.is_terminal)
        else:
            result = qa.answerer.answer(question, options=options)
    except (FingerprintMismatch, StoreUnavailable, ValueError) as exc:
        raise fail(str(exc)) from None
    if as_json:  # the answer is redacted already; its JSON goes through the same pass as a last guard
        out.print_json(json.dumps(qa.redactor.redact_data(result.to_dict(), qa.settings), ensure_ascii=False))
    else:
        print_answer(result, text=not streamed)
    if result.mode == "error":
        raise typer.Exit(1)


@app.command()
def config(
    as_json: Annotated[bool, typer.Option("--json", help="Print {variable: value} as JSON.")] = False,
) -> None:
    """Show every setting with its current value (secrets masked) and environment variable."""
    settings = _app().settings
    if as_json:
        out.print_json(json.dumps(settings_values(settings), default=str))
    else:
        print(settings_table(settings))


@app.command()
def ui(
    host: Annotated[str | None, typer.Option(help="Bind address (default: DOCQA_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: DOCQA_PORT or 7860).")] = None,
) -> None:
    """Serve the web UI (login from DOCQA_AUTH='user:pass,...'; nothing is fetched from outside)."""
    from ui.web import launch  # gradio takes seconds to import: only for this command

    qa = _app(host=host, port=port)
    console.print(f"docqa web UI on http://{qa.settings.host}:{qa.settings.port} (loading models…)")
    try:
        launch(qa)
    except (FingerprintMismatch, StoreUnavailable, ValueError) as exc:
        raise fail(str(exc)) from None


@app.command("eval")
def eval_(
    dataset: Annotated[
        Path | None,
        typer.Argument(
            help="SQuAD-style JSON, JSONL {question, answer, document, page}, or a PDF set folder "
            "(Docugami SEC 10-Q: qna_data.csv + docs/; ARAGOG: benchmark.json + papers_for_questions/)."
        ),
    ] = None,
    strategies: Annotated[str, typer.Option(help="Comma list of strategies to compare, or all.")] = "all",
    k: Annotated[int | None, typer.Option("--k", help="Sources handed to the model (default: DOCQA_TOP_K).")] = None,
    limit: Annotated[int, typer.Option(help="At most N questions (0 = all).")] = 0,
    budget: Annotated[int, typer.Option(help="Context budget in words for the hit metric.")] = 1000,
    answers: Annotated[int, typer.Option(help="Questions answered by the LLM per strategy (if configured).")] = 50,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the JSON, Markdown and PNG.")] = Path(
        "eval-results"
    ),
    lab: Annotated[bool, typer.Option("--lab", help="Generate questions from your own library instead.")] = False,
    questions: Annotated[int, typer.Option(help="--lab: number of generated questions.")] = 30,
    index_dir: Annotated[Path | None, typer.Option(help="Index folder (default: DOCQA_INDEX_DIR).")] = None,
    collection: Annotated[str | None, typer.Option(help="Use this collection as it is (an existing index).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report (and the files written) as JSON.")] = False,
) -> None:
    """Compare chunking strategies (and two baselines) on a question set, or on your library (--lab)."""
    from rag.eval.report import print_table, write_report  # matplotlib: only for this command

    qa = _app(index_dir=index_dir)
    try:
        names = [s.value for s in parse_strategies(strategies)] if strategies else None
        if lab:
            from rag.eval.lab import run_lab

            report = run_lab(qa, questions, strategies=names, k=k, budget=budget, log=console.print)
        else:
            if dataset is None or not dataset.exists():
                raise fail(f"no dataset at {dataset}" if dataset else "give a DATASET or --lab")
            from rag.eval.harness import run_eval

            report = run_eval(
                qa,
                dataset,
                strategies=names,
                k=k,
                limit=limit,
                budget=budget,
                answers=answers,
                collection=collection,
                log=console.print,
            )
    except (FingerprintMismatch, StoreUnavailable, ValueError) as exc:
        raise fail(str(exc)) from None
    print_table(report, console if as_json else out)
    paths = write_report(report, out_dir, "lab" if lab else None)
    console.print("wrote " + ", ".join(str(p) for p in paths.values()))
    if as_json:
        files = {kind: str(path) for kind, path in paths.items()}
        out.print_json(json.dumps({**report, "files": files}, ensure_ascii=False, default=str))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    offline_environment()
    try:
        app(args=argv if argv is not None else sys.argv[1:], prog_name="docqa")
    except Exception as exc:  # a store that breaks mid-command (a corrupt page, a lost server): one line, exit 2
        problem = store_problem(exc, _chroma_path())
        if problem is None:
            raise
        fail(str(problem))  # prints the one line
        sys.exit(2)


def _chroma_path() -> Path | None:
    try:
        settings = load_settings()
    except ValueError:
        return None
    return None if settings.chroma_host else settings.resolved_chroma_path


def ingest_main(argv: list[str] | None = None) -> None:
    """`docqa-ingest PATH...`: the batch ingest script, the same as `docqa ingest PATH...`."""
    main(["ingest", *(argv if argv is not None else sys.argv[1:])])
