"""Why the keyword side lost on real posts (meddialog_zh), one suspect at a time.

On meddialog_zh (patients' posts -> doctors' answers) plain character-bigram BM25 beat the
shipped keyword evidence by far. Each suspect is measured on the dev half, recall@1 / MRR@10
(R@3/5/10 for the reference):

- ``reference``: plain BM25 over character bigrams of the raw text (the bench README's
  reference, rank_bm25's ``BM25Okapi`` with k1=1.5, b=0.75, re-implemented here in numpy:
  :class:`PlainBM25`; rank_bm25 is not installed);
- ``keyword_alone``: BM25 over the index's tokens (:func:`qa.lexical.tokenize`, bm25s's
  scoring, k1=1.2, b=0.75), ranked alone: as shipped (interrogatives dropped, a token said
  ``c`` times weighs ``(k3 + 1) c / (k3 + c)``, k3 = 1: :func:`qa.lexical.query_weights`),
  each token once (before), other k3, repeated tokens counting in full, other k1/b, without
  colloquial stop-bigrams, with single characters;
- ``floor``: where the answer's keyword share (BM25 / reachable bound) lies against the floor;
- ``fusion``: the fused ranking (the shipped code's evidence, captured as ``bench/grid.py``
  does) with step 5 of :mod:`qa.fusion` off and on, with the floor or the passage weight
  changed alone, and with the keyword variants above swapped in;
- ``candidates``: how often the answer is among the candidates a large (inverted-file) index
  would score (dense best 200 and BM25 best 200, :mod:`qa.evidence`);
- ``dense_feedback``: pseudo-relevance feedback (the question vector moved towards its best
  fused passages, Rocchio).

Writes ``bench/results/realq.json`` (``--out``). Run: ``.venv/bin/python bench/realq.py``
(about a minute on two cores once the meddialog_zh ``qa eval`` index exists).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from grid import collect  # noqa: E402
from qa import fusion  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import judged, read_jsonl, read_qrels  # noqa: E402
from qa.lexical import QUERY_SATURATION, QUESTION_WORDS, idf, query_weights, tokenize  # noqa: E402

STOP_BIGRAMS = ("医生", "你好", "您好", "请问", "谢谢", "大夫", "一下", "怎么", "什么", "是不",
                "不是", "可以", "有没", "没有", "现在", "我的", "我是", "我们", "一个", "这个")
KS = (1, 3, 5, 10)


def bigrams(text: str) -> list[str]:
    """Overlapping character pairs of ``text`` as it is (the reference's tokens)."""
    return [text[i:i + 2] for i in range(len(text) - 1)] or ([text] if text else [])


class PlainBM25:
    """BM25 as rank_bm25's ``BM25Okapi`` scores it: idf ``log((N - df + .5) / (df + .5))``,
    negative idf replaced by 0.25 x the mean idf; each repeat of a query token counts.

    Args:
        documents: token lists.
        k1, b: BM25's parameters.
        lucene: score as bm25s does instead (idf ``log(1 + (N - df + .5) / (df + .5))``, no
            ``(k1 + 1)`` factor), the shipped keyword index's formula.
    """

    def __init__(self, documents: list[list[str]], k1: float = 1.5, b: float = 0.75,
                 lucene: bool = False):
        self.size = len(documents)
        lengths = np.array([len(d) for d in documents], dtype=np.float64)
        norm = k1 * (1 - b + b * lengths / max(lengths.mean(), 1e-9))
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for row, tokens in enumerate(documents):
            for token, count in Counter(tokens).items():
                rows, counts = postings.setdefault(token, ([], []))
                rows.append(row)
                counts.append(count)
        df = np.array([len(r) for r, _ in postings.values()], dtype=np.float64)
        if lucene:
            idfs = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
        else:
            idfs = np.log((self.size - df + 0.5) / (df + 0.5))
            idfs = np.where(idfs < 0, 0.25 * idfs.mean(), idfs)
        self.postings = {}
        for (token, (rows, counts)), weight in zip(postings.items(), idfs):
            rows, tf = np.array(rows), np.array(counts, dtype=np.float64)
            gain = tf / (tf + norm[rows]) if lucene else tf * (k1 + 1) / (tf + norm[rows])
            self.postings[token] = (rows, weight * gain)

    def scores(self, tokens) -> np.ndarray:
        """BM25 of every document for the query ``tokens``: a list (repeats count) or a dict
        token -> weight."""
        weights = tokens if isinstance(tokens, dict) else Counter(tokens)
        out = np.zeros(self.size)
        for token, weight in weights.items():
            if token in self.postings:
                rows, values = self.postings[token]
                out[rows] += weight * values
        return out


def measure(scores: np.ndarray, relevant: list[set[int]]) -> dict:
    """recall@1/3/5/10 and MRR@10 of per-question ``scores`` (rows: questions)."""
    hits = {k: 0 for k in KS}
    reciprocal = 0.0
    for row, rows in zip(scores, relevant):
        top = np.argsort(-row, kind="stable")[:10].tolist()
        rank = next((i for i, r in enumerate(top) if r in rows), None)
        for k in KS:
            hits[k] += rank is not None and rank < k
        reciprocal += 0.0 if rank is None else 1 / (rank + 1)
    out = {f"recall@{k}": round(hits[k] / len(relevant), 4) for k in KS}
    out["mrr@10"] = round(reciprocal / len(relevant), 4)
    return out


def short(result: dict) -> list[float]:
    return [result["recall@1"], result["mrr@10"]]


def fused(captured, recipe: fusion.Recipe, bm25=None, bound=None, long: bool = True):
    """Fused scores of every captured question under ``recipe`` (``bm25``/``bound``: swapped
    keyword evidence; ``long=False``: step 5 off)."""
    rows = []
    for i, call in enumerate(captured.calls):
        arguments = dict(call.arguments, recipe=recipe)
        if bm25 is not None:
            arguments.update(bm25=bm25[i].astype(np.float32), bound=float(bound[i]))
        if not long:
            arguments["question_tokens"] = 0
        rows.append(captured.function(**arguments).fused)
    return np.stack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "realq.json")
    args = parser.parse_args()
    folder = Path(args.bench) / "meddialog_zh"
    corpus = read_jsonl(folder / "corpus.jsonl")
    qrels = read_qrels(folder / "qrels.dev.tsv")
    queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
    captured, relevant = collect(folder, Settings.from_env())
    texts = [q["text"] for q in queries]
    out: dict = {}

    plain = PlainBM25([bigrams(p["text"]) for p in corpus])
    out["reference"] = measure(np.stack([plain.scores(bigrams(t)) for t in texts]), relevant)

    documents = [tokenize(p["text"]) for p in corpus]
    asked = [[t for t in tokenize(text) if not QUESTION_WORDS.search(t)] for text in texts]
    once = [list(dict.fromkeys(tokens)) for tokens in asked]
    shipped_weights = [query_weights(text) for text in texts]
    no_stop = [{t: w for t, w in q.items() if t not in STOP_BIGRAMS} for q in shipped_weights]

    def saturated(k3: float) -> list[dict[str, float]]:
        return [{t: (k3 + 1) * c / (k3 + c) for t, c in Counter(tokens).items()}
                for tokens in asked]
    index = PlainBM25(documents, 1.2, 0.75, lucene=True)

    def keyword(bm25, questions: list[dict[str, float]]):
        bounds = np.array([2.2 * sum(w * idf(len(bm25.postings.get(t, ((),))[0]), bm25.size)
                                     for t, w in q.items()) for q in questions])
        return np.stack([bm25.scores(q) for q in questions]), bounds

    variants = {f"shipped (a token said c times weighs (k3 + 1) c / (k3 + c), k3 "
                f"{QUERY_SATURATION:g})": keyword(index, shipped_weights),
                "each token once (before)": keyword(index, [dict.fromkeys(q, 1.0) for q in once]),
                "k3 3": keyword(index, saturated(3.0)),
                "repeated tokens count in full": keyword(index, [Counter(q) for q in asked]),
                "without colloquial stop-bigrams": keyword(index, no_stop)}
    alone = {name: short(measure(s, relevant)) for name, (s, _) in variants.items()}
    for k1 in (0.9, 1.2, 1.5, 2.0):
        for b in (0.5, 0.75, 0.9):
            other = PlainBM25(documents, k1, b, lucene=True)
            alone[f"k1={k1} b={b}"] = short(measure(
                np.stack([other.scores(q) for q in shipped_weights]), relevant))
    unigram = PlainBM25([tokenize(p["text"], True) for p in corpus], 1.2, 0.75, lucene=True)
    alone["with single characters"] = short(measure(np.stack(
        [unigram.scores(query_weights(t, True)) for t in texts]), relevant))
    out["keyword_alone"] = alone

    bm25 = np.stack([c.arguments["bm25"] for c in captured.calls])
    bound = np.array([c.arguments["bound"] for c in captured.calls])
    share = bm25 / np.maximum(bound, 1e-9)[:, None]
    answer_share = np.array([share[i, sorted(r)].max() for i, r in enumerate(relevant)])
    tokens = np.array([c.arguments.get("question_tokens", 0) for c in captured.calls])
    out["floor"] = {"answer_share_quartiles": np.percentile(answer_share, [25, 50, 75]).round(4)
                    .tolist(), "best_share_median": round(float(np.median(share.max(1))), 4),
                    "answer_under_floor": round(float(np.mean(
                        answer_share <= fusion.Recipe().keyword_floor)), 4),
                    "keyword_tokens_quartiles": np.percentile(tokens, [25, 50, 75]).tolist()}

    shipped = fusion.Recipe()
    before = fused(captured, shipped, long=False)
    sentence_best = np.stack([c.arguments["sentence_best"] for c in captured.calls])
    out["fusion"] = {
        "before (step 5 off)": short(measure(before, relevant)),
        "dense alone": short(measure(fused(captured, replace(
            shipped, keyword_weight=0.0, long_keyword_weight=0.0, translation_weight=0.0),
            long=False), relevant)),
        "passage cosine alone": short(measure(np.stack(
            [c.arguments["passage_cos"] for c in captured.calls]), relevant)),
        "best sentence cosine alone": short(measure(sentence_best, relevant)),
        "floor 0 only": short(measure(fused(captured, replace(shipped, keyword_floor=0.0),
                                            long=False), relevant)),
        "passage weight 0.9 only": short(measure(fused(captured, replace(
            shipped, passage_weight=0.9), long=False), relevant)),
        "after (step 5 on)": short(measure(fused(captured, shipped), relevant)),
    }
    for name, (scores, bounds) in list(variants.items())[1:]:
        out["fusion"][f"after, {name}"] = short(measure(
            fused(captured, shipped, scores, bounds), relevant))

    passage_cos = np.stack([c.arguments["passage_cos"] for c in captured.calls])
    dense_top = np.argsort(-passage_cos, axis=1)[:, :200]
    keyword_top = np.argsort(-bm25, axis=1)[:, :200]
    after = fused(captured, shipped)
    winners = after.argmax(1)
    out["candidates"] = {
        "answer_in_candidates": round(float(np.mean([bool(r & (set(d) | set(k))) for r, d, k
                                                      in zip(relevant, dense_top.tolist(),
                                                             keyword_top.tolist())])), 4),
        "exact_winner_in_candidates": round(float(np.mean(
            [w in d or w in k for w, d, k in zip(winners, dense_top.tolist(),
                                                 keyword_top.tolist())])), 4)}

    out["dense_feedback"] = feedback(folder, after, relevant)
    result = {"date": datetime.date.today().isoformat(), "measured": machine(),
              "dataset": "meddialog_zh", "queries": len(relevant), "results": out}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(json.dumps(out, indent=1, ensure_ascii=False))


