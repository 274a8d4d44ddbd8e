"""Text rules shared by every layer: script detection, folding, word tokens, stopwords, content words.

Citations, the judge, the semantic cache and the lexical index must agree on which script
a text is in and on what a content word is: when citation alignment counts "employees" as a content word
and the judge does not, the two report different support for the same sentence. So these rules exist
once, here; each module only adds the matching form it needs on top (the judge compares 5-letter
prefixes and Hangul bigrams, the cache keeps order and negations, BM25 adds joined compounds). The
evaluation's answer-recall tokens stay frozen in rag/eval/metrics.py, so published figures stay comparable.

A content word (`content_words`): a token of the folded text (NFKC, case-folded, Latin accents and
apostrophes removed) that is not in `STOPWORDS`:
- numbers stay whole: decimals kept (3.14), thousands separators dropped (11,172 -> 11172);
- Latin (and other cased) words need two or more letters and are Snowball-stemmed when ASCII;
- Hangul words lose one trailing particle (회사는 -> 회사); Han and Kana, written without spaces, become
  overlapping character bigrams (a single character stays a unigram).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

# --- scripts -------------------------------------------------------------------------------------------
# Hangul (jamo, compatibility jamo, jamo extended A and B, syllables), Kana (hiragana, katakana, phonetic
# extensions, half-width katakana) and Han (CJK unified, extension A, compatibility): the scripts an
# English-only embedder cannot read and whitespace does not tokenise. The BM25 index depends on this set:
# changing it changes the tokens (bump rag.backends.bm25.TOKENIZER_VERSION).
HANGUL_RANGES = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
KANA_RANGES = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RANGES = HANGUL_RANGES + KANA_RANGES + HAN_RANGES
CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
CJK_RUN = re.compile(f"[{CJK_RANGES}]+")
_HANGUL_CHAR = re.compile(f"[{HANGUL_RANGES}]")
# A word split by script: Hangul runs, Han/Kana runs, everything else.
_SCRIPT_RUN = re.compile(f"[{HANGUL_RANGES}]+|[{KANA_RANGES}{HAN_RANGES}]+|[^{CJK_RANGES}]+")


def is_cjk(ch: str) -> bool:
    """True for one Hangul, Kana or Han character (False for the empty string)."""
    return bool(ch) and CJK_CHAR.match(ch) is not None


def is_hangul(ch: str) -> bool:
    """True for one Hangul character, compatibility jamo included (False for the empty string)."""
    return bool(ch) and _HANGUL_CHAR.match(ch) is not None


def has_cjk(text: str) -> bool:
    return CJK_CHAR.search(text) is not None


def cjk_share(text: str) -> float:
    """Share of the letters in `text` that are Hangul, Han or Kana: how far an English-only embedder is
    out of its depth on this text (the retriever lowers the dense weight for such questions)."""
    letters = sum(ch.isalpha() for ch in text)
    if not letters:
        return 0.0
    return sum(len(m.group()) for m in CJK_RUN.finditer(text)) / letters


# Multilingual dense leg (DOCQA_MULTILINGUAL, rag/backends/chroma_store.py and rag/retrieval/hybrid.py): a
# question is routed to the e5 leg when most of its letters are CJK; a chunk gets an e5 vector in "auto"
# mode when a fifth of its letters are (Korean text quoting English terms still counts; an English paper
# with one Korean name does not pay for it).
CJK_QUESTION_SHARE = 0.5
CJK_CHUNK_SHARE = 0.2
MULTILINGUAL_MODES = ("auto", "cross-lingual", "off")


def is_cjk_question(text: str) -> bool:
    """Most of the question's letters are Hangul, Han or Kana."""
    return cjk_share(text) > CJK_QUESTION_SHARE


def wants_multilingual(text: str, mode: str) -> bool:
    """Whether a chunk gets a multilingual (e5) vector: every chunk in "cross-lingual", chunks with enough
    CJK text in "auto", none in "off". Text without any CJK character costs one regex search in "auto"."""
    if mode == "cross-lingual":
        return True
    if mode != "auto" or not has_cjk(text):
        return False
    return cjk_share(text) >= CJK_CHUNK_SHARE


