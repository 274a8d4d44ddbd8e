"""PDF: pypdf opens and vets the file, PDFium reads each page's text; metadata title and page warnings.

The content decides, not only the name: a `.pdf` must carry a `%PDF-` header. pypdf opens the file
(encryption, the page tree, the title, JavaScript, the repairs it logs while reading a damaged file) and
every failure there is a `LoadError` with a one-line reason. Page text comes from PDFium
(ingest/loaders/pdf_pdfium.py): ~7 ms a page against pypdf's ~60-100, which made pypdf the largest cost of
an ingest after the embedder (long_en: 49 s of reading for 872 pages, 2.2 s with PDFium), and PDFium keeps
the spaces pypdf drops on LaTeX PDFs. pypdf's text is the fallback: for a file PDFium cannot open, a page
it fails on or finds no text on, and a page whose PDFium text still reads badly (words run together,
glued footnote digits), where the better-scoring text that keeps the page's characters wins. A failure
on one page becomes that page's warning; only a file where every page fails is rejected. A page without a
text layer is read by OCR when Tesseract is installed (ingest/loaders/ocr.py).
Words hyphenated across a line break ("exam-\\nple")
are kept as they are: without a dictionary a line-break hyphen cannot be told from a real one
("high-\\nlevel"), and a wrong join corrupts a real word, while an unjoined split only costs a little
recall on that one word.

Importing this module imports pypdf (~200 ms); the registry imports it only when a PDF is loaded.
"""

from __future__ import annotations

import contextvars
import io
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdf
from pypdf import PdfReader
from pypdf import errors as pdf_errors

from ingest import quality
from ingest.loaders import ocr, pdf_pdfium
from ingest.loaders.common import Extracted, make_page
from ingest.loaders.errors import CorruptFile, EmptyDocument, EncryptedPdf, LoadError, TooLarge, WrongContent
from ingest.loaders.errors import one_line as _one_line
from ingest.loaders.errors import reason as _reason
from ingest.loaders.pdf_text import clean_title, normalize_pdf_text
from rag.core.types import Page

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


# False while reading a file again after PDFium crashed the worker on it (ingest/sandbox.py): a C library
# that runs out of memory aborts the process, where pypdf raises MemoryError and gets a specific reason.
_USE_PDFIUM: contextvars.ContextVar[bool] = contextvars.ContextVar("docqa_use_pdfium", default=True)


@contextmanager
def pypdf_only() -> Iterator[None]:
    """Read PDFs in this block with pypdf alone (PDFium is not opened)."""
    token = _USE_PDFIUM.set(False)
    try:
        yield
    finally:
        _USE_PDFIUM.reset(token)


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
    """The metadata title when it looks like a real title (ingest/loaders/pdf_text.py), else None."""
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


class _Pdfium:
    """The file's PDFium document, opened once on first use; None when PDFium refuses the file (pypdf
    then reads every page)."""

    def __init__(self, data: bytes | None) -> None:
        self.data = data
        self._document = None
        self.refused: str | None = None if _USE_PDFIUM.get() else "PDFium is off for this file"

    @classmethod
    def of(cls, reader: PdfReader) -> _Pdfium:
        stream = getattr(reader, "stream", None)
        return cls(stream.getvalue() if isinstance(stream, io.BytesIO) else None)

    def document(self):
        if self._document is None and self.data is not None and self.refused is None:
            try:
                self._document = pdf_pdfium.open_document(self.data)
            except Exception as exc:  # pypdf opened it, so pypdf reads it
                self.refused = _reason(exc)
        return self._document

    def page_text(self, index: int) -> str | None:
        """PDFium's text of a page, or None when PDFium cannot give it."""
        document = self.document()
        if document is None:
            return None
        try:
            return pdf_pdfium.page_text(document, index)
        except Exception:
            return None


def extract_page(reader: PdfReader, index: int) -> Page:
    """Page `index` (0-based) as a `Page` numbered index + 1, with its quality warnings (no OCR)."""
    return _extract(reader, index, _Pdfium.of(reader))[0]


def _pypdf_text(reader: PdfReader, index: int) -> str:
    return normalize_pdf_text(reader.pages[index].extract_text() or "")


