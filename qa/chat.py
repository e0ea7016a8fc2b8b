"""What the chat page does, without Gradio: replies, uploads, removals, the document list.

One :class:`ChatService` per process holds the model and the index, shared by every user.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from .bilingual import dictionary
from .config import Settings
from .errors import DocumentError, QAError
from .library import Library
from .replies import escape, format_reply
from .retriever import Retriever, check_k

log = logging.getLogger(__name__)


def _text_of(content) -> str:
    """The text of a chat message's content (a string, or Gradio's list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return content.get("text", "") if isinstance(content.get("text"), str) else ""
    if isinstance(content, list):
        return " ".join(_text_of(part) for part in content).strip()
    return ""


class ChatService:
    """Replies to chat messages from the library's documents.

    Args:
        retriever: a retriever over ``[seeds, uploads]``.
        uploads: the uploads folder.
        log_questions: log each question's text (always logged: its latency and hits).
    """

    log_questions = False

    def __init__(self, retriever: Retriever, uploads: Path, log_questions: bool = False):
        self.retriever = retriever
        self.library = Library(retriever, uploads)
        self.log_questions = log_questions

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "ChatService":
        """The documents in ``settings.docs_dir`` plus uploads in ``settings.uploads_dir``,
        indexed in ``<index_root>/chat`` (default settings: from the environment)."""
        settings = settings or Settings.from_env()
        settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        retriever = Retriever(settings.index_root / "chat",
                              documents=[settings.docs_dir, settings.uploads_dir],
                              settings=settings)
        return cls(retriever, settings.uploads_dir, settings.log_questions)

    def warm_up(self) -> None:
        """Load the model, the index (building it when needed) and the translation dictionary."""
        self.retriever.index
        self.retriever.query_encoder.encode_queries(["warm up"])
        dictionary()

    def reply(self, message, history: list | None, top_k: int = 3) -> str:
        """The Markdown reply to ``message``; bad input gives a short explanation, never a
        traceback."""
        earlier = [_text_of(turn.get("content")) for turn in history or []
                   if isinstance(turn, dict) and turn.get("role") == "user"]
        earlier = [text for text in earlier if text]
        started = time.perf_counter()
        try:
            k = check_k(int(top_k))
            passages = self.retriever.retrieve(message, k=k, history=earlier)
        except (ValueError, TypeError, QAError) as exc:
            log.info("question refused: %s", exc)
            return f"⚠️ {escape(str(exc))}"
        text = f" {message[:200]!r}" if self.log_questions else ""
        log.info("question%s answered in %.0f ms: %d of %d passages kept, %d earlier turns", text,
                 1000 * (time.perf_counter() - started), len(passages), k, len(earlier))
        return format_reply(message if isinstance(message, str) else "", passages)

    def documents_markdown(self) -> str:
        """The list of indexed documents as Markdown."""
        rows = ["| document | passages |", "|---|---|"]
        for doc in self.library.documents():
            rows.append(f"| {escape(doc.source)}{' (uploaded)' if doc.removable else ''} "
                        f"| {doc.passages} |")
        return "\n".join(rows)

    def removable(self) -> list[str]:
        return [d.source for d in self.library.documents() if d.removable]

    def upload(self, paths: list[Path]) -> str:
        """Index uploaded files; returns a status message (the reason when refused)."""
        if not paths:
            return "⚠️ Choose one or more files first."
        try:
            files = []
            for path in paths:
                if path.stat().st_size > 50 * 2**20:
                    raise DocumentError(f"{path.name}: too large")
                files.append((path.name, path.read_bytes()))
            started = time.perf_counter()
            names = self.library.add(files)
        except (DocumentError, OSError) as exc:
            log.info("upload refused: %s", exc)
            return f"⚠️ Refused, nothing was changed: {escape(str(exc))}"
        log.info("upload of %d files indexed in %.1f s", len(names), time.perf_counter() - started)
        return "✅ Indexed: " + ", ".join(escape(n) for n in names)

    def remove(self, source: str | None) -> str:
        """Remove an uploaded document; returns a status message."""
        if not source:
            return "⚠️ Choose an uploaded document first."
        try:
            self.library.remove(source)
        except DocumentError as exc:
            return f"⚠️ {escape(str(exc))}"
        log.info("removed an uploaded document")
        return f"🗑️ Removed {escape(source)}"
