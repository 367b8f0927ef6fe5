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

from browser import Chromium, DevTools, find_chromium
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
    action = re.search(r'<form class="cv-form" action="([^"]+)" method="get">\s*<label for="cv-search">', home)
    assert action, "home page has no clinic search form"
    search_url = base + html.unescape(action.group(1)) + "?" + urllib.parse.urlencode({"q": "Columbus"})
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
    db["costs"].insert_all([
        {"domain": HOSTILE, "kind": "insurance", "value": PAYLOAD, "quote": "Insurance " + PAYLOAD,
         "url": JS_URL, "rule_id": PAYLOAD, "costs_version": PAYLOAD},
        {"domain": HOSTILE, "kind": "price_per_infusion", "value": "stated", "amount": 450,
         "quote": "Infusion $450 " + PAYLOAD, "url": "http://hostile-clinic.test/" + PAYLOAD, "rule_id": "x"},
        {"domain": HOSTILE, "kind": PAYLOAD, "value": PAYLOAD, "quote": PAYLOAD, "url": PAYLOAD}])
    db["clinics"].update(HOSTILE, {"takes_insurance": PAYLOAD, "price_per_infusion": 450, "price_min": 450,
                                   "price_max": 450, "price_stated": 1})
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
        "results": f"/{db}/-/find?zip=43215&miles=5",
        "results search": f"/{db}/-/find?q=Hostileville",
        "costs": f"/{db}/costs?domain={HOSTILE}",
        "all columns": f"/{db}/clinics?_cv_all=1&domain__startswith=hostile",
        "page": f"/{db}/pages/{tilde_encode('http://hostile-clinic.test/')}",
    }
    doms = in_parallel(*[partial(chromium.dom, base + path) for path in pages.values()])
    for where, dom in zip(pages, doms):
        assert_inert(dom, where)
        assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom, f"{where}: payload not shown as text"
    scorecard = doms[0]
    assert 'class="cv-banner cv-banner-red"' in scorecard
    costs = re.search(r'<section class="cv-costs"[\s\S]*?</section>', scorecard).group(0)
    assert "Infusion $450 &lt;script&gt;" in costs and "Insurance &lt;script&gt;" in costs
    assert "javascript:document" in costs and 'href="javascript:' not in costs  # the URL shown as text
    results = doms[list(pages).index("results")]
    assert "Hostile Clinic &lt;script&gt;" in results and "Hostileville&lt;script&gt;" in results
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


@pytest.fixture(scope="module")
def devtools(chromium, tmp_path_factory):
    """One headless Chromium over the DevTools protocol, for typing, clicking and phone widths."""
    browser = DevTools(chromium.binary, tmp_path_factory.mktemp("devtools"))
    yield browser
    browser.close()


# Text that only SQL would put on a page.
SQL_TEXT = re.compile(r"\bselect\b[\s\S]{0,200}\bfrom\b|distance_miles\(|zip_latitude\(", re.I)


@pytest.mark.parametrize("width", [390, 1280])
def test_patient_types_a_zip_sees_cards_and_a_map_and_reads_what_it_costs(demo_datasette, devtools, width):
    base, db = demo_datasette.url, database_name(demo_datasette)
    devtools.open(base + "/", width)
    devtools.screenshot(SCREENSHOTS / f"05-home-{width}.png")
    devtools.evaluate("document.getElementById('cv-zip').value = '43215';"
                      "document.getElementById('cv-zip').form.requestSubmit(); true")
    devtools.wait_for("location.pathname.endsWith('/-/find') && document.readyState === 'complete'",
                      "the results page")
    devtools.wait_for("document.getElementById('cv-map') && document.getElementById('cv-map').dataset.markers",
                      "the map's markers")
    assert devtools.evaluate("document.getElementById('cv-map').dataset.markers") == "1"
    assert devtools.evaluate("document.querySelectorAll('#cv-map path.leaflet-interactive').length") >= 1
    cards = devtools.evaluate("[...document.querySelectorAll('.cv-card')].map(c => c.innerText)")
    assert len(cards) == 1
    assert "Northgate Ketamine Clinic" in cards[0] and "Strong safety signals" in cards[0]
    assert "Less than a mile away" in cards[0] and "$525 per infusion" in cards[0]
    text = devtools.evaluate("document.body.innerText")
    assert not SQL_TEXT.search(text), "SQL text on the patients' results page"
    assert devtools.evaluate("document.querySelectorAll('textarea, pre').length") == 0
    assert devtools.overflow_px() == 0
    devtools.screenshot(SCREENSHOTS / f"06-results-43215-{width}.png")
    devtools.evaluate("document.querySelector('.cv-card-name a').click(); true")
    devtools.wait_for(f"location.pathname === '/{db}/clinics/{tilde_encode('www.northgate-ketamine.test')}'"
                      " && document.readyState === 'complete'", "the scorecard")
    costs = devtools.evaluate("document.getElementById('costs').innerText")
    assert costs.startswith("What it costs")
    assert "$525" in costs and "Not stated: ask the clinic." in costs  # e.g. no HSA/FSA on the site
    devtools.screenshot(SCREENSHOTS / f"07-scorecard-{width}.png")
    assert all((SCREENSHOTS / f"{n}-{width}.png").stat().st_size > 5000
               for n in ("05-home", "06-results-43215", "07-scorecard"))


def test_results_messages_at_phone_width(demo_datasette, devtools):
    base, db = demo_datasette.url, database_name(demo_datasette)
    for name, query, expected in [("unknown-zip", "zip=00000", "We could not find the ZIP code 00000"),
                                  ("empty-radius", "zip=04101&miles=10", "Search within 25 miles")]:
        devtools.open(f"{base}/{db}/-/find?{query}", 390)
        assert expected in devtools.evaluate("document.body.innerText")
        assert devtools.overflow_px() == 0
        devtools.screenshot(SCREENSHOTS / f"08-{name}-390.png")