def _extract(reader: PdfReader, index: int, pdfium: _Pdfium) -> tuple[Page, list[quality.Issue]]:
    number = index + 1
    text = pdfium.page_text(index)
    from_pdfium = bool(text and text.strip())
    if not from_pdfium:  # refused, or no text: pypdf finds text PDFium skips on some pages
        try:
            text = _pypdf_text(reader, index)
        except Exception as exc:  # one bad page must not sink the document (nor hide why it failed)
            issues = [quality.Issue(quality.EXTRACTION_FAILED, _reason(exc))]
            return make_page(number, "", issues), issues
    non_space = len(text) - text.count(" ") - text.count("\n")
    if non_space == 0:
        issues = [quality.check_empty_page(_page_has_images(reader, index))]
    elif non_space < quality.LITTLE_TEXT_CHARS and _page_has_images(reader, index):
        issues = [quality.Issue(quality.LITTLE_TEXT)]
    else:
        if from_pdfium and pdf_pdfium.needs_second(text):
            try:
                other = _pypdf_text(reader, index)
            except Exception:  # pypdf failing where PDFium read: keep PDFium's text
                other = ""
            if other and pdf_pdfium.choose(text, other):
                text = other
        issues = quality.check_text(text)
    return make_page(number, text, issues), issues


def _page_has_images(reader: PdfReader, index: int) -> bool:
    try:
        return _has_images(reader.pages[index])
    except Exception:
        return False


def read_pdf_pages(path: str | Path, numbers: Iterable[int] | None = None) -> list[Page]:
    """Extract selected 1-based pages (all by default) exactly as `load_document` does: for tools and tests."""
    data = Path(path).read_bytes()
    reader, pdfium = open_pdf(data), _Pdfium(data)  # one PDFium document for all the pages asked for
    indexes = range(len(reader.pages)) if numbers is None else [n - 1 for n in numbers]
    return [_extract(reader, i, pdfium)[0] for i in indexes]


def load(data: bytes, path: Path, *, max_pages: int | None) -> Extracted:
    """The registry's entry for `.pdf` (see ingest/loaders/__init__.py)."""
    with _pdf_log() as log:
        reader = open_pdf(data)
        count = len(reader.pages)
        if count == 0:
            raise EmptyDocument("the PDF has no pages")
        if max_pages is not None and count > max_pages:
            raise TooLarge(f"{count} pages, over the limit of {max_pages}")
        title = pdf_title(reader)
        script = pdf_javascript(reader)
        pdfium = _Pdfium(data)
        pages: list[Page] = []
        issues: list[list[quality.Issue]] = []
        for i in range(count):
            page, page_issues = _extract(reader, i, pdfium)
            pages.append(page)
            issues.append(page_issues)
    failed = [i[0] for i in issues if i and i[0].kind == quality.EXTRACTION_FAILED]
    if len(failed) == count:
        raise CorruptFile(f"unreadable PDF: text extraction failed on every page ({failed[0].detail})")
    warnings = _ocr_scanned(pages, issues, pdfium)
    if not any(p.text for p in pages):
        why = "no extractable text (scanned PDF without a text layer?)"
        if warnings and ocr.INSTALL_HINT in warnings[0]:
            raise EmptyDocument(f"{why}; OCR is not available: {ocr.INSTALL_HINT}")
        raise EmptyDocument(f"{why}; {warnings[0].partition(': ')[2]}" if warnings else why)
    if log.count:
        warnings.append(f"the PDF needed repairs while reading ({log.count} reader warnings, first: {log.first})")
    if script:
        warnings.append(f"the PDF contains JavaScript ({script}); docqa only reads its text, but open it with care")
    return Extracted(pages, issues, title, warnings)


_JS_KEYS = ("/JS", "/JavaScript")
_JS_SCAN_LIMIT = 5000  # objects looked at: a crafted file cannot make the scan slow