def language_name(text: str) -> str:
    """The language a passage is most likely in, by script: Korean, Japanese or Chinese for CJK text,
    English for Latin text, "" when unsure. Used to say "(source in English)" under a Korean question."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return ""
    hangul = sum(is_hangul(ch) for ch in letters)
    kana = sum(bool(re.match(f"[{KANA_RANGES}]", ch)) for ch in letters)
    cjk = sum(is_cjk(ch) for ch in letters)
    if cjk / len(letters) > CJK_QUESTION_SHARE:
        return "Korean" if hangul >= cjk / 2 else "Japanese" if kana else "Chinese"
    latin = sum(ch.isascii() for ch in letters)
    return "English" if latin / len(letters) > 0.8 else ""


def cjk_bigrams(run: str) -> list[str]:
    """Overlapping character bigrams: no morphological analyser needed, and a particle glued to a word
    (세종대왕이) still shares the word's bigrams. A one-character run stays a unigram."""
    if len(run) <= 1:
        return [run] if run else []
    return [run[i : i + 2] for i in range(len(run) - 1)]


# --- folding ---------------------------------------------------------------------------------------------
_APOSTROPHE_VARIANTS = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "＇": "'"})
# Only the diacritics of Latin, Greek and Cyrillic letters: Kana voicing marks and Hangul jamo must survive
# (a blanket "drop every combining mark" turns が into か).
_LATIN_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_POSSESSIVE = re.compile(r"['’][sS]$")
_APOSTROPHES = re.compile(r"['’]")


def normalize(text: str) -> str:
    """NFKC, case-folded, one apostrophe: full-width, ligature and case variants compare equal."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHE_VARIANTS)


def fold(text: str) -> str:
    """`normalize` plus accent-insensitivity for Latin script: 'Björk' and 'bjork' compare equal."""
    text = normalize(text)
    if text.isascii():
        return text
    return unicodedata.normalize("NFC", _LATIN_MARKS.sub("", unicodedata.normalize("NFD", text)))


def drop_apostrophes(token: str) -> str:
    """A possessive 's goes, other apostrophes are removed: Patients' -> Patients, don't -> dont."""
    return _APOSTROPHES.sub("", _POSSESSIVE.sub("", token))


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer
    except ImportError:  # pragma: no cover - PyStemmer is a dependency
        return None
    return Stemmer.Stemmer("english")


def can_stem() -> bool:
    """Whether English stemming is available (the BM25 index records it: its tokens depend on it)."""
    return _stemmer() is not None


def stem(word: str) -> str:
    """English Snowball stem of an ASCII word; other words (digits, other scripts) unchanged."""
    stemmer = _stemmer()
    if stemmer is None or not (word.isascii() and word.isalpha()):
        return word
    return stemmer.stemWord(word)


