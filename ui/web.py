"""The web UI: Chat, Upload, Library and Strategy lab tabs over one shared `DocQA`.

`build_ui(qa)` lays out components and wires events to `ui.callbacks`; `launch(qa)` loads the models
once, then serves on settings.host:settings.port with the queue, optional login, and nothing fetched
from outside (system fonts, analytics off, no share link).
"""

from __future__ import annotations

import gradio as gr
from starlette.middleware import Middleware

from ingest.loaders import SUPPORTED_SUFFIXES
from rag.app import DocQA
from rag.core.settings import offline_environment
from rag.core.types import ALL_STRATEGIES
from ui import lab_tab, render
from ui.callbacks import ALL, Callbacks
from ui.client_js import CLIENT_JS, SAVE_EXPORT, SCROLL_TO_HIGHLIGHT
from ui.session_callbacks import SessionCallbacks
from ui.style import CSS
from ui.uploads import UploadGuard, upload_temp_dir

SYSTEM_FONTS = ("Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")

CHAT_CONCURRENCY = 4  # answers streaming at once (each mostly waits on the LLM server)
INGEST_CONCURRENCY = 1  # embedding is CPU-bound: one upload at a time, in its own lane
LIBRARY_CONCURRENCY = 8  # cheap registry reads and removals
LAB_CONCURRENCY = 1  # a lab run retrieves questions × strategies: one at a time, in its own lane

# Runs in the browser before deleting a conversation: a cancelled confirmation sends no id.
CONFIRM_DELETE = "(id) => (id && window.confirm('Delete this conversation?')) ? id : null"
# Runs in the browser before the removal: a cancelled confirmation sends no name (nothing is removed).
CONFIRM_REMOVE = "(name) => (name && window.confirm(`Remove ${name} and all its chunks?`)) ? name : null"

CHAT_PLACEHOLDER = (
    '<div class="dq-welcome"><div class="dq-welcome-icon">❝</div><h3>Ask your documents</h3>'
    "<p>Answers cite their sources as [n]. The panel on the right shows each cited passage, with the "
    "sentence that supports the answer highlighted.</p>"
    f'<div class="dq-steps"><span><b>1</b> Add {render.FILE_KINDS} files in <b>Upload</b></span>'
    "<span><b>2</b> Ask in your own words; follow-ups keep the context</span>"
    "<span><b>3</b> Check the faithfulness score and the highlighted sources</span></div></div>"
)


def theme() -> gr.themes.Base:
    """Soft indigo on slate with system fonts (a Google font would be fetched from outside)."""
    return gr.themes.Soft(
        primary_hue="indigo",
        secondary_hue="sky",
        neutral_hue="slate",
        radius_size="md",
        font=SYSTEM_FONTS,
        font_mono=MONO_FONTS,
    ).set(
        body_background_fill="#f6f7fb",
        block_shadow="0 1px 2px rgba(15, 23, 42, 0.04)",
        button_primary_shadow="none",
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
        button_primary_text_color="white",
    )


def css() -> str:
    return CSS


