"""A flood of near-identical pages uploaded next to the seed must not hide its answers.

The flood is a 600-page "scanned archive" whose pages differ only in their page number. Its
script group (Latin) then has near-constant cosines: standardised by their own tiny spread,
page-number noise became z-scores above the right answer's, and the "not found" cut-off,
applied only after taking the top k, dropped those pages and the answer with them (before
the floor under the spread in :mod:`qa.fusion` and the cut before the top k in
:func:`qa.retriever.answering`, the English question below got "not found" at k = 3).
The flood is in the other script than the seed on purpose: a flood in the seed's own script
shares its group, where the seed's passages are the outliers and only gain.
"""

import numpy as np
import pytest

from qa.fusion import standardise_by_group

from conftest import SEED

PAGES = 600
BOILERPLATE = ("This page of the scanned archive is intentionally left blank. The archive office "
               "keeps every page of this volume in the same order as the paper original. Nothing "
               "on this page has been removed, redacted or changed. Please turn to the next page "
               "to continue reading the volume.")
QUESTIONS = [("划船社区党委书记是谁?", "划船社区党委书记俞复玲"),
             ("When did the third water plant in Ninghai start acquiring land?",
              "从2006年开始土地征用")]


def flood_text(pages: int = PAGES) -> str:
    """Pages of identical boilerplate, blank-line separated, numbered (never byte-identical)."""
    return "\n\n".join(f"Page {i} of {pages}.\n{BOILERPLATE}\n{BOILERPLATE}\n"
                       "Filed by the archivist." for i in range(1, pages + 1))


@pytest.fixture(scope="module")
def flooded(settings, encoder, tmp_path_factory):
    from qa.retriever import Retriever

    docs = tmp_path_factory.mktemp("flood")
    (docs / SEED.name).write_bytes(SEED.read_bytes())
    (docs / "archive.txt").write_text(flood_text(), encoding="utf-8")
    retriever = Retriever(tmp_path_factory.mktemp("flood-index"), documents=[docs],
                          settings=settings, progress=False)
    assert len(retriever.index.records) > PAGES
    return retriever


@pytest.mark.parametrize("question, expected", QUESTIONS)
def test_a_flood_does_not_hide_the_answer(flooded, question, expected):
    top = flooded.retrieve(question, k=3, possible=True)  # what the chat shows
    assert top and expected in top[0].text, [(p.source, p.score, p.text[:30]) for p in top]
    assert top[0].source.endswith(SEED.name)


@pytest.mark.parametrize("question, expected", QUESTIONS)
def test_the_eval_ranking_puts_the_answer_first(flooded, question, expected):
    """``qa eval``'s ranking (no cut-off): the flood's z-scores no longer outrank the answer."""
    best = flooded.rank(flooded.prepare(question), k=3)[0]
    assert expected in flooded.index.records[best.row].text


def test_a_near_constant_group_is_not_inflated():
    rng = np.random.default_rng(0)
    scores = np.concatenate([0.80 + 0.0005 * rng.standard_normal(1000), [0.81],
                             0.80 + 0.02 * rng.standard_normal(50)]).astype(np.float32)
    groups = np.array([1] * 1001 + [0] * 50)
    plain = standardise_by_group(scores, groups, 20)
    floored = standardise_by_group(scores, groups, 20, min_spread=0.013)
    assert plain[1000] > 15  # 0.01 above a group spread of 0.0006
    assert floored[1000] == pytest.approx(0.01 / 0.013, abs=0.05)
    assert np.allclose(floored[groups == 0], plain[groups == 0])  # real spreads untouched
