"""Detect text that speaks to the model: prompt injection in documents, jailbreaks in questions.

Documents are untrusted. A passage that says "ignore all previous instructions", opens a chat-role tag,
tries to close our `<source>` block or asks for secrets is not refused (it may be a document *about*
prompts) but flagged, so the prompt marks it and the user sees it. Questions are checked with the same
patterns plus jailbreak phrasings (rag/safety/filters.py decides what to do at each strictness level).

Each pattern has a name (shown in messages and tests) and a minimum level at which it applies to
questions: "low" patterns are unambiguous, "medium" ones are likely, "high" ones are merely suspicious.
Patterns cover English plus cheap translations of the most common phrasings (Korean, Japanese, Chinese,
Spanish, French, German). Matching is on NFKC-normalised text with zero-width characters removed, so
full-width letters and invisible joiners do not slip through.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LEVELS = ("off", "low", "medium", "high")
INJECTION_FLAG = "possible prompt injection"

_IGNORE = "ignore previous instructions"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_PREV = (
    r"(?:all\s+|any\s+|the\s+|your\s+|of\s+)*(?:previous|prior|above|earlier|preceding|former|original|initial|system)"
)
_ORDERS = r"(?:instructions?|directions?|prompts?|rules|guidelines|commands?|context|messages?|constraints)"
_SECRET = (
    r"(?:api[\s_-]*keys?|secret\s+keys?|secrets|passwords?|credentials|access\s+tokens?|auth(?:entication)?\s+tokens?"
    r"|(?:api|bearer|session)\s+tokens?|private\s+keys?|environment\s+variables|env\s+vars|openai_api_key|\.env\b)"
)


@dataclass(frozen=True)
class Pattern:
    name: str
    regex: re.Pattern[str]
    level: str = "low"  # lowest strictness level at which a *question* matching it is refused


def _p(name: str, pattern: str, level: str = "low") -> Pattern:
    return Pattern(name, re.compile(pattern, re.IGNORECASE | re.MULTILINE), level)


# Instructions aimed at the model: flagged in documents, refused in questions.
INJECTION_PATTERNS: tuple[Pattern, ...] = (
    _p(_IGNORE, rf"\b(?:ignore|disregard|forget|override|bypass|skip)\s+{_PREV}\s+{_ORDERS}"),
    _p(_IGNORE, r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)?(?:the\s+)?above\b"),
    _p(
        _IGNORE,
        rf"\b(?:ignore|disregard)\s+(?:all\s+|any\s+)?(?:your|the|these|those)\s+{_ORDERS}",
    ),
    _p("new instructions", r"\b(?:new|updated|real|actual)\s+system\s+(?:instructions?|prompt)\b"),
    _p("new instructions", r"\b(?:new|updated|real|actual)\s+instructions?\s*(?::|follow|are\b)", "high"),
    _p(
        "you are now",
        r"\byou\s+are\s+now\s+(?:an?\s+|the\s+|my\s+)?(?:(?-i:DAN)|AI|assistant|chatbot|bot|model"
        r"|language\s+model|unrestricted|jailbroken|uncensored|unfiltered|evil|no\s+longer\s+(?:bound|an?\s+AI"
        r"|restricted|limited|required\s+to))\b",
    ),
    _p("you are now", r"\byou\s+are\s+now\b", "high"),
    _p("role change", r"\b(?:from\s+now\s+on|henceforth),?\s+(?:you|act|respond|answer|behave)\b", "high"),
    _p(
        "system prompt",
        r"\b(?:reveal|print|show|repeat|output|display|leak|tell\s+me|give\s+me|what\s+is)\s+"
        r"(?:me\s+)?(?:your|the)\s+(?:full\s+|initial\s+|hidden\s+)?(?:system\s+prompt|instructions|rules)\b",
    ),
    _p("system prompt", r"\bsystem\s+prompt\b", "high"),
    _p(
        "secret request",
        rf"(?<!never\s)(?<!not\s)(?<!n't\s)\b(?:reveal|print|output|leak|expose|dump|display"
        rf"|(?:show|tell|give|send|list)\s+(?:me|us))\s+(?:the\s+|your\s+|all\s+|any\s+|our\s+)*"
        rf"(?:configured\s+|stored\s+|system\s+)?{_SECRET}",
    ),
    _p("role tag", r"^\s*(?:###\s*)?(?:system|assistant|developer)\s*:"),
    _p(
        "chat template token",
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>"
        r"|\[/?INST\]|<</?SYS>>",
    ),
    _p("delimiter escape", r"</?\s*(?:source|sources|question|system|instructions?)\s*>|</?\s*source\s+id\s*="),
    _p("jailbreak persona", r"\b(?:(?-i:DAN)|do\s+anything\s+now|developer\s+mode|god\s+mode|jailbreak(?:ed|ing)?)\b"),
    _p(
        "exfiltration link",
        r"!\[[^\]]*\]\(\s*https?://[^)\s]*[?&][^)\s]*=|\b(?:send|post|upload|forward)\s+"
        r"(?:this|it|them|the\s+\w+|all\s+\w+)\s+to\s+(?:https?://|\S+@\S+\.\w+)",
    ),
    _p(
        "no restrictions",
        r"\b(?:without|ignore|no)\s+(?:any\s+)?(?:restrictions|filters|limitations|safety"
        r"(?:\s+guidelines)?|content\s+polic(?:y|ies))\b",
        "high",
    ),
    _p("pretend", r"\b(?:pretend|imagine|act\s+as\s+if)\s+(?:that\s+)?you\s+(?:are|have|were|can)\b", "high"),
    # Korean, Japanese, Chinese, Spanish, French, German: the common "ignore previous instructions" forms.
    _p(
        f"{_IGNORE} (ko)",
        r"(?:이전|앞의|위의|기존|모든)\s*(?:의\s*)?(?:지시|명령|지침|규칙|instructions?)"
        r"(?:사항)?\s*(?:을|를|은|는|들을)?\s*(?:모두\s*|전부\s*)?무시",
    ),
    _p("you are now (ko)", r"(?:너는|당신은|넌)\s*이제(?:부터)?\s", "high"),
    _p("system prompt (ko)", r"시스템\s*프롬프트\s*(?:를|을)?\s*(?:보여|알려|출력|공개)"),
    _p(
        "secret request (ko)",
        r"(?:API\s*키|비밀\s*번호|비밀번호|암호|토큰|인증\s*정보)\s*(?:를|을)?\s*(?:보여|알려|출력|공개|말해)",
    ),
    _p(f"{_IGNORE} (ja)", r"(?:以前|前|上記|これまで)の(?:指示|命令|ルール)を(?:すべて|全て)?無視"),
    _p(f"{_IGNORE} (zh)", r"忽略(?:之前|以上|上面|先前|所有)(?:的)?(?:所有)?(?:指令|指示|规则|說明|说明)"),
    _p(f"{_IGNORE} (es)", r"\bignora\s+(?:todas\s+)?las\s+instrucciones\s+(?:anteriores|previas)"),
    _p(f"{_IGNORE} (fr)", r"\bignore[zr]?\s+(?:toutes\s+)?les\s+instructions\s+(?:précédentes|antérieures)"),
    _p(f"{_IGNORE} (de)", r"\bignoriere\s+(?:alle\s+)?(?:vorherigen|bisherigen|obigen)\s+Anweisungen"),
)


def normalise(text: str) -> str:
    """NFKC (full-width letters, ligatures), zero-width characters removed: what the model would read."""
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)


def find_injection(text: str) -> list[str]:
    """Names of the injection patterns `text` matches (each once), in pattern order; [] when clean.

    Used on documents: every pattern counts except the "high"-only ones, which are too common in
    ordinary writing about prompts ("system prompt", "pretend you are") to flag a passage by themselves.
    """
    clean = normalise(text)
    found: list[str] = []
    for pattern in INJECTION_PATTERNS:
        if pattern.level != "high" and pattern.name not in found and pattern.regex.search(clean):
            found.append(pattern.name)
    return found


def find_jailbreak(question: str, level: str) -> list[str]:
    """Names of the patterns that make `question` a jailbreak attempt at strictness `level`."""
    if level not in LEVELS or level == "off":
        return []
    allowed = LEVELS[1 : LEVELS.index(level) + 1]
    clean = normalise(question)
    found: list[str] = []
    for pattern in INJECTION_PATTERNS:
        if pattern.level in allowed and pattern.name not in found and pattern.regex.search(clean):
            found.append(pattern.name)
    return found
