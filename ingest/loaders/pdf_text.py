"""Clean-up of what pypdf hands back: page text and the metadata title.

Page text: `\\r\\n`/`\\r` -> `\\n`, TAB -> space, NUL/control characters and soft hyphens dropped, ligatures
spelled out, runs of spaces collapsed, trailing spaces and 3+ blank lines trimmed (ingest/loaders/pdf.py says
why line-break hyphens stay). Titles: producers fill /Title with file names, accession numbers, template
names and "Microsoft Word - x.docx"; only something that reads like a title is kept, else the file name is.
"""

from __future__ import annotations

import re

_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st"}
_PDF_TABLE = str.maketrans(
    {
        **{chr(c): None for c in range(32) if chr(c) not in "\t\n\r\f\v"},
        "\x7f": None,
        "\t": " ",
        "\r": "\n",
        "\f": "\n",
        "\v": "\n",
        "\u00ad": None,  # soft hyphen
        "\ufb06": "st",
        **_LIGATURES,
    }
)
_INNER_SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")
_TRAILING_SPACES = re.compile(r"[ ]+(?=\n)")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_pdf_text(raw: str) -> str:
    text = raw.replace("\r\n", "\n").translate(_PDF_TABLE)
    text = _INNER_SPACES.sub(" ", text)
    text = _TRAILING_SPACES.sub("", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def clean_title(raw: str) -> str | None:
    """`raw` as a one-line title when it looks like a real one, not 'Untitled' or 'Microsoft Word - x.docx'."""
    title = " ".join("".join(c for c in raw if c.isprintable() or c == " ").split())
    low = title.lower()
    if not 3 <= len(title) <= 200 or sum(c.isalpha() for c in title) < 2 or "\ufffd" in title:
        return None
    if _JUNK_TITLE.search(low) or _FILE_NAME_TITLE.search(low) or _SLUG_TITLE.fullmatch(low):
        return None
    return title


_JUNK_TITLE = re.compile(
    r"^(untitled|title|document|no title|none|unknown|slide \d+|\(anonymous\))$|\buntitled\b|\btemplate\b"
    r"|^microsoft (word|powerpoint|excel) - |양식$"
)
_FILE_NAME_TITLE = re.compile(r"\.(docx?|pdf|tex|dvi|e?ps|indd|odt|rtf|pptx?|xlsx?|qxd|txt|html?|md)$")
_SLUG_TITLE = re.compile(r"[a-z0-9]+(?:[-_.][a-z0-9]+)+")
