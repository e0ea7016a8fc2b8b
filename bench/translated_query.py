"""Question vectors with the question's translated words (:func:`qa.questions.question_vectors`).

A question over documents that hold another script gets translated words
(:mod:`qa.bilingual`: phrases and words, translations chosen by what the index holds). Besides
counting as keywords, they can be embedded with the question: ``embed_translated`` is the
question followed by the first translation of each word (the one the documents hold most).
Five ways to make the dense vector, everything else equal (the shipped ranking,
``Retriever.rank``):

- ``question``: the question's own vector (before);
- ``translated``: the vector of ``embed_translated`` alone;
- ``sum, English questions``: the normalised sum of both for questions in Latin script, the
  question's own vector for Chinese ones;
- ``sum, every question``: the normalised sum for every question with translated words
  (shipped);
- ``sum, three words a term``: as shipped, with up to three translations of each word.

Per dev set whose questions meet passages in another script (the others translate nothing and
are identical by construction): recall@1 and MRR@10; and, for the English questions about the
seed (``tests/data/seed_questions_en.json``), how many have the passage holding their expected
fragment first. Writes ``bench/results/translated_query.json`` (``--out``).
Run: ``flock /tmp/qa-bench.lock .venv/bin/python bench/translated_query.py`` (about 3 minutes
once the ``qa eval`` indexes exist).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, judged, read_jsonl, read_qrels  # noqa: E402
from qa.questions import question_vectors, with_translations  # noqa: E402
from qa.retriever import Retriever  # noqa: E402
from qa.text import script_of  # noqa: E402

SETS = ["xquad_en2zh", "xquad_zh2halfen", "xquad_zh2mixed"]
SEED_QUESTIONS = ROOT / "tests" / "data" / "seed_questions_en.json"
WAYS = ["question", "translated", "sum, English questions", "sum, every question",
        "sum, three words a term"]


def vectors_by_way(retriever: Retriever, prepared: list) -> dict[str, np.ndarray]:
    """The questions' vectors made each way of :data:`WAYS`."""
    own = [replace(q, embed_translated="") for q in prepared]
    alone = [replace(q, embed=q.embed_translated or q.embed, embed_translated="")
             for q in prepared]
    english = [q if script_of(q.text) == "latin" else replace(q, embed_translated="")
               for q in prepared]
    three = [replace(q, embed_translated=with_translations(q.embed, q.terms, 3))
             for q in prepared]
    encoder = retriever.query_encoder
    return {"question": question_vectors(encoder, own, 64),
            "translated": question_vectors(encoder, alone, 64),
            "sum, English questions": question_vectors(encoder, english, 64),
            "sum, every question": retriever.question_vectors(prepared, 64),
            "sum, three words a term": question_vectors(encoder, three, 64)}


def ranks(retriever: Retriever, prepared: list, vectors: np.ndarray, relevant) -> list[int]:
    """Per question, the 1-based rank of its first relevant row id set (0: not in the top 10)."""
    records = retriever.index.records
    out = []
    for question, vector, wanted in zip(prepared, vectors, relevant):
        ids = [records[r.row].id for r in retriever.rank(question, 10, vector)]
        out.append(next((i + 1 for i, x in enumerate(ids) if x in wanted), 0))
    return out


def summary(found: list[int]) -> dict:
    return {"recall@1": round(sum(r == 1 for r in found) / len(found), 4),
            "mrr@10": round(sum(1 / r for r in found if r) / len(found), 4)}


def dev_set(folder: Path) -> dict:
    qrels = read_qrels(folder / "qrels.dev.tsv")
    queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
    retriever = corpus_retriever(folder / "corpus.jsonl", Settings.from_env(), progress=False)
    prepared = [retriever.prepare(q["text"]) for q in queries]
    relevant = [qrels[str(q["id"])] for q in queries]
    result = {"questions": len(queries),
              "with_translated_words": sum(bool(with_translations(q.embed, q.terms))
                                           for q in prepared)}
    for way, vectors in vectors_by_way(retriever, prepared).items():
        result[way] = summary(ranks(retriever, prepared, vectors, relevant))
    return result


def seed() -> dict:
    """The seed's English questions: how many have a passage holding the expected fragment
    first, and the MRR of the first such passage."""
    retriever = Retriever(ROOT / "embeddings" / "bench-translation-seeds",
                          documents=[ROOT / "seeds"], settings=Settings.from_env(),
                          progress=False)
    items = json.loads(SEED_QUESTIONS.read_text(encoding="utf-8"))
    prepared = [retriever.prepare(item["q"]) for item in items]
    records = retriever.index.records
    relevant = [{r.id for r in records if item["expect"] in r.text} for item in items]
    result = {"questions": len(items)}
    for way, vectors in vectors_by_way(retriever, prepared).items():
        found = ranks(retriever, prepared, vectors, relevant)
        result[way] = {"first": sum(r == 1 for r in found), **summary(found)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "translated_query.json")
    args = parser.parse_args()
    out = {"date": datetime.date.today().isoformat(), "measured": machine(), "ways": WAYS,
           "datasets": {}}
    for name in SETS:
        out["datasets"][name] = dev_set(Path(args.bench) / name)
        print(name, json.dumps(out["datasets"][name]), file=sys.stderr, flush=True)
    out["seed_en"] = seed()
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
