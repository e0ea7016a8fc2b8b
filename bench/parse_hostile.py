"""How long hostile documents of about 1 MB take to parse and chunk, and how much memory.

Each case of ``tests/test_hostile_inputs.py`` (``CASES``: a 1 MB word before ``..``, runs of
stops and closers, a line without punctuation, ``. `` repeated, headline lines, broken lines,
HTML nested beyond and just under ``MAX_HTML_DEPTH``, 100,000 sibling ``<p>``, a DOCX zip bomb,
a DOCX packed 1000:1, a DOCX of 100,000 paragraphs, a PDF over ``MAX_PDF_PAGES``, text over
``MAX_TEXT_CHARS``) is made, then read with ``parse_bytes`` and ``chunk_text`` in a fresh
process; the seconds of each step, the peak memory of the process and the outcome (passages,
or the refusal) go to ``bench/results/parse_hostile.json`` with the figures measured before the
rewrite, for comparison.

Run: ``.venv/bin/python bench/parse_hostile.py [case ...]`` (about 30 s here).
"""

from __future__ import annotations

import json
import multiprocessing
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
OUT = ROOT / "bench" / "results" / "parse_hostile.json"
# The code before the linear rewrite, on this machine class, for comparison.
BEFORE = {
    "txt 'a' * 16,000 + '..x.'": "11 s", "txt 'a' * 40,000 + '..x.'": "73 s",
    "html 0.2 MB of nested tags": "41 s", "docx 39 KB (zip bomb)": "66 s",
    "docx 333 KB (zip bomb)": "process grew from 0.75 to 2.85 GB in 10 s",
    "docx 100,000 one-sentence paragraphs (52 KB)": "126 s",
    "dots_after_a_long_word, docx_zip_bomb, headline_lines, broken_lines": "over 25 s (stopped)",
    "nested_html_under_limit": "6.7 s", "wide_html": "6.2 s (then 100,000 passages)",
}


def run_case(case: str) -> dict:
    """Make one case, then time parsing and chunking it; in a fresh process."""
    import resource

    from qa.chunking import chunk_text
    from qa.documents import parse_bytes
    from qa.errors import DocumentError
    from test_hostile_inputs import CASES

    name, make = CASES[case]
    start = time.perf_counter()
    data = make()
    made = time.perf_counter()
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"file": name, "bytes": len(data), "make_s": round(made - start, 3)}
    try:
        text = parse_bytes(data, name).text
        result["parse_s"] = round(time.perf_counter() - made, 3)
        result["chars"] = len(text)
        chunked = time.perf_counter()
        result["passages"] = len(chunk_text(text, Path(name).stem, source=name))
        result["chunk_s"] = round(time.perf_counter() - chunked, 3)
    except DocumentError as exc:
        result["refused"] = str(exc)
    result["total_s"] = round(time.perf_counter() - made, 3)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["peak_rss_mb_after_making_input"] = round(base_mb)
    return result


def main(cases: list[str]) -> None:
    from test_hostile_inputs import CASES

    results = {}
    with multiprocessing.get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        for case in cases or list(CASES):
            results[case] = pool.apply(run_case, (case,))
            outcome = results[case].get("refused") or f"{results[case]['passages']} passages"
            print(f"{case:26s} {results[case]['total_s']:7.2f} s  {outcome[:70]}", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "what": "parse_bytes + chunk_text of hostile inputs of about 1 MB, each in a fresh process",
        "python": platform.python_version(), "machine": platform.machine(),
        "processor": platform.processor(), "before": BEFORE, "cases": results,
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
