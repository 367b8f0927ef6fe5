"""Held-out check: the demo web (written apart from the rubric) scored against its own labels."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from scoring.corpus import load_corpus_pages
from scoring.run import score_site

DEMO = Path(__file__).resolve().parents[1] / "clinicvet" / "demo"
YES_NO = ("physician_led", "monitoring", "screening", "integration_support")
FLOOR = 0.8


@pytest.fixture(scope="module")
def results() -> dict:
    with open(DEMO / "labels.csv", newline="", encoding="utf-8") as fh:
        labels = {r["domain"]: r for r in csv.DictReader(fh)}
    pages = load_corpus_pages(DEMO)
    return {d: (labels[d], score_site(p)) for d, p in pages.items() if d in labels}


def test_demo_web_is_fully_labelled(results):
    assert len(results) == 9


@pytest.mark.parametrize("question", YES_NO)
def test_demo_accuracy_floor(results, question):
    wrong = [(d, lab[question], res.verdicts[question].verdict) for d, (lab, res) in results.items()
             if lab[question] != res.verdicts[question].verdict]
    accuracy = 1 - len(wrong) / len(results)
    assert accuracy >= FLOOR, f"{question}: accuracy {accuracy:.3f}; wrong (domain, label, got): {wrong}"


def test_demo_red_flag_precision_and_recall_are_perfect(results):
    got = {d for d, (_, res) in results.items() if res.red_flag}
    want = {d for d, (lab, _) in results.items() if lab["at_home_mail_order"] == "red_flag"}
    assert got == want, f"false positives {sorted(got - want)}, missed {sorted(want - got)}"
