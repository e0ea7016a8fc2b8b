"""What the chat page does, without Gradio: replies, uploads, removals, the document list.

One :class:`ChatService` per process holds the model and the index, shared by every user.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from .bilingual import dictionary
from .config import Settings, default_docs_dir
from .errors import DocumentError, QAError
from .library import Library
from .limits import MAX_HISTORY_TURNS, MAX_UPLOAD_BYTES
from .pdftext import NOTES, pages_note
from .replies import escape, format_reply
from .retriever import MAX_QUESTION_CHARS, Retriever, check_k

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


def upload_message(result) -> str:
    """What the page says about an :class:`~qa.library.UploadResult`."""
    lines = []
    if result.added:
        lines.append("✅ Indexed: " + ", ".join(escape(n) for n in result.added))
    for original, stored in result.renamed.items():
        lines.append(f"ℹ️ {escape(original)}: another document has that name; stored as "
                     f"{escape(stored)}")
    for original, holder in result.duplicates.items():
        lines.append(f"ℹ️ {escape(original)}: the same content is already in the library as "
                     f"{escape(holder)}; not added again")
    return "\n\n".join(lines)


def recent_questions(history) -> list[str]:
    """The user's last :data:`~qa.limits.MAX_HISTORY_TURNS` questions in a Gradio chat
    history (oldest first); a longer history is not read."""
    found: list[str] = []
    for turn in reversed(history if isinstance(history, list) else []):
        if isinstance(turn, dict) and turn.get("role") == "user":
            text = _text_of(turn.get("content"))[:MAX_QUESTION_CHARS]
            if text:
                found.append(text)
                if len(found) == MAX_HISTORY_TURNS:
                    break
    return found[::-1]


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
        if settings.docs_dir == default_docs_dir():  # a named folder must exist already
            settings.docs_dir.mkdir(parents=True, exist_ok=True)
        retriever = Retriever(settings.index_root / "chat",
                              documents=[settings.docs_dir, settings.uploads_dir],
                              settings=settings, allow_empty=True)
        return cls(retriever, settings.uploads_dir, settings.log_questions)

    def warm_up(self) -> None:
        """Finish uploads a crash interrupted, load the model, the index (building it when
        needed) and the translation dictionary."""
        self.library.resume()
        self.retriever.index
        self.retriever.query_encoder.encode_queries(["warm up"])
        dictionary()

    def reply(self, message, history: list | None, top_k: int = 3,
              sources: list[str] | None = None) -> str:
        """The Markdown reply to ``message`` (from the documents ``sources`` only, when some are
        given); bad input gives a short explanation, never a traceback."""
        earlier = recent_questions(history)
        started = time.perf_counter()
        try:
            k = check_k(int(top_k))
            passages = self.retriever.retrieve(message, k=k, history=earlier, possible=True,
                                               sources=list(sources) if sources else None)
        except (ValueError, TypeError, QAError) as exc:
            log.info("question refused: %s", exc)
            return f"⚠️ {escape(str(exc))}"
        text = f" {message[:200]!r}" if self.log_questions else ""
        sure = sum(p.tier == "answer" for p in passages)
        log.info("question%s answered in %.0f ms: %d of %d passages answer, %d possibly relevant, "
                 "%d earlier turns", text, 1000 * (time.perf_counter() - started), sure, k,
                 len(passages) - sure, len(earlier))
        return format_reply(message if isinstance(message, str) else "", passages)

    def documents_markdown(self) -> str:
        """The library as Markdown: what a restart finished, then a table of the documents
        (or a line saying there are none yet)."""
        lines = [f"ℹ️ {escape(notice)}" for notice in self.library.notices]
        documents = self.library.documents()
        if not documents:
            return "\n\n".join(lines + ["No documents yet: add some below to start asking."])
        rows = ["| document | passages | note |", "|---|---|---|"]
        for doc in documents:
            note = "uploaded" if doc.removable else ""
            if doc.original:
                note += f" as {escape(doc.original)}"
            if doc.state != "indexed":
                note += f" ({doc.state})"
            rows.append(f"| {escape(doc.source)} | {doc.passages} | {note.strip()} |")
        manifest = self.retriever.index.manifest
        for doc in manifest.get("documents", []):
            if any(doc.get(key) for key in NOTES):
                rows.append(f"| {escape(doc['source'])} | | {escape(pages_note(doc))} |")
        for name, first in (manifest.get("duplicates") or {}).items():
            rows.append(f"| {escape(name)} | 0 | the same content as {escape(first)}, "
                        "indexed once |")
        for name, reason in (manifest.get("skipped") or {}).items():
            rows.append(f"| {escape(name)} | 0 | ⚠️ not indexed: {escape(reason)} |")
        return "\n\n".join(lines + ["\n".join(rows)])

    def names(self) -> list[str]:
        """Every document's name, for choosing which to ask."""
        return [d.source for d in self.library.documents()]

    def removable(self) -> list[str]:
        """Uploaded documents that can be removed now."""
        return [d.source for d in self.library.documents() if d.removable and d.state == "indexed"]

    def upload(self, paths: list[Path]) -> str:
        """Index uploaded files; returns a status message (the reason when refused)."""
        if not paths:
            return "⚠️ Choose one or more files first."
        try:
            files = []
            for path in paths:
                size = path.stat().st_size
                if size > MAX_UPLOAD_BYTES:  # refused before it is read
                    raise DocumentError(f"{path.name}: {size / 1e6:.1f} MB is over the "
                                        f"{MAX_UPLOAD_BYTES // 2**20} MB upload limit")
                files.append((path.name, path.read_bytes()))
            started = time.perf_counter()
            result = self.library.add(files)
        except (DocumentError, OSError) as exc:
            log.info("upload refused: %s", exc)
            return f"⚠️ Refused, nothing was changed: {escape(str(exc))}"
        log.info("upload of %d files: %d indexed in %.1f s, %d already held", len(files),
                 len(result.added), time.perf_counter() - started, len(result.duplicates))
        return upload_message(result)

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
