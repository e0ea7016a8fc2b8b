"""Figures in the README and docs come from the JSON the benchmarks wrote."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_rendered_table_matches_its_json():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "render.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_table_edited_by_hand_is_caught(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import render
    finally:
        sys.path.remove(str(ROOT / "bench"))
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<!-- render: components -->" in text
    readme.write_text(text.replace("| cmrc2018 | 0.9", "| cmrc2018 | 0.8", 1), encoding="utf-8")
    monkeypatch.setattr(render, "ROOT", tmp_path)
    assert render.stale([readme]) == ["README.md"]
