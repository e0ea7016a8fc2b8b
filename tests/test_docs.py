"""The README and docs stay true: figures come from the JSON the benchmarks wrote, every
setting the code reads and every module are documented, links resolve, the README stays short."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# A setting is a string literal naming an environment variable of ours, Gradio's or the hub's.
VARIABLE = re.compile(r"[\"'](QA_[A-Z0-9_]+|GRADIO_[A-Z0-9_]+|HF_[A-Z0-9_]+)[\"']")


@pytest.fixture
def render():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import render
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return render


def test_every_rendered_table_and_value_matches_its_json():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "render.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_table_edited_by_hand_is_caught(tmp_path, monkeypatch, render):
    readme = tmp_path / "README.md"
    text = README.read_text(encoding="utf-8")
    assert "<!-- render: quality -->" in text
    edited = re.sub(r"(\| cmrc2018 \| )0\.", r"\g<1>1.", text, count=1)
    assert edited != text
    readme.write_text(edited, encoding="utf-8")
    monkeypatch.setattr(render, "ROOT", tmp_path)
    assert render.stale([readme]) == ["README.md"]


def test_a_value_in_prose_is_rendered_and_an_edit_is_caught(render):
    block = "<!-- value: calibration hide .1% -->{}<!-- /value -->"
    right = render.render(block.format("?"))
    assert right != block.format("?") and "%" in right
    assert render.render(right) == right
    with pytest.raises(KeyError):
        render.render("<!-- value: calibration no/such/key -->1<!-- /value -->")
    with pytest.raises(KeyError):
        render.render("<!-- render: no_such_table -->\n<!-- /render -->")


def test_every_setting_the_code_reads_is_in_the_readme():
    read = set()
    for path in [*(ROOT / "qa").rglob("*.py"), ROOT / "app.py"]:
        read |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    assert {"QA_MODEL", "QA_DOCS", "GRADIO_SERVER_PORT"} <= read  # the pattern still finds them
    settings = README.read_text(encoding="utf-8").split("## Settings", 1)[1].split("\n## ", 1)[0]
    missing = sorted(v for v in read if f"`{v}`" not in settings)
    assert not missing, f"settings read by the code but not in the README's table: {missing}"


def test_every_module_is_in_the_module_map():
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    modules = [p.name for p in (ROOT / "qa").glob("*.py") if p.name != "__main__.py"]
    missing = sorted(m for m in modules if f"`{m}`" not in text)
    assert not missing, f"modules missing from docs/development.md's module map: {missing}"


def test_links_between_the_docs_resolve():
    for page in [README, *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_the_readme_stays_short():
    assert len(README.read_bytes()) <= 8 * 1024


def test_the_documented_recipe_and_calibration_are_the_shipped_ones():
    import json
    from dataclasses import asdict

    from qa.fusion import Recipe

    results = ROOT / "bench" / "results"
    grid = json.loads((results / "grid.json").read_text(encoding="utf-8"))
    assert grid["chosen"] == asdict(Recipe()), "the fusion recipe changed: rerun bench/grid.py"
    fitted = json.loads((results / "calibration.json").read_text(encoding="utf-8"))["model"]
    shipped = json.loads((ROOT / "qa" / "calibration.json").read_text(encoding="utf-8"))
    assert {k: shipped[k] for k in fitted} == fitted, \
        "qa/calibration.json changed: rerun bench/calibrate.py"
