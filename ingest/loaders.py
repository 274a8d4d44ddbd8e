"""Turn a file (PDF, plain text, Markdown) into a `LoadedDocument`.

The file's content decides, not only its name: a `.pdf` must carry a `%PDF-` header, a `.txt`/`.md` must
decode to text. Every failure is a `LoadError` whose `str()` is a one-line reason fit to show a user.

Text normalisation (PDF pages): `\\r\\n`/`\\r` -> `\\n`, TAB -> space (pypdf puts TABs between words of
some PDFs), NUL/control characters and soft hyphens dropped, typographic ligatures (ﬁ, ﬂ, …) spelled
out, runs of spaces collapsed, trailing spaces and 3+ blank lines trimmed. Words hyphenated across a line
break ("exam-\\nple") are kept as they are: without a dictionary a line-break hyphen cannot be told from
a real one ("high-\\nlevel"), and a wrong join corrupts a real word, while an unjoined split only costs a
little recall on that one word. Text files keep their text (TABs included) apart from line endings.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdf
from pypdf import PdfReader
from pypdf import errors as pdf_errors

from ingest import quality
from ingest.pdf_text import clean_title, normalize_pdf_text
from ingest.textfiles import NotText, decode_text, markdown_headings
from rag.core.types import LoadedDocument, Page, PageSpan

SUPPORTED_SUFFIXES = {".pdf", ".txt", ".md", ".markdown"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
PAGE_SEPARATOR = "\n\n"
_MB = 1024 * 1024  # settings.max_file_mb is converted with the same factor


class LoadError(Exception):
    """A file that cannot be loaded; `str(exc)` is the one-line reason shown to users."""

    def __init__(self, reason: str) -> None:
        super().__init__(_one_line(reason))


class UnsupportedFileType(LoadError):
    """The file name's extension is not one docqa reads."""


class WrongContent(LoadError):
    """The content does not match the extension: a `.pdf` without a PDF header, a binary `.txt`."""


class EncryptedPdf(LoadError):
    """The PDF needs a password."""


class CorruptFile(LoadError):
    """The file is damaged or truncated, or the reader could not parse it."""


class EmptyDocument(LoadError):
    """Zero bytes, or no extractable text at all (e.g. a scanned PDF without a text layer)."""


class TooLarge(LoadError):
    """Over the byte or page limit."""


def _one_line(text: str, limit: int = 240) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(exc: BaseException) -> str:
    message = _one_line(str(exc), 160)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


# --------------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------------


def load_document(path: str | Path, *, max_bytes: int | None = None, max_pages: int | None = None) -> LoadedDocument:
    """Load one file. Raises a `LoadError` subclass with a user-facing reason on any failure."""
    return load_with_pages(path, max_bytes=max_bytes, max_pages=max_pages)[0]


