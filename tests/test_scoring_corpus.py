"""Accuracy floors on the labelled development corpus, pages built straight from its HTML files."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from scoring.corpus import load_corpus_pages
from scoring.run import score_site

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
YES_NO = ("physician_led", "monitoring", "screening", "integration_support")
FLOOR = 0.9


@pytest.fixture(scope="module")
def corpus_pages() -> dict:
    if not (CORPUS / "sites").is_dir() or not (CORPUS / "labels.csv").is_file():
        pytest.skip(f"labelled corpus not found at {CORPUS} (expected ../shared/corpus next to the repo)")
    return load_corpus_pages(CORPUS)


@pytest.fixture(scope="module")
def results(corpus_pages) -> dict:
    with open(CORPUS / "labels.csv", newline="", encoding="utf-8") as fh:
        labels = {r["domain"]: r for r in csv.DictReader(fh)}
    return {d: (labels[d], score_site(pages)) for d, pages in corpus_pages.items() if d in labels}


@pytest.mark.parametrize("question", YES_NO)
def test_corpus_accuracy_floor(results, question):
    wrong = [(d, lab[question], res.verdicts[question].verdict) for d, (lab, res) in results.items()
             if lab[question] != res.verdicts[question].verdict]
    accuracy = 1 - len(wrong) / len(results)
    assert accuracy >= FLOOR, f"{question}: accuracy {accuracy:.3f}; wrong (domain, label, got): {wrong}"


def test_corpus_red_flag_precision_and_recall_are_perfect(results):
    got = {d for d, (_, res) in results.items() if res.red_flag}
    want = {d for d, (lab, _) in results.items() if lab["at_home_mail_order"] == "red_flag"}
    assert got == want, f"false positives {sorted(got - want)}, missed {sorted(want - got)}"
