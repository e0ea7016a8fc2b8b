"""What a measurement ran on, recorded beside its figures in ``bench/results/*.json``."""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commit() -> str | None:
    """The checkout's commit (short hash, ``+changes`` when ``qa/`` differs from it), or
    ``None`` outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "qa"], cwd=ROOT, text=True,
                               capture_output=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+changes" if dirty else "")


@contextmanager
def checkout(revision: str, folder: Path):
    """A git worktree of ``revision`` at ``folder`` for the ``with`` block, removed after."""
    subprocess.run(["git", "worktree", "add", "--detach", "-f", str(folder), revision],
                   cwd=ROOT, check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT,
                       capture_output=True)


def machine() -> dict:
    """Date, commit, CPU model, cores, int8 dot-product instructions, Python and the 1-minute
    load average when the measurement started (timings are only comparable on a quiet
    machine)."""
    info = {"date": datetime.date.today().isoformat(), "commit": commit(),
            "cores": os.cpu_count(), "python": platform.python_version(),
            "load_1min_at_start": round(os.getloadavg()[0], 2)}
    try:
        text = Path("/proc/cpuinfo").read_text()
        info["cpu"] = re.search(r"model name\s*:\s*(.*)", text).group(1).strip()
        flags = set(re.search(r"flags\s*:\s*(.*)", text).group(1).split())
        info["int8_dot_product"] = sorted(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})
    except (OSError, AttributeError):
        pass
    return info
