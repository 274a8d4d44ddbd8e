"""Names that are safe to show and store: no terminal escape sequences, control or bidi characters.

A file name is chosen by whoever made the file. Printed raw, `report\x1b[2J.pdf` clears the user's
terminal and `invoice\u202efdp.exe` shows as "invoiceexe.pdf"; stored raw, they come back in every
listing. Every place that stores or shows a document name (rag.library.safe_name for uploads, the
ingest's folder keys, the CLI's tables) passes it through `printable_name`.
"""

from __future__ import annotations

import re
import unicodedata

# ANSI/VT escape sequences (CSI "ESC [ ... final", OSC "ESC ] ... BEL or ESC \", two-character ESC x)
# and their 8-bit forms: removed whole, so no "[2J" residue is left behind.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# Bidi embeddings, overrides and isolates, direction marks, zero-width characters and the BOM.
_INVISIBLE = "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"


def printable_name(text: str) -> str:
    """`text` without escape sequences, control characters (C0, C1, DEL) or bidi/zero-width format
    characters; a tab or newline becomes a space."""
    text = _ESCAPES.sub("", text or "")
    out = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
        elif ch in _INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
            continue
        else:
            out.append(ch)
    return "".join(out)
