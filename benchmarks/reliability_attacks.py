"""The attacks of issue 19, each run for real against a fresh index, for benchmarks/reliability.py.

Every entry is {"attack", "outcome", "ok"}: what was tried, what docqa did, and whether that is the
expected, safe behaviour. The same properties are asserted by the tests (tests/integration/
test_redaction.py, tests/e2e/test_redaction_io.py, test_store_health.py, test_uploads.py, test_reports.py);
this table is the one-run summary for the README.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path

from rag.answer.answerer import AskOptions
from rag.app import build_app
from rag.core.errors import StoreUnavailable
from rag.core.settings import Settings
from rag.core.types import Strategy

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data"
SECRETS = {
    "sk- key": "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234",
    "password is:": "Winter2025-staging",
    "AWS key": "AKIAIOSFODNN7EXAMPLE",
    "GitHub token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "pwd:": "Tr0ub4dor&3",
}
RUNBOOK = (
    "# Billing runbook\n\n"
    f"The staging database password is: {SECRETS['password is:']}. Rotate it every quarter.\n\n"
    f"Deploy the billing service with the API key {SECRETS['sk- key']} in the environment.\n\n"
    f"The AWS access key for backups is {SECRETS['AWS key']}.\n\n"
    f"The release pipeline pushes tags with the GitHub token {SECRETS['GitHub token']} every Friday.\n\n"
    f"The router console uses pwd: {SECRETS['pwd:']} today.\n"
)


def _leaks(text: str) -> int:
    return sum(text.count(s) for s in SECRETS.values())


def _row(attack: str, outcome: str, ok: bool) -> dict:
    return {"attack": attack, "outcome": outcome, "ok": bool(ok)}


def _settings(root: Path, **kw) -> Settings:
    return Settings(_env_file=None, data_dir=root / "data", index_dir=root / "index", **kw)


def _snapshot(folder: Path) -> str:
    h = hashlib.sha1()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def redaction(root: Path, embedder) -> list[dict]:
    docs = root / "docs"
    docs.mkdir(parents=True)
    (docs / "runbook.md").write_text(RUNBOOK)
    (docs / "public.md").write_text("# Office\n\nThe office plants are watered every 7 days by facilities.\n")
    rows = []
    with build_app(_settings(root, cache_enabled=True), embedder=embedder) as qa:
        qa.library.add_paths([docs], [Strategy.SENTENCE])
        opts = AskOptions(strategy=Strategy.SENTENCE, judge=False)
        shown = 0
        for q in ("What is the staging database password?", "Which API key does billing use?",
                  "How does the release pipeline push tags?"):  # fmt: skip
            shown += _leaks(json.dumps(qa.answerer.answer(q, options=opts).to_dict(), ensure_ascii=False))
        rows.append(_row("secrets in a document (answer, sources, citations)", f"{shown} secrets shown", shown == 0))
        off = qa.answerer.answer("Who won the 2018 FIFA World Cup?", options=opts)
        n = _leaks(json.dumps(off.to_dict(), ensure_ascii=False))
        rows.append(_row("off-topic question over that document", f"{off.mode}, {n} secrets in its sources",
                         off.mode == "refused" and n == 0))  # fmt: skip
        key = "sk-live-QUESTIONKEY0123456789abcdef"
        typed = qa.answerer.answer(f"my key is {key}, what is watered every 7 days?", options=opts)
        cache = json.dumps(qa.store.collection("cache").get(include=["documents", "metadatas"]), ensure_ascii=False)
        echoed = json.dumps(typed.to_dict()).count(key)
        rows.append(_row("key typed into a question", f"echoed {echoed}x, in the cache {cache.count(key)}x",
                         echoed == 0 and key not in cache))  # fmt: skip
        rows.append(_row("secrets stored in the answer cache", f"{_leaks(cache)} secrets in the cache collection",
                         _leaks(cache) == 0))  # fmt: skip
        q = "How often is it done?"
        qa.answerer.answer(q, options=AskOptions(strategy=Strategy.SENTENCE, judge=False, documents=["public.md"]))
        other = qa.answerer.answer(
            q, options=AskOptions(strategy=Strategy.SENTENCE, judge=False, documents=["runbook.md"])
        )
        files = {s.chunk.source for s in other.sources}
        outcome = f"cached={other.cached}, sources {sorted(files)}"
        ok = not other.cached and files <= {"runbook.md"}
        rows.append(_row("ask --doc A after the same question on doc B", outcome, ok))
    return rows


def broken_stores(root: Path, embedder) -> list[dict]:
    good = root / "good"
    with build_app(_settings(good), embedder=embedder) as qa:
        qa.library.add_paths([SAMPLES / "company_handbook.txt"], [Strategy.SENTENCE])
    rows = []

    def zero(db: Path) -> None:
        db.write_bytes(b"")

    def corrupt(db: Path) -> None:
        with db.open("r+b") as fh:
            fh.seek(8192)
            fh.write(os.urandom(64 * 1024))

    def truncated(db: Path) -> None:
        os.truncate(db, db.stat().st_size // 2)

    def gone(db: Path) -> None:
        db.unlink()

    def read_only(db: Path) -> None:
        for p in [db.parent, *db.parent.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)

    cases = [("0-byte chroma.sqlite3", zero), ("corrupt chroma.sqlite3 (malformed pages)", corrupt),
             ("truncated chroma.sqlite3", truncated), ("chroma.sqlite3 deleted, vectors left", gone)]  # fmt: skip
    if os.geteuid() != 0:  # root ignores file modes; the tests use a read-only bind mount instead
        cases.append(("read-only index folder", read_only))
    for label, breakage in cases:
        root_case = root / label.split()[0].replace("/", "")
        shutil.copytree(good, root_case)
        breakage(root_case / "index" / "chroma" / "chroma.sqlite3")
        before = _snapshot(root_case / "index")
        try:
            with build_app(_settings(root_case), embedder=embedder) as qa:
                qa.library.documents()
            outcome, ok = "opened (not refused)", False
        except StoreUnavailable as exc:
            said = str(exc).replace(str(root_case / "index" / "chroma"), "<index>").split(";")[0].split(" (")[0]
            outcome, ok = f"refused: {said}", True
        changed = _snapshot(root_case / "index") != before
        rows.append(_row(label, outcome + ("; files CHANGED" if changed else "; nothing changed"), ok and not changed))
    return rows


def web_and_files(root: Path, embedder) -> list[dict]:
    os.environ["GRADIO_TEMP_DIR"] = str(root / "index" / "tmp")  # as ui.web.launch sets it
    import gradio as gr
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    from ui.callbacks import Callbacks
    from ui.uploads import UploadGuard

    rows = []
    with build_app(_settings(root), embedder=embedder) as qa:
        cb = Callbacks(qa)
        temp = root / "index" / "tmp" / "abc123"
        temp.mkdir(parents=True)
        upload = temp / "handbook.txt"
        shutil.copy(SAMPLES / "company_handbook.txt", upload)
        refused = temp / "bomb.pdf"
        refused.write_bytes(b"%PDF-1.7\nnot a pdf")
        list(cb.upload([str(upload), str(refused)], "sentence", progress=lambda *a, **k: None))
        left = [p.name for p in (root / "index" / "tmp").rglob("*") if p.is_file()]
        rows.append(_row("upload temp copies (one ingested, one refused)", f"{len(left)} left in Gradio's temp dir",
                         not left))  # fmt: skip
        guard = UploadGuard(None, str(root / "index" / "tmp"), [str(root / "index" / "uploads")])
        stored = qa.store.get_document("handbook.txt").path
        served = [guard._refused(str(upload)), guard._refused(stored)]
        rows.append(_row("/gradio_api/file= on an upload and on the stored copy", "403" if all(served) else "served",
                         all(served)))  # fmt: skip
        docs = cb.documents()
        rows.append(_row("/documents", f"keys {sorted(docs[0])}", "path" not in docs[0]))
        try:
            cb.api_ask("anything", None, {"k": "many"})
            outcome, ok = "answered", False
        except gr.Error as exc:
            outcome, ok = f"error: {exc.message[:60]}", "Traceback" not in exc.message
        rows.append(_row("/ask with k='many'", outcome, ok))

        folder = root / "names"
        folder.mkdir()
        (folder / "evil\x1b[2J\x1b[31mname.md").write_text("# A\n\nEscapes in a file name.\n")
        (folder / "invoice\u202etxt.md").write_text("# B\n\nA bidi override in a file name.\n")
        (folder / "copy.txt").write_bytes((SAMPLES / "company_handbook.txt").read_bytes())
        (folder / "photo.png").write_bytes(b"\x89PNG not really")
        writer = PdfWriter(clone_from=str(SAMPLES / "heat_pumps.pdf"))
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
            {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
        )
        buffer = io.BytesIO()
        writer.write(buffer)
        (folder / "scripted.pdf").write_bytes(buffer.getvalue())
        reports = {r.source: r for r in qa.library.add_paths([folder], [Strategy.SENTENCE])}
        names = sorted(reports)
        clean = all("\x1b" not in n and "\u202e" not in n for n in names)
        rows.append(_row("escape sequences / bidi override in file names", f"stored as {names[:2]}", clean))
        js = reports["scripted.pdf"]
        rows.append(_row("PDF with JavaScript (OpenAction)", f"{js.status}, warning: {js.warnings[-1][:45]}…",
                         js.status == "ingested" and "JavaScript" in " ".join(js.warnings)))  # fmt: skip
        dup = reports["copy.txt"]
        rows.append(
            _row("byte-identical duplicate", f"{dup.status} ({'; '.join(dup.warnings)})", dup.status == "skipped")
        )
        png = reports["photo.png"]
        rows.append(
            _row("unsupported file in a folder", f"{png.status} ({png.warnings[0][:30]}…)", png.status == "skipped")
        )
    return rows


def run_attacks(root: Path, embedder) -> list[dict]:
    root.mkdir(parents=True, exist_ok=True)
    return [
        *redaction(root / "redaction", embedder),
        *broken_stores(root / "stores", embedder),
        *web_and_files(root / "web", embedder),
    ]
