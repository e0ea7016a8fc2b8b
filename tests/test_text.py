"""qa.text: the one home of CJK character classes, scripts, reply language and normalisation."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qa import text
from qa.text import SCRIPT_CODES, is_chinese, normalize, normalize_char, script_of, to_simplified

QA = Path(__file__).resolve().parent.parent / "qa"


def members(cls: str, sample: str) -> str:
    return "".join(re.findall(f"[{cls}]", sample))


def test_character_classes_nest():
    compatibility = "\uf900"  # looks like 豈 (U+8C48)
    sample = f"中㐀䷀{compatibility}𠮶ひカ한A1・"
    assert members(text.UNIFIED_IDEOGRAPHS, sample) == "中"
    assert members(text.MAIN_HAN, sample) == "中㐀䷀"
    assert members(text.IDEOGRAPHS, sample) == f"中㐀{compatibility}𠮶"
    assert members(text.CJK, sample) == f"中㐀䷀{compatibility}𠮶ひカ한・"
    assert "".join(text.CJK_RE.findall(sample)) == members(text.CJK, sample)


@pytest.mark.parametrize("sample, script", [
    ("诺曼人入侵英格兰是哪一年？", "cjk"),
    ("臺灣的首都是哪裡？", "cjk"),
    ("ひらがなとカタカナ", "cjk"),
    ("When did the Normans invade England?", "latin"),
    ("What does 长城 mean?", "latin"),  # 2 of 14 letters
    ("长城 is great", "cjk"),  # 2 of 9 letters: at least a fifth
    ("", "latin"),
    ("123 ？！", "latin"),
])
def test_script_of(sample, script):
    assert script_of(sample) == script


@pytest.mark.parametrize("question", [
    "划船社区党委书记是谁?", "How do I cook 红烧肉 at home?", "What does 长城 mean?",
    "长城 is great", "mixed 中英 text with 数字 3.5万亩 and emoji 😀", "3.5", "",
])
def test_reply_language_is_the_ranking_script(question):
    assert is_chinese(question) == (script_of(question) == "cjk")


def test_script_codes_index_arrays():
    assert sorted(SCRIPT_CODES.values()) == list(range(len(SCRIPT_CODES)))
    assert SCRIPT_CODES["cjk"] == 0 and SCRIPT_CODES["latin"] == 1  # saved in scripts.npy


def test_normalisation():
    assert to_simplified("臺灣的首都 Taipei") == "台湾的首都 Taipei"
    assert normalize("ＡＢＣ１２３ 臺灣") == "abc123 台湾"
    assert normalize_char("臺") == "台" and normalize_char("Ａ") == "a"
    assert normalize_char("ﬁ") == "ﬁ"  # NFKC gives two characters: kept as one
    assert "".join(map(normalize_char, "發光二極管")) == "发光二极管"


def test_import_loads_nothing_heavy():
    code = "import sys, qa.text; print('opencc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def qa_imports(module: str) -> set[str]:
    tree = ast.parse((QA / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module.split(".")[0]] if node.module else
                         [alias.name for alias in node.names])
    return found


def test_text_sits_at_the_bottom():
    assert qa_imports("text") <= {"errors"}


@pytest.mark.parametrize("module", ["questions", "followup", "bilingual", "lexical", "evidence",
                                    "fusion", "calibration"])
def test_ranking_modules_never_import_build_modules(module):
    build = {"documents", "htmltext", "docxtext", "chunking", "sentences", "indexer",
             "parse_worker", "library"}
    assert not qa_imports(module) & build
