"""A word's compound glosses as fallback translations (``Dictionary.heads``), without and with,
side by side.

The same questions are prepared as ``Retriever.prepare`` does (translations chosen by what the
index holds, the translated words in the question's vector), once with the shipped dictionary
and once with the same dictionary without its ``heads``; each variant's question vectors are
computed from its own text. Per set whose questions meet passages in another script: recall@1
and MRR@10 of the final ranking and of keyword + translated keywords alone (the
``bench/components.py`` recipes), and the seed's English questions
(``tests/data/seed_questions_en.json``): the rank of the first passage holding the expected
fragment. Also the time to translate a question (``Dictionary.terms`` with the index's
keywords), per question, median of three rounds over each set's questions, both variants
alternating in one process.
Writes ``bench/results/gloss_heads.json`` (``--out``), rendered into docs/quality.md.
Run: ``.venv/bin/python bench/gloss_heads.py`` (about 3 minutes once the ``qa eval`` indexes
exist).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from translation import RECIPES, SEED_QUESTIONS, metrics  # noqa: E402
from qa.bilingual import dictionary  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, judged, read_jsonl, read_qrels  # noqa: E402
from qa.questions import with_translations  # noqa: E402
from qa.retriever import Retriever  # noqa: E402

DATASETS = ["xquad_en2zh", "xquad_zh2mixed", "xquad_zh2halfen"]


def variants() -> dict:
    """Variant name -> dictionary."""
    shipped = dictionary()
    return {"before": replace(shipped, heads={}), "after": shipped}


def prepared(retriever: Retriever, texts: list[str], translator) -> list:
    """``Retriever.prepare``'s questions with ``translator``'s terms and the question text
    embedded with them."""
    keyword, unigrams = retriever.index.keyword, retriever.config.unigrams
    out = []
    for text in texts:
        question = retriever.prepare(text)
        if question.terms:  # the index holds another script: translate again
            terms = tuple(translator.terms(question.text, unigrams, keyword))
            question = replace(question, terms=terms,
                               embed_translated=with_translations(question.embed, terms))
        out.append(question)
    return out


def dataset(folder: Path, translators: dict) -> dict:
    retriever = corpus_retriever(folder / "corpus.jsonl", Settings.from_env(), progress=False)
    qrels = read_qrels(folder / "qrels.dev.tsv")
    queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)
    texts = [q["text"] for q in queries]
    questions = {name: prepared(retriever, texts, d) for name, d in translators.items()}
    vectors = {name: retriever.question_vectors(qs, batch_size=64)
               for name, qs in questions.items()}
    changed = sum(a.terms != b.terms for a, b in zip(*questions.values()))
    result = {"queries": len(queries), "questions_translated_otherwise": changed,
              "translate_ms": translate_ms(retriever, texts, translators)}
    for recipe_name, recipe in RECIPES.items():
        retriever.recipe = recipe
        result[recipe_name] = {name: metrics(retriever, qs, queries, qrels, vectors[name])
                               for name, qs in questions.items()}
    return result


def translate_ms(retriever: Retriever, texts: list[str], translators: dict,
                 rounds: int = 3) -> dict:
    """Per variant, the median over ``rounds`` of the mean milliseconds to translate one of
    ``texts`` against the index's keywords."""
    keyword, unigrams = retriever.index.keyword, retriever.config.unigrams
    times = {name: [] for name in translators}
    for _ in range(rounds):
        for name, translator in translators.items():
            started = time.perf_counter()
            for text in texts:
                translator.terms(text, unigrams, keyword)
            times[name].append((time.perf_counter() - started) * 1000 / len(texts))
    return {name: round(statistics.median(values), 3) for name, values in times.items()}


def seed_ranks(translators: dict) -> list[dict]:
    """Rank (1-based; None: not ranked) of the first passage holding each seed English
    question's expected fragment, per variant."""
    retriever = Retriever(ROOT / "embeddings" / "bench-translation-seeds",
                          documents=[ROOT / "seeds"], settings=Settings.from_env(),
                          progress=False)
    items = json.loads(SEED_QUESTIONS.read_text(encoding="utf-8"))
    records = retriever.index.records
    out = [{"q": item["q"], "expect": item["expect"]} for item in items]
    for name, translator in translators.items():
        questions = prepared(retriever, [item["q"] for item in items], translator)
        vectors = retriever.question_vectors(questions)
        for row, question, vector in zip(out, questions, vectors):
            ranked = retriever.rank(question, len(records), vector)
            row[name] = next((i + 1 for i, r in enumerate(ranked)
                              if row["expect"] in records[r.row].text), None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "gloss_heads.json")
    args = parser.parse_args()
    translators = variants()
    out = {"date": datetime.date.today().isoformat(), "measured": machine(),
           "seed_en": seed_ranks(translators), "datasets": {}}
    for name in DATASETS:
        out["datasets"][name] = dataset(Path(args.bench) / name, translators)
        print(name, json.dumps(out["datasets"][name]), file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
