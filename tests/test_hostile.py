"""The crawler over a hostile web: every case ends within its bounds, is logged with its URL, leaves
the earlier crawl's rows alone, and nothing crawled ever runs in the published pages."""
from __future__ import annotations

import html
import re

import pytest

import hostile_web
from browser import Chromium, find_chromium
from clinicvet.demo import SEEDS_FILE
from conftest import CLINICVET, Datasette, proxy_env, rows, run_cli

MAX_PAGES = 10
TIMEOUT_S = 3
CRAWL_BOUND_S = 120     # the hostile crawl is killed (and the test fails) past this
MEMORY_BOUND_MB = 500
ROWS: dict[str, tuple] = {}


def snapshot(db) -> dict:
    """The rows an earlier crawl and scoring left, minus the timestamps a re-scoring refreshes."""
    return {
        "pages": rows(db, "SELECT url, domain, crawl_id, fetched_at, content_hash, title, text, html_gz FROM pages ORDER BY url"),
        "verdicts": rows(db, "SELECT domain, question, verdict, machine_verdict, confidence, evidence_count FROM verdicts ORDER BY domain, question"),
        "evidence": rows(db, "SELECT domain, question, url, quote, rule_id, polarity FROM evidence ORDER BY domain, question, url, quote, rule_id"),
        "clinics": rows(db, "SELECT domain, name, tier, score, red_flag, street, city, phone FROM clinics ORDER BY domain"),
    }