def load_with_pages(
    path: str | Path, *, max_bytes: int | None = None, max_pages: int | None = None
) -> tuple[LoadedDocument, tuple[Page, ...]]:
    """Like `load_document`, also returning the `Page`s (with their page-level warnings)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        kind = f"'{suffix}'" if suffix else "(no file extension)"
        raise UnsupportedFileType(f"unsupported file type {kind}: supported are {supported}")
    data = _read_bytes(path, max_bytes)
    doc_id = hashlib.sha256(data).hexdigest()[:32]
    if suffix == ".pdf":
        pages, issues, meta_title, extra_warnings = _load_pdf(data, max_pages)
        title, file_type = meta_title or path.stem, "pdf"
    else:
        try:
            text, extra_warnings = decode_text(data)
        except NotText as exc:
            raise WrongContent(str(exc)) from None
        if not text.strip():
            raise EmptyDocument("no text: the file holds only whitespace")
        text = text.strip()
        sections: tuple[tuple[int, str], ...] = ()
        title, file_type = path.stem, "txt"
        if suffix in MARKDOWN_SUFFIXES:
            headings = markdown_headings(text)
            sections = tuple((offset, heading) for offset, _, heading in headings)
            title = next((h for _, level, h in headings if level == 1), path.stem)
            file_type = "md"
        issues = [quality.check_text(text)]
        pages = [Page(None, text, quality.page_warnings(None, issues[0]), sections)]
    doc = assemble(
        pages,
        issues,
        source=path.name,
        path=str(path.resolve()),
        doc_id=doc_id,
        title=title,
        file_type=file_type,
        extra_warnings=extra_warnings,
    )
    return doc, tuple(pages)


def assemble(
    pages: list[Page],
    issues: list[list[quality.Issue]],
    *,
    source: str,
    path: str,
    doc_id: str,
    title: str,
    file_type: str,
    extra_warnings: Iterable[str] = (),
) -> LoadedDocument:
    """Join pages with a blank line; page spans and section offsets point into the joined text."""
    spans: list[PageSpan] = []
    sections: list[tuple[int, str]] = []
    pos = 0
    for i, page in enumerate(pages):
        if i:
            pos += len(PAGE_SEPARATOR)
        spans.append(PageSpan(page.number, pos, pos + len(page.text)))
        sections.extend((pos + offset, heading) for offset, heading in page.sections)
        pos += len(page.text)
    warnings = quality.summarize(zip((p.number for p in pages), issues, strict=True))
    return LoadedDocument(
        source=source,
        path=path,
        doc_id=doc_id,
        title=title,
        text=PAGE_SEPARATOR.join(p.text for p in pages),
        pages=tuple(spans),
        sections=tuple(sections),
        warnings=tuple(dict.fromkeys([*warnings, *extra_warnings])),
        page_count=len(pages),
        file_type=file_type,
    )


def _read_bytes(path: Path, max_bytes: int | None) -> bytes:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise LoadError("not a regular file")
    except FileNotFoundError:
        raise LoadError("file not found") from None
    except PermissionError:
        raise LoadError("cannot read the file: permission denied") from None
    if size == 0:
        raise EmptyDocument("empty file")
    if max_bytes is not None and size > max_bytes:
        raise TooLarge(f"file is {size / _MB:.1f} MB, over the limit of {max_bytes / _MB:.3g} MB")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read the file: {exc.strerror or exc}") from None
    if not data:
        raise EmptyDocument("empty file")
    return data


# --------------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------------

_INLINE_IMAGE = re.compile(rb"(?:^|\s)BI\s")


class _PdfLog(logging.Handler):
    """Collects pypdf's logged warnings (repairs of damaged files) raised by this thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.count = 0
        self.first = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.count += 1
            self.first = self.first or _one_line(record.getMessage(), 100)


@contextmanager
def _pdf_log() -> Iterator[_PdfLog]:
    logger = logging.getLogger("pypdf")
    handler = _PdfLog()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


SANDBOX_PDF_ELEMENTS = 2_000_000  # 10x what Microsoft's 10-Q filings need (shared/data/qa/docugami_sec10q)


@contextmanager
def sandbox_pdf_limits() -> Iterator[None]:
    """pypdf's array/dictionary caps (100,000 elements) raised to `SANDBOX_PDF_ELEMENTS` in this block.

    Real filings pass 100,000 and were rejected as unsafe. In the loader sandbox the worker's memory and
    time limits bound a hostile file; a load outside it keeps pypdf's caps, since nothing else bounds it."""
    caps = {
        "array_maximum_element_count": SANDBOX_PDF_ELEMENTS,
        "dictionary_maximum_element_count": SANDBOX_PDF_ELEMENTS,
    }
    with pypdf.apply_configuration(**caps):
        yield


def open_pdf(data: bytes) -> PdfReader:
    """A reader over the bytes, decrypted with the empty password when needed, or a `LoadError`."""
    if b"%PDF-" not in data[:1024]:
        raise WrongContent("not a PDF: the file does not start with a %PDF- header")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except (pdf_errors.DependencyError, NotImplementedError) as exc:
                raise EncryptedPdf(f"encrypted PDF with unsupported encryption ({_reason(exc)})") from None
            except Exception:
                decrypted = 0
            if not decrypted:
                raise EncryptedPdf("encrypted PDF: a password is needed")
        len(reader.pages)  # walks the page tree: broken trees fail here, not halfway through
    except LoadError:
        raise
    except pdf_errors.FileNotDecryptedError:
        raise EncryptedPdf("encrypted PDF: a password is needed") from None
    except pdf_errors.PdfStreamError as exc:
        raise CorruptFile(f"damaged PDF (truncated or incomplete?): {_one_line(str(exc), 160)}") from None
    except pdf_errors.LimitReachedError as exc:
        raise CorruptFile(f"PDF exceeds a safety limit of the reader: {_one_line(str(exc), 160)}") from None
    except pdf_errors.PdfReadError as exc:
        raise CorruptFile(f"unreadable PDF: {_one_line(str(exc), 160)}") from None
    except RecursionError:
        raise CorruptFile("unreadable PDF: its object structure is nested too deeply (damaged?)") from None
    except Exception as exc:
        raise CorruptFile(f"unreadable PDF ({_reason(exc)})") from None
    return reader


