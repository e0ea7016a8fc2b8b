"""Turning ranking evidence into a probability that a passage answers the question.

The model is a logistic regression over five features of a passage (see
``bench/calibrate.py``, which fits it on the dev halves of the benchmarks and writes
``calibration.json`` beside this file):

- ``passage_margin``: passage cosine minus the question's *baseline*, its mean cosine to
  unrelated background sentences (``background.json``) in the passage's script;
- ``sentence_margin``: best-sentence cosine minus the same baseline;
- ``smoothed_keyword``: keyword strength (BM25 over the question's reachable bound, floored),
  with each token's idf taken as if the collection held
  :data:`qa.lexical.SMOOTHING_PASSAGES` more passages (:func:`qa.lexical.smoothed_weights`),
  so that a plain answer in a collection of a few passages is not judged weak;
- ``cross_script``: 1 when the passage is in another script than the question (cross-lingual
  matches have lower cosines);
- ``translated``: the strength of the question's dictionary-translated keywords in a passage of
  another script (:mod:`qa.bilingual`).

Margins over a fixed background rather than raw cosines make the numbers comparable across
languages (an English question scores every Chinese text lower) and across corpora (a corpus
about one topic has no unrelated passages to compare with).
Two thresholds make three tiers (:data:`TIERS`): a passage at or above ``threshold`` *answers*
(confident), one at or above the lower ``possible_threshold`` is *possibly relevant* (shown,
marked as such), and a question with no passage above the lower one is "not found".
``bench/calibrate.py`` picks both on held-out rules: ``threshold`` refuses nearly every
question the documents do not answer, ``possible_threshold`` hides almost no right answer that
the ranking puts in the top 3.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

TIERS = ("answer", "possible")
FEATURES = ["passage_margin", "sentence_margin", "smoothed_keyword", "cross_script",
            "translated"]
_FILE = Path(__file__).with_name("calibration.json")
_BACKGROUND = Path(__file__).with_name("background.json")


def features_of(evidence, rows: np.ndarray) -> np.ndarray:
    """Feature matrix (len(rows), len(FEATURES)) for the passages ``rows``."""
    passage_margin = evidence.passage_cos[rows] - evidence.baseline[rows]
    sentence_margin = evidence.sentence_best[rows] - evidence.baseline[rows]
    return np.stack([passage_margin, sentence_margin, evidence.smoothed_keyword[rows],
                     evidence.cross[rows], evidence.translated[rows]], axis=1)


@functools.lru_cache(maxsize=1)
def load() -> dict:
    """The fitted model (``bias``, ``coefficients``, ``threshold``).

    Raises:
        RuntimeError: the model was fitted on other features than :data:`FEATURES`.
    """
    model = json.loads(_FILE.read_text(encoding="utf-8"))
    if model.get("features") != FEATURES:
        raise RuntimeError(f"{_FILE} was fitted on {model.get('features')}, not {FEATURES}: "
                           "refit it with bench/calibrate.py --write-model")
    return model


def probabilities(evidence, rows: np.ndarray) -> np.ndarray:
    """P(passage answers the question) for ``rows``."""
    return chances(features_of(evidence, rows), load())


def chances(features: np.ndarray, model: dict) -> np.ndarray:
    """P(answers) of each row of ``features`` (:func:`features_of`) under ``model``."""
    logits = features @ np.asarray(model["coefficients"]) + model["bias"]
    return 1.0 / (1.0 + np.exp(-logits))


def threshold() -> float:
    """The lowest probability of a passage that *answers* (the confident tier)."""
    return float(load()["threshold"])


def possible_threshold() -> float:
    """The lowest probability of a passage shown as *possibly relevant*."""
    return float(load()["possible_threshold"])


def tier(probability: float) -> str:
    """``"answer"`` at or above :func:`threshold`, else ``"possible"``."""
    return TIERS[0] if probability >= threshold() else TIERS[1]


@functools.lru_cache(maxsize=1)
def _background() -> dict:
    return json.loads(_BACKGROUND.read_text(encoding="utf-8"))


def background_texts() -> list[str]:
    """The reference sentences relevance is measured against (CJK ones, then Latin ones)."""
    return _background()["cjk"] + _background()["latin"]


def background_scripts() -> np.ndarray:
    """Script code (0 CJK, 1 Latin) of each :func:`background_texts` entry."""
    counts = (len(_background()["cjk"]), len(_background()["latin"]))
    return np.array([0] * counts[0] + [1] * counts[1], dtype=np.int8)
