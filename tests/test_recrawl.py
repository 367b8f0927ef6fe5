"""Scheduled recrawls: conditional fetches, change rows, stale sites keeping their last good data."""
import shutil
import signal
import subprocess
import time

import pytest

from clinicvet.demo import SEEDS_FILE
from conftest import CLINICVET, Datasette, proxy_env, rows, run_cli

EDITED = "www.riverbend-infusion.test"     # a page edited: now describes monitoring
FLAGGED = "www.glowhaus-drip.test"         # a red flag added: now mails ketamine home
DOWN = "www.brightpath-ketamine.test"      # the whole site vanishes
TRIMMED = "www.lanternway-ketamine.test"   # one page deleted
TOUCHED = {EDITED, FLAGGED, DOWN, TRIMMED}


def append_paragraph(page, text):
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace("</main>", f"<p>{text}</p></main>", 1), encoding="utf-8")
    assert text in page.read_text(encoding="utf-8")


@pytest.fixture
def crawled(demo_web_copy, tmp_path):
    root, server = demo_web_copy
    db = tmp_path / "clinics.db"
    run_cli(["run", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    return root, server, db


def change_the_web(root):
    append_paragraph(root / EDITED / "services" / "index.html",
                     "During every infusion a registered nurse checks your blood pressure, heart rate and oxygen "
                     "level, and you rest in our recovery area for 30 minutes before your driver takes you home.")
    append_paragraph(root / FLAGGED / "ketamine-drip" / "index.html",
                     "New: Ketamine Reset at Home! After your first drip we mail ketamine lozenges to your home "
                     "so you can take your maintenance doses on your own.")
    shutil.rmtree(root / DOWN)
    shutil.rmtree(root / TRIMMED / "contact")


def test_unchanged_web_recrawl_fetches_nothing_new(crawled):
    _, server, db = crawled
    before = rows(db, "SELECT url, fetched_at, content_hash FROM pages ORDER BY url")
    result = run_cli(["recrawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    crawl = rows(db, "SELECT * FROM crawls WHERE kind = 'recrawl'")[0]
    assert crawl["status"] == "ok"
    assert crawl["pages_fetched"] == 0 and crawl["not_modified"] == len(before) and crawl["bytes_fetched"] == 0
    assert rows(db, "SELECT url, fetched_at, content_hash FROM pages ORDER BY url") == before
    assert "no site changed, nothing to re-score" in result.stderr


def test_recrawl_records_changes_and_keeps_the_rest(crawled):
    root, server, db = crawled
    verdicts_before = rows(db, "SELECT * FROM verdicts ORDER BY domain, question")
    clinics_before = {r["domain"]: r for r in rows(db, "SELECT * FROM clinics")}
    pages_before = {r["url"]: r for r in rows(db, "SELECT url, domain, fetched_at, content_hash, text FROM pages")}
    change_the_web(root)

    result = run_cli(["recrawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"],
                     proxy_url=server.url, check=False)

    # One site failed, so the run says so in one line and exits non-zero, having kept everything else.
    assert result.returncode == 1
    assert f"1 of 9 sites failed (kept their last good data), e.g. {DOWN}" in result.stderr.splitlines()[-1]
    changes = {(r["domain"], r["question"]): (r["old"], r["new"]) for r in rows(db, "SELECT * FROM changes WHERE crawl_id = 2")}
    assert changes[(EDITED, "monitoring")] == ("not_stated", "yes")
    assert changes[(FLAGGED, "at_home_mail_order")] == ("none", "red_flag")
    assert {domain for domain, _ in changes} == {EDITED, FLAGGED}
    flagged = rows(db, "SELECT * FROM clinics WHERE domain = ?", [FLAGGED])[0]
    assert flagged["red_flag"] == 1 and flagged["tier"].startswith("Red flag")
    evidence = rows(db, "SELECT quote, url FROM evidence WHERE domain = ? AND question = 'at_home_mail_order'", [FLAGGED])
    assert any("mail ketamine lozenges" in e["quote"] and e["url"].endswith("/ketamine-drip/") for e in evidence)

    # The vanished site keeps its pages and verdicts and is marked stale, with the reason and since when.
    site = rows(db, "SELECT * FROM sites WHERE domain = ?", [DOWN])[0]
    assert site["status"] == "stale" and site["stale_since"] and "502" in site["status_reason"]
    assert rows(db, "SELECT site_status FROM clinics WHERE domain = ?", [DOWN])[0]["site_status"] == "stale"
    assert {u: p for u, p in pages_before.items() if p["domain"] == DOWN} == {
        r["url"]: r for r in rows(db, "SELECT url, domain, fetched_at, content_hash, text FROM pages WHERE domain = ?", [DOWN])}

    # The deleted page is marked gone with a date, not deleted.
    gone = rows(db, "SELECT url, gone_at, text FROM pages WHERE url = ?", [f"http://{TRIMMED}/contact/"])[0]
    assert gone["gone_at"] and gone["text"] == pages_before[gone["url"]]["text"]

    # Nothing else moved: untouched sites keep their pages, verdicts and clinic rows exactly.
    after_pages = {r["url"]: r for r in rows(db, "SELECT url, domain, fetched_at, content_hash, text FROM pages")}
    assert {u: p for u, p in after_pages.items() if p["domain"] not in TOUCHED} == \
        {u: p for u, p in pages_before.items() if p["domain"] not in TOUCHED}
    verdicts_after = rows(db, "SELECT * FROM verdicts ORDER BY domain, question")
    assert [v for v in verdicts_after if v["domain"] not in {EDITED, FLAGGED, TRIMMED}] == \
        [v for v in verdicts_before if v["domain"] not in {EDITED, FLAGGED, TRIMMED}]
    for domain, before in clinics_before.items():
        if domain not in TOUCHED:
            after = rows(db, "SELECT * FROM clinics WHERE domain = ?", [domain])[0]
            assert after.pop("last_crawled_at") >= before.pop("last_crawled_at")  # checked again: only this moves
            assert after == before, domain


def test_site_failing_repeatedly_becomes_unreachable(crawled):
    root, server, db = crawled
    shutil.rmtree(root / DOWN)
    args = ["recrawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent", "--unreachable-after", "2"]
    run_cli(args, proxy_url=server.url, check=False)
    assert rows(db, "SELECT status FROM sites WHERE domain = ?", [DOWN])[0]["status"] == "stale"
    first_since = rows(db, "SELECT stale_since FROM sites WHERE domain = ?", [DOWN])[0]["stale_since"]
    run_cli(args, proxy_url=server.url, check=False)
    site = rows(db, "SELECT * FROM sites WHERE domain = ?", [DOWN])[0]
    assert site["status"] == "unreachable" and site["failed_crawls"] == 2 and site["stale_since"] == first_since
    assert rows(db, "SELECT count(*) AS n FROM verdicts WHERE domain = ?", [DOWN])[0]["n"] == 5


def test_killed_recrawl_leaves_a_consistent_database_and_next_run_succeeds(crawled):
    root, server, db = crawled
    append_paragraph(root / FLAGGED / "ketamine-drip" / "index.html",
                     "After your first drip we mail ketamine lozenges to your home for maintenance doses.")
    proc = subprocess.Popen(CLINICVET + ["recrawl", "--seeds", str(SEEDS_FILE), "--db", str(db), "--delay", "0.4", "--silent"],
                            env=proxy_env(server.url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
        if rows(db, "SELECT coalesce(sum(not_modified), 0) AS n FROM crawls WHERE kind = 'recrawl'")[0]["n"] >= 5:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert rows(db, "PRAGMA integrity_check")[0]["integrity_check"] == "ok"
    assert rows(db, "SELECT status FROM crawls WHERE kind = 'recrawl'")[0]["status"] == "running"
    assert rows(db, "SELECT count(*) AS n FROM verdicts")[0]["n"] == 45

    run_cli(["recrawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    assert rows(db, "SELECT status FROM crawls WHERE kind = 'recrawl'") == [{"status": "ok"}]
    assert rows(db, "SELECT verdict FROM verdicts WHERE domain = ? AND question = 'at_home_mail_order'",
                [FLAGGED]) == [{"verdict": "red_flag"}]


def test_page_stored_but_never_scored_is_scored_by_the_next_recrawl(crawled):
    """A run that dies after storing a changed page and before scoring it must not hide the change."""
    root, server, db = crawled
    append_paragraph(root / FLAGGED / "ketamine-drip" / "index.html",
                     "After your first drip we mail ketamine lozenges to your home for maintenance doses.")
    run_cli(["crawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    assert rows(db, "SELECT verdict FROM verdicts WHERE domain = ? AND question = 'at_home_mail_order'",
                [FLAGGED]) == [{"verdict": "none"}]  # stored, not yet scored
    run_cli(["recrawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    assert rows(db, "SELECT verdict FROM verdicts WHERE domain = ? AND question = 'at_home_mail_order'",
                [FLAGGED]) == [{"verdict": "red_flag"}]
    assert rows(db, "SELECT crawl_id FROM changes WHERE domain = ? AND question = 'at_home_mail_order'",
                [FLAGGED]) == [{"crawl_id": 3}]


def test_recent_changes_list_red_flags_first_and_as_an_atom_feed(crawled):
    root, server, db = crawled
    change_the_web(root)
    run_cli(["recrawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url, check=False)
    site = Datasette(db)
    try:
        changes = site.json("/clinics/recent_changes.json?_shape=objects")["rows"]
        assert {c["domain"] for c in changes} == {EDITED, FLAGGED}
        red = [c["new"] == "red_flag" or (c["question"] == "tier" and c["new"].startswith("Red flag")) for c in changes]
        assert red[:2] == [True, True] and red == sorted(red, reverse=True)
        assert changes[0]["domain"] == changes[1]["domain"] == FLAGGED
        status, feed = site.get("/clinics/recent_changes.atom")
        assert status == 200 and "<feed" in feed and "at_home_mail_order none -&gt; red_flag" in feed
    finally:
        site.stop()
