"""Where a passage is (qa.places): PDF pages, section paths; folders with unreadable and
duplicate files."""

from __future__ import annotations

import pytest

from qa.chunking import chunk_text
from qa.documents import parse_bytes
from qa.places import Places, describe
from pdfs import serialize

WATER = ("Ninghai County's third water plant started land acquisition in 2006. The project "
         "acquired 140 mu of land for the new reservoir pipes.")
OTHER = ("The town library opened a reading room for children. Volunteers read stories "
         "every Saturday morning.")


def text_pdf(pages: list[str]) -> bytes:
    """A PDF with a text layer (Helvetica, one line per page), written by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        stream = f"BT /F1 10 Tf 20 700 Td ({text}) Tj ET".encode("latin-1")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode('latin-1')}\n"
                       "endstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents "
                       f"{len(objects)} 0 R /Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    return serialize(objects)


def test_places_hold_the_latest_mark_and_the_rows_spanned():
    places = Places([(0, {"sheet": "营业收入"}), (10, {"row": 2}), (20, {"row": 3}),
                     (30, {"row": 4}), (40, {"sheet": "成本", "row": 1})])
    assert places.at(12, 35) == {"sheet": "营业收入", "rows": [2, 4]}
    assert places.at(20, 25) == {"sheet": "营业收入", "rows": [3, 3]}
    assert places.at(41, 50) == {"sheet": "成本", "rows": [1, 1]}
    assert places.at(0, 5) == {"sheet": "营业收入"}
    assert Places().at(0, 100) == {}
    assert describe({"page": 12}, "二、项目概况", chinese=True) == "第 12 页 · 二、项目概况"
    assert describe({"page": 12}, "二、项目概况") == "page 12 · 二、项目概况"
    assert describe({"sheet": "成本", "rows": [1, 3]}) == "sheet 成本 · rows 1–3"
    assert describe({"slide": 4}, chinese=True) == "第 4 张幻灯片"
    assert describe({}, "") == ""


def test_sections_are_heading_paths():
    text = ("# 年度报告\n\n## 一、概况\n\n公司去年运营平稳。\n\n### 1. 收入\n\n收入增长了百分之十。\n\n"
            "### 2. 成本\n\n成本下降了。\n\n## 二、项目\n\n新项目开工。")
    sections = [c.section for c in chunk_text(text)]
    assert sections == ["一、概况", "一、概况 › 1. 收入", "一、概况 › 2. 成本", "二、项目"]


def test_a_pdf_passage_knows_its_page(make_retriever):
    data = text_pdf([OTHER, WATER])
    document = parse_bytes(data, "report.pdf")
    assert [p for _, p in document.places] == [{"page": 1}, {"page": 2}]
    retriever, _ = make_retriever({"report.pdf": data})
    passage = retriever.retrieve("How much land did the third water plant acquire?", k=1)[0]
    assert "140 mu" in passage.text
    assert passage.place == {"page": 2} and passage.location == "page 2"


def test_a_folder_build_skips_unreadable_files_and_indexes_duplicates_once(make_retriever):
    good = "宁海县第三水厂从2006年开始土地征用，共征地140亩。"
    retriever, _ = make_retriever({"good.txt": good, "copy.txt": good,
                                   "broken.pdf": b"%PDF-1.4 not really",
                                   "empty.md": "   \n"})
    manifest = retriever.index.manifest
    assert [d["source"] for d in manifest["documents"]] == ["docs/copy.txt"]
    assert manifest["duplicates"] == {"docs/good.txt": "docs/copy.txt"}
    assert set(manifest["skipped"]) == {"docs/broken.pdf", "docs/empty.md"}
    assert manifest["skipped"]["docs/broken.pdf"].startswith("docs/broken.pdf: cannot read this PDF")
    found = retriever.retrieve("第三水厂征地多少亩?", k=1, possible=True)
    assert found[0].source == "docs/copy.txt"
    assert retriever._stale(retriever.index) is None  # skipped files do not make it stale


def test_sources_filter_and_identical_passages_shown_once(make_retriever):
    water = "宁海县第三水厂从2006年开始土地征用，共征地140亩，总投资2.3亿元。"
    letterhead = "宁海县水务集团有限公司 地址：宁海县桃源街道 电话：0574-65512345。"
    retriever, _ = make_retriever({
        "a.txt": f"{water}\n\n{letterhead}",
        "b.txt": f"黄坛镇一户一表改造工程总投资2000万元，惠及3000多户居民。\n\n{letterhead}",
        "c.md": "宁海县第三水厂的二期工程计划于2010年开工，新增供水能力5万吨。"})
    found = retriever.retrieve("宁海县水务集团的电话是多少?", k=5, possible=True)
    copies = [p for p in found if "0574-65512345" in p.text]
    assert len(copies) == 1 and copies[0].also_in == ("docs/b.txt",)
    assert copies[0].source == "docs/a.txt"
    only_md = retriever.retrieve("第三水厂征地多少亩?", k=5, possible=True, sources="*.md")
    assert only_md and {p.source for p in only_md} == {"docs/c.md"}
    both = retriever.retrieve("第三水厂征地多少亩?", k=5, possible=True,
                              sources=["docs/a.txt", "c.md"])
    assert {p.source for p in both} <= {"docs/a.txt", "docs/c.md"}
    assert both[0].source == "docs/a.txt"
    with pytest.raises(ValueError, match="no document matches"):
        retriever.retrieve("第三水厂征地多少亩?", sources="nothing-*.pdf")
    with pytest.raises(ValueError, match="at least one"):
        retriever.retrieve("第三水厂征地多少亩?", sources=[])


def test_a_scanned_pdf_is_read_by_ocr_and_the_pages_are_named(make_retriever):
    from test_ocr import image_pdf

    scan = image_pdf()  # page 1: Chinese lines as pixels, page 2: blank
    document = parse_bytes(scan, "scan.pdf")
    assert document.notes == {"ocr_pages": [1], "unreadable_pages": [2]}
    assert "2006" in document.text and "140" in document.text
    assert parse_bytes(scan, "scan.pdf", ocr=True).places == ((0, {"page": 1}),
                                                             (len(document.text), {"page": 2}))
    retriever, docs = make_retriever({"scan.pdf": scan, "note.txt": WATER})
    entry = next(d for d in retriever.index.manifest["documents"] if d["source"] == "docs/scan.pdf")
    assert entry["ocr_pages"] == [1] and entry["unreadable_pages"] == [2]
    found = retriever.retrieve("宁海县第三水厂哪一年开始征地?", k=3, possible=True)
    scanned = [p for p in found if p.source == "docs/scan.pdf"]
    assert scanned and scanned[0].place == {"page": 1} and "2006" in scanned[0].answer


def test_without_ocr_an_image_only_pdf_is_skipped_and_the_rest_indexed(settings, encoder,
                                                                      tmp_path):
    from dataclasses import replace

    from test_ocr import image_pdf

    from qa.retriever import Retriever

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "scan.pdf").write_bytes(image_pdf())
    (docs / "note.txt").write_text(WATER, encoding="utf-8")
    retriever = Retriever(tmp_path / "index", documents=[docs],
                          settings=replace(settings, ocr=False), progress=False)
    manifest = retriever.index.manifest
    assert [d["source"] for d in manifest["documents"]] == ["docs/note.txt"]
    assert "no text" in manifest["skipped"]["docs/scan.pdf"]


def test_near_identical_passages_fold_unless_a_number_differs():
    import numpy as np

    from qa.passage import Record
    from qa.selection import fold_duplicates

    head = "宁海县水务集团{}公司 地址：宁海县桃源街道 电话：0574-655123{}。"
    records = [Record(id="a", text=head.format("有限", "45"), source="a.txt"),
               Record(id="b", text=head.format("有限责任", "45"), source="b.txt"),
               Record(id="c", text=head.format("有限", "99"), source="c.txt"),
               Record(id="d", text=head.format("有限", "45"), source="a.txt"),
               Record(id="e", text="黄坛镇一户一表改造工程总投资2000万元。", source="e.txt")]
    folded = fold_duplicates(records, np.arange(5), np.linspace(0.9, 0.5, 5), k=5)
    assert [(row, also) for row, _, also in folded] == [(0, ("b.txt",)), (2, ()), (4, ())]
    assert len(fold_duplicates(records, np.arange(5), np.ones(5), k=2)) == 2
