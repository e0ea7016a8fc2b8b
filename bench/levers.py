"""Levers tried on the shipped ranking (after its focus step), none shipped: each measured on the
dev halves against the shipped ranking, with the same question vectors.

- ``boundary``: a question's character bigrams that no CC-CEDICT word (two characters or more)
  found in it covers (是在, 的时: they straddle two words) weigh 0.5, or are dropped.
- ``question sentence``: a question of several sentences (a patient's post) gets the vector of
  its last interrogative sentence added, weight beta, to its own.
- ``passage prompt``: a question of 20 keyword tokens and more (a post, fully long from 30) is
  embedded with the passage prompt too, that vector added with weight beta: a post reads more
  like a passage than like a query.
- ``phrase share``: the focus step's gain plus w times the share of the question's character
  trigrams (each weighing the smaller idf of its two bigrams) that the passage's best sentence
  holds: words in the question's own order.
- ``number cue``: for a question asking a number or a time (多少, 几, 何时, how many, when...),
  the focus step's best sentence is the best of keyword share + w where the sentence holds a
  number.

The two last change the focus step's gain on the same best 10 passages (passages in another
script gain the best same-script extra, long questions fade it, as :mod:`qa.focus` does).
``touched`` counts the questions a lever changes anything for (for the last two: questions
whose order of the best 10 changes).

Writes ``bench/results/levers.json`` (``--out``), rendered into docs/quality.md.
Run: ``.venv/bin/python bench/levers.py`` (about 7 minutes on two cores once the ``qa eval``
indexes exist).
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import dev_set  # noqa: E402
from about import machine  # noqa: E402
from qa import fusion  # noqa: E402
from qa.bilingual import dictionary  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.encoder import get_passage_encoder  # noqa: E402
from qa.evidence import keyword_weights  # noqa: E402
from qa.lexical import QUESTION_WORDS  # noqa: E402
from qa.selection import best_rows  # noqa: E402
from qa.span_features import keyword_shares  # noqa: E402
from qa.text import IDEOGRAPHS, normalize  # noqa: E402

DATASETS = dev_set.DEV_SETS
SHIPPED = fusion.Recipe()
DEPTH = 10
HAN_RUN = re.compile(f"[{IDEOGRAPHS}]+")
SENTENCE_END = re.compile(rf"(?<=[。！？?!])\s*|(?<=[{IDEOGRAPHS}])\s+(?=[{IDEOGRAPHS}])")
ASKS_NUMBER = re.compile(r"多少|几|何时|哪一年|哪年|什么时候|什么时间|多久|多长|多大|多高|多远"
                         r"|\bhow (?:many|much|long|old)\b|\bwhen\b|\bwhat year\b")
NUMBER = re.compile(r"\d|[一二三四五六七八九十百千万亿两]+[年月日个人次岁倍米亿万]")
LONG_TOKENS = 20
BOUNDARY = (0.5, 0.0)
BETAS = (0.3, 1.0)
PHRASE = (1.0, 2.0)
CUE = (0.2, 0.4)


def covered_bigrams(text: str, words) -> set[str]:
    """Character bigrams of ``text`` inside a dictionary word of two characters or more found
    in it."""
    covered = set()
    for run in HAN_RUN.findall(normalize(text)):
        for n in range(2, 9):
            for i in range(len(run) - n + 1):
                if run[i:i + n] in words:
                    covered.update(run[j:j + 2] for j in range(i, i + n - 1))
    return covered


def boundary_question(question, words, weight: float):
    """``question`` with its bigrams outside every dictionary word weighing ``weight`` (0:
    dropped); ``None`` when it has none."""
    covered = covered_bigrams(question.text, words)
    weights = {t: 1.0 for t in question.tokens} | dict(question.weights)
    outside = [t for t in weights if len(t) == 2 and HAN_RUN.fullmatch(t) and t not in covered]
    if not outside:
        return None
    for token in outside:
        weights[token] *= weight
    kept = {t: w for t, w in weights.items() if w > 0}
    return replace(question, tokens=tuple(kept),
                   weights=tuple((t, w) for t, w in kept.items() if w != 1.0))


def interrogative_sentence(text: str) -> str | None:
    """The last sentence asking something, when ``text`` has more than one sentence."""
    parts = [p.strip() for p in SENTENCE_END.split(text) if p and p.strip()]
    asking = [p for p in parts if p.endswith(("？", "?")) or QUESTION_WORDS.search(normalize(p))]
    return asking[-1] if len(parts) > 1 and asking else None


def mixed(vector: np.ndarray, other: np.ndarray, beta: float) -> np.ndarray:
    both = vector + beta * other
    return both / np.linalg.norm(both)


def sentences(passages, row: int) -> list[str]:
    """The texts of passage ``row``'s sentences (the whole text when it has none)."""
    text = passages.records[row].text
    spans = np.asarray(passages.sentence_spans[passages.first_sentence[row]:
                                               passages.first_sentence[row + 1]])
    return [text[a:b] for _, a, b in spans.tolist()] or [text]


def trigram_weights(text: str, weights: dict[str, float]) -> dict[str, float]:
    """The question's character trigrams, each weighing the smaller idf of its two bigrams."""
    grams = [run[i:i + 3] for run in HAN_RUN.findall(normalize(text))
             for i in range(len(run) - 2)]
    found = {g: min(weights.get(g[:2], 0.0), weights.get(g[1:], 0.0)) for g in grams}
    return {g: w for g, w in found.items() if w > 0}


