"""Where Gradio's copies of uploaded files live, and how long: inside the index dir, until ingested.

Gradio copies every upload into its temp folder (/tmp/gradio by default) and keeps it there, the refused
ones (a 60 MB file, a zip bomb) and the removed documents' too, and serves it at `/gradio_api/file=...`.
docqa keeps its own copy of an ingested upload (rag.library, INDEX_DIR/uploads) and needs Gradio's only
while ingesting. So: Gradio's temp folder is INDEX_DIR/tmp (set before Gradio creates anything, emptied at
launch of what a crash left), each upload's temp copy is deleted once it is ingested or refused, and the
file route refuses documents there and docqa's own stores outright (`UploadGuard`). Images and other
assets Gradio caches for the page keep being served.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from urllib.parse import unquote

from ingest.loaders import SUPPORTED_SUFFIXES


def upload_temp_dir(index_dir: Path) -> Path:
    """Point Gradio's temp folder at INDEX_DIR/tmp (empty: what a previous run left is deleted).

    Gradio reads GRADIO_TEMP_DIR when a component or the server app is created, so this must run before
    the UI is built."""
    folder = (index_dir / "tmp").resolve()
    if folder.is_dir():
        for entry in folder.iterdir():
            with contextlib.suppress(OSError):
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def discard_temp_copy(path: str | Path, temp_dir: Path | None) -> None:
    """Delete Gradio's temp copy of an upload (and its per-file folder), only ever inside `temp_dir`."""
    if temp_dir is None:
        return
    root = temp_dir.resolve()
    file = Path(path).resolve()
    if file == root or not file.is_relative_to(root):
        return
    with contextlib.suppress(OSError):
        file.unlink(missing_ok=True)
    parent = file.parent
    while parent != root and parent.is_relative_to(root):
        with contextlib.suppress(OSError):
            parent.rmdir()  # only when empty
        parent = parent.parent


class UploadGuard:
    """ASGI middleware: `/file=` never serves a document from Gradio's temp folder, nor anything under
    docqa's stores (uploads, Chroma, lexical indexes)."""

    def __init__(self, app, temp_dir: str, private: list[str]) -> None:
        self.app = app
        self.temp_dir = Path(temp_dir).resolve()
        self.private = [Path(p).resolve() for p in private]

    def _refused(self, raw: str) -> bool:
        try:
            path = Path(unquote(raw)).resolve()
        except (OSError, ValueError):
            return True
        if any(path == p or path.is_relative_to(p) for p in self.private):
            return True
        return path.is_relative_to(self.temp_dir) and path.suffix.lower() in SUPPORTED_SUFFIXES

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            route = scope.get("path", "")
            at = route.find("/file=")
            if at >= 0 and self._refused(route[at + len("/file=") :]):
                headers = [(b"content-type", b"text/plain")]
                await send({"type": "http.response.start", "status": 403, "headers": headers})
                await send({"type": "http.response.body", "body": b"File not allowed."})
                return
        await self.app(scope, receive, send)
