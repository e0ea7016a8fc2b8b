"""The chat's document library: the documents folder plus a folder of uploaded files.

Uploads are read in a worker process (:mod:`qa.parse_worker`: a time and memory budget)
before anything is written, and only they are read: the documents already indexed keep their
passages and vectors. Names: an upload is stored under its file name made safe
(:func:`safe_name`); a name already taken (compared case-insensitively) by other content gets
`` (2)``, `` (3)``…, and the same content twice (same sha256) is stored once, the reply saying
where it already is. A journal (``uploads/.journal.json``) marks each upload *pending* before
its file is written and *indexed* once the index holds it (removals: *removing*), so after a
crash :meth:`Library.resume` finishes what was interrupted and the page says what happened.
A refused upload leaves the documents, the journal and the index as they were.

With accounts, a user's uploads are private: stored in ``uploads/users/<name>/`` (named
``uploads/users/<name>/x.pdf`` in results) until an admin shares them (:meth:`Library.share`
moves them to ``uploads/``); who may see or remove what is :mod:`qa.access`'s to say.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DocumentError
from .fileio import publish_file
from .journal import JOURNAL, Journal
from .limits import MAX_FILES_PER_UPLOAD, MAX_UPLOAD_BYTES, MAX_UPLOADED_DOCUMENTS
from .parse_worker import parse_files
from .sources import folder_labels
from .upload_names import PRIVATE, free_name, names_in, owner_of, safe_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentInfo:
    """A document in the library: its name in answers, passages, whether it was uploaded
    (and so removable), its state (``indexed``, ``pending``, ``removing``), for an upload
    stored under another name the name it was uploaded as, and the user whose private upload
    it is (``None``: everyone's)."""

    source: str
    passages: int
    removable: bool
    state: str = "indexed"
    original: str = ""
    owner: str | None = None


@dataclass(frozen=True)
class UploadResult:
    """What an upload did: the stored names, ``{uploaded name: stored name}`` where a name was
    taken, and ``{uploaded name: document}`` for content the library already held."""

    added: list[str]
    renamed: dict[str, str] = field(default_factory=dict)
    duplicates: dict[str, str] = field(default_factory=dict)


class Library:
    """Documents the chat answers from and the retriever over them.

    Args:
        retriever: a :class:`~qa.retriever.Retriever` whose documents are
            ``[documents folder, uploads folder]``.
        uploads: the folder uploads are written to (created when missing).
    """

    def __init__(self, retriever, uploads: Path):
        self.retriever = retriever
        self.uploads = Path(uploads)
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.uploads / JOURNAL)
        self.notices: list[str] = []  # what resume() did, for the page
        self.lock = threading.Lock()  # held by whatever rebuilds (uploads, removals, syncs)

    def _source(self, stored: str) -> str:
        """The name in results of the upload stored as ``stored`` (``uploads/x.txt``)."""
        return f"{self._label}/{stored}"

    @property
    def _label(self) -> str:
        return folder_labels(self.retriever.documents)[self.uploads]

    def documents(self) -> list[DocumentInfo]:
        """The indexed documents in index order, then uploads not indexed yet."""
        uploads = self._label + "/"
        entries = self.journal.read()
        shown = []
        for doc in self.retriever.index.manifest.get("documents", []):
            name = doc["source"][len(uploads):] if doc["source"].startswith(uploads) else None
            entry = entries.pop(name, {}) if name else {}
            original = entry.get("original", "")
            shown.append(DocumentInfo(doc["source"], doc["passages"], name is not None,
                                      entry.get("state", "indexed"),
                                      original if original not in (name, Path(name or "").name)
                                      else "", owner_of(name)))
        shown += [DocumentInfo(self._source(name), 0, False, entry["state"], entry["original"],
                               owner_of(name))
                  for name, entry in entries.items() if entry.get("state") == "pending"]
        return shown

    def _holders(self, owner: str | None) -> dict[str, str]:
        """``{sha256: document}`` for the documents in the index and the uploads that
        ``owner`` can see (everyone's and their own)."""
        held = {doc["sha256"]: doc["source"] for doc in
                self.retriever.index.manifest.get("documents", []) if "sha256" in doc}
        held.update({e["sha256"]: self._source(n) for n, e in self.journal.read().items()})
        return {digest: source for digest, source in held.items()
                if owner_of(self._stored(source)) in (None, owner)}

    def _stored(self, source: str) -> str | None:
        """The path inside the uploads folder of the upload named ``source``, else ``None``."""
        uploads = self._label + "/"
        return source[len(uploads):] if source.startswith(uploads) else None

    def add(self, files: list[tuple[str, bytes]], owner: str | None = None) -> UploadResult:
        """Check, read (in a worker), store and index ``(file name, content)`` pairs: private
        to the user ``owner`` when given, else everyone's.

        Raises:
            DocumentError: too many files, a file too large, unsupported, unreadable or
                empty; nothing is stored or indexed then.
        """
        if not files:
            raise DocumentError("no file was given")
        if len(files) > MAX_FILES_PER_UPLOAD:
            raise DocumentError(f"at most {MAX_FILES_PER_UPLOAD} files at a time, got {len(files)}")
        checked = []
        for name, data in files:
            clean = safe_name(name)
            if len(data) > MAX_UPLOAD_BYTES:
                raise DocumentError(f"{clean}: {len(data) / 1e6:.1f} MB is over the "
                                    f"{MAX_UPLOAD_BYTES // 2**20} MB upload limit")
            checked.append((re.split(r"[\\/]", str(name))[-1], clean, data))  # no client path
        with self.lock:
            return self._add(checked, owner)

    def _add(self, checked: list[tuple[str, str, bytes]], owner: str | None) -> UploadResult:
        holders = self._holders(owner)
        folder = f"{PRIVATE}/{owner}/" if owner else ""
        taken = names_in(self.uploads / folder)
        plan, renamed, duplicates = [], {}, {}
        for original, clean, data in checked:
            digest = hashlib.sha256(data).hexdigest()
            if digest in holders:
                duplicates[original] = holders[digest]
                continue
            name = free_name(clean, taken)
            taken.add(name.casefold())
            stored = folder + name
            holders[digest] = self._source(stored)
            plan.append((stored, data, digest))
            if name != clean:
                renamed[original] = name
        held = sum(owner_of(name) == owner for name in self.journal.read())
        if held + len(plan) > MAX_UPLOADED_DOCUMENTS:  # each user's own, and the shared ones
            raise DocumentError(f"at most {MAX_UPLOADED_DOCUMENTS} uploaded documents "
                                f"{'of yours' if owner else 'shared'}; remove some first")
        if not plan:
            return UploadResult([], {}, duplicates)
        parsed = parse_files([(self._source(s), data) for s, data, _ in plan],
                             self.retriever.config)
        for stored, _, _ in plan:
            if not parsed[self._source(stored)].records:
                raise DocumentError(f"{stored}: no text found")
        entries = self.journal.read()
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        originals = {folder + name: original for original, name in renamed.items()}
        for stored, _, digest in plan:
            entries[stored] = {"original": originals.get(stored, Path(stored).name),
                               "sha256": digest,
                               "state": "pending", "time": now}
        self.journal.write(entries)
        written = []
        try:
            for stored, data, _ in plan:
                written.append(self._write(stored, data))
            self._rebuild(parsed)
        except BaseException:
            for path in written:  # leave the library as it was
                path.unlink(missing_ok=True)
            self.journal.write({n: e for n, e in entries.items()
                                if n not in {s for s, _, _ in plan}})
            raise
        for stored, _, _ in plan:
            entries[stored]["state"] = "indexed"
        self.journal.write(entries)
        return UploadResult([Path(s).name for s, _, _ in plan], renamed, duplicates)

    def remove(self, source: str) -> None:
        """Remove an uploaded document (documents of the folder cannot be removed).

        Raises:
            DocumentError: ``source`` is not an uploaded, indexed document.
        """
        with self.lock:
            match = next((d for d in self.documents() if d.source == source), None)
            if match is None or not match.removable or match.state != "indexed":
                raise DocumentError(f"{source} is not an uploaded document")
            name = self._stored(source)
            path = self.uploads / name
            data = path.read_bytes()
            entries = self.journal.read()
            entry = entries.get(name) or {"original": name, "sha256":
                                          hashlib.sha256(data).hexdigest(), "time": ""}
            entries[name] = dict(entry, state="removing")
            self.journal.write(entries)
            path.unlink()
            try:
                self._rebuild()
            except BaseException:
                self._write(name, data)
                entries[name] = dict(entry, state="indexed")
                self.journal.write(entries)
                raise
            entries.pop(name)
            self.journal.write(entries)

    def resume(self) -> list[str]:
        """Finish uploads and removals a crash interrupted; returns (and keeps in
        :attr:`notices`) what happened, one sentence each."""
        with self.lock:
            for partial in self.uploads.rglob(".upload-*"):  # a write a crash cut short
                partial.unlink(missing_ok=True)
            entries = self.journal.read()
            unfinished = {n: e for n, e in entries.items() if e.get("state") != "indexed"}
            if not unfinished:
                return []
            said = []
            for name, entry in unfinished.items():
                path = self.uploads / name
                intact = path.is_file() and \
                    hashlib.sha256(path.read_bytes()).hexdigest() == entry.get("sha256")
                if entry["state"] == "pending" and intact:
                    entry["state"] = "indexed"
                    said.append(f"{name}: its upload was interrupted by a restart; it is now "
                                "indexed")
                    continue
                path.unlink(missing_ok=True)
                entries.pop(name)
                if entry["state"] == "pending":
                    said.append(f"{entry.get('original', name)}: its upload was interrupted "
                                "before the file was saved; upload it again")
            self._rebuild()
            self.journal.write(entries)
            self.notices.extend(said)
            for line in said:
                log.warning("%s", line)
            return said

    def share(self, source: str) -> str:
        """Make a user's private upload everyone's (moved to the uploads folder, renamed
        ``x (2).pdf`` when the name is taken there); returns its new name in results.

        Raises:
            DocumentError: ``source`` is not a private upload, indexed.
        """
        with self.lock:
            match = next((d for d in self.documents() if d.source == source), None)
            if match is None or match.owner is None or match.state != "indexed":
                raise DocumentError(f"{source} is not a user's private upload")
            old = self._stored(source)
            data = (self.uploads / old).read_bytes()
            held = self._holders(None).get(hashlib.sha256(data).hexdigest())
            if held:
                raise DocumentError(f"everyone already has the same content as {held}")
            entries = self.journal.read()
            entry = entries.get(old) or {"original": Path(old).name,
                                         "sha256": hashlib.sha256(data).hexdigest()}
            new = free_name(Path(old).name, names_in(self.uploads))
            entries[new] = dict(entry, state="pending", time=time.strftime("%Y-%m-%dT%H:%M:%S"))
            self.journal.write(entries)
            self._write(new, data)
            (self.uploads / old).unlink()
            entries.pop(old, None)
            try:
                self._rebuild()
            except BaseException:  # back to private
                self._write(old, data)
                (self.uploads / new).unlink(missing_ok=True)
                entries.pop(new)
                entries[old] = dict(entry, state="indexed")
                self.journal.write(entries)
                raise
            entries[new]["state"] = "indexed"
            self.journal.write(entries)
            return self._source(new)

    def _write(self, name: str, data: bytes) -> Path:
        (self.uploads / name).parent.mkdir(parents=True, exist_ok=True)
        return publish_file(self.uploads / name, data, prefix=".upload-")

    def _rebuild(self, parsed: dict | None = None) -> None:
        self.retriever.rebuild(parsed)
