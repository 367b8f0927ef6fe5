"""robots.txt is reused for 24 hours (RFC 9309 section 2.4), then asked for again and obeyed as it now reads."""
from conftest import backdate, crawl_requests, rows

PORTAL = "www.lanternway-ketamine.test"  # its robots.txt disallows /patient-portal/; it links to /faq/, /pricing/
FLAKY = "www.northgate-ketamine.test"    # the test can make its robots.txt answer 503


def robots_asked(requests):
    return {host for host, path in requests if path == "/robots.txt"}


def test_recrawl_within_a_day_reuses_robots_and_still_obeys_it(recording_web, tmp_path):
    root, server = recording_web
    db = tmp_path / "clinics.db"
    (root / PORTAL / "robots.txt").write_text("User-agent: *\nDisallow: /patient-portal/\nDisallow: /faq/\n")
    first = crawl_requests("run", db, server)
    sites = {host for host, _ in first}
    assert robots_asked(first) == sites, "a first crawl asks every site for its robots.txt"
    assert {r["netloc"] for r in rows(db, "SELECT netloc FROM robots")} == sites
    assert (PORTAL, "/faq/") not in first

    again = crawl_requests("recrawl", db, server)
    assert robots_asked(again) == set()
    assert (PORTAL, "/faq/") not in again and (PORTAL, "/pricing/") in again
    refused = rows(db, "SELECT url FROM fetch_log WHERE crawl_id = 2 AND reason = 'disallowed by robots.txt'")
    assert f"http://{PORTAL}/faq/" in {r["url"] for r in refused}

    backdate(db, "robots", "fetched_at", "23 hours")
    assert robots_asked(crawl_requests("recrawl", db, server)) == set()


def test_expired_robots_is_fetched_again_and_a_new_disallow_is_obeyed(recording_web, tmp_path):
    root, server = recording_web
    db = tmp_path / "clinics.db"
    crawl_requests("run", db, server)
    assert rows(db, "SELECT count(*) AS n FROM pages WHERE url = ?", [f"http://{PORTAL}/pricing/"])[0]["n"] == 1
    (root / PORTAL / "robots.txt").write_text("User-agent: *\nDisallow: /patient-portal/\nDisallow: /pricing/\n")

    assert robots_asked(crawl_requests("recrawl", db, server)) == set(), "within the day the old rules hold"
    backdate(db, "robots", "fetched_at", "25 hours")
    requests = crawl_requests("recrawl", db, server)
    assert robots_asked(requests) == {host for host, _ in requests}
    assert (PORTAL, "/pricing/") not in requests
    refused = rows(db, "SELECT url FROM fetch_log WHERE crawl_id = 3 AND reason = 'disallowed by robots.txt'")
    assert f"http://{PORTAL}/pricing/" in {r["url"] for r in refused}
    assert "Disallow: /pricing/" in rows(db, "SELECT body FROM robots WHERE netloc = ?", [PORTAL])[0]["body"].decode()


def test_robots_answering_5xx_is_not_kept(recording_web, tmp_path):
    _, server = recording_web
    db = tmp_path / "clinics.db"
    server.robots_down.add(FLAKY)
    first = crawl_requests("run", db, server)
    assert FLAKY not in {r["netloc"] for r in rows(db, "SELECT netloc FROM robots")}
    # RFC 9309: a server error on robots.txt means complete disallow; nothing else of the site is asked.
    assert {path for host, path in first if host == FLAKY} == {"/robots.txt"}
    site = rows(db, "SELECT status, status_reason FROM sites WHERE domain = ?", [FLAKY])[0]
    assert site["status"] == "stale" and "robots.txt answered HTTP 503" in site["status_reason"]
    assert rows(db, "SELECT count(*) AS n FROM pages WHERE domain = ?", [FLAKY])[0]["n"] == 0

    server.robots_down.clear()
    again = crawl_requests("recrawl", db, server)
    assert robots_asked(again) == {FLAKY}
    assert rows(db, "SELECT count(*) AS n FROM pages WHERE domain = ?", [FLAKY])[0]["n"] > 1
    assert rows(db, "SELECT status FROM sites WHERE domain = ?", [FLAKY])[0]["status"] == "ok"
    assert robots_asked(crawl_requests("recrawl", db, server)) == set()


def test_robots_answering_5xx_after_a_day_keeps_the_rules_of_the_last_copy(recording_web, tmp_path):
    root, server = recording_web
    db = tmp_path / "clinics.db"
    (root / PORTAL / "robots.txt").write_text("User-agent: *\nDisallow: /patient-portal/\nDisallow: /faq/\n")
    crawl_requests("run", db, server)
    backdate(db, "robots", "fetched_at", "25 hours")
    server.robots_down.add(PORTAL)
    again = crawl_requests("recrawl", db, server)
    assert (PORTAL, "/robots.txt") in again
    assert (PORTAL, "/pricing/") in again and (PORTAL, "/faq/") not in again
    assert rows(db, "SELECT status FROM sites WHERE domain = ?", [PORTAL])[0]["status"] == "ok"
    kept = rows(db, "SELECT body FROM robots WHERE netloc = ?", [PORTAL])[0]["body"].decode()
    assert "Disallow: /faq/" in kept, "the old copy stays stored until robots.txt answers again"
