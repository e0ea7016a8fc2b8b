"""Answering questions from an index: :class:`Retriever` and its one ranking."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import replace
import threading
import time
from pathlib import Path

import numpy as np

from . import calibration, fusion
from .bilingual import dictionary
from .config import Settings
from .errors import DocumentError, IndexCorruptError, IndexMismatchError
from .answers import answer_span
from .evidence import IndexArrays, gather, keyword_weights, term_weights
from .followup import resolve
from .indexer import IndexConfig, build
from .sources import FileSource
from .lexical import query_weights
from .passage import Passage, Record
from .places import describe
from .selection import answering, best_rows, fold_duplicates, source_rows
from .questions import (MAX_K, MAX_QUESTION_CHARS, Question, Ranked, check_k, clean_question,
                        question_vectors, with_translations)
from .store import IndexStore, LoadedIndex

__all__ = ["Retriever", "Question", "Ranked", "check_k", "clean_question", "MAX_K",
           "MAX_QUESTION_CHARS"]

log = logging.getLogger(__name__)
_BLAS = None
RECHECK_SECONDS = 1.0
"""How often a retriever looks whether another process published a new index version."""


def _one_blas_thread():
    """BLAS limited to one thread: the per-question products are small, and idle BLAS threads
    spinning on two cores halve the speed of the query encoder's own threads (measured:
    retrieve() on drcd 56 -> 27 ms)."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()  # finding the libraries once, not per question
    return _BLAS.limit(limits=1, user_api="blas")