@pytest.fixture(scope="module")
def hostile():
    server = hostile_web.start_in_thread()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def crawled(demo_web, hostile, tmp_path_factory):
    """The demo web crawled and scored into a database, then the hostile web into the same one."""
    tmp = tmp_path_factory.mktemp("hostile")
    db = tmp / "hostile.db"
    run_cli(["run", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=demo_web.url)
    before = snapshot(db)
    seeds = hostile_web.write_seeds(tmp / "hostile_seeds.csv")
    result, peak_mb, seconds = hostile_web.run_measured(
        CLINICVET + ["run", "--seeds", seeds, "--db", db, "--delay", "0", "--max-pages", MAX_PAGES,
                     "--timeout", TIMEOUT_S, "--silent"],
        env=proxy_env(hostile.url), timeout=CRAWL_BOUND_S)
    yield {"db": db, "before": before, "result": result, "peak_mb": peak_mb, "seconds": seconds, "server": hostile}
    if len(ROWS) == len(hostile_web.CASES) + 2:
        order = [*hostile_web.CASES, "whole crawl", "Datasette pages"]
        hostile_web.write_section("hostile", "Hostile web (one crawl of every host into a database already holding the demo web)",
                                  [ROWS[k] for k in order], ("case", "served", "outcome", "bound"))


def record(case: str, outcome: str, bound: str) -> None:
    served = hostile_web.CASES.get(case, f"all {len(hostile_web.CASES)} hosts above, after the demo web")
    ROWS[case] = (case, served, outcome, bound)


def logged(db, host) -> list[dict]:
    return rows(db, "SELECT url, status, reason FROM fetch_log WHERE domain = ? ORDER BY id", [host])


def stored(db, host) -> list[dict]:
    return rows(db, "SELECT url, status, text, depth FROM pages WHERE domain = ? ORDER BY url", [host])


def reason_of(db, host) -> str:
    log = logged(db, host)
    return f"{log[0]['url']}: {log[0]['reason'][:110]}" if log else "(nothing logged)"


def test_hostile_crawl_finishes_with_a_summary_and_no_traceback(crawled):
    result = crawled["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert re.search(r"crawl \d+: 13 sites", result.stderr)
    record("whole crawl", f"exit 0; {crawled['seconds']:.0f} s; peak RSS {crawled['peak_mb']:.0f} MB; "
           "demo-web pages, verdicts, evidence and clinics unchanged",
           f"{CRAWL_BOUND_S} s subprocess timeout, {MEMORY_BOUND_MB} MB")


def test_crawl_memory_stays_under_bound(crawled):
    assert crawled["peak_mb"] < MEMORY_BOUND_MB


def test_earlier_pages_and_scores_are_unchanged(crawled):
    after = snapshot(crawled["db"])
    for table in ("pages", "verdicts", "evidence", "clinics"):
        earlier = [r for r in after[table] if r["domain"] not in hostile_web.CASES]
        assert earlier == crawled["before"][table], table


def test_big_page_is_cut_off_at_max_size(crawled):
    db, host = crawled["db"], "www.bigpage.test"
    assert not stored(db, host)
    assert "larger than 5242880 bytes" in logged(db, host)[0]["reason"]
    record(host, f"not stored; logged {reason_of(db, host)}", "≤ 5 MB read (DOWNLOAD_MAXSIZE)")


def test_gzip_bomb_is_refused_while_inflating(crawled):
    db, host = crawled["db"], "www.gzipbomb.test"
    assert not stored(db, host)
    assert "exceeded DOWNLOAD_MAXSIZE" in logged(db, host)[0]["reason"]
    record(host, f"not stored; logged {reason_of(db, host)}", "≤ 5 MB inflated (DOWNLOAD_MAXSIZE)")


def test_link_trap_stops_at_page_cap_and_depth(crawled):
    db, host = crawled["db"], "www.trap.test"
    pages = stored(db, host)
    assert 1 < len(pages) <= MAX_PAGES
    assert max(p["depth"] for p in pages) <= 4
    fetched = crawled["server"].paths(host)
    assert not [p for p in fetched if "/calendar/" in p or "sid=" in p or "session=" in p]
    record(host, f"{len(pages)} pages stored, depth ≤ {max(p['depth'] for p in pages)}; "
           "calendar and session-id links never fetched", f"--max-pages {MAX_PAGES}, depth 4")


def test_redirect_loop_is_cut_and_logged(crawled):
    db, host = crawled["db"], "www.redirectloop.test"
    assert not stored(db, host)
    assert logged(db, host)[0]["reason"].startswith("redirect loop: http://www.redirectloop.test/ -> ")
    assert len([p for p in crawled["server"].paths(host) if p in ("/a", "/b")]) <= 6
    assert rows(db, "SELECT status FROM sites WHERE domain = ?", [host])[0]["status"] == "stale"
    record(host, f"not stored, site marked stale; logged {reason_of(db, host)}", "≤ 5 redirects (REDIRECT_MAX_TIMES)")


def test_off_site_redirect_is_never_followed(crawled):
    db, host = crawled["db"], "www.offsite.test"
    assert crawled["server"].paths(hostile_web.ELSEWHERE) == []
    assert logged(db, host)[0]["reason"].startswith("redirect off-site from http://www.offsite.test/")
    record(host, f"{hostile_web.ELSEWHERE} never requested; logged {reason_of(db, host)}", "0 requests off-site")


def test_binary_served_as_html_is_not_stored(crawled):
    db, host = crawled["db"], "www.binary.test"
    assert not stored(db, host)
    assert logged(db, host)[0]["reason"] == "binary content served as HTML"
    record(host, f"not stored; logged {reason_of(db, host)}", "1 request")


def test_bad_charsets_store_readable_text(crawled):
    db, host = crawled["db"], "www.charset.test"
    pages = {p["url"].rsplit("/", 1)[1]: p["text"] for p in stored(db, host)}
    assert "ketamine" in pages[""] and "\ufffd" in pages[""]       # invalid UTF-8: replaced, rest kept
    assert "ketamina" in pages["latin1"]                           # declared UTF-8, really Latin-1
    assert "Unknown charset page about ketamine" in pages["bogus"]  # unknown charset name
    utf16 = [e for e in logged(db, host) if e["url"].endswith("/none")]
    record(host, f"invalid UTF-8, wrong and unknown charsets stored as text with U+FFFD for bad bytes; "
           f"UTF-16 without a charset: {utf16[0]['reason'] if utf16 else 'stored'}", "4 requests")


def test_deeply_nested_html_is_parsed(crawled):
    db, host = crawled["db"], "www.nested.test"
    assert "A physician leads every infusion." in stored(db, host)[0]["text"]
    record(host, "stored; text extracted (streamed parse: no depth limit, no recursion)", "1 request")


def test_slow_server_times_out(crawled):
    db, host = crawled["db"], "www.slow.test"
    assert not stored(db, host)
    assert f"took longer than {float(TIMEOUT_S)} seconds" in logged(db, host)[0]["reason"]
    assert crawled["server"].paths(host).count("/") <= 2
    record(host, f"not stored; logged {reason_of(db, host)}", f"--timeout {TIMEOUT_S} s × 2 tries")


def test_connection_reset_is_logged(crawled):
    db, host = crawled["db"], "www.reset.test"
    assert not stored(db, host)
    assert logged(db, host)[0]["reason"] == "connection reset by server"
    record(host, f"not stored; logged {reason_of(db, host)}", "2 tries (RETRY_TIMES 1)")


def test_server_errors_are_logged_with_status(crawled):
    db, host = crawled["db"], "www.error500.test"
    assert not stored(db, host)
    assert logged(db, host)[0]["status"] == 500 and logged(db, host)[0]["reason"] == "HTTP 500"
    record(host, f"not stored; logged {reason_of(db, host)}", "2 tries (RETRY_TIMES 1)")


def test_robots_disallow_all_fetches_nothing(crawled):
    db, host = crawled["db"], "www.robotsno.test"
    assert crawled["server"].paths(host) == ["/robots.txt"]
    assert logged(db, host)[0]["reason"] == "disallowed by robots.txt"
    record(host, "only /robots.txt requested; home page logged 'disallowed by robots.txt'", "1 request")


def test_payloads_are_stored_as_text_and_script_links_dropped(crawled):
    db, host = crawled["db"], "www.xss.test"
    home = rows(db, "SELECT text, links FROM pages WHERE url = ?", ["http://www.xss.test/"])[0]
    assert "<script>document.title='PWNED'</script>" in home["text"]   # visible text, kept as text
    assert home["text"].startswith("Hostile Ketamine Clinic")          # the live <script> before it is dropped
    assert not re.search(r"javascript:|data:", home["links"], re.I)
    quotes = rows(db, "SELECT count(*) AS n FROM evidence WHERE domain = ? AND quote LIKE '%PWNED%'", [host])[0]["n"]
    assert quotes
    record(host, f"stored as text; live <script>, javascript: and data: links dropped; {quotes} evidence quotes "
           "carry payloads (checked in the browser below)", "2 pages")


# -- the published pages, in a real browser ---------------------------------------------------------

@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = find_chromium()
    if not binary:
        pytest.skip("chromium not installed (make system-deps)")
    return Chromium(binary, tmp_path_factory.mktemp("chromium"))


@pytest.fixture(scope="module")
def published(crawled):
    server = Datasette(crawled["db"])
    yield server
    server.stop()


def title_of(dom: str) -> str:
    match = re.search(r"<title>(.*?)</title>", dom, re.S)
    return html.unescape(match.group(1).strip()) if match else ""


def test_control_payload_page_does_run_in_the_browser(browser, hostile):
    assert title_of(browser.dom(hostile.url + "/control")) == hostile_web.MARKER


@pytest.mark.parametrize("page, path", [
    ("clinics table", "/hostile/clinics?_cv_all=1"),  # every column: phone and street carry payloads
    ("scorecard", "/hostile/clinics/www~2Exss~2Etest"),
    ("search results", "/hostile/clinics?_search=Hostile&_cv_all=1"),
    ("patients' results", "/hostile/-/find?zip=78701&miles=10"),
], ids=["table", "scorecard", "search", "results"])
def test_crawled_payloads_show_as_text_and_never_run(browser, published, page, path):
    status, served = published.get(path)
    assert status == 200
    dom = browser.dom(published.url + path)
    assert title_of(dom) == title_of(served) and hostile_web.MARKER not in title_of(dom)
    assert "&lt;img src=x onerror=" in dom          # the payload is on the page, as text
    assert not re.search(r"<(img|svg)[^>]*\bon(error|load)=", dom, re.I)
    SEEN[page] = title_of(dom)
    if len(SEEN) == 4:
        ROWS["Datasette pages"] = (
            "Datasette pages", "clinics table (every column), `www.xss.test` scorecard, search results, "
            "the patients' results page, in headless Chromium",
            "payloads shown as text; titles unchanged (" + "; ".join(f"{k}: '{v}'" for k, v in SEEN.items()) +
            "); a control page with the same payloads as markup does get title PWNED", "no script from crawled text runs")


SEEN: dict[str, str] = {}
