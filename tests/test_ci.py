"""CI cannot pass by skipping: under QA_CI=1 a skipped test fails the run."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SKIPPING = '''
import pytest

def test_needs_a_browser():
    pytest.skip("Debian's chromium is not installed")

@pytest.mark.skipif(True, reason="a dependency is missing")
def test_marked():
    pass
'''


def run_pytest(folder: Path, ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "QA_CI"}
    env["PYTHONPATH"] = str(TESTS)
    if ci:
        env["QA_CI"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(folder)], capture_output=True, text=True, env=env, cwd=folder,
                          timeout=120)


def test_a_skip_fails_under_ci_and_only_there(tmp_path):
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(
        "from strict_ci import pytest_make_collect_report, pytest_runtest_makereport\n")
    local = run_pytest(tmp_path, ci=False)
    assert local.returncode == 0 and "2 skipped" in local.stdout, local.stdout
    ci = run_pytest(tmp_path, ci=True)
    assert ci.returncode == 1, ci.stdout
    assert "1 failed, 1 error" in ci.stdout and "Debian's chromium is not installed" in ci.stdout


def test_make_stops_ci_when_chromium_cannot_be_installed(tmp_path):
    make = shutil.which("make")
    env = {"PATH": str(tmp_path)}  # neither chromium nor apt-get can be found
    ci = subprocess.run([make, "-s", "browser"], cwd=TESTS.parent, capture_output=True,
                        text=True, env=dict(env, QA_CI="1"), timeout=60)
    assert ci.returncode != 0 and "chromium could not be installed" in ci.stderr, ci
    local = subprocess.run([make, "-s", "browser"], cwd=TESTS.parent, capture_output=True,
                           text=True, env=env, timeout=60)
    assert local.returncode == 0 and "browser tests will be skipped" in local.stdout, local
    assert "QA_CI=1 make test" in (TESTS.parent / ".ci" / "run").read_text()
