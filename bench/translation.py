"""Keyword translation before / after choosing translations by the corpus, side by side.

Three ways to translate a question's words (:mod:`qa.bilingual`), everything else equal:
``before`` (``qa/bilingual.py`` as committed at ``--before``, default ``HEAD``, loaded from git
into this process), ``after-no-index`` (the working tree without the index's keywords: what
``Retriever.prepare`` gives until it passes them) and ``after`` (the working tree, translations
chosen by what the index holds). Per dev set: recall@1 and MRR@10 of the final ranking and of
keyword + translated keywords alone (the ``bench/components.py`` recipes), over the same
question vectors. Sets whose questions never meet a passage in another script get no
translated keywords under any variant: their rankings are identical by construction and are
not re-run. Also the rank of the right passage for the English questions about the seed
(``tests/data/seed_questions_en.json``).
Writes ``bench/results/translation.json`` (``--out``).
Run: ``flock /tmp/qa-bench.lock .venv/bin/python bench/translation.py [--sets a,b] [--limit N]``
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from components import DATASETS, VARIANTS  # noqa: E402
from qa.bilingual import dictionary  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.evaluate import corpus_retriever, judged, read_jsonl, read_qrels  # noqa: E402
from qa.retriever import Retriever  # noqa: E402
from qa.text import SCRIPT_CODES, script_of  # noqa: E402

SEED_QUESTIONS = ROOT / "tests" / "data" / "seed_questions_en.json"
RECIPES = {"final": VARIANTS["final"], "keyword+translated": VARIANTS["keyword+translated"]}


def before_dictionary(commit: str):
    """The dictionary of ``qa/bilingual.py`` at ``commit``, imported as ``qa._bilingual_before``."""
    source = subprocess.run(["git", "show", f"{commit}:qa/bilingual.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "bilingual_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("qa._bilingual_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.dictionary()


def translators(commit: str) -> dict:
    """Variant name -> ``f(text, unigrams, keyword index) -> terms``."""
    old = before_dictionary(commit)
    return {"before": lambda text, unigrams, keyword: old.terms(text, unigrams),
            "after-no-index": lambda text, unigrams, keyword: dictionary().terms(text, unigrams),
            "after": lambda text, unigrams, keyword: dictionary().terms(text, unigrams, keyword)}


def prepared(retriever: Retriever, texts: list[str], translate) -> list:
    """The questions as ``Retriever.prepare`` makes them, with ``translate``'s terms (only
    where some passage is in another script, as ``prepare`` does)."""
    index = retriever.index
    scripts = {int(s) for s in np.unique(np.asarray(index.scripts))}
    out = []
    for text in texts:
        question = retriever.prepare(text)
        other = bool(scripts - {SCRIPT_CODES[script_of(question.text)]})
        terms = translate(question.text, retriever.config.unigrams, index.keyword) if other else []
        out.append(replace(question, terms=tuple(terms)))
    return out


def metrics(retriever: Retriever, questions, queries, qrels, vectors) -> dict:
    """recall@1 and MRR@10 (as ``qa.evaluate.evaluate``) of ``questions``."""
    records = retriever.index.records
    hits, reciprocal = 0, 0.0
    for query, question, vector in zip(queries, questions, vectors):
        relevant = qrels[str(query["id"])]
        ranked = [records[r.row].id for r in retriever.rank(question, 10, vector)]
        hits += bool(ranked) and ranked[0] in relevant
        reciprocal += next((1 / (i + 1) for i, pid in enumerate(ranked) if pid in relevant), 0.0)
    n = len(queries)
    return {"recall@1": round(hits / n, 4), "mrr@10": round(reciprocal / n, 4)}


def dataset(folder: Path, variants: dict, limit: int | None) -> dict:
    retriever = corpus_retriever(folder / "corpus.jsonl", Settings.from_env(), progress=False)
    qrels = read_qrels(folder / "qrels.dev.tsv")
    queries = judged(read_jsonl(folder / "queries.dev.jsonl"), qrels)[:limit]
    texts = [q["text"] for q in queries]
    questions = {name: prepared(retriever, texts, f) for name, f in variants.items()}
    translated = {name: sum(bool(q.terms) for q in qs) for name, qs in questions.items()}
    result = {"queries": len(queries), "questions_with_translated_terms": translated}
    if not any(translated.values()):
        result["identical"] = True
        return result
    vectors = retriever.query_encoder.encode_queries([q.embed for q in questions["before"]],
                                                     batch_size=64)
    for recipe_name, recipe in RECIPES.items():
        retriever.recipe = recipe
        result[recipe_name] = {name: metrics(retriever, qs, queries, qrels, vectors)
                               for name, qs in questions.items()}
    return result


def seed_ranks(variants: dict) -> list[dict]:
    """Rank (1-based; None: not in the ranking) of the first passage holding each seed English
    question's expected fragment, per variant, final recipe."""
    retriever = Retriever(ROOT / "embeddings" / "bench-translation-seeds",
                          documents=[ROOT / "seeds"], settings=Settings.from_env(),
                          progress=False)
    items = json.loads(SEED_QUESTIONS.read_text(encoding="utf-8"))
    records = retriever.index.records
    texts = [item["q"] for item in items]
    vectors = retriever.query_encoder.encode_queries([retriever.prepare(t).embed for t in texts])
    out = [{"q": item["q"], "expect": item["expect"]} for item in items]
    for name, f in variants.items():
        for row, question, vector in zip(out, prepared(retriever, texts, f), vectors):
            ranked = retriever.rank(question, len(records), vector)
            row[name] = next((i + 1 for i, r in enumerate(ranked)
                              if row["expect"] in records[r.row].text), None)
            row[f"{name}_terms"] = {t.source: ["".join(x) for x in t.translations]
                                    for t in question.terms}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--sets", default=",".join(DATASETS))
    parser.add_argument("--limit", type=int, default=None, help="first N questions per set")
    parser.add_argument("--before", default="HEAD", help="commit of the 'before' translation")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "translation.json")
    args = parser.parse_args()
    variants = translators(args.before)
    out = {"date": datetime.date.today().isoformat(), "measured": machine(),
           "before": args.before, "limit": args.limit, "datasets": {}}
    out["seed_en"] = seed_ranks(variants)
    for row in out["seed_en"]:
        print(row["q"], {v: row[v] for v in variants}, file=sys.stderr, flush=True)
    for name in [s for s in args.sets.split(",") if s]:
        out["datasets"][name] = dataset(Path(args.bench) / name, variants, args.limit)
        print(name, json.dumps(out["datasets"][name]), file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