def pdf_title(reader: PdfReader) -> str | None:
    """The metadata title when it looks like a real title (ingest/pdf_text.py), else None."""
    try:
        raw = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    return clean_title(str(raw)) if raw else None


def _has_images(page) -> bool:
    """Whether a page draws any image (XObject, nested form, or inline); used only for empty pages."""
    try:
        if _resources_have_images(page.get("/Resources"), 0):
            return True
        contents = page.get_contents()
        return bool(contents is not None and _INLINE_IMAGE.search(contents.get_data()))
    except Exception:
        return False


def _resources_have_images(resources, depth: int) -> bool:
    if resources is None or depth > 4:
        return False
    xobjects = resources.get_object().get("/XObject")
    if xobjects is None:
        return False
    for ref in xobjects.get_object().values():
        obj = ref.get_object()
        subtype = obj.get("/Subtype")
        if subtype == "/Image":
            return True
        if subtype == "/Form" and _resources_have_images(obj.get("/Resources"), depth + 1):
            return True
    return False


def extract_page(reader: PdfReader, index: int) -> Page:
    """Page `index` (0-based) as a `Page` numbered index + 1, with its quality warnings."""
    return _extract(reader, index)[0]


def _extract(reader: PdfReader, index: int) -> tuple[Page, list[quality.Issue]]:
    number = index + 1
    page = None
    try:
        page = reader.pages[index]
        text = normalize_pdf_text(page.extract_text() or "")
    except Exception as exc:  # one bad page must not sink the document
        issues = [quality.Issue(quality.EXTRACTION_FAILED, _reason(exc))]
        return Page(number, "", quality.page_warnings(number, issues)), issues
    non_space = len(text) - text.count(" ") - text.count("\n")
    if non_space == 0:
        issues = [quality.check_empty_page(_has_images(page))]
    elif non_space < quality.LITTLE_TEXT_CHARS and _has_images(page):
        issues = [quality.Issue(quality.LITTLE_TEXT)]
    else:
        issues = quality.check_text(text)
    return Page(number, text, quality.page_warnings(number, issues)), issues


def read_pdf_pages(path: str | Path, numbers: Iterable[int] | None = None) -> list[Page]:
    """Extract selected 1-based pages (all by default) exactly as `load_document` does: for tools and tests."""
    reader = open_pdf(Path(path).read_bytes())
    indexes = range(len(reader.pages)) if numbers is None else [n - 1 for n in numbers]
    return [extract_page(reader, i) for i in indexes]


def _load_pdf(
    data: bytes, max_pages: int | None
) -> tuple[list[Page], list[list[quality.Issue]], str | None, list[str]]:
    with _pdf_log() as log:
        reader = open_pdf(data)
        count = len(reader.pages)
        if count == 0:
            raise EmptyDocument("the PDF has no pages")
        if max_pages is not None and count > max_pages:
            raise TooLarge(f"{count} pages, over the limit of {max_pages}")
        title = pdf_title(reader)
        pages: list[Page] = []
        issues: list[list[quality.Issue]] = []
        for i in range(count):
            page, page_issues = _extract(reader, i)
            pages.append(page)
            issues.append(page_issues)
    failed = [i[0] for i in issues if i and i[0].kind == quality.EXTRACTION_FAILED]
    if len(failed) == count:
        raise CorruptFile(f"unreadable PDF: text extraction failed on every page ({failed[0].detail})")
    if not any(p.text for p in pages):
        raise EmptyDocument("no extractable text (scanned PDF without a text layer?)")
    warnings = []
    if log.count:
        warnings.append(f"the PDF needed repairs while reading ({log.count} reader warnings, first: {log.first})")
    return pages, issues, title, warnings
