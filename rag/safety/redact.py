"""Find and redact secrets and personal data in text that leaves docqa (answers, errors, logs).

Secrets: the configured keys themselves (exact match), and anything shaped like a credential: OpenAI
`sk-...` keys, AWS / GitHub / Slack / Google keys, bearer tokens, JWTs, PEM private-key blocks and
`password: ...` assignments. Personal data: e-mail addresses, phone numbers, payment-card numbers (Luhn
checked) and Korean resident registration numbers (주민등록번호, date checked). Each match becomes a
`[REDACTED <kind>]` marker, so the reader sees that something was removed and what it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SECRET_KINDS = ("configured secret", "private key", "API key", "access token", "password")
PII_KINDS = ("card number", "resident registration number", "email address", "phone number")


@dataclass(frozen=True)
class Rule:
    kind: str
    regex: re.Pattern[str]
    group: int = 0  # the group to redact (0: the whole match)
    check: object = None  # optional callable(match_text) -> bool, e.g. a Luhn check


def _luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _rrn(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    month, day, gender = int(digits[2:4]), int(digits[4:6]), digits[6]
    return 1 <= month <= 12 and 1 <= day <= 31 and gender in "12345678"


def _passwordish(text: str) -> bool:
    """A value after `password:` that looks like one (digits, symbols or mixed case), not a plain word."""
    return any(c.isdigit() for c in text) or not text.isalnum() or (text.lower() != text and text.upper() != text)


def _phone(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return 9 <= len(digits) <= 15


# The value after "password:" and the like: a run of non-space characters (a trailing '.', ')' or ']' is
# the sentence's), optionally quoted, never an earlier marker (redaction must be idempotent).
_VALUE = r"[\"'`]?(?!\[REDACTED)([^\s\"'`,;]{2,}[^\s\"'`,;.)\]])"

SECRET_RULES: tuple[Rule, ...] = (
    Rule(
        "private key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY"
            r"(?: BLOCK)?-----|\Z)",
            re.S,
        ),
    ),
    Rule("API key", re.compile(r"\bsk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{16,}")),
    Rule("API key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    Rule("API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    Rule("access token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b")),
    Rule("access token", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}")),
    Rule("access token", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    Rule("access token", re.compile(r"\bBearer\s+([A-Za-z0-9._~+/\-]{19,}[A-Za-z0-9_~+/\-]=*)"), group=1),
    Rule(  # "aws_secret_access_key = <40 chars>", the half of an AWS key pair that has no prefix
        "API key",
        re.compile(r"(?i)\baws[_\s-]?secret[_\s-]?(?:access[_\s-]?)?key\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
        group=1,
    ),
    Rule(  # credentials inside a URL: scheme://user:password@host
        "password",
        re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:([^\s/@]{3,})@[\w.\-]+"),
        group=1,
    ),
    Rule(  # an explicit assignment ("password: x", "passwd=x", "password is: x", "api_key = x"): any value
        "password",
        re.compile(
            rf"(?i)\b(?:password|passwd|passphrase|pwd|client[_\s-]?secret|secret[_\s-]?key|api[_\s-]?key"
            rf"|(?:access|auth|api|bearer|session|refresh)[_\s-]?token|비밀번호|패스워드|암호)\s*(?:is\s*)?[:=]\s*{_VALUE}"
        ),
        group=1,
    ),
    Rule(  # "token: x", "secret = x": words with other meanings, so only a value that looks like a credential
        "password",
        re.compile(rf"(?i)\b(?:token|secret)\s*[:=]\s*{_VALUE}"),
        group=1,
        check=lambda v: len(v) >= 8 and any(c.isdigit() for c in v) and any(c.isalpha() for c in v),
    ),
    Rule(  # "the password is X" (no colon): only a value that looks like one, not "is required"
        "password",
        re.compile(
            r"(?i)\b(?:password|passwd|passphrase|pwd|secret|api[_\s-]?key|비밀번호|패스워드|암호)\s*(?:is|는|은)\s+"
            r"[\"'`]?(?!\[REDACTED)([^\s\"'`,;]{3,}[^\s\"'`,;.!?:)\]])"
        ),
        group=1,
        check=_passwordish,
    ),
)

PII_RULES: tuple[Rule, ...] = (
    Rule("resident registration number", re.compile(r"(?<!\d)\d{6}\s?-\s?[1-8]\d{6}(?!\d)"), check=_rrn),
    Rule("card number", re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])"), check=_luhn),
    Rule("email address", re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")),
    Rule(
        "phone number",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?|\d{2,4}[\s.\-])\d{3,4}[\s.\-]\d{4}(?![\w-])"
        ),
        check=_phone,
    ),
)


def marker(kind: str) -> str:
    return f"[REDACTED {kind}]"


def redact(text: str, rules: Iterable[Rule], secrets: Iterable[str] = ()) -> tuple[str, list[str]]:
    """`text` with every match replaced by a marker, and the kinds found (in order, with repeats)."""
    found: list[str] = []
    for secret in sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True):
        if secret in text:
            found.extend(["configured secret"] * text.count(secret))
            text = text.replace(secret, marker("configured secret"))
    for rule in rules:

        def sub(m: re.Match[str], rule: Rule = rule) -> str:
            value = m.group(rule.group)
            if value is None or (rule.check is not None and not rule.check(value)):  # type: ignore[operator]
                return m.group(0)
            found.append(rule.kind)
            start, end = m.start(rule.group) - m.start(0), m.end(rule.group) - m.start(0)
            whole = m.group(0)
            return whole[:start] + marker(rule.kind) + whole[end:]

        text = rule.regex.sub(sub, text)
    return text, found


def scrub_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """Secrets only (for errors and logs): configured values and credential-shaped strings."""
    return redact(text, SECRET_RULES, secrets)[0]


def describe(kinds: Iterable[str]) -> str:
    """'2 API keys and an email address' style summary of what was redacted."""
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    parts = []
    for kind, n in counts.items():
        if n == 1:
            article = "an" if kind[0] in "aeiou" or kind.startswith("API") else "a"
            parts.append(f"{article} {kind}")
        else:
            parts.append(f"{n} {kind}s" if not kind.endswith("s") else f"{n} {kind}")
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
