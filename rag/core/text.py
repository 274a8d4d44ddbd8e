"""Text rules shared by every layer: script detection, content words, folding and stopwords.

Citations, the judge, the semantic cache, the lexical index and the evaluation must agree on what a
content word is and which script a text is in, so these rules exist once, here.
"""

from __future__ import annotations

import hashlib
import re

# Hangul (jamo, compatibility jamo, syllables, extended), Kana, Han (CJK unified, extension A,
# compatibility) and half-width Katakana: the scripts an English-only embedder cannot read and
# whitespace does not tokenise.
CJK_RANGES = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\uff66-\uff9f"
)
CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
CJK_RUN = re.compile(f"[{CJK_RANGES}]+")


def cjk_share(text: str) -> float:
    """Share of the letters in `text` that are Hangul, Han or Kana: how far an English-only embedder is
    out of its depth on this text (the retriever lowers the dense weight for such questions)."""
    letters = sum(ch.isalpha() for ch in text)
    if not letters:
        return 0.0
    return sum(len(m.group()) for m in CJK_RUN.finditer(text)) / letters


def text_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
