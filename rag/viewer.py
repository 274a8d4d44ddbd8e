"""See the source: the cited page of a PDF as an image with the quote boxed, or for the text formats the
passage in its surrounding text with the quote marked.

A service beside the Library (same layer): it reads the document's registry record for the file it was
ingested from, then asks the PageRenderer (PDF) or the Loader (every other format) for the page. Front
ends call `DocQA.page_view`, so the web UI stays a thin view over a `PageView`.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from rag.core.pageview import PageView, find_quote
from rag.core.protocols import ChunkIndex, Loader, PageRenderer

CONTEXT_CHARS = 1400  # text shown on each side of the quote in the text view
TEXT_CACHE = 4  # documents whose loaded text is kept (paging through one file reloads nothing)


class SourceViewer:
    def __init__(self, store: ChunkIndex, renderer: PageRenderer, loader: Loader, max_bytes: int | None = None) -> None:
        self.store, self.renderer, self.loader, self.max_bytes = store, renderer, loader, max_bytes
        self._texts: OrderedDict[tuple[str, float], object] = OrderedDict()

    def view(self, source: str, page: int | None = None, quote: str = "") -> PageView:
        """The page `page` (1-based; the first when None) of document `source`, `quote` highlighted.
        Never raises for a user's click: a missing document or file comes back as kind "error"."""
        record = self.store.get_document(source) if source else None
        if record is None:
            return PageView(source, "error", page, quote=quote, error=f"No document named {source!r} in the library.")
        path = Path(record.path) if record.path else None
        if path is None or not path.is_file():
            return PageView(
                source, "error", page, quote=quote,
                error=f"The file {source} was read from is no longer there ({record.path or 'no path kept'}).",
            )  # fmt: skip
        if (record.file_type or path.suffix.lstrip(".")).lower() == "pdf":
            return self._pdf(source, path, page or 1, quote)
        return self._text(source, path, page, quote)

    def _pdf(self, source: str, path: Path, page: int, quote: str) -> PageView:
        try:
            image = self.renderer.render(str(path), page, quote)
        except (ValueError, OSError) as exc:
            return PageView(source, "error", page, quote=quote, error=str(exc))
        return PageView(source, "pdf", image.page, image.page_count, quote, image=image)

    def _load(self, path: Path):
        key = (str(path), path.stat().st_mtime)
        if key in self._texts:
            self._texts.move_to_end(key)
            return self._texts[key]
        document = self.loader(path, max_bytes=self.max_bytes)
        self._texts[key] = document
        while len(self._texts) > TEXT_CACHE:
            self._texts.popitem(last=False)
        return document

    def _text(self, source: str, path: Path, page: int | None, quote: str) -> PageView:
        try:
            document = self._load(path)
        except Exception as exc:  # a LoadError (or a worker failure): its message is the reason
            return PageView(source, "error", page, quote=quote, error=f"Could not read {source}: {exc}")
        text = document.text
        lo, hi = 0, len(text)
        spans = [p for p in document.pages if p.number == page] if page is not None else []
        if spans:  # look on the cited page first, then anywhere
            lo, hi = spans[0].start, spans[-1].end
        found = find_quote(text[lo:hi], quote)
        found = (found[0] + lo, found[1] + lo) if found is not None else find_quote(text, quote)
        centre_lo, centre_hi = found if found else (lo, lo)
        start = max(0, centre_lo - CONTEXT_CHARS)
        end = min(len(text), centre_hi + CONTEXT_CHARS)
        if start > 0 and (cut := text.find("\n", start, centre_lo)) >= 0:
            start = cut + 1  # begin at a line
        if end < len(text) and (cut := text.rfind("\n", centre_hi, end)) >= 0:
            end = cut
        spans_out = [(found[0] - start, found[1] - start)] if found else []
        pages = len({p.number for p in document.pages if p.number is not None})
        return PageView(
            source, "text", page, pages, quote, text=text[start:end], spans=spans_out,
            clipped_start=start > 0, clipped_end=end < len(text),
        )  # fmt: skip
