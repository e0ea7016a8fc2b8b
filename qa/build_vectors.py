"""A build's vectors and keyword ids, made chunk by chunk.

Passages go through in chunks of :data:`CHUNK`; a chunk's texts (passages, then their
sentences) are embedded in one call, each distinct text once, and a text whose vector is
known (the live version's, or placed by an earlier chunk: :class:`KnownVectors`) is copied
(:func:`embed_chunk`), so a chunk's vectors are the same wherever it is embedded: here
(:func:`local_chunks`) or on Ray (:mod:`qa.ray_build`, where reading, embedding and the
driver's assembling overlap). :func:`embed_records` assembles the chunks in order: passage
vectors in memory, sentence vectors straight into a ``.npy`` file mapped from disk, keyword
tokens as int32 ids, so a build holds the passage vectors and little else of the corpus
twice. Progress is shown in passages per second with the time left (:class:`BuildProgress`).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .lexical import tokenize
from .passage import Record, content_hash
from .sentences import content_sentences

log = logging.getLogger(__name__)

CHUNK = 512  # passages per pipeline step (with their sentences: about 2,000 texts)


class KnownVectors(Mapping):
    """Vectors by content hash: the live version's (``live``), and those this build has
    already placed in its arrays (by the first 128 bits of the hash: small keys for
    millions of texts), so a text repeated in a later chunk is copied, not embedded again."""

    def __init__(self, live: dict[str, np.ndarray]):
        self.live = live
        self._placed: dict[bytes, tuple[np.ndarray, int]] = {}

    def place(self, hashes: list[str], array: np.ndarray, start: int) -> None:
        """Remember that the texts of ``hashes`` are at rows ``start...`` of ``array``."""
        for row, digest in enumerate(hashes, start):
            self._placed.setdefault(bytes.fromhex(digest[:32]), (array, row))

    def __contains__(self, digest) -> bool:
        return digest in self.live or bytes.fromhex(digest[:32]) in self._placed

    def __getitem__(self, digest: str) -> np.ndarray:
        if digest in self.live:
            return self.live[digest]
        array, row = self._placed[bytes.fromhex(digest[:32])]
        return np.asarray(array[row], dtype=np.float32)

    def __iter__(self):
        return iter(self.live)

    def __len__(self) -> int:
        return len(self.live) + len(self._placed)


@dataclass
class BuildVectors:
    """What :func:`embed_records` made."""

    passages: np.ndarray  # (passages, dimension) float32
    sentences: Path  # .npy of (sentences, dimension), float16 when compact
    keyword_ids: list[np.ndarray]  # per passage, its keyword tokens' ids
    vocabulary: dict[str, int]
    embedded: int  # passage and sentence texts the model embedded (the rest were copied)


class BuildProgress:
    """Passages embedded so far, their rate and the time left: a progress bar (``bar``, for
    more than a few passages), else a log line at most every ``every`` seconds."""

    def __init__(self, total: int, bar: bool, every: float = 30.0):
        self.total, self.done, self.every = total, 0.0, every
        self.started = self._last = time.perf_counter()
        self._bar = None
        if bar and total > 8:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="Indexing", unit="passage", smoothing=0.05,
                             bar_format="{l_bar}{bar}| {n:.0f}/{total} [{elapsed}<{remaining}, "
                                        "{rate_fmt}]")

    def reach(self, passages: float) -> None:
        """Move on to ``passages`` done (never back)."""
        if passages > self.done:
            self.advance(passages - self.done)

    def advance(self, passages: float) -> None:
        passages = min(passages, self.total - self.done)
        self.done += passages
        if self._bar is not None:
            self._bar.update(passages)
            return
        now = time.perf_counter()
        if now - self._last >= self.every:
            self._last = now
            rate = self.done / max(now - self.started, 1e-9)
            left = (self.total - self.done) / rate if rate else float("inf")
            log.info("indexed %d of %d passages, %.1f passages/s, about %s left",
                     self.done, self.total, rate, _duration(left))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"


def chunk_texts(records: list[Record], config) -> list[str]:
    """What the model embeds for ``records``: each passage's text, then the sentences of
    each in order (the rows of :func:`qa.indexer.sentence_spans`)."""
    texts = [config.dense_text(r.embed_text(config.titles)) for r in records]
    texts += [config.dense_text(r.text[a:b]) for r in records for a, b in content_sentences(r.text)]
    return texts


def chunk_tokens(records: list[Record], config) -> list[list[str]]:
    """The keyword tokens of each of ``records``."""
    return [tokenize(r.embed_text(config.titles), config.unigrams) for r in records]


def embed_chunk(encoder, texts: list[str], known, advance=None,
                hashes: list[str] | None = None) -> tuple[np.ndarray, int]:
    """Vectors of ``texts``: those ``known`` by content hash copied, each other distinct text
    embedded once, in one call. Returns them and how many were embedded."""
    hashes = hashes or [content_hash(t) for t in texts]
    fresh: dict[str, str] = {}
    for text, digest in zip(texts, hashes):
        if digest not in known:
            fresh.setdefault(digest, text)
    if advance is not None and len(texts) > len(fresh):
        advance(len(texts) - len(fresh))
    vectors = encoder.encode_passages(list(fresh.values()), progress=advance or False) \
        if fresh else None
    position = {digest: i for i, digest in enumerate(fresh)}
    out = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    for i, digest in enumerate(hashes):
        out[i] = known[digest] if digest in known else vectors[position[digest]]
    return out, len(fresh)


def local_chunks(encoder, records: list[Record], config, known: KnownVectors,
                 meter: BuildProgress):
    """Per chunk of :data:`CHUNK` passages: the vectors of :func:`chunk_texts`, their hashes,
    the keyword tokens and how many texts were embedded, in this process (texts ``known``
    by then are copied). Chunks are prepared between embeddings, not beside them: with every
    core in the model, a thread preparing the next chunk made builds slower here
    (``docs/speed.md``)."""
    for start in range(0, len(records), CHUNK):
        rows = records[start:start + CHUNK]
        texts, tokens = chunk_texts(rows, config), chunk_tokens(rows, config)
        hashes = [content_hash(t) for t in texts]
        share = len(rows) / len(texts)
        vectors, embedded = embed_chunk(encoder, texts, known,
                                        lambda done: meter.advance(done * share), hashes)
        yield vectors, hashes, tokens, embedded


def embed_records(records: list[Record], spans: np.ndarray, dimension: int, target: Path,
                  compact: bool, chunks, meter: BuildProgress,
                  known: KnownVectors) -> BuildVectors:
    """Assemble a build from ``chunks`` (:func:`local_chunks`, or the same from Ray:
    :mod:`qa.ray_build`), in order: passage vectors in memory, sentence vectors into
    ``target`` (a ``.npy`` mapped from disk), keyword tokens numbered into the vocabulary in
    passage order (``spans``: owner row, start, end of every sentence, in row order); each
    chunk's texts are placed in ``known`` before the next chunk is asked for."""
    n = len(records)
    passages = np.zeros((n, dimension), dtype=np.float32)
    sentences = np.lib.format.open_memmap(target, mode="w+", shape=(len(spans), dimension),
                                          dtype=np.float16 if compact else np.float32)
    vocabulary: dict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__  # a new token gets the next id
    keyword_ids: list[np.ndarray] = []
    owned = np.bincount(spans[:, 0], minlength=n) if len(spans) else np.zeros(n, np.int64)
    embedded = done = sentence_row = 0
    try:
        for vectors, hashes, tokens, count in chunks:
            k = len(tokens)
            if done + k > n or len(vectors) - k != owned[done:done + k].sum():
                raise RuntimeError(f"a chunk of the build does not line up at passage {done}: "
                                   f"{k} passages, {len(vectors) - k} sentences")
            passages[done:done + k] = vectors[:k]
            sentences[sentence_row:sentence_row + len(vectors) - k] = vectors[k:]
            known.place(hashes[:k], passages, done)
            known.place(hashes[k:], sentences, sentence_row)
            keyword_ids += [np.fromiter(map(vocabulary.__getitem__, t), dtype=np.int32,
                                        count=len(t)) for t in tokens]
            done, sentence_row, embedded = done + k, sentence_row + len(vectors) - k, \
                embedded + count
            meter.reach(done)
    finally:
        meter.close()
        getattr(chunks, "close", lambda: None)()  # stops a generator's pipeline (or Ray's)
    if (done, sentence_row) != (n, len(spans)):
        raise RuntimeError(f"the build's chunks gave {done} passages and {sentence_row} "
                           f"sentences, not {n} and {len(spans)}")
    sentences.flush()
    del sentences
    return BuildVectors(passages, target, keyword_ids, dict(vocabulary), embedded)


def embed_texts(encoder, texts: list[str], known: dict[str, np.ndarray]) -> np.ndarray:
    """Vectors of a few ``texts`` (the calibration background), reusing ``known`` ones."""
    return embed_chunk(encoder, texts, known)[0]
