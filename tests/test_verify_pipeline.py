"""verify in the pipeline: the corpus's named clinicians, run and recrawl, and the published scorecard."""
from __future__ import annotations

import shutil
import sqlite3

import pytest
from datasette.utils import tilde_encode

from clinicvet.demo import SEEDS_FILE
from conftest import Datasette, free_port, rows, run_cli

# Clinicians named with a credential on each corpus site, counted by hand: every page's text was
# grepped for a name followed by a credential ("Jane Roe, MD", "Dr. X, DNP, PMHNP-BC", a staff card's
# name line followed by its credential line), names de-duplicated per site, blog and news pages left
# out. 119 people on 40 sites; the 8 sites not listed name nobody with a credential.
CORPUS_CLINICIANS = {
    "aurelia-medspa.test": 3, "bellwether-infusions.test": 3, "foothillspinepain.test": 2,
    "ironwoodpainspine.test": 3, "juniperhollowtherapy.test": 3, "lumengrovecounseling.test": 4,
    "ospreyinfusionclinic.test": 3, "pinecrest-mindandmood.test": 3, "pronghorn-renewal.test": 3,
    "sandhill-infusion.test": 3, "tallgrassinfusion.test": 1, "tandemketamine.test": 4, "wayfarermind.test": 7,
    "wildfern-kap.test": 4, "www.basaltpsychology.test": 2, "www.boxelder-infusion.test": 1,
    "www.buffalograss-ketamine.test": 3, "www.cedarline-wellness.test": 2, "www.copperleaf-ketamine.test": 2,
    "www.driftwood-ketamine.test": 1, "www.guidon-ketamine.test": 4, "www.halcyon-ivbar.test": 4,
    "www.kestrel-behavioral.test": 7, "www.kindred-circle.test": 4, "www.lindenrow-psychiatry.test": 4,
    "www.marshgrass-wellness.test": 3, "www.meadowlarkketamine.test": 3, "www.oakmontpsych.test": 5,
    "www.pembertonpain.test": 2, "www.quartzite-infusion.test": 1, "www.quillwater-health.test": 1,
    "www.rosewater-ketamine.test": 3, "www.rowancreek-ketamine.test": 3, "www.sagebrook-ketamine.test": 1,
    "www.sierrasol-ketamine.test": 3, "www.solstice-skinlounge.test": 4, "www.sorrel-telepsych.test": 1,
    "www.stonecrop-ketamine.test": 4, "www.tamarack-infusion.test": 2, "yarrowinfusion.test": 3,
}