def feedback(folder: Path, scores: np.ndarray, relevant: list[set[int]]) -> dict:
    """Rocchio feedback on the dense side: the question vector plus ``beta`` x the mean of its
    ``k`` best passages by ``scores``, its z-scored passage cosines added (weight 0.5)."""
    from qa.evaluate import corpus_retriever

    retriever = corpus_retriever(folder / "corpus.jsonl", Settings.from_env(), progress=False)
    passages = retriever.index.dense.vectors()
    queries = judged(read_jsonl(folder / "queries.dev.jsonl"), read_qrels(folder / "qrels.dev.tsv"))
    vectors = retriever.question_vectors(
        [retriever.prepare(q["text"]) for q in queries], batch_size=64)
    out = {"none": short(measure(scores, relevant))}
    for k in (1, 3, 5):
        top = np.argsort(-scores, axis=1)[:, :k]
        for beta in (0.5, 1.0):
            moved = vectors + beta * passages[top].mean(1)
            moved /= np.linalg.norm(moved, axis=1, keepdims=True)
            cosines = moved @ passages.T
            z = (cosines - cosines.mean(1, keepdims=True)) / cosines.std(1, keepdims=True)
            out[f"k={k} beta={beta}"] = short(measure(scores + 0.5 * z, relevant))
    return out


if __name__ == "__main__":
    main()