def build_ui(qa: DocQA) -> gr.Blocks:
    cb = Callbacks(qa)
    sc = SessionCallbacks(qa)
    s = qa.settings
    strategies = [st.value for st in ALL_STRATEGIES]

    with gr.Blocks(title="docqa · ask your documents", fill_width=True, analytics_enabled=False) as demo:
        conversation = gr.State([])  # role/content turns handed to the answerer (this session only)
        answers = gr.State([])  # this session's Answer objects, one per turn
        saved = gr.State(0)  # how many of `answers` are stored in the conversation database
        # The open conversation's id, kept in the browser so a reload or a server restart reopens it; the
        # secret is stable per index so the value still decrypts after a restart (the id is no credential:
        # the database only answers the signed-in user's own conversations).
        conv_id = gr.BrowserState("", storage_key="docqa-conversation", secret=f"docqa:{s.resolved_index_dir}")
        view_state = gr.State(None)  # the page view: source, page, quote
        header = gr.HTML(render.header(s.llm_enabled, s.llm_model, 0), elem_id="dq-header")

        with gr.Sidebar(
            label="Answer settings", open=False, position="left", width=330, elem_id="dq-settings"
        ) as sidebar:
            gr.Markdown("### Answer settings\nApplied to your next question.")
            strategy = gr.Dropdown(
                strategies, value=s.strategy.value, label="Chunking strategy", info="Which index to search."
            )
            top_k = gr.Slider(1, 20, value=s.top_k, step=1, label="Sources (top-k)")
            mode = gr.Radio(["hybrid", "dense", "lexical"], value=s.retrieval_mode, label="Retrieval mode")
            mmr = gr.Checkbox(value=s.mmr, label="Diversify sources (MMR)")
            threshold = gr.Slider(
                0, 1, value=s.relevance_threshold, step=0.05, label="Relevance threshold", info="0 keeps every match."
            )
            doc_filter = gr.Dropdown(
                [], value=[], multiselect=True, label="Only these documents", info="Empty searches all of them."
            )
            with gr.Accordion("Language model", open=s.llm_enabled):
                if not s.llm_enabled:
                    gr.Markdown("_Not configured: answers are extractive. Set `OPENAI_API_KEY` or `OPENAI_BASE_URL`._")
                model = gr.Textbox(value=s.llm_model, label="Model", interactive=s.llm_enabled)
                temperature = gr.Slider(0, 2, value=s.temperature, step=0.1, label="Temperature")
                max_tokens = gr.Slider(64, 4096, value=s.max_tokens, step=32, label="Max answer tokens")
            judge = gr.Checkbox(value=True, label="Score faithfulness")

        with gr.Tabs(elem_id="dq-tabs") as tabs:
            with gr.Tab("Chat", id="chat", elem_id="dq-tab-chat"):
                banner = render.mode_banner(s.llm_enabled)
                gr.HTML(banner, visible=bool(banner), elem_id="dq-mode-banner")
                with gr.Row(equal_height=False, elem_id="dq-chat-row"):
                    with gr.Column(scale=7, min_width=300):
                        with gr.Accordion("Saved conversations", open=False, elem_id="dq-convs"):
                            conv_list = gr.Radio(
                                [], label="Saved conversations (0)", show_label=False, elem_id="dq-conv-list"
                            )
                            with gr.Row(elem_classes="dq-toolbar dq-conv-tools"):
                                conv_title = gr.Textbox(
                                    show_label=False, placeholder="Title", container=False, scale=3,
                                    elem_id="dq-conv-title", max_lines=1,
                                )  # fmt: skip
                                rename_btn = gr.Button("Rename", size="sm", scale=0, elem_id="dq-conv-rename")
                                export_btn = gr.Button("Export .md", size="sm", scale=0, elem_id="dq-conv-export")
                                delete_btn = gr.Button(
                                    "Delete", size="sm", variant="stop", scale=0, elem_id="dq-conv-delete"
                                )
                            conv_message = gr.HTML("", elem_id="dq-conv-message")
                            export_payload = gr.Textbox(visible="hidden", elem_id="dq-conv-export-data")
                        chatbot = gr.Chatbot(
                            label="Conversation",
                            show_label=False,
                            height="62vh",
                            min_height=420,
                            placeholder=CHAT_PLACEHOLDER,
                            buttons=["copy"],
                            feedback_options=None,
                            elem_id="dq-chat",
                        )
                        question = gr.Textbox(
                            placeholder="Ask a question about your documents…",
                            show_label=False,
                            submit_btn="Ask",
                            lines=1,
                            max_lines=6,
                            autofocus=False,  # focusing it scrolled the page past the tab bar on load
                            elem_id="dq-question",
                        )
                        with gr.Row(elem_classes="dq-toolbar"):
                            new_chat = gr.Button("New conversation", size="sm", variant="secondary", scale=0)
                            open_settings = gr.Button("Answer settings", size="sm", variant="secondary", scale=0)
                            gr.HTML(
                                '<span class="dq-hint">Follow-ups use the conversation · click an answer to see '
                                "its sources again</span>"
                            )
                    with gr.Column(scale=5, min_width=300, elem_id="dq-side"):
                        faith = gr.HTML("", elem_id="dq-faith")
                        sources = gr.HTML(render.empty_sources(), elem_id="dq-sources")

            with gr.Tab("Upload", id="upload", elem_id="dq-tab-upload"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        files = gr.File(
                            file_count="multiple",
                            file_types=sorted(SUPPORTED_SUFFIXES),
                            label=f"{render.FILE_KINDS} files",
                            height=220,
                            elem_id="dq-files",
                        )
                    with gr.Column(scale=2):
                        ingest_strategy = gr.Dropdown(
                            [("All strategies", ALL), *((v, v) for v in strategies)],
                            value=s.strategies[0].value if len(s.strategies) == 1 else ALL,
                            label="Chunking strategy",
                            info=f"Build the index for one strategy, or all of them ({', '.join(strategies)}) "
                            "to compare later.",
                        )
                        ingest_btn = gr.Button("Add to library", variant="primary", elem_id="dq-ingest")
                        gr.Markdown(
                            f"Up to **{s.max_file_mb:g} MB** and **{s.max_pages} pages** per file. A file that fails "
                            "is not stored at all; re-uploading a changed file replaces the old version.",
                            elem_classes="dq-small",
                        )
                upload_summary = gr.HTML("", elem_id="dq-upload-summary")
                report = gr.Dataframe(
                    headers=render.REPORT_HEADERS,
                    value=[],
                    interactive=False,
                    wrap=True,
                    label="Ingest report",
                    column_widths=["20%", "11%", "9%", "22%", "22%", "16%"],
                    elem_id="dq-report",
                )

            with gr.Tab("Library", id="library", elem_id="dq-tab-library"):
                library_summary = gr.HTML("", elem_id="dq-library-summary")
                library = gr.Dataframe(
                    headers=render.LIBRARY_HEADERS,
                    value=[],
                    interactive=False,
                    wrap=True,
                    show_search="search",
                    label="Documents",
                    column_widths=["24%", "8%", "8%", "28%", "14%", "18%"],
                    elem_id="dq-library",
                )
                with gr.Row(elem_classes="dq-toolbar dq-manage"):
                    doc_name = gr.Dropdown(
                        [], label="Document", show_label=False, container=False, scale=3, elem_id="dq-doc-name"
                    )
                    reingest_btn = gr.Button("Re-ingest from disk", size="md", scale=1, elem_id="dq-reingest")
                    remove_btn = gr.Button("Remove", variant="stop", size="md", scale=1, elem_id="dq-remove")
                    refresh_btn = gr.Button("Refresh", variant="secondary", size="md", scale=1, elem_id="dq-refresh")
                library_message = gr.HTML("", elem_id="dq-library-message")

            lab_tab.build_tab(qa, concurrency_limit=LAB_CONCURRENCY)  # layout, handler and event: ui/lab_tab.py

        # See the source: an overlay over the page, opened by a click on a [n] chip or "View page".
        with gr.Column(visible=False, elem_id="dq-viewer") as viewer:
            with gr.Row(elem_classes="dq-viewer-bar"):
                prev_page = gr.Button("‹ Previous page", size="sm", scale=0, elem_id="dq-pv-prev")
                next_page = gr.Button("Next page ›", size="sm", scale=0, elem_id="dq-pv-next")
                close_view = gr.Button("✕ Close", size="sm", scale=0, variant="secondary", elem_id="dq-pv-close")
            page_view = gr.HTML("", elem_id="dq-page-view")
        # The chips are HTML inside messages: a click writes "turn:number:nonce" here and presses the button.
        open_ref = gr.Textbox(visible="hidden", elem_id="dq-open-ref")
        open_btn = gr.Button("open", visible="hidden", elem_id="dq-open-btn")

        # --- events --------------------------------------------------------------------------------
        settings_inputs = [strategy, top_k, mode, mmr, threshold, doc_filter, model, temperature, max_tokens, judge]
        library_outputs = [library, library_summary, doc_name, doc_filter, header]
        private = {"api_visibility": "private"}
        quiet = {"api_visibility": "private", "show_progress": "hidden"}

        question.submit(
            cb.chat,
            [question, chatbot, conversation, answers, *settings_inputs],
            [question, chatbot, sources, faith, conversation, answers],
            concurrency_id="chat",
            concurrency_limit=CHAT_CONCURRENCY,
            show_progress="hidden",
            **private,
        ).then(sc.save, [answers, saved, conv_id], [saved, conv_id, conv_list, conv_title], **quiet)
        open_settings.click(lambda: gr.Sidebar(open=True), None, sidebar, **private)
        chatbot.select(cb.show_turn, [chatbot, answers], [sources, faith], **private)

        # Saved conversations: reopened on load, listed, renamed, deleted, exported.
        opened = [chatbot, conversation, answers, saved, sources, faith, conv_list, conv_id, conv_title]
        demo.load(sc.restore, [conv_id], opened, **quiet)
        conv_list.input(sc.open, [conv_list], opened, **quiet)
        new_chat.click(sc.new, None, opened, **quiet)
        chatbot.clear(sc.new, None, opened, **quiet)
        rename_btn.click(sc.rename, [conv_id, conv_title], [conv_list, conv_message], **quiet)
        conv_title.submit(sc.rename, [conv_id, conv_title], [conv_list, conv_message], **quiet)
        delete_btn.click(sc.delete, [conv_id], opened, js=CONFIRM_DELETE, **quiet)
        export_btn.click(sc.export, [conv_id], [export_payload], **quiet).then(
            None, [export_payload], None, js=SAVE_EXPORT, **quiet
        )

        viewer_out = [viewer, page_view, view_state, prev_page, next_page]
        open_btn.click(sc.open_source, [open_ref, answers], viewer_out, **private).then(
            None, js=SCROLL_TO_HIGHLIGHT, **quiet
        )
        for button, delta in ((prev_page, -1), (next_page, 1)):
            button.click(lambda st, d=delta: sc.step(st, d), [view_state], viewer_out, **private).then(
                None, js=SCROLL_TO_HIGHLIGHT, **quiet
            )
        close_view.click(lambda: gr.update(visible=False), None, viewer, **quiet)

        ingest_btn.click(
            cb.upload,
            [files, ingest_strategy],
            [report, upload_summary],
            api_name="upload",
            show_progress_on=report,
            api_description=f"Ingest files ({render.FILE_KINDS}) under their names; returns the per-file report.",
            concurrency_id="ingest",
            concurrency_limit=INGEST_CONCURRENCY,
        ).then(cb.library, [doc_name], library_outputs, **quiet)

        refresh_btn.click(cb.library, [doc_name], library_outputs, concurrency_id="library", **private)
        remove_btn.click(
            cb.remove_from_ui, [doc_name], [library_message], js=CONFIRM_REMOVE, concurrency_id="library", **private
        ).then(cb.library, [doc_name], library_outputs, **quiet)
        reingest_btn.click(cb.reingest, [doc_name], [library_message], concurrency_id="ingest", **private).then(
            cb.library, [doc_name], library_outputs, **quiet
        )
        tabs.change(cb.library, [doc_name], library_outputs, **quiet)
        demo.load(cb.library, [doc_name], library_outputs, **quiet)

        # Named endpoints for gradio_client (see the "Use via API" page).
        gr.api(cb.api_ask, api_name="ask", concurrency_id="chat", concurrency_limit=CHAT_CONCURRENCY)
        gr.api(cb.documents, api_name="documents", concurrency_id="library", concurrency_limit=LIBRARY_CONCURRENCY)
        gr.api(cb.remove, api_name="remove", concurrency_id="library", concurrency_limit=LIBRARY_CONCURRENCY)

    return demo


def parse_auth(value: str | None) -> list[tuple[str, str]] | None:
    """'user:pass,user2:pass2' -> [(user, pass), ...]; None when no login is configured."""
    if not value:
        return None
    pairs = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not item.strip():
            continue
        if not sep or not user or not password:
            raise ValueError("auth must look like 'user:password,user2:password2'")
        pairs.append((user, password))
    return pairs or None


def launch(qa: DocQA, *, block: bool = True, quiet: bool = False) -> gr.Blocks:
    """Load the models once, build the UI and serve it (returns at once when block=False)."""
    offline_environment()
    s = qa.settings
    auth = parse_auth(s.auth.get_secret_value() if s.auth else None)
    qa.warm_up()
    _ = qa.library, qa.answerer  # build the shared components before the first request
    qa.library.open()  # recover a half-done ingest; keyword indexes current before the first question
    temp = upload_temp_dir(s.resolved_index_dir)  # before Gradio creates anything (ui/uploads.py)
    demo = build_ui(qa)
    demo.queue(default_concurrency_limit=LIBRARY_CONCURRENCY, max_size=256)
    demo.launch(
        server_name=s.host,
        server_port=s.port,
        auth=auth,
        auth_message="Sign in to docqa." if auth else None,
        share=False,
        prevent_thread_lock=not block,
        quiet=quiet,
        theme=theme(),
        css=css(),
        js=CLIENT_JS,
        footer_links=["api", "settings"],
        max_file_size=f"{max(1.0, s.max_file_mb * 2):g}mb",
        ssr_mode=False,
        pwa=False,
        mcp_server=s.mcp,  # DOCQA_MCP: /ask (and the other named endpoints) as MCP tools
        enable_monitoring=False,
        app_kwargs={"middleware": [upload_guard(qa, temp)]},
    )
    return demo


def upload_guard(qa: DocQA, temp) -> Middleware:
    """`/file=` serves no document from Gradio's temp folder and nothing of docqa's stores."""
    index = qa.settings.resolved_index_dir
    private = [str(index / "uploads"), str(index / "lexical"), str(qa.settings.resolved_chroma_path)]
    return Middleware(UploadGuard, temp_dir=str(temp), private=private)
