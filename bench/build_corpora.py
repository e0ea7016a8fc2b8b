"""The corpora the build benchmarks index (``bench/build_speed.py``, ``bench/ray_build.py``)."""

from __future__ import annotations

import random
from pathlib import Path

from qa.evaluate import read_jsonl

BENCH = Path(__file__).resolve().parent.parent.parent / "shared" / "bench"
CHARS_PER_PASSAGE = 150  # about what the chunker makes of the bench corpora
PER_FILE = 500  # documents per .txt of the 100k corpus


def answers_folder(work: Path, answers: int | None, per_file: int | None = None) -> Path:
    """The first ``answers`` meddialog_zh answers (all: ``None``), ``per_file`` to a ``.txt``
    (default: all in one)."""
    docs = work / f"meddialog-{answers or 'all'}"
    docs.mkdir()
    texts = [row["text"] for row in read_jsonl(BENCH / "meddialog_zh" / "corpus.jsonl")]
    texts = texts[:answers]
    per_file = per_file or max(1, len(texts))
    for start in range(0, len(texts), per_file):
        name = "answers.txt" if per_file >= len(texts) else f"answers-{start // per_file:03d}.txt"
        (docs / name).write_text("\n\n".join(texts[start:start + per_file]) + "\n",
                                 encoding="utf-8")
    return docs


def mixed_corpus(work: Path, passages: int, limit: int | None = None) -> Path:
    """About ``passages`` passages from every bench corpus (each distinct text once), copied
    as often as needed, shuffled with a fixed seed, ``PER_FILE`` documents per ``.txt``. Copy
    ``r`` > 0 of a text starts each of its sentences with the tag ``〔r〕``, so no passage or
    sentence repeats and every one is embedded. ``limit``: only the documents of the first
    ``limit`` passages' worth of characters (the same order)."""
    from qa.sentences import split_sentences

    texts = list(dict.fromkeys(row["text"] for corpus in sorted(BENCH.glob("*/corpus.jsonl"))
                               for row in read_jsonl(corpus)))
    characters = sum(map(len, texts))
    copies = -(-passages * CHARS_PER_PASSAGE // characters)
    documents = []
    for copy in range(copies):
        for text in texts:
            if copy:
                starts = [start for start, _ in split_sentences(text)]
                text = text[:starts[0] if starts else 0] + "".join(
                    f"〔{copy}〕" + text[a:b] for a, b in zip(starts, starts[1:] + [len(text)]))
            documents.append(text)
    random.Random(0).shuffle(documents)
    budget = (limit or passages) * CHARS_PER_PASSAGE
    kept, used = [], 0
    for text in documents:
        if used >= budget:
            break
        kept.append(text)
        used += len(text)
    docs = work / f"mixed-{limit or passages}"
    docs.mkdir()
    for start in range(0, len(kept), PER_FILE):
        (docs / f"part-{start // PER_FILE:04d}.txt").write_text(
            "\n\n".join(kept[start:start + PER_FILE]) + "\n", encoding="utf-8")
    return docs