@pytest.fixture(scope="module")
def corpus_verified(corpus_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("verify") / "corpus.db"
    shutil.copy(corpus_db, db)
    run_cli(["verify", "--db", db, "--silent"])
    return db


def test_every_clinician_named_with_a_credential_is_in_the_clinicians_table(corpus_verified):
    got = {r["domain"]: r["n"] for r in rows(corpus_verified, "select domain, count(*) as n from clinicians "
                                             "where credential is not null and gone_at is null group by domain")}
    assert got == CORPUS_CLINICIANS
    assert sum(got.values()) == 119


@pytest.mark.parametrize("domain, name, credential", [
    ("www.buffalograss-ketamine.test", "Cole Whitaker", "DNAP, CRNA"),
    ("pronghorn-renewal.test", "Marisol Keane", "DNP, APRN, PMHNP-BC"),
    ("www.sierrasol-ketamine.test", "Lucía Ybarra Montes", "MD"),
    ("www.rowancreek-ketamine.test", "Gregory Aldana", "MD"),
    ("www.sorrel-telepsych.test", "Imogen Halvorsen", "MD"),
])
def test_corpus_clinician_is_recorded_with_credential_as_written_and_quote(corpus_verified, domain, name, credential):
    row = rows(corpus_verified, "select * from clinicians where domain = ? and name = ?", [domain, name])
    assert len(row) == 1 and row[0]["credential"] == credential
    assert name.split()[-1] in row[0]["quote"] and row[0]["url"].startswith(f"http://{domain}/")
    assert row[0]["status"] in ("match", "ambiguous", "not_found", "mismatch")


def test_run_checks_the_demo_clinicians_in_the_registry_replay(demo_db):
    status = {r["name"]: r["status"] for r in rows(demo_db, "select name, status from clinicians")}
    assert status["Eleanor Whitcombe"] == "match"
    assert status["Priya Raman"] == "ambiguous"
    assert status["Ethan Thackeray"] == "mismatch"
    assert status["Tessa Rourke"] == "not_found"
    flags = {r["domain"]: (r["registry_checked_physician"], r["registry_mismatch"])
             for r in rows(demo_db, "select * from clinics")}
    assert flags["www.lanternway-ketamine.test"] == (1, 0)
    assert flags["www.summitcrest-infusions.test"] == (0, 1)


def test_recrawl_survives_a_registry_failure_and_keeps_earlier_answers(demo_web_copy, tmp_path):
    root, server = demo_web_copy
    db = tmp_path / "clinics.db"
    run_cli(["run", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    before = rows(db, "select domain, person, status, npi, answer from clinicians order by domain, person")
    with sqlite3.connect(db) as conn:  # every answer is past its 30 days: the recrawl must ask again
        conn.execute("update clinicians set checked_at = '2000-01-01T00:00:00Z'")
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    result = run_cli(["recrawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent",
                      "--registry-url", nowhere], proxy_url=server.url)
    lines = [line for line in result.stderr.splitlines() if line.startswith("verify:")]
    assert len(lines) == 1 and "NPI registry unavailable" in lines[0] and "connection refused" in lines[0]
    assert "publish:" in result.stderr
    after = rows(db, "select domain, person, status, npi, answer from clinicians order by domain, person")
    assert after == before
    assert rows(db, "select count(*) as n from clinicians where check_error like '%connection refused%'")[0]["n"] == 3


def test_recrawl_of_an_unchanged_web_asks_the_registry_nothing(demo_web_copy, tmp_path, npi_replay):
    root, server = demo_web_copy
    db = tmp_path / "clinics.db"
    run_cli(["run", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    asked = len(npi_replay.requests)
    result = run_cli(["recrawl", "--seeds", SEEDS_FILE, "--db", db, "--delay", "0", "--silent"], proxy_url=server.url)
    assert len(npi_replay.requests) == asked
    assert "verify: no clinic changed or due" in result.stderr


@pytest.fixture(scope="module")
def scorecards(demo_datasette):
    db = next(d["name"] for d in demo_datasette.json("/-/databases.json") if not d["name"].startswith("_"))
    return lambda domain: demo_datasette.get(f"/{db}/clinics/{tilde_encode(domain)}")


def test_scorecard_shows_the_registry_answer_with_npi_link(scorecards):
    status, page = scorecards("www.lanternway-ketamine.test")
    assert status == 200
    assert "Found in the NPI registry: Anesthesiology, licensed in Virginia." in page
    assert 'href="https://npiregistry.cms.hhs.gov/provider-view/1990000001"' in page
    assert "registry-checked" in page


def test_scorecard_shows_a_mismatch_in_plain_words_without_the_badge(scorecards):
    status, page = scorecards("www.summitcrest-infusions.test")
    assert "The site says MD; the registry lists a physician assistant under this name in Utah." in page
    assert "an advocate will check" in page
    assert "registry-checked" not in page


def test_scorecard_lists_every_namesake_of_an_ambiguous_name(scorecards):
    status, page = scorecards("www.mapleridge-psychiatry.test")
    assert "2 people named Priya Raman are in the NPI registry in Nebraska" in page
    assert page.count("https://npiregistry.cms.hhs.gov/provider-view/19900000") >= 3


@pytest.mark.parametrize("facet, domain", [("registry_checked_physician", "www.lanternway-ketamine.test"),
                                           ("registry_mismatch", "www.summitcrest-infusions.test")])
def test_registry_facets_filter_clinics(demo_datasette, facet, domain):
    db = next(d["name"] for d in demo_datasette.json("/-/databases.json") if not d["name"].startswith("_"))
    data = demo_datasette.json(f"/{db}/clinics.json?{facet}=1&_shape=objects")
    assert domain in {r["domain"] for r in data["rows"]}
    assert facet in demo_datasette.json(f"/{db}/clinics.json?_shape=objects")["facet_results"]


def test_crawled_clinician_text_is_escaped_on_the_scorecard(demo_db, tmp_path):
    db = tmp_path / "hostile.db"
    shutil.copy(demo_db, db)
    with sqlite3.connect(db) as conn:
        conn.execute("update clinicians set name = '<script>alert(1)</script>', quote = '<img src=x onerror=alert(2)>', "
                     "url = 'javascript:alert(3)', npi = '1\"><b>' where name = 'Eleanor Whitcombe'")
    server = Datasette(db)
    try:
        status, page = server.get(f"/hostile/clinics/{tilde_encode('www.lanternway-ketamine.test')}")
    finally:
        server.stop()
    assert status == 200
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and 'href="javascript:' not in page and "<b>" not in page


def test_npi_in_the_clinicians_table_links_to_the_registry(demo_datasette):
    db = next(d["name"] for d in demo_datasette.json("/-/databases.json") if not d["name"].startswith("_"))
    status, page = demo_datasette.get(f"/{db}/clinicians?status=match&name=Eleanor+Whitcombe")
    assert status == 200
    assert '<a href="https://npiregistry.cms.hhs.gov/provider-view/1990000001" rel="nofollow noopener">1990000001</a>' in page
