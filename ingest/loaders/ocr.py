"""OCR for PDF pages without a text layer: PDFium (pypdfium2) renders the page, the Tesseract binary reads it.

Tesseract is Debian's (`tesseract-ocr`, `-eng`, `-kor`; `make ocr` installs them). It is run as a program,
not through pytesseract: pytesseract does the same (a temporary image file and a `tesseract` process per
page) and measured no faster (README, "Formats and OCR"), while calling it directly keeps the timeout,
the environment and the output files in our hands. One run writes both the plain text (`txt`: Tesseract
joins Korean syllables into words there, while its TSV splits them) and the word confidences (`tsv`).

Rendering: `DPI` 200 read the samples as well as 300 (every word of the English test pages) in ~60 % of
the time; the rendered image is capped at `MAX_PIXELS` so a poster-sized page cannot exhaust memory.
Tesseract runs single-threaded (OMP_THREAD_LIMIT=1): the loader sandbox runs two workers on this kind of
machine, and OpenMP threads on top of that only made each page slower.

Time: OCR runs inside the loader worker, under the file's wall-clock limit (DOCQA_FILE_TIMEOUT_S). The
worker sets a budget of `BUDGET_SHARE` of that limit (`time_budget`); a PDF's pages are read in order
while enough budget is left for another page, and the pages after that are reported as not read, so a
long scanned PDF loads its first pages instead of timing out as a whole. Each Tesseract run also has its
own timeout, and the worker is killed with its process group, so no Tesseract outlives a killed worker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DPI = 200
MAX_PIXELS = 40_000_000  # ~A0 at 100 dpi; an A4 page at 200 dpi is 3.9 M
LANGUAGES = ("eng", "kor")
PAGE_TIMEOUT_S = 120.0
BUDGET_SHARE = 0.8  # of the file's time limit; the rest is for reading the PDF and sending the text back
MIN_PAGE_S = 5.0  # never start a page with less budget than this (or than the slowest page so far)
INSTALL_HINT = "install Tesseract to read them: `apt-get install tesseract-ocr tesseract-ocr-kor` or `make ocr`"

_deadline: float | None = None
_found: dict[str, tuple[str, str] | None] = {}


@dataclass(frozen=True)
class OcrText:
    text: str
    confidence: float  # 0..1, mean word confidence weighted by word length


class OcrFailed(Exception):
    """One page could not be read (Tesseract failed or timed out); the message says why."""


def tesseract() -> tuple[str, str] | None:
    """(binary, '+'-joined languages it has of `LANGUAGES`), or None when Tesseract is not installed.
    Looked up once per PATH, so a test (or a user) that changes PATH gets a fresh answer."""
    key = os.environ.get("PATH", "")
    if key not in _found:
        _found[key] = _lookup()
    return _found[key]


def _lookup() -> tuple[str, str] | None:
    binary = shutil.which("tesseract")
    if binary is None:
        return None
    try:
        listed = subprocess.run([binary, "--list-langs"], capture_output=True, timeout=30, env=_env()).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    have = set(listed.decode("utf-8", "replace").split())
    languages = [lang for lang in LANGUAGES if lang in have]
    return (binary, "+".join(languages)) if languages else None


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "OMP_THREAD_LIMIT": "1", "LC_ALL": "C"}


@contextlib.contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """OCR in this block stops starting pages once `seconds` (None: no limit) have passed."""
    global _deadline
    previous = _deadline
    _deadline = None if seconds is None else time.monotonic() + seconds
    try:
        yield
    finally:
        _deadline = previous


def remaining() -> float | None:
    """Seconds of OCR budget left, or None without a budget."""
    return None if _deadline is None else _deadline - time.monotonic()


def render(document, index: int) -> bytes:
    """Page `index` as a greyscale PGM image (Tesseract reads PNM; no image library needed)."""
    page = document[index]
    try:
        width, height = page.get_size()
        scale = min(DPI / 72, (MAX_PIXELS / max(width * height, 1.0)) ** 0.5)
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            pixels = bitmap.to_numpy()
            rows, cols = pixels.shape[0], pixels.shape[1]
            body = pixels.reshape(rows, cols, -1)[:, :, 0].tobytes()
        finally:
            bitmap.close()
    finally:
        page.close()
    return f"P5\n{cols} {rows}\n255\n".encode("ascii") + body


def read_image(image: bytes, binary: str, languages: str, timeout_s: float) -> OcrText:
    """Tesseract over one page image: its text and its confidence."""
    with tempfile.TemporaryDirectory(prefix="docqa-ocr-") as tmp:
        out = Path(tmp) / "page"
        try:
            done = subprocess.run(
                [binary, "stdin", str(out), "-l", languages, "--psm", "3", "txt", "tsv"],
                input=image,
                capture_output=True,
                timeout=timeout_s,
                env=_env(),
            )
        except subprocess.TimeoutExpired:
            raise OcrFailed(f"OCR timed out after {timeout_s:.0f} s") from None
        except OSError as exc:
            raise OcrFailed(f"could not run Tesseract ({exc.strerror or exc})") from None
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OcrFailed(f"Tesseract failed (exit status {done.returncode}{': ' + why[-1] if why else ''})")
        text = (out.with_suffix(".txt")).read_text(encoding="utf-8", errors="replace")
        tsv = (out.with_suffix(".tsv")).read_text(encoding="utf-8", errors="replace")
    return OcrText(_clean(text), _confidence(tsv))


def _clean(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\f", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _confidence(tsv: str) -> float:
    """Mean word confidence, weighted by word length (a confident long word says more than a '.')."""
    total = weight = 0.0
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or not cols[11].strip():
            continue
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        if conf >= 0:
            total += conf * len(cols[11].strip())
            weight += len(cols[11].strip())
    return total / weight / 100 if weight else 0.0
