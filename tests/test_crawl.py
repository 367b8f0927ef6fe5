"""The real Scrapy engine crawls the labelled corpus and the demo web over HTTP on 127.0.0.1."""
import csv
import signal
import sqlite3
import subprocess
import time


from clinicvet.demo import SEEDS_FILE
from conftest import CLINICVET, CORPUS, proxy_env, rows, run_cli


def evidence_urls():
    for row in csv.DictReader((CORPUS / "labels.csv").open(encoding="utf-8")):
        for path in row["evidence_pages"].split(";"):
            yield f"http://{row['domain']}{path}"


def test_every_evidence_page_of_the_corpus_is_stored(corpus_crawl):
    stored = {r["url"] for r in rows(corpus_crawl, "SELECT url FROM pages WHERE status = 200")}
    missing = [url for url in evidence_urls() if url not in stored]
    assert missing == []


def test_pages_carry_text_and_fetch_metadata(corpus_crawl):
    page = rows(corpus_crawl, "SELECT * FROM pages WHERE url = ?", ["http://www.driftwood-ketamine.test/"])[0]
    assert page["domain"] == "www.driftwood-ketamine.test"
    assert page["status"] == 200 and page["content_type"].startswith("text/html")
    assert page["etag"] and page["last_modified"] and len(page["content_hash"]) == 64
    assert "Driftwood" in page["title"]
    assert "board-certified anesthesiologist" in page["text"]
    assert "gtag(" not in page["text"]  # scripts dropped
    assert '"MedicalClinic"' in page["jsonld"]
    assert "/treatment/" in page["links"]
    import gzip

    assert b"<html" in gzip.decompress(page["html_gz"])


def test_robots_disallowed_paths_are_not_fetched(corpus_crawl):
    fetched = [r["url"] for r in rows(corpus_crawl, "SELECT url FROM pages")]
    assert not [u for u in fetched if "/patient-portal/" in u or "/client-portal/" in u or "/new-patient-forms/" in u]
    refused = rows(corpus_crawl, "SELECT url FROM fetch_log WHERE reason = 'disallowed by robots.txt'")
    assert refused, "the corpus links to robots-disallowed portals; the refusals must be logged"


def test_broken_links_go_to_the_fetch_log_with_reason(corpus_crawl):
    logged = rows(corpus_crawl, "SELECT status, reason FROM fetch_log WHERE status = 404")
    assert logged and all(r["reason"] == "HTTP 404" for r in logged)


def test_crawl_row_records_the_run(corpus_crawl):
    crawl = rows(corpus_crawl, "SELECT * FROM crawls")[0]
    pages = rows(corpus_crawl, "SELECT count(*) AS n FROM pages")[0]["n"]
    assert crawl["status"] == "ok" and crawl["sites"] == 48
    assert crawl["pages_fetched"] == pages and crawl["finished_at"] >= crawl["started_at"]
    sites = rows(corpus_crawl, "SELECT status, count(*) AS n FROM sites GROUP BY status")
    assert sites == [{"status": "ok", "n": 48}]


def test_page_cap_holds(corpus_web, corpus_seeds, tmp_path):
    db = tmp_path / "capped.db"
    run_cli(["crawl", "--seeds", corpus_seeds, "--db", db, "--delay", "0", "--max-pages", "2", "--silent"],
            proxy_url=corpus_web.url)
    per_site = rows(db, "SELECT domain, count(*) AS n FROM pages GROUP BY domain")
    assert len(per_site) == 48
    assert max(r["n"] for r in per_site) <= 2
    assert sum(r["n"] for r in per_site) > 48  # the cap is used, not just the home page


def test_demo_web_portal_behind_robots_is_not_fetched(demo_web, tmp_path):
    db = tmp_path / "demo.db"
    result = run_cli(["crawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0"], proxy_url=demo_web.url)
    assert "crawl 1:" in result.stderr and "errors" in result.stderr
    assert not rows(db, "SELECT url FROM pages WHERE url LIKE '%patient-portal%'")
    assert rows(db, "SELECT count(DISTINCT domain) AS n FROM pages")[0]["n"] == len(
        list(csv.DictReader(SEEDS_FILE.open())))


