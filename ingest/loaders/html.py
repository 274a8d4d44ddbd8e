"""HTML and HTM: the page's main text without its navigation, headings as sections; nothing is fetched.

lxml parses (it is already here for python-docx and python-hwpx, never touches the network: no DTDs, no
external entities, and nothing the page links to is read). Main-text extraction was measured against
trafilatura, readability-lxml, resiliparse, jusText and plain tag stripping (README, "Formats and OCR"):
the article extractors lost real content (readability dropped whole option-reference sections of a manual,
trafilatura dropped headings and code lines and escapes its Markdown), so the rule here is the simple one
that kept 99.8 % of the main text with the least navigation:

1. drop what is never text (script, style, template, svg, iframe, forms) and the landmarks that are
   navigation by definition (nav, header, footer, aside and their ARIA roles, hidden elements);
2. read `<main>` (or the one `<article>`) when the page has it;
3. drop any remaining list, table or block that is mostly link text (link density > 0.5): menus, tables of
   contents, "previous / next" bars and link farms, which is what navigation is on pages without landmarks.

Encoding: a byte-order mark, else a `<meta charset>` in the first 4 KB, else text detection as for .txt
files (UTF-8, then charset-normalizer), so a binary file renamed .html is refused, not indexed.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from ingest.loaders.blocks import PageBuilder
from ingest.loaders.common import Extracted
from ingest.loaders.errors import CorruptFile
from ingest.loaders.pdf_text import clean_title
from ingest.loaders.text import decode_text

_NEVER_TEXT = ("script", "style", "template", "noscript", "iframe", "frame", "object", "embed", "svg", "math",
               "canvas", "form", "button", "select", "textarea", "input", "head")  # fmt: skip
_NAVIGATION = ("nav", "header", "footer", "aside", "menu")
_NAV_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "toolbar")
_HIDDEN = (
    "//*[@hidden or @aria-hidden='true' or contains(translate(@style,' ',''),'display:none')"
    + "".join(f" or @role='{r}'" for r in _NAV_ROLES)
    + "]"
)
LINK_DENSITY_MAX = 0.5
LINK_BLOCK_MAX_WORDS = 400  # a longer block is content that links a lot (a reference list), not a menu
_LINK_BLOCKS = ("ul", "ol", "dl", "table", "div", "p", "section", "td", "center")
_BLOCKS = frozenset(("p", "div", "section", "article", "main", "li", "dt", "dd", "blockquote", "pre", "figure",
                     "figcaption", "address", "details", "summary", "table", "tr", "h1", "h2", "h3", "h4", "h5",
                     "h6", "ul", "ol", "dl", "hr", "body", "center"))  # fmt: skip
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_WHITESPACE = re.compile(r"\s+")


def decode_html(data: bytes) -> tuple[str, list[str]]:
    """The page as text: BOM, then a declared charset, then the text-file detection of ingest/loaders/text.py."""
    if not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        m = _META_CHARSET.search(data[:4096])
        if m:
            try:
                codec = codecs.lookup(m.group(1).decode("ascii"))
            except (LookupError, UnicodeDecodeError):
                codec = None
            if codec is not None and codec.name not in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
                text = data.decode(codec.name, errors="replace")
                warnings = [f"some characters are not valid {codec.name}"] if "\ufffd" in text else []
                return text.replace("\x00", ""), warnings
    return decode_text(data)


def load(data: bytes, path: Path, *, max_pages: int | None) -> Extracted:
    """The registry's entry for `.html` and `.htm` (see ingest/loaders/__init__.py); `max_pages` does not apply."""
    text, warnings = decode_html(data)
    import lxml.html  # lazy: the first HTML file pays for it
    from lxml import etree

    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, default_doctype=False)
    try:
        root = lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1) or " ", parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise CorruptFile(f"unreadable HTML ({exc})") from None
    title = _title(root)
    main = _main_text_root(root)
    builder = PageBuilder()
    _walk(main, builder)
    if title is None:
        title = next((clean_title(h.text_content().replace("\xa0", " ")) for h in main.iter("h1")), None)
    return builder.extracted(title, warnings, empty_reason="no text: the page has no readable main text")


def _title(root) -> str | None:
    for el in root.iter("title"):
        return clean_title(el.text_content().replace("\xa0", " "))
    return None


def _drop(el) -> None:
    if el.getparent() is not None:
        el.drop_tree()


def _main_text_root(root):
    """Steps 1-3 of the module docstring, on the parsed tree; returns the element to read."""
    for el in list(root.iter(*_NEVER_TEXT, *_NAVIGATION)):
        _drop(el)
    for el in root.xpath(_HIDDEN):
        _drop(el)
    for el in list(root.iter("a")):  # permalink anchors beside headings: '#', '§', '¶'
        label = el.text_content().strip()
        if label and len(label) <= 2 and not any(c.isalnum() for c in label):
            el.drop_tree()
    mains = root.xpath("//main | //*[@role='main']") or root.xpath("//article")
    node = mains[0] if len(mains) == 1 else root.find("body")
    node = root if node is None else node
    for el in list(node.iter(*_LINK_BLOCKS)):
        if el is node or el.getparent() is None:
            continue
        words = len(el.text_content().split())
        if not words or words >= LINK_BLOCK_MAX_WORDS or el.find(".//pre") is not None:
            continue
        if _link_density(el, words) > LINK_DENSITY_MAX:
            _drop(el)
    return node


def _link_density(el, words: int) -> float:
    return sum(len(a.text_content().split()) for a in el.iter("a")) / words


def _walk(node, builder: PageBuilder) -> None:
    """Blocks in reading order: headings become sections, table rows lines, <pre> keeps its line breaks."""
    inline: list[str] = []

    def flush() -> None:
        if inline:
            builder.paragraph("".join(inline))
            inline.clear()

    def visit(el) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _HEADINGS:
            flush()
            builder.heading(el.text_content())
        elif tag == "table":
            flush()
            builder.table([c.text_content() for c in tr if c.tag in ("td", "th")] for tr in el.iter("tr"))
        elif tag == "pre":
            flush()
            builder.preformatted(el.text_content())
        elif tag == "br":
            inline.append("\n")
        elif tag == "img":
            pass  # alt texts are mostly file names and "logo"
        else:
            block = tag in _BLOCKS
            if block:
                flush()
            if el.text and tag:
                inline.append(_WHITESPACE.sub(" ", el.text))
            for child in el:
                visit(child)
                if child.tail:
                    inline.append(_WHITESPACE.sub(" ", child.tail))
            if block:
                flush()

    visit(node)
    flush()
