"""Event handlers for saved conversations and "see the source" (split from ui/callbacks.py by role).

Conversations belong to the signed-in user (gr.Request.username under DOCQA_AUTH, "" without a login);
the id of the open one is kept in the browser (gr.BrowserState), so a reload or a server restart reopens
it. The page view reads the clicked chip's turn and source number and asks `DocQA.page_view`.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from typing import Any

import gradio as gr

from rag.app import DocQA
from rag.conversations import ConversationNotFound
from rag.core.types import Answer
from ui import render, render_view

_REF = re.compile(r"^(\d{1,4}):(\d{1,4})")


def user_of(request: gr.Request | None) -> str:
    return (getattr(request, "username", None) or "") if request is not None else ""


def chat_messages(answers: list[Answer]) -> list[dict]:
    """The chat as it looked: each question and its answer (the steps log is not kept)."""
    messages: list[dict] = []
    for turn, answer in enumerate(answers):
        messages.append({"role": "user", "content": answer.question})
        messages.append({"role": "assistant", "content": render.answer_markdown(answer, turn)})
    return messages


def history_of(answers: list[Answer]) -> list[dict]:
    """What the answerer reads as the conversation so far (follow-ups keep working after a reopen)."""
    turns: list[dict] = []
    for answer in answers:
        turns += [{"role": "user", "content": answer.question}, {"role": "assistant", "content": answer.text}]
    return turns


class SessionCallbacks:
    def __init__(self, qa: DocQA) -> None:
        self.qa = qa

    # --- conversations ---------------------------------------------------------------------------
    def _list(self, user: str, selected: str | None) -> Any:
        choices = render_view.conversation_choices(self.qa.conversations.list(user))
        ids = {value for _, value in choices}
        label = f"Saved conversations ({len(choices)})"
        return gr.update(choices=choices, value=selected if selected in ids else None, label=label)

    def _opened(self, user: str, conversation: str | None) -> tuple:
        """Outputs: chatbot, history, answers, saved count, sources, faithfulness, list, id, title box."""
        answers: list[Answer] = []
        title = ""
        if conversation:
            try:
                answers = self.qa.conversations.answers(user, conversation)
                title = self.qa.conversations.get(user, conversation).title
            except ConversationNotFound:
                conversation, answers = "", []
        last = answers[-1] if answers else None
        return (
            chat_messages(answers),
            history_of(answers),
            answers,
            len(answers),
            render.sources_html(last, len(answers) - 1) if last else render.empty_sources(),
            render.faithfulness_html(last.faithfulness, last.mode, render.display_numbers(last), last.relevance)
            if last
            else "",
            self._list(user, conversation),
            conversation or "",
            title,
        )

    def restore(self, conversation: str | None, request: gr.Request) -> tuple:
        """On page load: the conversation this browser had open, if it is still there (and this user's)."""
        return self._opened(user_of(request), conversation)

    def open(self, conversation: str | None, request: gr.Request) -> tuple:
        return self._opened(user_of(request), conversation)

    def new(self, request: gr.Request) -> tuple:
        return self._opened(user_of(request), None)

    def save(self, answers: list, saved: int, conversation: str | None, request: gr.Request) -> tuple:
        """After each answer: store the turns not stored yet (the first one creates the conversation)."""
        user = user_of(request)
        saved = int(saved or 0)
        new = [a for a in (answers or [])[saved:] if a.mode != "error"]
        for answer in new:
            conversation = self.qa.conversations.add_turn(user, conversation or None, answer)
        if not new:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        title = self.qa.conversations.get(user, conversation).title
        return len(answers), conversation, self._list(user, conversation), title

    def rename(self, conversation: str | None, title: str, request: gr.Request) -> tuple:
        user = user_of(request)
        if not conversation:
            return gr.skip(), render.banner("info", "Ask a question first: a conversation is saved with its answer.")
        try:
            self.qa.conversations.rename(user, conversation, title)
        except (ValueError, ConversationNotFound) as exc:
            return gr.skip(), render.banner("error", "Not renamed.", str(exc))
        return self._list(user, conversation), render.banner("ok", "Renamed.")

    def delete(self, conversation: str | None, request: gr.Request) -> tuple:
        """Delete the open conversation (after the browser's confirmation) and start an empty one."""
        user = user_of(request)
        if conversation:
            with contextlib.suppress(ConversationNotFound):  # deleted meanwhile in another tab
                self.qa.conversations.delete(user, conversation)
        return self._opened(user, None)

    def export(self, conversation: str | None, request: gr.Request) -> str:
        """The open conversation as Markdown with its citations, handed to the browser as JSON
        ({name, text}) that ui/client_js.py saves as a file: no server file, no /file= route involved."""
        if not conversation:
            gr.Warning("Nothing to export yet: ask a question first.")
            return ""
        user = user_of(request)
        try:
            text = self.qa.conversations.export_markdown(user, conversation)
            title = self.qa.conversations.get(user, conversation).title
        except ConversationNotFound:
            return ""
        name = re.sub(r"[^\w\- ]+", "", title).strip().replace(" ", "_")[:60] or "conversation"
        return json.dumps({"name": f"{name}.md", "text": text, "nonce": time.time()})

    # --- see the source --------------------------------------------------------------------------
    def open_source(self, ref: str, answers: list) -> tuple:
        """A click on chip [n] of turn t ("t:n:…"): that source's cited page. Outputs: the panel, its
        body, the view state, the previous and next page buttons."""
        match = _REF.match(ref or "")
        nothing = (gr.skip(),) * 5
        if not match or not answers:
            return nothing
        turn, number = int(match.group(1)), int(match.group(2))
        if turn >= len(answers):
            return nothing
        answer = answers[turn]
        source = next((s for s in answer.sources if s.number == number), None)
        if source is None:
            return nothing
        state = {
            "source": source.chunk.source,
            "page": render.cited_page(source, answer),
            "quote": render.quote_for(source, answer),
            "first": render.cited_page(source, answer),
        }
        return self._show(state)

    def step(self, state: dict | None, delta: int) -> tuple:
        """Previous / next page of the open PDF; the quote stays highlighted on the page it is on."""
        if not state or state.get("page") is None:
            return (gr.skip(),) * 5
        state = {**state, "page": max(1, int(state["page"]) + delta)}
        if state.get("pages"):
            state["page"] = min(state["page"], int(state["pages"]))
        return self._show(state)

    def _show(self, state: dict) -> tuple:
        view = self.qa.page_view(state["source"], state.get("page"), state.get("quote", ""))
        state = {**state, "pages": view.page_count, "kind": view.kind}
        if view.page is not None:
            state["page"] = view.page
        pdf = view.kind == "pdf" and view.page is not None
        return (
            gr.update(visible=True),
            render_view.page_view_html(view),
            state,
            gr.update(visible=pdf, interactive=pdf and view.page > 1),
            gr.update(visible=pdf, interactive=pdf and view.page < view.page_count),
        )