def pdf_javascript(reader: PdfReader) -> str:
    """Where the PDF carries JavaScript ("document names, open action"), or "" when it has none found.

    Looks in the catalog's /Names tree, /OpenAction and /AA, and each page's /AA and annotation actions,
    walking at most _JS_SCAN_LIMIT objects; a damaged structure simply ends the search."""
    seen: set[int] = set()
    budget = [_JS_SCAN_LIMIT]

    def has_js(obj, depth: int = 0) -> bool:
        if budget[0] <= 0 or depth > 12:
            return False
        budget[0] -= 1
        try:
            ref = getattr(obj, "idnum", None)
            if ref is not None:
                if ref in seen:
                    return False
                seen.add(ref)
            obj = obj.get_object() if hasattr(obj, "get_object") else obj
            if isinstance(obj, dict):
                if any(k in obj for k in _JS_KEYS) or obj.get("/S") == "/JavaScript":
                    return True
                return any(has_js(v, depth + 1) for k, v in obj.items() if k not in ("/Parent", "/P"))
            if isinstance(obj, list):
                return any(has_js(v, depth + 1) for v in obj)
        except Exception:  # a damaged object: nothing more to learn from it
            return False
        return False

    found: list[str] = []
    try:
        root = reader.trailer["/Root"].get_object()
        names = root.get("/Names")
        if names is not None and "/JavaScript" in names.get_object():
            found.append("document names")
        for key, label in (("/OpenAction", "open action"), ("/AA", "document actions")):
            if key in root and has_js(root[key]):
                found.append(label)
        for page in list(reader.pages)[:200]:
            if ("/AA" in page and has_js(page["/AA"])) or ("/Annots" in page and has_js(page["/Annots"])):
                found.append("page actions")
                break
    except Exception:
        pass
    return ", ".join(found)


def _ocr_scanned(pages: list[Page], issues: list[list[quality.Issue]], pdfium: _Pdfium) -> list[str]:
    """Replace the text of pages without a text layer by OCR, in place; returns document warnings (why
    some scanned pages were not read). A page whose layer holds a few characters keeps them unless OCR
    finds more."""
    kinds = (quality.NO_TEXT_LAYER, quality.LITTLE_TEXT)
    scanned = [i for i, found in enumerate(issues) if found and found[0].kind in kinds]
    if not scanned:
        return []
    numbers = [i + 1 for i in scanned]
    engine = ocr.tesseract()
    if engine is None:
        return [f"{quality.format_pages(numbers)}: scanned pages not read: OCR is not available; {ocr.INSTALL_HINT}"]
    document = pdfium.document()
    if document is None:
        why = f"PDFium cannot open the file ({pdfium.refused or 'no bytes'})"
        return [f"{quality.format_pages(numbers)}: scanned pages not read: {why}"]
    slowest = 0.0
    for n, i in enumerate(scanned):
        left = ocr.remaining()
        if left is not None and left < max(ocr.MIN_PAGE_S, 1.5 * slowest):
            return [
                f"{quality.format_pages(numbers[n:])}: scanned pages not read: the file's time limit ran out "
                "during OCR (raise DOCQA_FILE_TIMEOUT_S to read them)"
            ]
        started = time.monotonic()
        try:
            image = ocr.render(document, i)
            result = ocr.read_image(image, *engine, timeout_s=min(ocr.PAGE_TIMEOUT_S, left or ocr.PAGE_TIMEOUT_S))
        except ocr.OcrFailed as exc:
            issues[i] = [*issues[i], quality.Issue(quality.OCR_FAILED, str(exc))]
            pages[i] = make_page(i + 1, pages[i].text, issues[i])
            continue
        except Exception as exc:  # a page PDFium cannot render
            issues[i] = [*issues[i], quality.Issue(quality.OCR_FAILED, _reason(exc))]
            pages[i] = make_page(i + 1, pages[i].text, issues[i])
            continue
        finally:
            slowest = max(slowest, time.monotonic() - started)
        layer = pages[i].text
        if len("".join(result.text.split())) > len("".join(layer.split())):
            issues[i] = [quality.ocr_issue(result.confidence), *quality.check_text(result.text)]
            pages[i] = make_page(i + 1, result.text, issues[i], ocr_confidence=result.confidence)
        elif not layer:  # a photograph or a drawing: say so instead of "scanned?"
            issues[i] = [quality.Issue(quality.OCR_NO_TEXT)]
            pages[i] = make_page(i + 1, "", issues[i])
    return []
