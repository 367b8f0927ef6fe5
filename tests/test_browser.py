"""Headless Chromium through the published directory: the patient's path, and hostile crawled text."""
from __future__ import annotations

import html
import os
import re
import sqlite3
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from browser import Chromium, find_chromium
from conftest import ROOT, Datasette
from datasette.utils import tilde_encode

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# Would change the title, or mark <body>, if the browser ever ran it.
PAYLOAD = ("<script>document.title='PWNED'</script>"
           "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
           "\"><svg onload=\"document.body.setAttribute('data-pwned','svg')\">")
JS_URL = "javascript:document.body.setAttribute('data-pwned','link')"
HOSTILE = "hostile-clinic.test"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must run `make system-deps` first")
        pytest.skip("chromium is not installed (apt-get install chromium, or `make system-deps`)")
    return Chromium(binary, tmp_path_factory.mktemp("chromium"))


def in_parallel(*calls):
    with ThreadPoolExecutor(max_workers=3) as pool:
        return [f.result() for f in [pool.submit(c) for c in calls]]


def database_name(server: Datasette) -> str:
    return next(d["name"] for d in server.json("/-/databases.json") if not d["name"].startswith("_"))


def assert_inert(dom: str, where: str) -> None:
    """Nothing from PAYLOAD or JS_URL ran or became markup."""
    assert "<title>PWNED</title>" not in dom, f"{where}: a script changed the title"
    assert not re.search(r"<body[^>]*data-pwned", dom), f"{where}: an event handler ran"
    assert not re.search(r"<img src=\"?x\"?", dom, re.I), f"{where}: crawled <img> became markup"
    assert "<svg onload" not in dom.lower(), f"{where}: crawled <svg> became markup"
    assert 'href="javascript:' not in dom.lower(), f"{where}: a javascript: link was rendered"


def test_patient_searches_a_city_and_reads_a_scorecard(demo_datasette, chromium):
    base = demo_datasette.url
    home = chromium.dom(base + "/")
    action = re.search(r'<form class="cv-form" action="([^"]+)" method="get">', home)
    assert action, "home page has no clinic search form"
    search_url = base + html.unescape(action.group(1)) + "?" + urllib.parse.urlencode({"_search": "Columbus"})
    results = chromium.dom(search_url)
    link = re.search(r'<a href="([^"]+)">Northgate Ketamine Clinic</a>', results)
    assert link, "searching Columbus did not list Northgate Ketamine Clinic"
    scorecard_url = base + html.unescape(link.group(1))
    scorecard = chromium.dom(scorecard_url)
    db = database_name(demo_datasette)
    quotes = [r["quote"] for r in demo_datasette.json(
        f"/{db}/evidence.json?_shape=objects&domain=www.northgate-ketamine.test")["rows"]]
    assert quotes
    assert "The five safety questions" in scorecard
    assert any(html.escape(q, quote=False) in scorecard for q in quotes), "no evidence quote on the scorecard"
    in_parallel(partial(chromium.screenshot, base + "/", SCREENSHOTS / "01-home.png"),
                partial(chromium.screenshot, search_url, SCREENSHOTS / "02-search-columbus.png"),
                partial(chromium.screenshot, scorecard_url, SCREENSHOTS / "03-scorecard.png", (1280, 2400)))
    assert all((SCREENSHOTS / n).stat().st_size > 1000
               for n in ("01-home.png", "02-search-columbus.png", "03-scorecard.png"))


