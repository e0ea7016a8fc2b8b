"""A build's vectors and keyword ids, made chunk by chunk in a pipeline.

Passages go through in chunks of :data:`CHUNK`. A worker thread prepares the next chunk (the
texts the model embeds, their content hashes, the passages' keyword tokens numbered into the
vocabulary) while the model embeds this one, which runs outside the GIL (ONNX Runtime, torch).
A text whose vector is known (the previous version's, or an identical text earlier in this
build) is copied, not embedded. Sentence vectors go straight into a ``.npy`` file mapped from
disk, and keyword tokens are kept as int32 ids, so a large build holds the passage vectors and
little else in memory. Progress is reported in passages per second with the time left
(:class:`BuildProgress`).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .lexical import tokenize
from .passage import Record, content_hash

log = logging.getLogger(__name__)

CHUNK = 512  # passages per pipeline step (with their sentences: about 2,000 texts)


@dataclass
class BuildVectors:
    """What :func:`embed_records` made."""

    passages: np.ndarray  # (passages, dimension) float32
    sentences: Path  # .npy of (sentences, dimension), float16 when compact
    keyword_ids: list[np.ndarray]  # per passage, its keyword tokens' ids
    vocabulary: dict[str, int]
    embedded: int  # passage and sentence texts the model embedded (the rest were copied)


class BuildProgress:
    """Passages embedded so far, their rate and the time left: a progress bar, or (``bar``
    false) a log line at most every ``every`` seconds."""

    def __init__(self, total: int, bar: bool, every: float = 30.0):
        self.total, self.done, self.every = total, 0.0, every
        self.started = self._last = time.perf_counter()
        self._bar = None
        if bar and total:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="Indexing", unit="passage", smoothing=0.05,
                             bar_format="{l_bar}{bar}| {n:.0f}/{total} [{elapsed}<{remaining}, "
                                        "{rate_fmt}]")

    def advance(self, passages: float) -> None:
        self.done = min(self.total, self.done + passages)
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


def embed_records(encoder, records: list[Record], spans: np.ndarray, config,
                  known: dict[str, np.ndarray], target: Path, compact: bool,
                  progress: bool) -> BuildVectors:
    """Vectors of ``records`` and of their sentences (``spans``: owner row, start, end, in row
    order), embedding only texts not ``known`` by content hash, and the passages' keyword ids.

    Args:
        config: the :class:`~qa.indexer.IndexConfig` (what is embedded and tokenised).
        target: the ``.npy`` file the sentence vectors are written to.
    """
    n, dimension = len(records), encoder.dimension
    passages = np.zeros((n, dimension), dtype=np.float32)
    sentences = np.lib.format.open_memmap(target, mode="w+", shape=(len(spans), dimension),
                                          dtype=np.float16 if compact else np.float32)
    cuts = np.searchsorted(spans[:, 0], np.arange(0, n + CHUNK, CHUNK)) if n else [0]
    vocabulary: dict[str, int] = defaultdict()
    vocabulary.default_factory = vocabulary.__len__  # a new token gets the next id
    keyword_ids: list[np.ndarray] = []
    placed: dict[str, tuple[np.ndarray, int]] = {}  # hash -> where its vector already is
    meter = BuildProgress(n, progress)

    def prepare(step: int) -> tuple[list[str], list[str]]:
        """The next chunk's texts and hashes; its keyword ids appended (in passage order)."""
        rows = records[step * CHUNK:(step + 1) * CHUNK]
        owned = spans[cuts[step]:cuts[step + 1]]
        texts = [config.dense_text(r.embed_text(config.titles)) for r in rows]
        texts += [config.dense_text(records[o].text[a:b]) for o, a, b in owned.tolist()]
        for record in rows:
            tokens = tokenize(record.embed_text(config.titles), config.unigrams)
            keyword_ids.append(np.fromiter(map(vocabulary.__getitem__, tokens),
                                           dtype=np.int32, count=len(tokens)))
        return texts, [content_hash(t) for t in texts]

    embedded = 0
    steps = (n + CHUNK - 1) // CHUNK
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-prepare") as pool:
            coming = pool.submit(prepare, 0) if steps else None
            for step in range(steps):
                texts, hashes = coming.result()
                coming = pool.submit(prepare, step + 1) if step + 1 < steps else None
                lo, hi = step * CHUNK, min(n, (step + 1) * CHUNK)
                places = [(passages, row) for row in range(lo, hi)]
                places += [(sentences, row) for row in range(cuts[step], cuts[step + 1])]
                share = (hi - lo) / len(texts)
                embedded += _fill(encoder, texts, hashes, places, known, placed,
                                  lambda done: meter.advance(done * share))
    finally:
        meter.close()
    sentences.flush()
    del sentences
    return BuildVectors(passages, target, keyword_ids, dict(vocabulary), embedded)


def embed_texts(encoder, texts: list[str], known: dict[str, np.ndarray]) -> np.ndarray:
    """Vectors of a few ``texts`` (the calibration background), reusing ``known`` ones."""
    out = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    _fill(encoder, texts, [content_hash(t) for t in texts],
          [(out, row) for row in range(len(texts))], known, {}, None)
    return out


def _fill(encoder, texts: list[str], hashes: list[str], places: list[tuple[np.ndarray, int]],
          known: dict[str, np.ndarray], placed: dict[bytes, tuple[np.ndarray, int]],
          advance) -> int:
    """Put the vector of each text at its place, embedding each new content once; returns
    how many texts the model embedded. ``placed`` remembers where this build put each
    content (by the first 128 bits of its hash: small keys for millions of texts)."""
    fresh: dict[str, str] = {}  # hash -> text, the model's input in this order
    waiting: list[int] = []
    for i, digest in enumerate(hashes):
        array, row = places[i]
        key = bytes.fromhex(digest[:32])
        if digest in known:
            array[row] = known[digest]
        elif key in placed:
            source, at = placed[key]
            array[row] = source[at]
        else:
            fresh.setdefault(digest, texts[i])
            waiting.append(i)
    if advance is not None and len(texts) > len(fresh):
        advance(len(texts) - len(fresh))
    if fresh:
        position = {digest: k for k, digest in enumerate(fresh)}
        vectors = encoder.encode_passages(list(fresh.values()), progress=advance or False)
        for i in waiting:
            array, row = places[i]
            array[row] = vectors[position[hashes[i]]]
            placed.setdefault(bytes.fromhex(hashes[i][:32]), (array, row))
    return len(fresh)
