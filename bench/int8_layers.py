"""Which feed-forward down projections the 8-bit export could keep fp32 (``FP32_DOWN_LAYERS``).

Exports the default model once to fused fp32 ONNX (``qa.int8.fused_fp32``), then quantises it
as the shipped export does (``qa.int8.quantize``) with no, each single one, the ``--trial``
layers' and every layer's down projection kept fp32. Each variant embeds the same sample of bench passages and
sentences (``bench/int8_cosine.py``'s sample: an equal share of the eight corpora, seeded)
one text per run on one core, as :class:`qa.int8.Int8Passages` does; the bench writes each
variant's cosine to the fp32 graph (mean, 1st percentile, minimum) and its seconds for the
whole sample (the variants that are timed alternate over ``--rounds`` rounds; medians) to
``bench/results/int8_layers.json``.

Run: ``.venv/bin/python bench/int8_layers.py [--passages 240] [--sentences 200]`` (about
15 minutes here; nothing else should run meanwhile).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
OUT = ROOT / "bench" / "results" / "int8_layers.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--passages", type=int, default=240)
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trial", default="0,4,5",
                        help="the layers of the timed trial (the three best single ones here)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    import onnxruntime
    from tokenizers import Tokenizer

    from int8_cosine import sample_texts
    from qa.config import Settings
    from qa.converter import default_model_path
    from qa.int8 import FP32_DOWN_LAYERS, PROMPT, export_versions, fused_fp32, quantize

    passages, sentences = sample_texts(Path(args.bench), args.passages, args.sentences)
    model_dir = default_model_path(Settings.from_env().cache_dir)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(512)
    texts = passages + sentences
    encoded = [np.asarray([e.ids], dtype=np.int64)
               for e in tokenizer.encode_batch([PROMPT + t for t in texts])]

    def session(path: Path):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        return onnxruntime.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])

    def embed(model) -> tuple[np.ndarray, float]:
        started = time.perf_counter()
        vectors = np.stack([model.run(None, {"ids": ids, "mask": np.ones_like(ids)})[0][0]
                            for ids in encoded])
        return vectors, time.perf_counter() - started

    def closeness(vectors: np.ndarray) -> dict:
        cosines = (vectors * reference).sum(axis=1)
        return {"mean": round(float(cosines.mean()), 5),
                "p1": round(float(np.percentile(cosines, 1)), 5),
                "min": round(float(cosines.min()), 5)}

    with tempfile.TemporaryDirectory(prefix="int8-layers-") as work:
        fused, config = fused_fp32(model_dir, Path(work))
        layers = config.num_hidden_layers
        reference, fp32_seconds = embed(session(fused))
        trial = tuple(int(i) for i in args.trial.split(","))
        variants = {"none": (), **{f"layer {i}": (i,) for i in range(layers)},
                    "trial": trial, "all": tuple(range(layers))}
        models, result = {}, {"variants": {}}
        for name, kept in variants.items():
            path = Path(work) / f"{name.replace(' ', '')}.onnx"
            quantize(fused, path, kept)
            models[name] = session(path)
            vectors, _ = embed(models[name])
            result["variants"][name] = {"fp32_layers": list(kept), "cosine": closeness(vectors)}
            print(name, result["variants"][name]["cosine"], flush=True)
            if name.startswith("layer"):
                del models[name]
                path.unlink()
        timed = ["none", "trial", "all"]
        seconds = {name: [] for name in timed}
        for round_ in range(args.rounds):
            for name in timed if round_ % 2 == 0 else timed[::-1]:
                seconds[name].append(embed(models[name])[1])
        for name in timed:
            result["variants"][name]["seconds"] = [round(s, 2) for s in seconds[name]]
            result["variants"][name]["median_s"] = round(float(np.median(seconds[name])), 2)
            print(name, result["variants"][name]["median_s"], flush=True)
    none = result["variants"]["none"]["median_s"]
    result.update({"date": time.strftime("%Y-%m-%d"), "versions": export_versions(),
                   "texts": len(texts), "passages": len(passages), "sentences": len(sentences),
                   "tokens": int(sum(ids.shape[1] for ids in encoded)),
                   "fp32_seconds_once": round(fp32_seconds, 2),
                   "shipped_layers": list(FP32_DOWN_LAYERS),
                   "trial_time_ratio": round(result["variants"]["trial"]["median_s"] / none, 3),
                   "all_time_ratio": round(result["variants"]["all"]["median_s"] / none, 3)})
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
