"""What the chat page and the API do, without Gradio: replies, uploads, removals, the
document list, each for the user asking (:mod:`qa.access`: ``None`` without accounts).

One :class:`ChatService` per process holds the model and the index, shared by every user;
while a server loads (or builds) the index at start (:attr:`ChatService.ready` cleared until
:meth:`ChatService.warm_up` is done) it says so instead of answering.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from . import access
from .accounts import Accounts, User
from .bilingual import dictionary
from .config import Settings, default_docs_dir
from .errors import DocumentError, NotAllowed, QAError
from .library import Library
from .limits import MAX_HISTORY_TURNS, MAX_UPLOAD_BYTES
from .pdftext import NOTES, pages_note
from .quotas import LOGIN_FAILURES, LOGIN_WINDOW, Quota
from .replies import escape, format_reply
from .retriever import MAX_QUESTION_CHARS, Retriever, check_k

log = logging.getLogger(__name__)
BUILDING = "⏳ The index is being built; ask again in a moment."


def message_text(content) -> str:
    """The text of a chat message's content (a string, or Gradio's list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return content.get("text", "") if isinstance(content.get("text"), str) else ""
    if isinstance(content, list):
        return " ".join(message_text(part) for part in content).strip()
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
            text = message_text(turn.get("content"))[:MAX_QUESTION_CHARS]
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
        accounts: who may log in (default: nobody; every request is the local user's).
        questions: the per-user quota of questions (default: none).
        upload_bytes: the per-user quota of uploaded bytes (default: none).
    """

    log_questions = False

    def __init__(self, retriever: Retriever, uploads: Path, log_questions: bool = False,
                 accounts: Accounts | None = None, questions: Quota | None = None,
                 upload_bytes: Quota | None = None, concurrency: int = 4):
        self.retriever = retriever
        self.library = Library(retriever, uploads)
        self.log_questions = log_questions
        self.accounts = accounts or Accounts(uploads / ".no-accounts.json")
        self.questions = questions or Quota(0, 60, "questions")
        self.upload_bytes = upload_bytes or Quota(0, 3600, "uploads")
        self.login_required = self.accounts.exist()  # decided at start: restart after the first user
        self.ready = threading.Event()  # cleared while a server loads the index (qa.web.serve)
        self.ready.set()
        # API questions answered at once: programs share this many, the page has its queue's
        self.api_slots = threading.BoundedSemaphore(concurrency)
        self.failed_logins = Quota(LOGIN_FAILURES, LOGIN_WINDOW, "failed logins")

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "ChatService":
        """The documents in ``settings.docs_dir`` plus uploads in ``settings.uploads_dir``,
        indexed in ``<index_root>/chat``, with the accounts and quotas of ``settings``
        (default settings: from the environment)."""
        settings = settings or Settings.from_env()
        settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        if settings.docs_dir == default_docs_dir():  # a named folder must exist already
            settings.docs_dir.mkdir(parents=True, exist_ok=True)
        retriever = Retriever(settings.index_root / "chat",
                              documents=[settings.docs_dir, settings.uploads_dir],
                              settings=settings, allow_empty=True)
        return cls(retriever, settings.uploads_dir, settings.log_questions,
                   Accounts(settings.accounts_file, settings.auth),
                   Quota(settings.rate_limit, 60, f"{settings.rate_limit} requests a minute"),
                   Quota(settings.upload_limit_mb * 2**20, 3600,
                         f"{settings.upload_limit_mb} MB of uploads an hour"),
                   settings.concurrency)

    def warm_up(self) -> None:
        """Finish uploads a crash interrupted, load the model, the index (building it when
        needed) and the translation dictionary; then :attr:`ready` is set."""
        self.library.resume()
        self.retriever.index
        self.retriever.query_encoder.encode_queries(["warm up"])
        dictionary()
        self.ready.set()

    def user(self, name: str | None) -> User | None:
        """The logged-in user called ``name``; ``None`` (the local user) without accounts.

        Raises:
            NotAllowed: accounts exist and ``name`` is no longer (or not yet) one of them: a
                removed user's open page, or a page opened before the first user was added.
        """
        if name:
            user = self.accounts.user(name)
            if user is None:
                raise NotAllowed(f"{name} is no longer a user here; log in again")
            return user
        if self.login_required or self.accounts.exist():
            raise NotAllowed("this server now has accounts: it must be restarted to ask for "
                             "logins")
        return None

    def retrieve(self, question, k: int, history: list[str], sources=None,
                 user: User | None = None, possible: bool = True):
        """:meth:`Retriever.retrieve` over what ``user`` may read (the local user: all, with
        no look at the library)."""
        allowed = None if user is None else access.readable(self.library.documents(), user)
        return self.retriever.retrieve(
            question, k=k, history=history, possible=possible, allowed=allowed,
            sources=list(sources) if isinstance(sources, (list, tuple)) else sources)

    def answer(self, message, history: list | None, top_k: int = 3,
               sources: list[str] | None = None, user: User | None = None) -> str:
        """The Markdown reply to ``message`` given a chat ``history`` (Gradio's or OpenAI's
        messages), from the documents ``sources`` only, when some are given, among those
        ``user`` may read.

        Raises:
            ValueError, TypeError, QAError: a bad question, ``top_k`` or ``sources``.
        """
        earlier = recent_questions(history)
        started = time.perf_counter()
        k = check_k(int(top_k))
        passages = self.retrieve(message, k, earlier, sources or None, user)
        text = f" {message[:200]!r}" if self.log_questions else ""
        sure = sum(p.tier == "answer" for p in passages)
        log.info("question%s answered in %.0f ms: %d of %d passages answer, %d possibly relevant, "
                 "%d earlier turns", text, 1000 * (time.perf_counter() - started), sure, k,
                 len(passages) - sure, len(earlier))
        return format_reply(message if isinstance(message, str) else "", passages)

    def reply(self, message, history: list | None, top_k: int = 3,
              sources: list[str] | None = None, user: User | None = None) -> str:
        """:meth:`answer`, for the page: while the index loads, or for bad input, a short
        explanation instead, never a traceback."""
        if not self.ready.is_set():
            return BUILDING
        try:
            return self.answer(message, history, top_k, sources, user)
        except (ValueError, TypeError, QAError) as exc:
            log.info("question refused: %s", exc)
            return f"⚠️ {escape(str(exc))}"

    def documents(self, user: User | None = None, everyone: bool = False) -> list:
        """The :class:`~qa.library.DocumentInfo` of the documents ``user`` sees."""
        return access.visible(self.library.documents(), user, everyone)

    def documents_markdown(self, user: User | None = None) -> str:
        """The library ``user`` sees as Markdown: what a restart finished, then a table of the
        documents (or a line saying there are none yet)."""
        if not self.ready.is_set():
            return BUILDING
        lines = [f"ℹ️ {escape(notice)}" for notice in self.library.notices] if \
            user is None or user.admin else []
        documents = self.documents(user)
        if not documents:
            return "\n\n".join(lines + ["No documents yet: add some below to start asking."])
        rows = ["| document | passages | note |", "|---|---|---|"]
        for doc in documents:
            note = ("your upload" if doc.owner else "uploaded") if doc.removable else ""
            if doc.original:
                note += f" as {escape(doc.original)}"
            if doc.state != "indexed":
                note += f" ({doc.state})"
            rows.append(f"| {escape(doc.source)} | {doc.passages} | {note.strip()} |")
        shown = {doc.source for doc in documents}
        manifest = self.retriever.index.manifest
        for doc in manifest.get("documents", []):
            if doc["source"] in shown and any(doc.get(key) for key in NOTES):
                rows.append(f"| {escape(doc['source'])} | | {escape(pages_note(doc))} |")
        if user is None or user.admin:  # the folder's files: for whoever manages it
            for name, first in (manifest.get("duplicates") or {}).items():
                rows.append(f"| {escape(name)} | 0 | the same content as {escape(first)}, "
                            "indexed once |")
            for name, reason in (manifest.get("skipped") or {}).items():
                rows.append(f"| {escape(name)} | 0 | ⚠️ not indexed: {escape(reason)} |")
        return "\n\n".join(lines + ["\n".join(rows)])

    def names(self, user: User | None = None) -> list[str]:
        """Every document's name ``user`` sees, for choosing which to ask."""
        return [d.source for d in self.documents(user)] if self.ready.is_set() else []

    def removable(self, user: User | None = None) -> list[str]:
        """Documents ``user`` may remove now."""
        if not self.ready.is_set():
            return []
        return [d.source for d in self.library.documents() if access.may_remove(d, user)]

    def upload(self, paths: list[Path], user: User | None = None) -> str:
        """Index uploaded files (private to ``user``, unless an admin's or without accounts);
        returns a status message (the reason when refused)."""
        if not paths:
            return "⚠️ Choose one or more files first."
        if not self.ready.is_set():
            return BUILDING
        try:
            files = []
            for path in paths:
                size = path.stat().st_size
                if size > MAX_UPLOAD_BYTES:  # refused before it is read
                    raise DocumentError(f"{path.name}: {size / 1e6:.1f} MB is over the "
                                        f"{MAX_UPLOAD_BYTES // 2**20} MB upload limit")
                files.append((path.name, path.read_bytes()))
            started = time.perf_counter()
            result = self.add(files, user)
        except (DocumentError, OSError) as exc:
            log.info("upload refused: %s", exc)
            return f"⚠️ Refused, nothing was changed: {escape(str(exc))}"
        log.info("upload of %d files: %d indexed in %.1f s, %d already held", len(files),
                 len(result.added), time.perf_counter() - started, len(result.duplicates))
        return upload_message(result)

    def add(self, files: list[tuple[str, bytes]], user: User | None = None):
        """Store and index ``(name, content)`` pairs for ``user`` (an admin's and the local
        user's are everyone's); see :meth:`qa.library.Library.add`.

        Raises:
            DocumentError: refused (see there); nothing changed.
        """
        return self.library.add(files, owner=None if user is None or user.admin else user.name)

    def remove(self, source: str | None, user: User | None = None) -> str:
        """Remove a document ``user`` may remove; returns a status message."""
        if not source:
            return "⚠️ Choose an uploaded document first."
        try:
            self.delete(source, user)
        except (DocumentError, NotAllowed) as exc:
            return f"⚠️ {escape(str(exc))}"
        log.info("removed an uploaded document")
        return f"🗑️ Removed {escape(source)}"

    def delete(self, source: str, user: User | None = None) -> None:
        """Remove ``source`` for ``user``.

        Raises:
            DocumentError: not a document ``user`` sees (the same words whether it exists or
                not).
            NotAllowed: one ``user`` sees but may not remove.
        """
        doc = next((d for d in self.documents(user) if d.source == source), None)
        if doc is None:
            raise DocumentError(f"{source} is not a document here")
        if not access.may_remove(doc, user):
            raise NotAllowed(f"{source} cannot be removed by you")
        self.library.remove(source)
