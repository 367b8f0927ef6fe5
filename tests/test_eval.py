"""Accuracy on the labelled corpus as the product sees it: crawled through the local web, scored, evaluated."""
import pytest

from conftest import CORPUS, rows, run_cli
from scoring.eval import evaluate

QUESTIONS = ("physician_led", "monitoring", "screening", "integration_support")


@pytest.fixture(scope="module")
def report(corpus_db):
    return evaluate(corpus_db, CORPUS / "labels.csv")


def test_every_labelled_site_was_crawled_and_scored(report):
    assert report.sites == 48 and not report.missing


@pytest.mark.parametrize("question", QUESTIONS)
def test_accuracy_floor_per_question(report, question):
    assert report.accuracy[question] >= 0.9


def test_red_flag_precision_and_recall_are_perfect(report):
    assert (report.red_flag_precision, report.red_flag_recall) == (1.0, 1.0)


def test_eval_command_prints_confusion_tables_and_red_flag_figures(corpus_db):
    out = run_cli(["eval", CORPUS / "labels.csv", "--db", corpus_db]).stdout
    assert "Sites compared: 48" in out
    for question in QUESTIONS:
        assert f"{question}: accuracy " in out
    assert "label \\ verdict" in out and "Red flag precision 1.000, recall 1.000" in out


def test_eval_of_database_without_the_labelled_sites_fails(demo_db):
    result = run_cli(["eval", CORPUS / "labels.csv", "--db", demo_db], check=False)
    assert result.returncode == 1 and "no labelled site is in" in result.stderr


def test_every_evidence_quote_is_verbatim_in_the_stored_text_of_its_page(corpus_db):
    pages = {r["url"]: r["text"] for r in rows(corpus_db, "select url, text from pages")}
    evidence = rows(corpus_db, "select domain, question, url, quote from evidence")
    assert len(evidence) > 200
    wrong = [(e["domain"], e["question"], e["url"], e["quote"][:80]) for e in evidence
             if e["url"] not in pages or e["quote"] not in pages[e["url"]]]
    assert not wrong, f"{len(wrong)} quotes not in the page they cite: {wrong[:5]}"
