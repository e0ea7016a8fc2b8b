"""Keeping an index in step with its folders: ``qa sync DIR [--watch]`` and the chat's watch.

:class:`FolderWatch` notices a change by listing the supported files with their sizes and
modification times (no file is read while nothing changed); on a change it rebuilds the index
the incremental way (:func:`qa.indexer.build`: only new and changed files are read, only new
passages embedded, deleted files dropped, written atomically like ``qa build``). A retriever
serving questions from the same index folder in another process picks the new version up on
its next question (:meth:`qa.retriever.Retriever.index`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from .errors import QAError
from .sources import library_files

log = logging.getLogger(__name__)


def snapshot(paths) -> dict[str, tuple[int, int]]:
    """``{name in results: (size, modification time in ns)}`` of the supported files under
    ``paths`` (a file that vanishes while listed is left out)."""
    found = {}
    for path, name in library_files(paths):
        try:
            stat = path.stat()
        except OSError:
            continue
        found[name] = (stat.st_size, stat.st_mtime_ns)
    return found


@dataclass(frozen=True)
class SyncResult:
    """What one sync changed, by document name."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    skipped: dict
    seconds: float

    def __str__(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.changed)} changed",
                 f"{len(self.removed)} removed"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts) + f" in {self.seconds:.1f} s"


class FolderWatch:
    """Syncs ``retriever``'s index with its document folders when they change.

    Args:
        retriever: a :class:`~qa.retriever.Retriever` built from folders (``documents``).
        lock: held while rebuilding (the chat's library lock, so uploads and syncs take turns).
    """

    def __init__(self, retriever, lock: threading.Lock | None = None):
        if retriever.documents is None:
            raise QAError("only an index built from folders can be synced")
        self.retriever = retriever
        self.lock = lock or threading.Lock()
        self.seen: dict[str, tuple[int, int]] | None = None

    def sync(self) -> SyncResult | None:
        """Rebuild when the files differ from the index (looked at only when a file's size or
        time changed since the last look, or at the first); ``None`` when nothing changed."""
        with self.lock:
            now = snapshot(self.retriever.documents)
            if now == self.seen:
                return None
            started = time.perf_counter()
            before = _documents(self.retriever)
            loaded = self.retriever.refresh()
            self.seen = now
            if loaded is None:  # touched only, or indexed already (an upload)
                return None
            after = {d["source"]: d["sha256"] for d in loaded.manifest.get("documents", [])}
        result = SyncResult(
            added=tuple(sorted(after.keys() - before.keys())),
            changed=tuple(sorted(n for n in after.keys() & before.keys()
                                 if after[n] != before[n])),
            removed=tuple(sorted(before.keys() - after.keys())),
            skipped=dict(loaded.manifest.get("skipped") or {}),
            seconds=time.perf_counter() - started)
        log.info("synced %s: %s", ", ".join(map(str, self.retriever.documents)), result)
        return result

    def run(self, interval: float, stop: threading.Event, on_sync=None) -> None:
        """Sync every ``interval`` seconds until ``stop`` is set; a failed sync is logged and
        tried again at the next look (``on_sync(result)`` after each change)."""
        while not stop.is_set():
            try:
                result = self.sync()
            except (QAError, OSError) as exc:
                log.warning("sync failed, trying again in %.0f s: %s", interval, exc)
                self.seen = None
                result = None
            if result is not None and on_sync is not None:
                on_sync(result)
            stop.wait(interval)

    def start(self, interval: float) -> threading.Event:
        """:meth:`run` in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        threading.Thread(target=self.run, args=(interval, stop), name="qa-folder-watch",
                         daemon=True).start()
        return stop


def _documents(retriever) -> dict[str, str]:
    """``{name: sha256}`` of the documents in the retriever's live index (``{}`` when none)."""
    manifest = retriever.store.read_manifest_raw()
    return {d["source"]: d.get("sha256", "") for d in manifest.get("documents", [])}