class Retriever:
    """Retrieval over one index folder, built from its source when missing or stale.

    Args:
        index_dir: the index folder (``embeddings/<name>``).
        documents: files or folders the index is built from (a :class:`FileSource`).
        source: what the index is built from otherwise (e.g. a
            :class:`~qa.sources.PassageFile`); with neither, the index is only opened.
        settings: model and paths (default: from the environment).
        config: chunking and keyword settings (default: ``IndexConfig`` with
            ``settings.exact``).
        recipe: fusion parameters.
        progress: show a progress bar while embedding.
        allow_empty: documents without any passage give an empty index (every question: not
            found) instead of an error (the chat's library may be empty).
        ray: build on Ray (a :class:`qa.ray_build.RayCluster`; ``qa build --ray``).
    """

    def __init__(self, index_dir: str | Path, documents: list[str | Path] | None = None,
                 settings: Settings | None = None, config: IndexConfig | None = None,
                 recipe: fusion.Recipe = fusion.Recipe(), progress: bool = True,
                 allow_empty: bool = False, source=None, ray=None):
        self.store = IndexStore(Path(index_dir))
        self.documents = [Path(p) for p in documents] if documents is not None else None
        self.source = FileSource(self.documents) if source is None and documents is not None \
            else source
        self.settings = settings or Settings.from_env()
        self.config = config or IndexConfig(exact=self.settings.exact, ocr=self.settings.ocr)
        self.recipe = recipe
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

    @property
    def query_encoder(self):
        """What embeds questions (see :func:`qa.encoder.get_query_encoder`)."""
        from .encoder import get_query_encoder

        return get_query_encoder(self.settings)

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
        from .milvus_store import client, collection_base

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

    def prepare(self, question: str, history: list[str] | None = None) -> Question:
        """Clean ``question`` (see :func:`clean_question`), resolve it against ``history`` when
        it is a follow-up (:mod:`qa.followup`), tokenise it for keywords and, when the index
        holds passages in another script, translate its words and phrases, choosing among
        their translations by what the index holds (:mod:`qa.bilingual`)."""
        asked = clean_question(question)
        earlier = []
        for item in history or []:
            try:
                earlier.append(clean_question(item))
            except ValueError:
                continue
        text = resolve(asked, earlier)
        unigrams = self.config.unigrams
        index, arrays = self._loaded()
        terms = (dictionary().terms(text, unigrams, index.keyword) if arrays.other_scripts(text)
                 else [])
        embed = self.config.dense_text(text)
        weights = query_weights(text, unigrams)
        return Question(text, tuple(weights), embed, tuple(terms), with_translations(embed, terms),
                        tuple((t, w) for t, w in weights.items() if w != 1.0))

    def question_vectors(self, questions: list[Question], batch_size: int = 32) -> np.ndarray:
        """The dense vectors of prepared ``questions`` (:func:`qa.questions.question_vectors`)."""
        return question_vectors(self.query_encoder, questions, batch_size)

    def evidence(self, question: Question, vector: np.ndarray | None = None,
                 within: np.ndarray | None = None, loaded=None) -> fusion.Evidence:
        """Every passage's dense and keyword evidence and fused score for ``question``
        (``within``: rows that must be scored even when not candidates; ``loaded``: the
        ``(index, arrays)`` those rows belong to, when a newer version may have been loaded)."""
        index, arrays = loaded or self._loaded()
        if vector is None:
            vector = self.question_vectors([question])[0]
        with _one_blas_thread():
            return gather(index, arrays, question, vector, self.recipe, within)

    def rank(self, question: Question, k: int = 10, vector: np.ndarray | None = None) -> list[Ranked]:
        """The ranking shared by :meth:`retrieve` and ``qa eval``: best ``k`` rows by fused
        score, no cut-off (``retrieve`` skips the rows below the threshold, :func:`answering`)."""
        index = self.index
        if not index.records:
            return []
        evidence = self.evidence(question, vector)
        fused = evidence.fused
        return [Ranked(int(row), float(fused[row])) for row in best_rows(fused, k, evidence.rows)]

    def retrieve(self, question: str, k: int = 5, history: list[str] | None = None,
                 possible: bool = False, sources: str | list[str] | None = None,
                 allowed: Collection[str] | None = None) -> list[Passage]:
        """The ``k`` passages that best answer ``question``.

        Args:
            question: the question, any language; cut to 1,000 characters.
            k: how many passages, 1..100 (default 5).
            history: the user's earlier questions in the same chat, oldest first.
            possible: also return *possibly relevant* passages (``tier == "possible"``), whose
                calibrated probability is under the answer threshold but over the lower one
                (default: only passages that answer).
            sources: only from these documents: a name or glob (``"*.pdf"``), or a list of
                them (:func:`qa.selection.source_rows`); default: every document.
            allowed: the documents the asker may read, by exact name (a user's view of a
                shared library); the others are never ranked, returned nor named in
                ``also_in``; default: every document.
        Returns:
            Up to ``k`` passages, best first by the ranking, each scored with the calibrated
            probability that it answers the question and its tier (``"answer"`` or
            ``"possible"``); a text held by several documents comes once, the others in
            ``also_in``; empty when nothing reaches the threshold ("not found").
        Raises:
            ValueError: empty question, ``k`` out of range, or no document matches ``sources``.
        """
        k = check_k(k)
        question = self.prepare(question, history)
        index, arrays = self._loaded()
        if not index.records:
            return []
        within = source_rows(index.rows_by_source, sources, allowed)
        if within is not None and not len(within):
            return []
        evidence = self.evidence(question, within=within, loaded=(index, arrays))
        weights, terms = keyword_weights(index, question), term_weights(index, question)
        rows, chances = answering(evidence, 2 * k + 5, possible, within)
        return [self._passage(index.records[row], chance, also,
                              answer_span(index, arrays, row, evidence.sentence_cos, weights,
                                          question.text, self.config.unigrams, terms=terms))
                for row, chance, also in fold_duplicates(index.records, rows, chances, k)]

    @staticmethod
    def _passage(record: Record, score: float, also: tuple[str, ...],
                 answer: tuple[int, int]) -> Passage:
        return Passage(id=record.id, text=record.text, score=round(float(score), 4),
                       source=record.source, title=record.title, start=record.start,
                       end=record.end, section=record.section, answer_start=answer[0],
                       answer_end=answer[1], tier=calibration.tier(score),
                       place=dict(record.place),
                       location=describe(record.place, record.section), also_in=also)
