"""score_db writes verdicts, evidence, clinics, score_history and changes; evaluate reads them back."""
from __future__ import annotations

import json

import pytest

from clinicvet.db import open_db
from scoring.eval import evaluate, format_report
from scoring.run import score_db

GOOD = "\n".join([
    "Harbor Ketamine Clinic",
    "Dr. Ana Ruiz, a board-certified anesthesiologist, gives every infusion.",
    "A nurse stays in the room and checks your blood pressure every five minutes during the infusion.",
    "Before treatment, a psychiatric evaluation screens for psychosis, mania, uncontrolled blood pressure and pregnancy.",
    "Each series includes two integration sessions with our therapist.",
    "Single IV infusion $500",
    "12 Wharf St",
    "Portland, ME 04101",
    "(207) 555-0101",
])
SHIPS = "Our partner pharmacy mails ketamine lozenges to your home every month."


def _add_site(db, domain: str, text: str, extra_pages: dict | None = None) -> None:
    db["sites"].upsert({"domain": domain, "name": domain.split(".")[0].title(), "seed_url": f"http://{domain}/",
                        "city": "Seedville", "state": "ZZ", "status": "ok", "last_crawl_id": 1}, pk="domain")
    pages = {f"http://{domain}/": text, **(extra_pages or {})}
    db["pages"].upsert_all([{"url": u, "domain": domain, "status": 200, "title": domain, "text": t,
                             "jsonld": "[]"} for u, t in pages.items()], pk="url")


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "clinicvet.db")
    _add_site(db, "harbor.test", GOOD)
    _add_site(db, "quiet.test", "Ketamine infusions\nCall us today.")
    _add_site(db, "gone.test", GOOD + "\n" + SHIPS)
    db["pages"].update("http://gone.test/", {"gone_at": "2026-01-01T00:00:00Z"})
    _add_site(db, "gone.test", "Ketamine infusions.", {"http://gone.test/new/": "Welcome."})
    return db


def test_score_db_writes_clinics_and_verdicts(db):
    summary = score_db(db)
    assert summary["sites"] == 3
    harbor = db["clinics"].get("harbor.test")
    assert harbor["tier"] == "Strong safety signals" and harbor["score"] == 100 and harbor["red_flag"] == 0
    assert (harbor["street"], harbor["city"], harbor["state"], harbor["zip"]) == ("12 Wharf St", "Portland", "ME", "04101")
    assert json.loads(harbor["routes"]) == ["iv"] and harbor["price_per_infusion"] == 500
    assert harbor["site_status"] == "ok" and harbor["rubric_version"]
    quiet = db["clinics"].get("quiet.test")
    assert quiet["tier"] == "Insufficient information" and (quiet["city"], quiet["state"]) == ("Seedville", "ZZ")
    rows = {r["question"]: r for r in db.query("select * from verdicts where domain = 'harbor.test'")}
    assert {q: r["verdict"] for q, r in rows.items()} == {
        "physician_led": "yes", "monitoring": "yes", "screening": "yes", "integration_support": "yes",
        "at_home_mail_order": "none"}
    assert all(r["evidence_count"] >= 1 for q, r in rows.items() if q != "at_home_mail_order")


def test_gone_pages_are_not_scored(db):
    score_db(db)
    assert db["clinics"].get("gone.test")["red_flag"] == 0


def test_rescore_replaces_evidence_and_records_changes(db):
    score_db(db, domains=["harbor.test"])
    before = db.execute("select count(*) from evidence where domain = 'harbor.test'").fetchone()[0]
    score_db(db, domains=["harbor.test"])
    assert db.execute("select count(*) from evidence where domain = 'harbor.test'").fetchone()[0] == before
    assert db["score_history"].count == 1
    db["pages"].update("http://harbor.test/", {"text": GOOD + "\n" + SHIPS})
    score_db(db, domains=["harbor.test"])
    changes = {r["question"]: r for r in db.query("select * from changes where domain = 'harbor.test'")}
    assert changes["at_home_mail_order"]["old"] == "none" and changes["at_home_mail_order"]["new"] == "red_flag"
    assert "mails ketamine" in changes["at_home_mail_order"]["evidence"]
    assert changes["tier"]["new"].startswith("Red flag")
    assert db["score_history"].count == 2


