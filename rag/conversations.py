"""Saved conversations: SQLite (standard library) under the index dir, one row per conversation and one
per turn, each turn's whole Answer kept as JSON so a reopened conversation shows the same sources,
highlights and faithfulness as when it was asked.

Every read and write names the user (the login name under DOCQA_AUTH, "" without a login), and a user
only ever sees or changes their own conversations. A connection per call keeps it safe across the web
server's threads; WAL lets readers and one writer work at once.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.core import types
from rag.core.types import Answer, Chunk, Citation, ClaimVerdict, Faithfulness, Hit, Source

SCHEMA_VERSION = 1
TITLE_CHARS = 80

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_user ON conversations (user, updated);
CREATE TABLE IF NOT EXISTS turns (
  conversation TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, position INTEGER NOT NULL,
  question TEXT NOT NULL, answer TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (conversation, position));
"""


@dataclass(frozen=True)
class ConversationInfo:
    id: str
    title: str
    created: float
    updated: float
    turns: int


class ConversationNotFound(LookupError):
    """No conversation with that id for this user (it may belong to another one)."""


class Conversations:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._ready = False

    @contextmanager
    def _db(self):
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=15)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            if not self._ready:
                db.execute("PRAGMA journal_mode = WAL")
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self._ready = True
            with db:  # one transaction: committed on success, rolled back on an error
                yield db

    # --- reading ----------------------------------------------------------------------------------
    def list(self, user: str) -> list[ConversationInfo]:
        """This user's conversations, the most recently used first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT c.id, c.title, c.created, c.updated, COUNT(t.position) FROM conversations c "
                "LEFT JOIN turns t ON t.conversation = c.id WHERE c.user = ? GROUP BY c.id ORDER BY c.updated DESC",
                (user,),
            ).fetchall()
        return [ConversationInfo(*row) for row in rows]

    def get(self, user: str, conversation: str) -> ConversationInfo:
        for info in self.list(user):
            if info.id == conversation:
                return info
        raise ConversationNotFound(f"no conversation {conversation!r}")

    def answers(self, user: str, conversation: str) -> list[Answer]:
        """The turns of one conversation, in order, as the Answers they were."""
        with self._db() as db:
            if not self._owned(db, user, conversation):
                raise ConversationNotFound(f"no conversation {conversation!r}")
            rows = db.execute(
                "SELECT answer FROM turns WHERE conversation = ? ORDER BY position", (conversation,)
            ).fetchall()
        return [answer_from_dict(json.loads(row[0])) for row in rows]

    # --- changing ---------------------------------------------------------------------------------
    def create(self, user: str, title: str) -> str:
        conversation = uuid.uuid4().hex
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?)", (conversation, user, _title(title), now, now)
            )
        return conversation

    def add_turn(self, user: str, conversation: str | None, answer: Answer) -> str:
        """Append a turn; a new conversation (titled by its first question) when `conversation` is None
        or no longer exists. Returns the conversation's id."""
        if not conversation or not self._exists(user, conversation):
            conversation = self.create(user, answer.question)
        now = time.time()
        payload = json.dumps(asdict(answer), ensure_ascii=False)
        with self._db() as db:
            position = db.execute(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM turns WHERE conversation = ?", (conversation,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?)", (conversation, position, answer.question, payload, now)
            )
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation))
        return conversation

    def rename(self, user: str, conversation: str, title: str) -> None:
        title = _title(title)
        if not title:
            raise ValueError("a conversation needs a title")
        with self._db() as db:
            changed = db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND user = ?", (title, conversation, user)
            ).rowcount
        if not changed:
            raise ConversationNotFound(f"no conversation {conversation!r}")

    def delete(self, user: str, conversation: str) -> None:
        with self._db() as db:
            removed = db.execute("DELETE FROM conversations WHERE id = ? AND user = ?", (conversation, user)).rowcount
        if not removed:
            raise ConversationNotFound(f"no conversation {conversation!r}")

    def export_markdown(self, user: str, conversation: str) -> str:
        """The conversation as Markdown: each question, its answer, and the sources it cites (file, pages,
        the supporting sentence)."""
        info = self.get(user, conversation)
        lines = [f"# {info.title}", "", f"_Exported from docqa · {time.strftime('%Y-%m-%d %H:%M')}_", ""]
        for answer in self.answers(user, conversation):
            lines += [f"## {answer.question}", "", answer.text.strip() or "_(no answer)_", ""]
            if answer.notice and answer.mode in ("refused", "no-sources"):
                lines += [f"> {answer.notice}", ""]
            cited = {c.source_number for c in answer.citations if c.cited and c.source_number is not None}
            sources = [s for s in answer.sources if s.number in cited]
            if sources:
                lines.append("**Sources**")
                lines.append("")
                for s in sources:
                    span = s.hit.span
                    pages = _pages(span.page_start, span.page_end)
                    lines.append(f"- [{s.number}] {s.chunk.source}{', ' + pages if pages else ''}")
                    for c in answer.citations:
                        if c.cited and c.source_number == s.number and c.supporting_sentence:
                            lines.append(f"  > {' '.join(c.supporting_sentence.split())}")
                lines.append("")
            if answer.faithfulness is not None:
                lines += [f"_Faithfulness {answer.faithfulness.score:.0%} ({answer.faithfulness.judge})_", ""]
        return "\n".join(lines).rstrip() + "\n"

    # --- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def _owned(db: sqlite3.Connection, user: str, conversation: str) -> bool:
        row = db.execute("SELECT 1 FROM conversations WHERE id = ? AND user = ?", (conversation, user)).fetchone()
        return row is not None

    def _exists(self, user: str, conversation: str) -> bool:
        with self._db() as db:
            return self._owned(db, user, conversation)


def _title(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def _pages(start: int | None, end: int | None) -> str:
    if start is None:
        return ""
    return f"p. {start}" if end is None or end == start else f"pp. {start}–{end}"


# --- the Answer <-> JSON codec ------------------------------------------------------------------------
def _chunk(data: dict | None) -> Chunk | None:
    return None if data is None else Chunk(**data)


def answer_from_dict(data: dict) -> Answer:
    """An Answer from `dataclasses.asdict(answer)` (the form stored in `turns.answer`)."""
    data = dict(data)
    data["citations"] = [Citation(**c) for c in data.get("citations", [])]
    sources = []
    for s in data.get("sources", []):
        hit = dict(s["hit"])
        hit["chunk"] = _chunk(hit["chunk"])
        hit["matched"] = _chunk(hit.get("matched"))
        sources.append(Source(s["number"], Hit(**hit), list(s.get("flags", []))))
    data["sources"] = sources
    f = data.get("faithfulness")
    if f is not None:
        f = dict(f)
        f["verdicts"] = [ClaimVerdict(**v) for v in f.get("verdicts", [])]
        data["faithfulness"] = Faithfulness(**f)
    if isinstance(data.get("relevance"), dict):  # the answer's relevance verdict (rag.core.types.Relevance)
        data["relevance"] = types.Relevance(**data["relevance"])
    known = set(Answer.__dataclass_fields__)  # a turn saved by another version: keep what still exists
    return Answer(**{k: v for k, v in data.items() if k in known})
