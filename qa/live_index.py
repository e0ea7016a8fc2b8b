"""An index folder kept loaded and current: :class:`LiveIndex`, what
:class:`qa.retriever.Retriever` answers from."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path

from .config import Settings
from .errors import DocumentError, IndexCorruptError, IndexMismatchError
from .evidence import IndexArrays
from .indexer import IndexConfig, build
from .sources import FileSource
from .store import IndexStore, LoadedIndex

log = logging.getLogger(__name__)
RECHECK_SECONDS = 1.0
"""How often a live index looks whether another process published a new version."""


class LiveIndex:
    """An index folder kept loaded and current: opened, built from its source when missing or
    stale, rebuilt on demand, and followed when another process publishes a new version
    (with ``QA_BACKEND=milvus``: served from Milvus). :class:`qa.retriever.Retriever` answers
    questions from it.

    Args:
        index_dir: the index folder (``embeddings/<name>``).
        documents: files or folders the index is built from (a :class:`FileSource`).
        source: what the index is built from otherwise (e.g. a
            :class:`~qa.sources.PassageFile`); with neither, the index is only opened.
        settings: model and paths (default: from the environment).
        config: chunking and keyword settings (default: ``IndexConfig`` with
            ``settings.exact``).
        progress: show a progress bar while embedding.
        allow_empty: documents without any passage give an empty index (every question: not
            found) instead of an error (the chat's library may be empty).
        ray: build on Ray (a :class:`qa.ray_build.RayCluster`; ``qa build --ray``).
    """

    def __init__(self, index_dir: str | Path, documents: list[str | Path] | None = None,
                 settings: Settings | None = None, config: IndexConfig | None = None,
                 progress: bool = True, allow_empty: bool = False, source=None, ray=None):
        self.store = IndexStore(Path(index_dir))
        self.documents = [Path(p) for p in documents] if documents is not None else None
        self.source = FileSource(self.documents) if source is None and documents is not None \
            else source
        self.settings = settings or Settings.from_env()
        self.config = config or IndexConfig(exact=self.settings.exact, ocr=self.settings.ocr)
        self.progress = progress
        self.allow_empty = allow_empty
        self.ray = ray
        self._index: LoadedIndex | None = None
        self._arrays: IndexArrays | None = None
        self._lock = threading.Lock()
        self._checked = time.monotonic()

    @property
    def passage_encoder(self):
        """What embeds passages when an index is built (loaded on first use)."""
        from .encoder import get_passage_encoder

        return get_passage_encoder(self.settings)

    def model_info(self) -> dict:
        from .encoder import model_info

        return model_info(self.settings)

    @property
    def index(self) -> LoadedIndex:
        """The loaded index; (re)built first when missing or stale and documents are known."""
        return self._loaded()[0]

    def _loaded(self) -> tuple[LoadedIndex, IndexArrays]:
        with self._lock:
            if self._index is None:
                self._index = self._open()
                self._arrays = IndexArrays(self._index)
            elif self._published_elsewhere():
                self._take_new_version()
            return self._index, self._arrays

    def _published_elsewhere(self) -> bool:
        """Whether another process (``qa sync``, ``qa build``) made a new version live; looked
        at most every :data:`RECHECK_SECONDS`."""
        now = time.monotonic()
        if now - self._checked < RECHECK_SECONDS:
            return False
        self._checked = now
        if self.settings.backend == "milvus":
            from .milvus_store import live_version

            return live_version(*self._milvus()) not in (None, self._index.folder.name)
        try:
            live = self.store.current()
        except IndexCorruptError:
            return False
        return live is not None and live.name != self._index.folder.name

    def _take_new_version(self) -> None:
        """Answer from the live version from now on; keep the one in memory when it cannot be
        loaded."""
        try:
            loaded = self._serving(None, publish=False) if self.settings.backend == "milvus" \
                else self.store.load()
        except IndexCorruptError as exc:
            log.warning("a new version of %s cannot be loaded, keeping the one in use: %s",
                        self.store.folder, exc)
            return
        if loaded is not None and loaded.manifest.get("model") == self._index.manifest.get("model"):
            log.info("answering from the new version %s", loaded.folder.name)
            self._index, self._arrays = loaded, IndexArrays(loaded)

    @property
    def serves_only(self) -> bool:
        """Whether this process only answers from Milvus (``QA_MILVUS_PUBLISH=0``): it never
        builds nor publishes, whatever its documents folder holds."""
        return self.settings.backend == "milvus" and not self.settings.milvus_publish

    def _open(self) -> LoadedIndex:
        if self.serves_only:
            loaded = self._serving(None, publish=False)
        else:
            loaded = self.store.load() if self.source is None else self._load_or_none()
            if self.source is not None:
                reason = "there is no index yet" if loaded is None else self._stale(loaded)
                if reason:
                    log.info("building the index %s: %s", self.store.folder, reason)
                    loaded = self._build()
            loaded = self._serving(loaded)
        if loaded is None:
            raise IndexMismatchError(f"{self.store.folder} holds no index; run `qa build`")
        expected = self.model_info()
        built = loaded.manifest["model"]
        if built != expected:
            differ = ", ".join(f"{key} {built.get(key)!r} (now {expected.get(key)!r})"
                               for key in expected if built.get(key) != expected.get(key))
            raise IndexMismatchError(
                f"{self.store.folder} was built with another model: {differ}; "
                "rebuild it with `qa build`"
            )
        return loaded

    def _build(self, parsed: dict | None = None) -> LoadedIndex:
        config = self.config
        if config.compact is None:  # storage only: an index built compact stays compact
            recorded = self.store.read_manifest_raw().get("config") or {}
            config = replace(config, compact=recorded.get("compact"))
        return build(self.source, self.store, self.passage_encoder, config,
                     progress=self.progress, parsed=parsed, allow_empty=self.allow_empty,
                     ray=self.ray)

    def rebuild(self, parsed: dict | None = None) -> LoadedIndex:
        """Build the index from its source now (reading only what changed, or taking files
        from ``parsed``: see :class:`qa.sources.FileSource`) and answer from it. Questions are
        answered from the previous index until the new one is written.

        Raises:
            DocumentError: this process only answers from Milvus (:attr:`serves_only`).
        """
        if self.serves_only:
            raise DocumentError("this server only answers from Milvus (QA_MILVUS_PUBLISH=0): "
                                "add documents where the index is built")
        loaded = self._serving(self._build(parsed))
        with self._lock:
            self._index, self._arrays = loaded, IndexArrays(loaded)
        return loaded

    def _load_or_none(self) -> LoadedIndex | None:
        try:
            return self.store.load()
        except IndexCorruptError as exc:
            log.warning("the index cannot be used and is rebuilt from the documents: %s", exc)
            return None

    def refresh(self) -> LoadedIndex | None:
        """Rebuild (the incremental way, :meth:`rebuild`) when the documents or settings no
        longer match the live index; ``None`` when they do (nothing is written then) and
        always for a process that only answers from Milvus."""
        if self.serves_only:
            return None
        with self._lock:
            held = self._index
        live = self.store.current()
        loaded = held if held is not None and live == held.folder else self._load_or_none()
        if loaded is not None and self.source is not None and self._stale(loaded) is None:
            if self._milvus_behind(held, loaded):
                served = self._serving(loaded)
                with self._lock:
                    self._index, self._arrays = served, IndexArrays(served)
                return served
            return None
        return self.rebuild()

    def _milvus_behind(self, held: LoadedIndex | None, local: LoadedIndex) -> bool:
        """With ``QA_BACKEND=milvus``: whether Milvus serves another version than the local
        folder's ``local`` (``held``: what this process answers from, when loaded)."""
        if self.settings.backend != "milvus":
            return False
        if held is not None:
            return held.folder.name != local.folder.name
        from .milvus_store import live_version

        return live_version(*self._milvus()) != local.folder.name

    def _milvus(self):
        """The Milvus client and collection name of this index (``QA_BACKEND=milvus``)."""
        from .milvus_client import client
        from .milvus_store import collection_base

        return (client(self.settings.milvus_address, self.settings.milvus_token),
                collection_base(self.store.folder))

    def _serving(self, loaded: LoadedIndex | None, publish: bool = True) -> LoadedIndex | None:
        """What questions are answered from: the local version ``loaded``, or with
        ``QA_BACKEND=milvus`` the index in Milvus, brought up to date with ``loaded`` first
        (:func:`qa.milvus_store.publish`, unless not ``publish``)."""
        if self.settings.backend != "milvus":
            return loaded
        from . import milvus, milvus_store
        from .fileio import exclusive

        client, base = self._milvus()
        if publish and loaded is not None and milvus_store.live_version(client, base) != \
                loaded.folder.name:
            with exclusive(self.store.lock_path, "publishing the index to Milvus"):
                milvus_store.publish(loaded, client, base, self.config)
        return milvus.load(client, base)

    def _stale(self, loaded: LoadedIndex) -> str | None:
        """Why ``loaded`` no longer matches the documents and settings, or ``None``."""
        manifest = loaded.manifest
        if manifest.get("corpus_hash") != self.source.fingerprint():
            return "the documents changed"
        if not self.config.shapes(manifest.get("config")):
            return "the index settings changed"
        if manifest.get("model") != self.model_info():
            return "the model or the passage encoder changed"
        return None

    def reload(self) -> None:
        """Forget the loaded index; the next question loads (or rebuilds) it again."""
        with self._lock:
            self._index = None
            self._arrays = None
