"""OCR of scanned pages: seconds per page, character recall and peak memory.

Draws ``--pages`` A4 pages of Chinese text (drcd dev paragraphs, about 1,200 characters a page
at 11 pt, the CJK font of ``make browser``) as pixels at 200 dpi into an image-only PDF, then
reads it with :func:`qa.ocr.ocr_pages` (the engine loaded first, not timed) and reports the
median seconds per page, the character recall (share of each page's characters found, in
order, by ``difflib``) and the process's peak memory. Writes ``bench/results/ocr_speed.json``.
Run: ``.venv/bin/python bench/ocr_speed.py [--pages 5]`` (about a minute).
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import io
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from about import machine  # noqa: E402
from qa.ocr import ocr_pages  # noqa: E402
from qa.sources import read_jsonl  # noqa: E402

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
DPI, POINTS, CHARS_PER_LINE, LINES = 200, 11, 40, 30


def page_lines(paragraphs: list[str], page: int) -> list[str]:
    """The page's lines: paragraphs cut every :data:`CHARS_PER_LINE` characters."""
    text = "".join(paragraphs)[page * CHARS_PER_LINE * LINES:(page + 1) * CHARS_PER_LINE * LINES]
    return [text[i:i + CHARS_PER_LINE] for i in range(0, len(text), CHARS_PER_LINE)]


def scanned_pdf(pages: list[list[str]]) -> bytes:
    """An image-only PDF of the pages' lines drawn in black on white."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), round(POINTS * DPI / 72))
    size = (round(8.27 * DPI), round(11.69 * DPI))
    images = []
    for lines in pages:
        image = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(image)
        for row, line in enumerate(lines):
            draw.text((150, 150 + round(1.6 * POINTS * DPI / 72) * row), line, font=font,
                      fill="black")
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=DPI, save_all=True, append_images=images[1:])
    return out.getvalue()


def recall(original: str, found: str) -> float:
    matcher = difflib.SequenceMatcher(None, original, "".join(found.split()), autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(original)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=str(ROOT.parent / "shared" / "bench"))
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ocr_speed.json")
    args = parser.parse_args()
    paragraphs = [row["text"] for row in read_jsonl(Path(args.bench) / "drcd" / "corpus.jsonl")]
    pages = [page_lines(paragraphs, n) for n in range(args.pages)]
    data = scanned_pdf(pages)
    started = time.perf_counter()
    ocr_pages(data, [0])  # loads the engine
    load = time.perf_counter() - started
    seconds, recalls = [], []
    for number, lines in enumerate(pages):
        started = time.perf_counter()
        found = ocr_pages(data, [number])[number]
        seconds.append(time.perf_counter() - started)
        recalls.append(recall("".join(lines), found))
    out = {"date": datetime.date.today().isoformat(), "measured": machine(),
           "pages": args.pages, "characters_per_page": CHARS_PER_LINE * LINES, "points": POINTS,
           "dpi": DPI, "first_call_s": round(load, 2),
           "seconds_per_page_median": round(statistics.median(seconds), 2),
           "recall_median": round(statistics.median(recalls), 4),
           "recall_min": round(min(recalls), 4),
           "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
