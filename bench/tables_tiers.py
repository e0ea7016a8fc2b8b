"""Tables of docs/quality.md about the tiers: the calibration, its variants, the seed's
questions, the dev sets and small collections (``bench/calibrate.py``, ``bench/tiers.py``,
``bench/small_collections.py``)."""

from __future__ import annotations

from doc_tables import SHORT, header, load_json, row, seed_off_topic


def calibration() -> list[str]:
    """The tiers on the fitting rows and on held-out questions (bench/calibrate.py)."""
    data = load_json("calibration")
    cross = data["cross_validated"]
    lines = ["| questions | answerable | unanswerable (unrelated + near-topic) | "
             "answerable: answered | right passage in the top 3 but hidden | "
             "unanswerable: refused (no answer) | … unrelated / near-topic | "
             "unanswerable: nothing shown |", "|---|---|---|---|---|---|---|---|"]

    def line(label: str, r: dict) -> str:
        unrelated, near = r["unrelated"], r["near"]
        return row(label, f"{r['answerable']:,}",
                   f"{r['unanswerable']:,} ({unrelated['questions']:,} + {near['questions']:,})",
                   f"{r['answerable_answered']:.1%}", f"{r['right_hidden']:.1%}",
                   f"{r['unanswerable_refused']:.1%}",
                   f"{unrelated['refused']:.1%} / {near['refused']:.1%}",
                   f"{r['unanswerable_nothing_shown']:.1%}")

    lines.append(line("every row, by the fitted model (in-sample, near-topic rows aside)",
                      data["fit"]))
    lines.append(line("held out: 5 folds by question", cross["by_question"]))
    lines.append(line("held out: leave one corpus out (all four)", cross["by_corpus"]))
    for corpus, r in cross["by_corpus"]["folds"].items():
        lines.append(line(f"… held-out corpus {corpus}", r))
    return lines


def calibration_choices() -> list[str]:
    """The shipped calibration next to the variants measured: other answer risks
    (``bench/calibrate.py --answer-risk``), one also fitted on the near-topic rows
    (``--fit-near``) and the one shipped before the keyword strength was smoothed, each with
    its tiers on the dev sets (``bench/tiers.py``)."""
    fits = [("answer risk 2% (shipped)", "calibration", "tiers"),
            ("answer risk 3%", "calibration_risk03", "tiers_risk03"),
            ("answer risk 4%", "calibration_risk04", "tiers_risk04"),
            ("answer risk 3%, fitted on near-topic rows too (`--fit-near`)",
             "calibration_fit_near", "tiers_fit_near"),
            ("before: answer risk 4%, keyword strength not smoothed (2a64db7)",
             "calibration_unsmoothed", "tiers_unsmoothed")]
    sets = ("drcd", "xquad_zh", "xquad_en2zh")
    lines = header("calibration", "held out: answerable answered", "… right answer hidden",
                   "… unrelated / near-topic refused", "seed: off-topic refused",
                   "seed: on-topic answered",
                   *(f"{SHORT.get(name, name)}: answered (all questions)" for name in sets))
    for label, calibration_file, tiers_file in fits:
        data, tiers = load_json(calibration_file), load_json(tiers_file)["sets"]
        held, seed = data["cross_validated"]["by_question"], data["seed"]
        off, asked = seed_off_topic(seed)
        lines.append(row(label, f"{held['answerable_answered']:.1%}",
                         f"{held['right_hidden']:.1%}",
                         f"{held['unrelated']['refused']:.1%} / {held['near']['refused']:.1%}",
                         f"{off} of {asked}", f"{seed['on_topic_answered']} of {seed['on_topic']}",
                         *(f"{tiers[name]['answered']:.1%}" for name in sets)))
    return lines


def calibration_seed() -> list[str]:
    """The shipped model on the seed's own questions (bench/calibrate.py)."""
    seed = load_json("calibration")["seed"]
    lines = ["| seed questions (never fitted on) | questions | result |", "|---|---|---|",
             row("on-topic: expected passage shown in the top 3 (any tier)", seed["on_topic"],
                 seed["on_topic_shown"]),
             row("on-topic: … and in the answer tier", seed["on_topic"], seed["on_topic_answered"])]
    for kind, label in (("off_topic", "general knowledge (cooking, weather, trivia)"),
                        ("near_topic", "near-topic, not answered by the seed"),
                        ("other_documents", "about other documents")):
        r = seed[kind]
        lines.append(row(f"off-topic, {label}: refused / nothing shown", r["questions"],
                         f"{r['refused']} / {r['nothing_shown']}"))
    return lines


def tiers() -> list[str]:
    """Right answers hidden and questions answered on every dev set (bench/tiers.py)."""
    data = load_json("tiers")
    lines = header("dataset", "questions", "right passage in the top 3",
                   "… hidden (under both thresholds)", "answered (a passage in the answer tier)",
                   "first shown is right and answers")
    for name, r in data["sets"].items():
        lines.append(row(name, f"{r['questions']:,}", f"{r['right_in_top3']:.1%}",
                         f"{r['hidden']:.1%}", f"{r['answered']:.1%}",
                         f"{r['right_first_answered']:.1%}"))
    return lines


def small_collections() -> list[str]:
    """The best passage's tier in collections of a few short documents, before and after the
    smoothed keyword strength (bench/small_collections.py)."""
    data = load_json("small_collections")
    lines = header("collection", "question", "the collection answers it",
                   "before: P (tier)", "now: P (tier)")
    for case in data["cases"]:
        lines.append(row(case["collection"], case["question"],
                         "yes" if case["answered_by_it"] else "no",
                         *(f"{case[k]['probability']:.3f} ({case[k]['tier']})"
                           for k in ("before", "now"))))
    return lines