def test_killed_crawl_is_resumed_and_completes(corpus_web, corpus_seeds, tmp_path):
    db = tmp_path / "killed.db"
    slow = subprocess.Popen(CLINICVET + ["crawl", "--seeds", str(corpus_seeds), "--db", str(db), "--delay", "0.5", "--silent"],
                            env=proxy_env(corpus_web.url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    done_sites = 0
    while time.monotonic() < deadline and slow.poll() is None:
        time.sleep(0.2)
        try:
            done_sites = rows(db, "SELECT count(*) AS n FROM sites WHERE last_crawl_id IS NOT NULL")[0]["n"]
        except sqlite3.OperationalError:
            continue
        if done_sites >= 3:
            break
    slow.send_signal(signal.SIGKILL)
    slow.wait()
    assert 3 <= done_sites < 48, "the kill must land mid-crawl"
    assert rows(db, "SELECT status FROM crawls")[0]["status"] == "running"
    assert rows(db, "PRAGMA integrity_check")[0]["integrity_check"] == "ok"

    result = run_cli(["crawl", "--seeds", corpus_seeds, "--db", db, "--delay", "0", "--silent"], proxy_url=corpus_web.url)
    assert "resumed crawl" in result.stderr
    crawls = rows(db, "SELECT id, status FROM crawls")
    assert crawls == [{"id": 1, "status": "ok"}]
    stored = {r["url"] for r in rows(db, "SELECT url FROM pages")}
    assert [url for url in evidence_urls() if url not in stored] == []
    assert rows(db, "SELECT count(*) AS n FROM sites WHERE last_crawl_id = 1")[0]["n"] == 48


def test_second_crawl_while_one_runs_is_refused(corpus_web, corpus_seeds, tmp_path):
    db = tmp_path / "locked.db"
    first = subprocess.Popen(CLINICVET + ["crawl", "--seeds", str(corpus_seeds), "--db", str(db), "--delay", "1", "--silent"],
                             env=proxy_env(corpus_web.url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (tmp_path / "locked.db.lock").exists():
            time.sleep(0.1)
        time.sleep(0.5)
        second = run_cli(["crawl", "--seeds", corpus_seeds, "--db", db, "--silent"], proxy_url=corpus_web.url, check=False)
        assert second.returncode == 1
        assert "another clinicvet crawl is running" in second.stderr
    finally:
        first.kill()
        first.wait()


def test_crawler_serves_no_remote_control_endpoint(tmp_path):
    from scrapy.utils.conf import build_component_list

    from crawler.run import crawler_settings

    extensions = build_component_list(crawler_settings(tmp_path / "x.db", 1).getwithbase("EXTENSIONS"))
    assert not [e for e in extensions if "RemoteControl" in str(e)]
    assert "scrapy.extensions.corestats.CoreStats" in extensions  # the crawl's finish reason comes from it


def test_cookies_middleware_is_not_even_imported(tmp_path):
    from scrapy.utils.conf import build_component_list

    from crawler.run import crawler_settings

    settings = crawler_settings(tmp_path / "x.db", 1)
    # Scrapy imports every key of this dict, even one set to None, to normalise it.
    listed = [str(path) for path in settings.getwithbase("DOWNLOADER_MIDDLEWARES")]
    assert not [path for path in listed if "Cookies" in path] and not settings.getbool("COOKIES_ENABLED")
    enabled = build_component_list(settings.getwithbase("DOWNLOADER_MIDDLEWARES"))
    assert "scrapy.downloadermiddlewares.retry.RetryMiddleware" in enabled


def test_redirects_are_followed_without_a_referer_or_a_warning(recording_web, tmp_path):
    root, server = recording_web
    site = "www.lanternway-ketamine.test"
    home = root / site / "index.html"
    home.write_text(home.read_text(encoding="utf-8").replace(
        "</main>", '<p><a href="/pricing">Prices</a> <a href="http://lanternway-ketamine.test/faq/">FAQ</a></p></main>', 1),
        encoding="utf-8")
    db = tmp_path / "clinics.db"
    result = run_cli(["crawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    assert (site, "/pricing") in server.requests and (site, "/pricing/") in server.requests  # 301 to the slash
    assert len(server.referers) == len(server.requests) > 50
    assert set(server.referers) == {None}
    assert "WARNING" not in result.stderr and "Referer" not in result.stderr
    stored = {r["url"] for r in rows(db, "SELECT url FROM pages WHERE domain = ?", [site])}
    assert f"http://{site}/pricing/" in stored
