"""The loader registry (ingest/loaders/__init__.py): which suffixes it reads, how an unknown one is
refused, that a new format is one `Format` line (added here to a copy, never to the global registry),
and that importing the package stays free of the reader libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ingest import loaders, quality
from ingest.loaders import (
    REGISTRY,
    SUPPORTED_SUFFIXES,
    Extracted,
    Format,
    LoadError,
    TooLarge,
    UnsupportedFileType,
    WrongContent,
    by_suffix,
    format_for,
    load_document,
    load_with_pages,
    supported_types,
)
from ingest.loaders import errors as load_errors
from ingest.loaders.common import make_page
from tests.conftest import REPO
from tests.integration.test_loaders import assert_consistent


def load_csv(data: bytes, path: Path, *, max_pages: int | None) -> Extracted:
    """A tiny format for the tests: one page per row, the header row as the title."""
    lines = data.decode("utf-8").splitlines()
    if not lines or "," not in lines[0]:
        raise WrongContent("not CSV: the first line has no comma")
    rows = lines[1:]
    if max_pages is not None and len(rows) > max_pages:
        raise TooLarge(f"{len(rows)} rows, over the limit of {max_pages}")
    issues = [quality.check_text(row) for row in rows]
    pages = [
        make_page(i + 1, row.replace(",", " "), found) for i, (row, found) in enumerate(zip(rows, issues, strict=True))
    ]
    return Extracted(pages, issues, title=lines[0].replace(",", " / "), warnings=["read as CSV"])


CSV = Format("CSV", (".csv",), "csv", "tests.unit.test_loader_registry:load_csv")


def test_registry_covers_exactly_the_supported_suffixes():
    claimed = [s for fmt in REGISTRY for s in fmt.suffixes]
    assert len(claimed) == len(set(claimed)), "a suffix is claimed twice"
    assert set(claimed) == SUPPORTED_SUFFIXES
    assert {s: format_for(f"x{s.upper()}").file_type for s in SUPPORTED_SUFFIXES} == {
        ".pdf": "pdf",
        ".txt": "txt",
        ".md": "md",
        ".markdown": "md",
        ".docx": "docx",
        ".html": "html",
        ".htm": "html",
        ".hwp": "hwp",
        ".hwpx": "hwpx",
    }
    for fmt in REGISTRY:
        assert callable(fmt.loader()), fmt  # every entry names a function that exists


def test_unknown_suffix_names_every_supported_type(tmp_path):
    path = tmp_path / "deck.pptx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(UnsupportedFileType) as info:
        load_document(path)
    assert str(info.value) == (
        "unsupported file type '.pptx': supported are .docx, .htm, .html, .hwp, .hwpx, .markdown, .md, .pdf, .txt"
    )
    with pytest.raises(UnsupportedFileType, match=r"'\.pptx': supported are \.csv, \.docx, \.htm"):
        load_with_pages(path, registry=(*REGISTRY, CSV))


def test_a_new_format_is_one_registry_entry(tmp_path):
    path = tmp_path / "prices.CSV"
    path.write_text("item,price\napple,1\npear,2\n", encoding="utf-8")
    registry = (*REGISTRY, CSV)

    doc, pages = load_with_pages(path, registry=registry)
    assert_consistent(doc, pages)
    assert (doc.file_type, doc.title, doc.page_count) == ("csv", "item / price", 2)
    assert doc.text == "apple 1\n\npear 2" and [p.number for p in doc.pages] == [1, 2]
    assert doc.warnings == ("read as CSV",) and doc.source == "prices.CSV"

    # What common.py does for every format applies to the new one too.
    with pytest.raises(TooLarge, match="2 rows, over the limit of 1"):
        load_with_pages(path, max_pages=1, registry=registry)
    with pytest.raises(TooLarge, match="MB, over the limit"):
        load_with_pages(path, max_bytes=5, registry=registry)
    path.write_text("no comma here\n", encoding="utf-8")
    with pytest.raises(WrongContent, match=r"^not CSV"):
        load_with_pages(path, registry=registry)

    # The global registry is untouched.
    with pytest.raises(UnsupportedFileType):
        load_document(path)
    assert ".csv" not in SUPPORTED_SUFFIXES


def test_a_registry_that_claims_a_suffix_twice_or_misspells_one_is_refused():
    with pytest.raises(ValueError, match=r"\.txt is claimed by both TXT and Notes"):
        by_suffix((*REGISTRY, Format("Notes", (".txt",), "txt", "tests.unit.test_loader_registry:load_csv")))
    with pytest.raises(ValueError, match="lower case and start with a dot"):
        by_suffix((Format("CSV", ("CSV",), "csv", "tests.unit.test_loader_registry:load_csv"),))


def test_supported_types_for_help_texts():
    assert supported_types() == "PDF, TXT, Markdown, Word, HTML, HWP or HWPX"
    assert supported_types(suffixes=True) == (
        "PDF (.pdf), TXT (.txt), Markdown (.md, .markdown), Word (.docx), HTML (.html, .htm), "
        "HWP (.hwp) or HWPX (.hwpx)"
    )
    assert supported_types((*REGISTRY, CSV)) == "PDF, TXT, Markdown, Word, HTML, HWP, HWPX or CSV"
    assert supported_types((CSV,)) == "CSV"


def test_error_classes_cross_the_sandbox_boundary_by_name():
    family = [c for c in vars(load_errors).values() if isinstance(c, type) and issubclass(c, LoadError)]
    assert len(family) == 8
    for cls in family:
        assert load_errors.error_type(cls.__name__) is cls
        assert getattr(loaders, cls.__name__) is cls  # still importable from ingest.loaders
    for hostile in ("ValueError", "sandbox_pdf_limits", "pdf", None, 3):
        assert load_errors.error_type(hostile) is LoadError


def test_importing_the_registry_imports_no_reader_library():
    probe = (
        "import sys\n"
        "import ingest.loaders as L\n"
        "heavy = {'pypdf', 'charset_normalizer'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "L.SUPPORTED_SUFFIXES, L.supported_types(), L.LoadError\n"
        "assert 'pypdf' not in sys.modules\n"
        "L.sandbox_pdf_limits\n"
        "assert 'pypdf' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
