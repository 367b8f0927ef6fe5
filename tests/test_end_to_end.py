"""The whole job, end to end: the real Scrapy engine crawls the demo web over HTTP on 127.0.0.1, the
scorer and publisher write a real SQLite file, and a real Datasette serves it."""
import csv
import html
import json
import signal
import sqlite3
import subprocess
import time
import urllib.request

import pytest
from datasette.utils import tilde_encode

from clinicvet.demo import LABELS_FILE, SEEDS_FILE
from conftest import CLINICVET, free_port

QUESTIONS = ("physician_led", "monitoring", "screening", "integration_support", "at_home_mail_order")
LABELS = {r["domain"]: r for r in csv.DictReader(LABELS_FILE.open(encoding="utf-8"))}
MAIL_ORDER = next(d for d, r in LABELS.items() if r["kind"] == "telehealth_at_home")
WARNS = next(d for d, r in LABELS.items() if r["kind"] == "warns_against_at_home")


@pytest.fixture(scope="module")
def served(demo_datasette):
    names = [d["name"] for d in demo_datasette.json("/-/databases.json") if not d["name"].startswith("_")]
    return demo_datasette, names[0]


def test_every_demo_clinic_has_five_verdicts_with_evidence(demo_db):
    conn = sqlite3.connect(demo_db)
    seeds = {r["url"].split("/")[2] for r in csv.DictReader(SEEDS_FILE.open(encoding="utf-8"))}
    verdicts = conn.execute("SELECT domain, question, verdict FROM verdicts").fetchall()
    assert {(d, q) for d, q, _ in verdicts} == {(d, q) for d in seeds for q in QUESTIONS}
    # Every stated verdict is backed by a quote from a page of that clinic's own site.
    for domain, question, verdict in verdicts:
        if verdict in ("yes", "no", "red_flag"):
            quotes = conn.execute("SELECT quote, url FROM evidence WHERE domain = ? AND question = ?",
                                  [domain, question]).fetchall()
            assert quotes, (domain, question, verdict)
            assert all(q and url.startswith(f"http://{domain}/") for q, url in quotes)


def test_clinics_json_red_flags_the_mail_order_provider_not_the_warning_clinic(served):
    server, db = served
    rows = server.json(f"/{db}/clinics.json?_shape=objects&_size=max")["rows"]
    by_domain = {r["domain"]: r for r in rows}
    assert set(by_domain) == set(LABELS)
    assert by_domain[MAIL_ORDER]["at_home_mail_order"] == "red_flag" and by_domain[MAIL_ORDER]["red_flag"] == 1
    assert by_domain[WARNS]["at_home_mail_order"] == "none" and by_domain[WARNS]["red_flag"] == 0
    assert by_domain[WARNS]["tier"] != by_domain[MAIL_ORDER]["tier"]


def test_clinic_page_shows_its_verdicts_and_evidence(served, demo_db):
    server, db = served
    status, page = server.get(f"/{db}/clinics/{tilde_encode(MAIL_ORDER)}")
    assert status == 200
    quote = sqlite3.connect(demo_db).execute(
        "SELECT quote FROM evidence WHERE domain = ? AND question = 'at_home_mail_order' ORDER BY id LIMIT 1",
        [MAIL_ORDER]).fetchone()[0]
    assert html.escape(quote[:60], quote=False) in page or quote[:60] in html.unescape(page)
    assert LABELS[MAIL_ORDER]["name"] in html.unescape(page)


def test_demo_command_crawls_scores_publishes_and_serves(tmp_path):
    """`clinicvet demo` (the README's first command) ends with Datasette serving on 127.0.0.1."""
    port = free_port()
    db = tmp_path / "demo.db"
    proc = subprocess.Popen(CLINICVET + ["demo", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, body = time.monotonic() + 120, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/demo/clinics.json?_shape=objects", timeout=2) as r:
                    body = json.load(r)
                break
            except OSError:
                time.sleep(0.3)
        assert body is not None, f"demo did not serve: exit {proc.poll()}"
        assert {r["domain"] for r in body["rows"]} == set(LABELS)
    finally:
        import os

        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def test_demo_server_takes_hundreds_of_connections_at_once(tmp_path):
    """The crawler opens up to 256 connections at once: none may wait out TCP's SYN retries."""
    import socket

    from clinicvet.demo.server import SiteServer

    server = SiteServer(tmp_path)  # listening, not accepting: every connection waits in the backlog
    sockets = []
    try:
        for _ in range(256):  # CONCURRENT_REQUESTS
            sock = socket.create_connection(server.server_address, timeout=0.5)
            sockets.append(sock)
    finally:
        for sock in sockets:
            sock.close()
        server.server_close()
    assert len(sockets) == 256