def focus_extras(retriever, question, vector, final) -> tuple[np.ndarray, np.ndarray, dict]:
    """The shipped focus step's best rows (the unfocused ranking's best 10) with their scores
    in ``final`` (the shipped evidence), and each lever's extra gain per row, before fading."""
    retriever.recipe = replace(SHIPPED, focus_depth=0)
    unfocused = retriever.evidence(question, vector)
    retriever.recipe = SHIPPED
    top = best_rows(unfocused.fused, SHIPPED.focus_depth, unfocused.rows)
    top = top[np.isfinite(unfocused.fused[top])]
    passages = retriever._loaded()[1].focus_passages
    weights = keyword_weights(retriever.index, question)
    trigrams = trigram_weights(question.text, weights)
    total = sum(trigrams.values()) or 1.0
    asks_number = bool(ASKS_NUMBER.search(normalize(question.text)))
    extras = {f"phrase share {w:g}": [] for w in PHRASE} | {f"number cue {w:g}": [] for w in CUE}
    for row in top.tolist():
        if final.cross[row] or not weights:
            for values in extras.values():
                values.append(np.nan)
            continue
        texts = sentences(passages, row)
        held = passages.tokens([row])[0][0]
        shares = np.array(keyword_shares(held, weights))  # held: one token set per sentence
        phrase = max(sum(w for g, w in trigrams.items() if g in t) for t in texts) / total
        numbers = np.array([bool(NUMBER.search(t)) for t in texts], dtype=float)
        for w in PHRASE:
            extras[f"phrase share {w:g}"].append(w * phrase)
        for w in CUE:
            gain = (shares + w * numbers).max() - shares.max() if asks_number else 0.0
            extras[f"number cue {w:g}"].append(float(gain))
    return top, final.fused[top], {k: np.array(v, dtype=np.float64) for k, v in extras.items()}


def reordered(top, scores, extra, fade) -> list[int]:
    same = extra[~np.isnan(extra)]
    extra = np.where(np.isnan(extra), same.max() if len(same) else 0.0, extra)
    order = np.argsort(-(scores + (fade * extra).astype(np.float32)), kind="stable")
    return top[order].tolist()


def measure(folder: Path, settings: Settings, words) -> dict:
    dev = dev_set.load(folder, settings)
    retriever = dev.retriever
    asking = [interrogative_sentence(q.text) for q in dev.questions]
    asked = [i for i, s in enumerate(asking) if s]
    own = retriever.question_vectors([retriever.prepare(asking[i]) for i in asked], 64) \
        if asked else np.zeros((0, dev.vectors.shape[1]), np.float32)
    sentence_vector = dict(zip(asked, own))
    long = [i for i, q in enumerate(dev.questions) if len(q.tokens) >= LONG_TOKENS]
    as_passage = get_passage_encoder(settings).encode_passages(
        [dev.questions[i].embed or dev.questions[i].text for i in long], 64) if long else []
    passage_vector = dict(zip(long, as_passage))
    tallies: dict[str, dev_set.Tally] = {}

    def tally(name: str) -> dev_set.Tally:
        return tallies.setdefault(name, dev_set.Tally())

    for i, (question, vector, relevant) in enumerate(zip(dev.questions, dev.vectors,
                                                         dev.relevant)):
        retriever.recipe = SHIPPED
        final = retriever.evidence(question, vector)
        shipped = best_rows(final.fused, DEPTH, final.rows).tolist()  # as Retriever.rank
        tally("shipped").add(shipped, relevant, False)
        for weight in BOUNDARY:
            changed = boundary_question(question, words, weight)
            rows = shipped if changed is None else \
                [r.row for r in retriever.rank(changed, DEPTH, vector)]
            tally(f"boundary {weight:g}").add(rows, relevant, changed is not None)
        for label, extra_vectors in (("question sentence", sentence_vector),
                                     ("passage prompt", passage_vector)):
            for beta in BETAS:
                if i in extra_vectors:
                    rows = [r.row for r in retriever.rank(
                        question, DEPTH, mixed(vector, extra_vectors[i], beta))]
                else:
                    rows = shipped
                tally(f"{label} {beta:g}").add(rows, relevant, i in extra_vectors)
        top, scores, extras = focus_extras(retriever, question, vector, final)
        fade = 1.0 - fusion.length_share(len(question.tokens), SHIPPED)
        base = reordered(top, scores, np.zeros(len(top)), fade)
        for name, extra in extras.items():
            rows = reordered(top, scores, extra, fade)
            tally(name).add(rows + shipped[len(rows):], relevant, rows != base)
    n = len(dev.queries)
    return {"queries": n, "variants": {name: t.result(n) for name, t in tallies.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "levers.json")
    args = parser.parse_args()
    started = time.time()
    about = machine()
    words = frozenset(dictionary().chinese)
    sets = {}
    for name in args.datasets.split(","):
        sets[name] = measure(Path(args.bench) / name, Settings.from_env(), words)
        print(f"{name}: {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    out = {"date": datetime.date.today().isoformat(), "measured": about, "sets": sets,
           "seconds": round(time.time() - started, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
