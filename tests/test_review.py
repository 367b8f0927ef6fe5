"""Advocate review: overrides with notes, the queue, export/import, and writes only for reviewers."""
import json
import re
import sqlite3
import subprocess

import httpx
import pytest

from clinicvet.demo import SEEDS_FILE
from conftest import CLINICVET, Datasette, rows, run_cli

CLINIC = "www.riverbend-infusion.test"   # machine: monitoring not_stated, screening not_stated
PASSWORD = "correct horse battery staple"


def copy_db(src, dst):
    """A consistent copy of a SQLite file (WAL included) that tests may change."""
    with sqlite3.connect(src) as source, sqlite3.connect(dst) as target:
        source.backup(target)
    return dst


def add_reviewer(db, name, password=PASSWORD):
    subprocess.run(CLINICVET + ["reviewer", "add", name, "--password-stdin", "--db", str(db)],
                   input=password + "\n", text=True, check=True, capture_output=True)


def scorecard_path(domain):
    return "/db/clinics/" + domain.replace(".", "~2E")


def csrf(page: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)


def sign_in(server, name, password=PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    token = csrf(client.get("/-/login").text)
    response = client.post("/-/login", data={"csrftoken": token, "username": name, "password": password})
    assert response.status_code == 302 and "ds_actor" in client.cookies, response.text[:300]
    return client


def review_form(domain, question, verdict, note, token=None, database="db"):
    data = {"database": database, "domain": domain, "question": question, "verdict": verdict, "note": note,
            "evidence_url": f"http://{domain}/"}
    if token:
        data["csrftoken"] = token
    return data


@pytest.fixture
def db(demo_db, tmp_path):
    return copy_db(demo_db, tmp_path / "db.db")


def test_cli_review_shows_on_scorecard_and_in_score(db):
    before = rows(db, "SELECT score, tier, monitoring FROM clinics WHERE domain = ?", [CLINIC])[0]
    assert before["monitoring"] == "not_stated"

    run_cli(["review", "set", CLINIC, "monitoring", "--verdict", "yes", "--by", "alice", "--db", db,
             "--note", "Phoned the clinic: a nurse checks vitals <every> 15 minutes",
             "--evidence-url", f"http://{CLINIC}/services/"])

    verdict = rows(db, "SELECT * FROM verdicts WHERE domain = ? AND question = 'monitoring'", [CLINIC])[0]
    assert (verdict["verdict"], verdict["machine_verdict"], verdict["reviewed_verdict"]) == ("yes", "not_stated", "yes")
    after = rows(db, "SELECT score, tier, monitoring, tier_rank FROM clinics WHERE domain = ?", [CLINIC])[0]
    assert after["monitoring"] == "yes" and after["score"] > before["score"] and after["tier"] != before["tier"]
    assert rows(db, "SELECT score FROM score_history WHERE domain = ? ORDER BY id DESC LIMIT 1", [CLINIC])[0]["score"] == after["score"]

    server = Datasette(db)
    try:
        status, page = server.get(scorecard_path(CLINIC))
    finally:
        server.stop()
    assert status == 200
    section = page[page.index('id="q-monitoring"'):page.index('id="q-screening"')]
    assert "Machine reading: Not stated" in section and "Advocate review" in section
    assert "by alice" in section and "a nurse checks vitals &lt;every&gt; 15 minutes" in section
    assert f'href="http://{CLINIC}/services/"' in section


def test_rescoring_keeps_the_review_and_its_score(db):
    run_cli(["review", "set", CLINIC, "screening", "--verdict", "yes", "--by", "alice", "--db", db])
    reviewed = rows(db, "SELECT score, tier, screening FROM clinics WHERE domain = ?", [CLINIC])[0]
    run_cli(["score", "--db", db])
    assert rows(db, "SELECT score, tier, screening FROM clinics WHERE domain = ?", [CLINIC])[0] == reviewed


def test_note_only_review_reverts_to_the_machine_verdict_and_keeps_history(db):
    run_cli(["review", "set", CLINIC, "screening", "--verdict", "yes", "--by", "alice", "--db", db])
    run_cli(["review", "set", CLINIC, "screening", "--note", "Could not confirm; back to the site's word",
             "--by", "bob", "--db", db])
    assert rows(db, "SELECT screening FROM clinics WHERE domain = ?", [CLINIC])[0]["screening"] == "not_stated"
    history = rows(db, "SELECT id, verdict, reviewer, superseded_by FROM reviews ORDER BY id")
    assert [(r["verdict"], r["reviewer"]) for r in history] == [("yes", "alice"), (None, "bob")]
    assert history[0]["superseded_by"] == history[1]["id"] and history[1]["superseded_by"] is None


@pytest.mark.parametrize("args, message", [
    (["monitoring", "--verdict", "maybe"], "verdict 'maybe': for monitoring use one of yes, no, not_stated"),
    (["bedside_manner", "--verdict", "yes"], "question 'bedside_manner': not a rubric question"),
    (["monitoring"], "a review needs a verdict, a note, or both"),
    (["monitoring", "--verdict", "yes", "--evidence-url", "javascript:alert(1)"], "must be an http(s) URL"),
])
def test_bad_review_is_refused_in_one_line(db, args, message):
    result = run_cli(["review", "set", CLINIC, *args, "--by", "alice", "--db", db], check=False)
    assert result.returncode == 1 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert rows(db, "SELECT count(*) AS n FROM reviews")[0]["n"] == 0


@pytest.fixture
def served(db):
    add_reviewer(db, "alice")
    server = Datasette(db)
    yield db, server
    server.stop()


def test_web_review_by_signed_in_reviewer_shows_on_scorecard_and_in_score(served):
    db, server = served
    before = rows(db, "SELECT score FROM clinics WHERE domain = ?", [CLINIC])[0]["score"]
    client = sign_in(server, "alice")
    try:
        page = client.get(scorecard_path(CLINIC)).text
        assert "Save review as alice" in page
        response = client.post("/-/review", data=review_form(CLINIC, "screening", "yes",
                                                             "Intake includes a psychiatric evaluation", csrf(page)))
        assert response.status_code == 302 and response.headers["location"].endswith("#q-screening")
        page = client.get(response.headers["location"]).text
    finally:
        client.close()
    assert rows(db, "SELECT reviewer, verdict, via FROM reviews") == [{"reviewer": "alice", "verdict": "yes", "via": "web"}]
    assert rows(db, "SELECT score FROM clinics WHERE domain = ?", [CLINIC])[0]["score"] > before
    section = page[page.index('id="q-screening"'):page.index('id="q-integration_support"')]
    assert "Intake includes a psychiatric evaluation" in section and "Machine reading: Not stated" in section
    # Anonymous visitors read the review too.
    status, public = server.get(scorecard_path(CLINIC))
    assert status == 200 and "Intake includes a psychiatric evaluation" in public and "Save review as" not in public


def test_anonymous_write_is_refused_and_changes_nothing(served):
    db, server = served
    before = {t: rows(db, f"SELECT * FROM {t}") for t in ("reviews", "verdicts", "clinics")}
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        no_cookie = anonymous.post("/-/review", data=review_form(CLINIC, "screening", "yes", "sneaky"))
        token = csrf(anonymous.get("/-/login").text)
        with_token = anonymous.post("/-/review", data=review_form(CLINIC, "screening", "yes", "sneaky", token))
        page = anonymous.get(scorecard_path(CLINIC)).text
    assert no_cookie.status_code == 403 and with_token.status_code == 403
    assert "Only signed-in reviewers" in with_token.text
    assert "Save review as" not in page and 'href="/-/login"' in page
    assert {t: rows(db, f"SELECT * FROM {t}") for t in before} == before


def test_wrong_password_and_removed_reviewer_cannot_write(served):
    db, server = served
    with httpx.Client(base_url=server.url, timeout=30) as client:
        token = csrf(client.get("/-/login").text)
        client.post("/-/login", data={"csrftoken": token, "username": "alice", "password": "wrong password!"})
        assert "ds_actor" not in client.cookies
    client = sign_in(server, "alice")
    run_cli(["reviewer", "remove", "alice", "--db", db])
    token = csrf(client.get(scorecard_path(CLINIC)).text)
    response = client.post("/-/review", data=review_form(CLINIC, "screening", "yes", "after removal", token))
    client.close()
    assert response.status_code == 403 and rows(db, "SELECT count(*) AS n FROM reviews")[0]["n"] == 0


def test_reviewer_passwords_are_hashed_and_never_served(served):
    db, server = served
    stored = (db.parent / (db.name + ".reviewers.json")).read_text()
    assert PASSWORD not in stored and json.loads(stored)["reviewers"]["alice"]["password_hash"].startswith("pbkdf2_sha256$")
    assert (db.parent / (db.name + ".reviewers.json")).stat().st_mode & 0o077 == 0
    for path in ("/-/metadata.json", "/-/plugins.json", "/-/settings.json", "/db.json"):
        status, body = server.get(path)
        assert "pbkdf2" not in body, path


def test_recrawl_that_flips_the_machine_verdict_queues_the_review(demo_web_copy, tmp_path):
    root, server = demo_web_copy
    db = tmp_path / "clinics.db"
    run_cli(["run", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    run_cli(["review", "set", CLINIC, "monitoring", "--verdict", "no", "--by", "alice", "--db", db,
             "--note", "The clinic says patients are not monitored after the infusion"])
    queue = run_cli(["review", "queue", "--db", db]).stdout
    assert "needs re-review" not in queue

    page = root / CLINIC / "services" / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "</main>", "<p>During every infusion a registered nurse checks your blood pressure, heart rate and "
                   "oxygen level, and you rest in our recovery area for 30 minutes.</p></main>", 1), encoding="utf-8")
    run_cli(["recrawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)

    verdict = rows(db, "SELECT * FROM verdicts WHERE domain = ? AND question = 'monitoring'", [CLINIC])[0]
    assert verdict["machine_verdict"] == "yes" and verdict["verdict"] == "no"  # kept, not dropped...
    queue = rows(db, "SELECT * FROM review_queue WHERE domain = ? AND question = 'monitoring'", [CLINIC])
    assert len(queue) == 1 and "needs re-review" in queue[0]["reasons"]          # ...and not silently
    assert "not_stated; it now reads yes" in queue[0]["details"]
    listed = run_cli(["review", "list", "--db", db]).stdout
    assert "NEEDS RE-REVIEW" in listed

    # Reviewing again against the new reading clears it.
    run_cli(["review", "set", CLINIC, "monitoring", "--verdict", "yes", "--by", "alice", "--db", db])
    assert rows(db, "SELECT * FROM review_queue WHERE domain = ? AND question = 'monitoring'", [CLINIC]) == []
    assert rows(db, "SELECT monitoring FROM clinics WHERE domain = ?", [CLINIC])[0]["monitoring"] == "yes"


def test_queue_lists_red_flags_and_unreviewed_clinics_oldest_first(db):
    queue = run_cli(["review", "queue", "--db", db]).stdout.splitlines()
    assert any("at_home_mail_order" in line and "new red flag" in line for line in queue)
    assert any(CLINIC in line and "never reviewed" in line for line in queue)
    since = [r["since"] for r in rows(db, "SELECT since FROM review_queue")]
    assert since == sorted(since)
    run_cli(["review", "set", CLINIC, "*", "--verdict", "confirmed", "--note", "Checked every answer",
             "--by", "alice", "--db", db])
    assert not any(CLINIC in line and "never reviewed" in line
                   for line in run_cli(["review", "queue", "--db", db]).stdout.splitlines())


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_import_round_trips(demo_db, tmp_path, fmt):
    source = copy_db(demo_db, tmp_path / "source.db")
    for args in (
        [CLINIC, "monitoring", "--verdict", "yes", "--note", 'Nurse on site, "always"', "--by", "alice"],
        [CLINIC, "monitoring", "--verdict", "no", "--note", "Line two,\nwith a comma", "--by", "bob"],
        [CLINIC, "*", "--verdict", "confirmed", "--by", "alice", "--note", "Whole clinic checked"],
        ["www.tidepool-mind.test", "at_home_mail_order", "--verdict", "red_flag", "--by", "alice",
         "--evidence-url", "http://www.tidepool-mind.test/"],
        ["www.tidepool-mind.test", "screening", "--note", "Note only", "--by", "carol"],
    ):
        run_cli(["review", "set", *args, "--db", source])
    export = tmp_path / f"reviews.{fmt}"
    run_cli(["review", "export", "--format", fmt, "--out", export, "--db", source])

    fresh = copy_db(demo_db, tmp_path / "fresh.db")
    result = run_cli(["review", "import", export, "--db", fresh])
    assert "5 reviews added" in result.stderr
    assert rows(fresh, "SELECT * FROM reviews ORDER BY id") == rows(source, "SELECT * FROM reviews ORDER BY id")
    shown = "SELECT domain, score, tier, red_flag, monitoring, at_home_mail_order FROM clinics ORDER BY domain"
    assert rows(fresh, shown) == rows(source, shown)
    again = run_cli(["review", "import", export, "--db", fresh])
    assert "0 reviews added, 5 already present" in again.stderr
    assert export.read_text() == run_cli(["review", "export", "--format", fmt, "--db", fresh]).stdout