def test_reviewed_verdict_overrides_machine(db):
    score_db(db, domains=["quiet.test"])
    # Reviews live in their own table (clinicvet/review.py writes them); scoring reads the one in force.
    db["reviews"].insert({"domain": "quiet.test", "question": "screening", "verdict": "yes", "reviewer": "a",
                          "reviewed_at": "2026-01-01T00:00:00Z", "machine_verdict": "not_stated"})
    db.conn.commit()
    score_db(db, domains=["quiet.test"])
    row = db["verdicts"].get(("quiet.test", "screening"))
    assert (row["verdict"], row["machine_verdict"], row["reviewed_verdict"]) == ("yes", "not_stated", "yes")
    assert db["clinics"].get("quiet.test")["screening"] == "yes"


def test_evaluate_reports_accuracy_and_disagreements(db, tmp_path):
    score_db(db)
    labels = tmp_path / "labels.csv"
    head = ("domain,name,kind,city,state,phone,physician_led,monitoring,screening,integration_support,"
            "at_home_mail_order,routes,price_per_infusion_usd,evidence_notes,evidence_pages\n")
    labels.write_text(head + "harbor.test,H,physician_iv,P,ME,,yes,yes,yes,no,none,iv,500,,/\n"
                             "quiet.test,Q,sparse,T,OK,,not_stated,not_stated,not_stated,not_stated,red_flag,iv,,,/\n")
    report = evaluate(db, labels)
    assert report.accuracy["physician_led"] == 1.0 and report.accuracy["integration_support"] == 0.5
    assert report.red_flag_recall == 0.0 and report.red_flag_precision == 1.0
    text = format_report(report)
    assert "integration_support: accuracy 0.500" in text
    assert "harbor.test integration_support: label no, scorer yes" in text
    assert "integration sessions" in text


def test_worker_processes_write_what_one_process_writes(tmp_path):
    dbs = []
    for workers in (1, 2):
        db = open_db(tmp_path / f"w{workers}.db")
        for i in range(6):
            _add_site(db, f"site{i}.test", GOOD + ("\n" + SHIPS if i % 3 == 0 else ""))
        _add_site(db, "quiet.test", "Ketamine infusions\nCall us today.")
        summary = score_db(db, workers=workers)
        assert summary["sites"] == 7 and summary["red_flags"] == 2
        dbs.append(db)
    for sql in ("select domain, question, verdict, confidence from verdicts order by 1, 2",
                "select domain, question, url, quote, rule_id from evidence order by domain, question, id",
                "select domain, score, tier, routes, price_per_infusion, phone from clinics order by domain"):
        assert [tuple(r) for r in dbs[0].execute(sql).fetchall()] == [tuple(r) for r in dbs[1].execute(sql).fetchall()]


def test_text_an_older_extractor_stored_is_read_again_from_the_stored_html(tmp_path):
    import gzip

    from crawler.extract import EXTRACT_VERSION

    html = (b"<html><body><h1>FAQ</h1><div class='elementor-tab-title'>Do you mail ketamine?</div>"
            b"<div class='elementor-tab-content' hidden><p>Yes, our partner pharmacy mails lozenges to your "
            b"home every month.</p></div></body></html>")
    db = open_db(tmp_path / "old.db")
    _add_site(db, "old.test", "FAQ\nDo you mail ketamine?")  # what the old extractor kept: no hidden panel
    db["pages"].update("http://old.test/", {"html_gz": gzip.compress(html), "extract_version": None})
    score_db(db)
    page = db["pages"].get("http://old.test/")
    assert page["extract_version"] == EXTRACT_VERSION and "partner pharmacy mails lozenges" in page["text"]
    assert db["verdicts"].get(("old.test", "at_home_mail_order"))["verdict"] == "red_flag"
