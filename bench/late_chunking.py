"""Late chunking, measured (issue 17, lever 1): sentence vectors taken from the passage's own
token states instead of embedding every sentence again.

For each dev set the shipped index (built by ``qa eval``, 8-bit passages) is loaded and its
sentence vectors are replaced, in memory, by *late* ones: the passage goes once through the
same 8-bit export with its last hidden states as a second output (``qa.int8._export(...,
tokens=True)``), and a sentence's vector is the normalised mean of the states of the tokens
its characters cover (``passage: `` prompt and special tokens excluded). A sentence with no
token (cut off by the 512-token limit) or a passage whose embedded text is not character-for-
character its own (Traditional simplified into another length) keeps its separate vector.
Then recall@1, MRR@10 and answer accuracy of the shipped ranking are measured with both, on
the same questions; the answering-span model is the shipped one (fitted on separate vectors).

Also, side by side on the same passages: texts embedded per second the shipped way (passages
and then every sentence) and the late way (passages only, with their token states), so the
build's embedding time can be compared.

Writes ``bench/results/late_chunking.json``. Run:
``.venv/bin/python bench/late_chunking.py [--sets cmrc2018 drcd ...] [--speed 600]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import dev_set  # noqa: E402
from about import machine  # noqa: E402
from qa.answers import answer_key  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, evaluate, read_jsonl, read_qrels  # noqa: E402
from qa.evidence import IndexArrays  # noqa: E402
from qa.int8 import PROMPT  # noqa: E402

DATASETS = dev_set.DEV_SETS
OUT = ROOT / "bench" / "results" / "late_chunking.json"
BATCH_TOKENS = 512


def token_batches(encodings: list) -> list[list[int]]:
    """Text positions grouped, longest first, so each batch pads to at most BATCH_TOKENS."""
    order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
    batches: list[list[int]] = []
    for i in order:
        width = len(encodings[batches[-1][0]].ids) if batches else 0
        if batches and width * (len(batches[-1]) + 1) <= BATCH_TOKENS:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class LateEncoder:
    """The 8-bit export with token states: passage vectors and their sentences' in one pass."""

    def __init__(self, settings: Settings, center: float = 0.0):
        self.center = center  # share of the passage's mean state taken out of a sentence's
        import onnxruntime
        from tokenizers import Tokenizer

        from qa.converter import default_model_path
        from qa.int8 import _export, int8_model_path

        shipped = int8_model_path(default_model_path(settings.cache_dir))
        folder = shipped.parent / (shipped.name + "-tokens")
        if not (folder / "model.onnx").is_file():
            _export(default_model_path(settings.cache_dir), folder, tokens=True)
        info = json.loads((folder / "int8-export.json").read_text())
        self.session = onnxruntime.InferenceSession(str(folder / "model.onnx"),
                                                    providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(info["max_tokens"])
        self.pad = self.tokenizer.token_to_id("<pad>") or 0

    def encode(self, texts: list[str], spans: list[list[tuple[int, int]]]
               ) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
        """Passage vectors and, per passage, each span's late vector (``None``: no token)."""
        encodings = self.tokenizer.encode_batch([PROMPT + t for t in texts])
        batches = token_batches(encodings)
        passages = np.zeros((len(texts), 384), dtype=np.float32)
        late: list[list] = [[] for _ in texts]
        shift = len(PROMPT)
        for batch in batches:
            width = len(encodings[batch[0]].ids)
            ids = np.full((len(batch), width), self.pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, :len(encodings[i].ids)] = encodings[i].ids
                mask[row, :len(encodings[i].ids)] = 1
            pooled, hidden = self.session.run(None, {"ids": ids, "mask": mask})
            for row, i in enumerate(batch):
                passages[i] = pooled[row]
                offsets = np.asarray(encodings[i].offsets[:len(encodings[i].ids)])
                special = np.asarray(encodings[i].special_tokens_mask[:len(offsets)], bool)
                states = hidden[row, :len(offsets)]
                context = states[~special].mean(0) * self.center
                for a, b in spans[i]:
                    cover = (offsets[:, 0] < b + shift) & (offsets[:, 1] > a + shift) & ~special
                    if not cover.any():
                        late[i].append(None)
                        continue
                    mean = states[cover].mean(0) - context
                    late[i].append(mean / np.linalg.norm(mean))
        return passages, late


def late_sentences(retriever, encoder: LateEncoder) -> tuple[np.ndarray, dict]:
    """The index's sentence vectors with late ones wherever they can be made."""
    index = retriever.index
    config = retriever.config
    sentences = np.asarray(index.sentences, dtype=np.float32).copy()
    spans = np.asarray(index.sentence_spans)
    by_owner: dict[int, list[int]] = {}
    for position, owner in enumerate(spans[:, 0].tolist()):
        by_owner.setdefault(owner, []).append(position)
    rows = sorted(by_owner)
    texts, wanted, usable = [], [], []
    for row in rows:
        text = index.records[row].text
        dense = config.dense_text(index.records[row].embed_text(config.titles))
        usable.append(dense == config.dense_text(text) and len(dense) == len(text))
        texts.append(dense)
        wanted.append([(int(spans[p, 1]), int(spans[p, 2])) for p in by_owner[row]])
    kept = {"late": 0, "separate": 0}
    for start in range(0, len(rows), 256):
        chunk = slice(start, start + 256)
        _, late = encoder.encode(texts[chunk], wanted[chunk])
        for row, ok, vectors in zip(rows[chunk], usable[chunk], late):
            for position, vector in zip(by_owner[row], vectors):
                if ok and vector is not None:
                    sentences[position] = vector
                    kept["late"] += 1
                else:
                    kept["separate"] += 1
    return sentences, kept


def measure(name: str, settings: Settings, encoder: LateEncoder) -> dict:
    folder = ROOT.parent / "shared" / "bench" / name
    retriever = corpus_retriever(folder / "corpus.jsonl", settings, progress=False)
    queries = read_jsonl(folder / "queries.dev.jsonl")
    qrels = read_qrels(folder / "qrels.dev.tsv")
    answers = answer_key(folder / "queries.dev.jsonl")
    separate = evaluate(retriever, queries, qrels, answers=answers)
    started = time.perf_counter()
    late, kept = late_sentences(retriever, encoder)
    seconds = time.perf_counter() - started
    index, _ = retriever._loaded()
    shipped = index.sentences
    index.sentences = late
    retriever._arrays = IndexArrays(index)
    try:
        with_late = evaluate(retriever, queries, qrels, answers=answers)
    finally:
        index.sentences = shipped
        retriever._arrays = IndexArrays(index)
    keys = ["recall@1", "mrr@10", "answer@1|right"]
    return {"separate": {k: separate.get(k) for k in keys if k in separate},
            "late": {k: with_late.get(k) for k in keys if k in with_late},
            "sentences": kept, "late_seconds": round(seconds, 1)}


def speed(settings: Settings, encoder: LateEncoder, count: int) -> dict:
    """Texts per second, shipped (passages, then each sentence) vs late (passages with their
    token states), on the first ``count`` drcd passages, alternating two rounds."""
    from qa.encoder import Int8Encoder
    from qa.sentences import split_sentences

    rows = read_jsonl(ROOT.parent / "shared" / "bench" / "drcd" / "corpus.jsonl")[:count]
    texts = [r["text"] for r in rows]
    spans = [split_sentences(t) for t in texts]
    sentences = [t[a:b] for t, s in zip(texts, spans) for a, b in s]
    shipped = Int8Encoder(settings)
    timings: dict[str, list[float]] = {"separate": [], "late": []}
    for _ in range(2):
        started = time.perf_counter()
        shipped.encode_passages(texts + sentences)
        timings["separate"].append(time.perf_counter() - started)
        started = time.perf_counter()
        encoder.encode(texts, spans)
        timings["late"].append(time.perf_counter() - started)
    best = {k: min(v) for k, v in timings.items()}
    return {"passages": count, "sentences": len(sentences),
            "passages_per_s": {k: round(count / v, 1) for k, v in best.items()},
            "speedup": round(best["separate"] / best["late"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=DATASETS)
    parser.add_argument("--speed", type=int, default=600, help="passages for the speed part")
    parser.add_argument("--center", type=float, default=0.0,
                        help="share of the passage's mean token state subtracted")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    settings = Settings.from_env()
    encoder = LateEncoder(settings, args.center)
    result = {"measured": machine(), "center": args.center,
              "speed": speed(settings, encoder, args.speed), "sets": {}}
    print(json.dumps(result["speed"]), flush=True)
    for name in args.sets:
        result["sets"][name] = measure(name, settings, encoder)
        print(name, json.dumps(result["sets"][name]), flush=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