# --- words -----------------------------------------------------------------------------------------------
# A raw token: letters/digits (any script), joined by single inner dots, commas or apostrophes.
_RAW = re.compile(r"[^\W_]+(?:[.,'][^\W_]+)*")
_NUMBER = re.compile(r"\d+(?:\.\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SEPARATORS = re.compile(r"[.,]")


def is_number(token: str) -> bool:
    return _NUMBER.fullmatch(token) is not None


def words(text: str) -> list[str]:
    """The folded tokens of `text` in order: numbers whole (3.14, 11,172 -> 11172), words without
    apostrophes, a token that mixes scripts split where the script changes (COVID유행 -> covid, 유행).
    No stopword is removed and nothing is stemmed."""
    out: list[str] = []
    for m in _RAW.finditer(fold(text)):
        raw = m.group()
        if _THOUSANDS.fullmatch(raw):
            out.append(raw.replace(",", ""))
            continue
        if _NUMBER.fullmatch(raw):
            out.append(raw)
            continue
        for part in _SEPARATORS.split(raw):
            part = drop_apostrophes(part)
            if part:
                out.extend(_SCRIPT_RUN.findall(part))
    return out


# --- stopwords -------------------------------------------------------------------------------------------
def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# English function words (articles, pronouns, auxiliaries, modals, prepositions, conjunctions, discourse
# adverbs) and the words answers use to point at their sources ("according to the documents"). Number
# words and ordinals are not here: numbers are content.
_ENGLISH = """
a about above according actually additionally after afterwards again against all also although am among
an and another answer any anyway are around as at based be because been before being below besides
between both but by can certainly consequently could currently despite did do document documents does
doing done down during each earlier either et etc even eventually every few finally firstly for from
further furthermore generally given had has have having he hence her here hers him his how however i if
in including indeed initially instead into is it its itself just lastly later less like likewise many may
me meanwhile might moreover more most much must my nevertheless next no nor not notably note now of off
on once only or other others otherwise our ours out over overall own per perhaps please previously
regarding said same say says secondly several shall she should similarly since so some source sources
specifically still subsequently such summary sure than that the their theirs them then there therefore
these they this those though through thus to today together too typically under unlike until up upon us
usually very via was we were what whatever when where whereas whether which while who whom whose why will
with within without would yes yet you your yours
aren cant couldnt didnt doesnt dont hadnt hasnt havent id im isnt ive shouldnt thats theres theyre wasnt
werent whats wont wouldnt youre
"""
# Korean particles standing alone (after Hanja or a number) and conjunctions / discourse adverbs.
_KOREAN = """은 는 이 가 을 를 의 에 로 와 과 도 에서 으로 에게 까지 부터 에서는
그리고 그러나 하지만 또한 그래서 따라서 그런데 한편 즉 및 또는 등"""
STOPWORDS = _wordset(_ENGLISH) | _wordset(_KOREAN)

# The stopwords that never change what a question asks: articles, present-tense auxiliaries, what/which,
# first and second person. Tense, negation, modals, quantifiers, prepositions of direction and comparison,
# and third-person pronouns are stopwords for content but can change a question (the semantic cache).
FILLER = _wordset(
    """a an the is are be been being am do does done doing have has having what which whats of in on at
    for by with about as it its this that these those there i me my we us our you your"""
)

# Korean particles stripped from a word's end, longest first, so 회사는 and 회사의 both match 회사.
_KO_PARTICLE_TEXT = "에서는 에서 으로 에게 까지 부터 은 는 이 가 을 를 의 에 로 와 과 도"
KO_PARTICLES = tuple(_KO_PARTICLE_TEXT.split())


def split_particle(word: str) -> tuple[str, str]:
    """(word, particle) for a Hangul word ending in a particle and keeping two syllables or more;
    (word, "") otherwise."""
    if any(is_hangul(ch) for ch in word):
        for particle in KO_PARTICLES:
            if word.endswith(particle) and len(word) > len(particle) + 1:
                return word[: -len(particle)], particle
    return word, ""


# --- content words ---------------------------------------------------------------------------------------
def is_content(token: str) -> bool:
    """A token of `words` that carries meaning: not a stopword, and a number, CJK, or 2+ letters."""
    if token in STOPWORDS:
        return False
    return len(token) > 1 or token.isdigit() or is_cjk(token)


def content_forms(token: str, stemmed: bool = True) -> list[str]:
    """The forms a content token is compared in: numbers as written, Hangul without its particle,
    Han/Kana as bigrams, other words Snowball-stemmed (ASCII only, when `stemmed`)."""
    if _NUMBER.fullmatch(token):
        return [token]
    if is_hangul(token[0]):
        base = split_particle(token)[0]
        return [] if base in STOPWORDS else [base]
    if is_cjk(token[0]):
        return cjk_bigrams(token)
    return [stem(token)] if stemmed else [token]


def content_terms(text: str, stemmed: bool = True) -> list[str]:
    """The content words of `text` in order, repeats kept (see the module docstring for the rules)."""
    return [form for token in words(text) if is_content(token) for form in content_forms(token, stemmed)]


def content_words(text: str, stemmed: bool = True) -> set[str]:
    """The distinct content words of `text`; `stemmed=False` keeps English inflections apart."""
    return set(content_terms(text, stemmed))


def text_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