def test_crawled_script_text_in_demo_web_shows_as_text(demo_datasette, chromium):
    db = database_name(demo_datasette)
    url = "http://www.northgate-ketamine.test/blog/"
    dom = chromium.dom(f"{demo_datasette.url}/{db}/pages/{tilde_encode(url)}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<script>alert(1)</script>" not in dom


@pytest.fixture(scope="module")
def hostile_datasette(demo_db, tmp_path_factory):
    """A copy of the demo database with one clinic whose every crawled field is an attack."""
    from clinicvet.db import open_db
    from clinicvet.publish import publish

    path = tmp_path_factory.mktemp("hostile") / "hostile.db"
    with sqlite3.connect(demo_db) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    db = open_db(path)
    db["clinics"].insert({
        "domain": HOSTILE, "name": "Hostile Clinic " + PAYLOAD, "tier": "Strong safety signals " + PAYLOAD,
        "score": 90, "red_flag": 1, "physician_led": "yes", "monitoring": PAYLOAD,
        "screening": "not_stated", "integration_support": "no", "at_home_mail_order": "red_flag",
        "street": PAYLOAD, "city": "Hostileville" + PAYLOAD, "state": "OH", "zip": "43215",
        "phone": PAYLOAD, "routes": '["iv", "%s"]' % PAYLOAD.replace('"', '\\"'),
        "credentials": '[{"name": "%s", "credentials": ["MD"]}]' % PAYLOAD.replace('"', '\\"'),
        "site_url": JS_URL, "site_status": "stale", "last_crawled_at": PAYLOAD,
    }, pk="domain")
    db["verdicts"].insert_all([{"domain": HOSTILE, "question": q, "verdict": v, "machine_verdict": v,
                                "confidence": 0.4, "evidence_count": 1}
                               for q, v in [("physician_led", "yes"), ("monitoring", PAYLOAD),
                                            ("at_home_mail_order", "red_flag")]], pk=("domain", "question"))
    db["evidence"].insert_all([
        {"domain": HOSTILE, "question": "physician_led", "url": JS_URL, "quote": "Our MD " + PAYLOAD,
         "rule_id": PAYLOAD, "polarity": "for"},
        {"domain": HOSTILE, "question": "at_home_mail_order", "url": "http://hostile-clinic.test/" + PAYLOAD,
         "quote": "We mail it " + PAYLOAD, "rule_id": "ships", "polarity": "for"}])
    db["score_history"].insert({"domain": HOSTILE, "score": 90, "tier": PAYLOAD, "scored_at": PAYLOAD})
    db["changes"].insert({"domain": HOSTILE, "question": "tier", "old": PAYLOAD, "new": PAYLOAD,
                          "crawl_id": 1, "at": PAYLOAD})
    db["sites"].insert({"domain": HOSTILE, "name": PAYLOAD, "status": "stale", "stale_since": PAYLOAD},
                       pk="domain")
    db["pages"].insert({"url": "http://hostile-clinic.test/", "domain": HOSTILE, "status": 200,
                        "title": PAYLOAD, "text": "Hostileville clinic " + PAYLOAD}, pk="url")
    publish(db)
    db.conn.close()
    server = Datasette(path)
    yield server
    server.stop()


def test_hostile_crawled_text_never_runs(hostile_datasette, chromium):
    base, db = hostile_datasette.url, database_name(hostile_datasette)
    pages = {
        "scorecard": f"/{db}/clinics/{tilde_encode(HOSTILE)}",
        "search": f"/{db}/clinics?_search=Hostileville",
        "table": f"/{db}/clinics?_sort=domain&domain__startswith=hostile",
        "evidence": f"/{db}/evidence?domain={HOSTILE}",
        "near me": f"/{db}/clinics_near_zip?zip=43215&miles=5",
        "page": f"/{db}/pages/{tilde_encode('http://hostile-clinic.test/')}",
    }
    doms = in_parallel(*[partial(chromium.dom, base + path) for path in pages.values()])
    for where, dom in zip(pages, doms):
        assert_inert(dom, where)
        assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom, f"{where}: payload not shown as text"
    scorecard = doms[0]
    assert 'class="cv-banner cv-banner-red"' in scorecard
    chromium.screenshot(base + pages["scorecard"], SCREENSHOTS / "04-hostile-scorecard.png", (1280, 1800))


def test_inertness_check_detects_a_payload_that_runs(chromium, tmp_path):
    """Control: the same payload served raw does run, so test_hostile_crawled_text_never_runs can fail."""
    (tmp_path / "raw.html").write_text(f"<html><head><title>ok</title></head><body>{PAYLOAD}</body></html>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dom = chromium.dom(f"http://127.0.0.1:{server.server_port}/raw.html")
    finally:
        server.shutdown()
    with pytest.raises(AssertionError):
        assert_inert(dom, "raw")
    assert "<title>PWNED</title>" in dom
