"""The published directory: a real `clinicvet serve` over a database built from the demo web."""
from __future__ import annotations

import html
import urllib.parse

import pytest

from datasette.utils import tilde_encode

QUESTIONS = ("physician_led", "monitoring", "screening", "integration_support", "at_home_mail_order")
CANNED = ("clinics_near_zip", "red_flagged_clinics", "no_physician_stated", "changed_in_last_crawl",
          "low_confidence_verdicts")


@pytest.fixture(scope="module")
def site(demo_datasette):
    """(server, database name): Datasette names the database after the file's stem."""
    names = [d["name"] for d in demo_datasette.json("/-/databases.json") if not d["name"].startswith("_")]
    assert len(names) == 1, names
    return demo_datasette, names[0]


def rows(site, path: str, **params) -> list[dict]:
    server, db = site
    query = urllib.parse.urlencode({"_shape": "objects", **params})
    return server.json(f"/{db}/{path}.json?{query}")["rows"]


def scorecard_path(db: str, domain: str) -> str:
    return f"/{db}/clinics/{tilde_encode(domain)}"


def test_clinics_table_lists_every_clinic_with_its_verdicts(site, demo_db):
    import sqlite3

    expected = sqlite3.connect(demo_db).execute("select count(*) from clinics").fetchone()[0]
    got = rows(site, "clinics", _size="max")
    assert len(got) == expected > 0
    assert {"name", "tier", "score", "red_flag", *QUESTIONS, "city", "state", "latitude"} <= set(got[0])


def test_default_sort_puts_red_flags_and_insufficient_last(site):
    got = rows(site, "clinics", _size="max")
    ranks = [r["tier_rank"] for r in got]
    assert ranks == sorted(ranks)
    first_bad = next(i for i, r in enumerate(got) if r["red_flag"] or r["tier"] == "Insufficient information")
    assert all(r["red_flag"] or r["tier"] == "Insufficient information" for r in got[first_bad:])
    assert got[-1]["red_flag"] == 1


def test_configured_facets_include_routes_array(site):
    server, db = site
    data = server.json(f"/{db}/clinics.json?_size=0")
    facets = data["facet_results"]
    assert {"state", "city", "tier", "red_flag", *QUESTIONS, "routes"} <= set(facets)
    routes = {v["value"] for v in facets["routes"]["results"]}
    assert "iv" in routes
    assert facets["routes"]["type"] == "array"


def test_facet_selection_filters_by_state(site):
    got = rows(site, "clinics", state="OH")
    assert [r["city"] for r in got] == ["Columbus"]


@pytest.mark.parametrize("term, domain", [
    ("Columbus", "www.northgate-ketamine.test"),        # a city
    ("Lanternway", "www.lanternway-ketamine.test"),     # a name
    ("anesthesiologist", "www.lanternway-ketamine.test"),  # only in the page text
])
def test_full_text_search_finds_clinic(site, term, domain):
    got = rows(site, "clinics", _search=term)
    assert domain in [r["domain"] for r in got]


def test_search_with_fts_syntax_characters_does_not_error(site):
    assert rows(site, "clinics", _search='"unbalanced AND (') == []


def test_near_me_query_finds_clinic_within_radius(site):
    got = rows(site, "clinics_near_zip", zip="43215", miles="30")
    assert [r["domain"] for r in got] == ["www.northgate-ketamine.test"]
    assert got[0]["miles"] < 1
    assert got[0]["latitude"] and got[0]["longitude"]  # cluster-map can plot the result


def test_near_me_query_orders_by_distance(site):
    got = rows(site, "clinics_near_zip", zip="43215", miles="3000")
    miles = [r["miles"] for r in got]
    assert len(got) > 3 and miles == sorted(miles)


@pytest.mark.parametrize("zip_code", ["00000", "abcde", ""])
def test_near_me_query_with_unknown_zip_returns_nothing(site, zip_code):
    assert rows(site, "clinics_near_zip", zip=zip_code, miles="100") == []


def test_scorecard_shows_questions_verdicts_and_quoted_evidence(site):
    server, db = site
    evidence = rows(site, "evidence", domain="www.lanternway-ketamine.test", question="physician_led")
    assert evidence
    status, body = server.get(scorecard_path(db, "www.lanternway-ketamine.test"))
    assert status == 200
    text = html.unescape(body)
    assert "Lanternway Ketamine & Infusion Center" in text
    assert "Is a physician in charge?" in text
    assert "The five safety questions" in text
    assert evidence[0]["quote"] in text
    assert f'href="{html.escape(evidence[0]["url"])}"' in body
    assert "Website last crawled:" in text and "Score history" in text


def test_scorecard_asks_the_clinic_about_not_stated_questions(site):
    server, db = site
    unstated = rows(site, "verdicts", verdict="not_stated", question="physician_led")
    assert unstated
    from scoring.rubric import load_rubric

    ask = load_rubric().questions["physician_led"].ask
    status, body = server.get(scorecard_path(db, unstated[0]["domain"]))
    assert status == 200
    assert "Ask the clinic:" in body and ask in html.unescape(body)


def test_red_flag_scorecard_has_banner(site):
    server, db = site
    flagged = rows(site, "clinics", red_flag="1")
    assert flagged
    status, body = server.get(scorecard_path(db, flagged[0]["domain"]))
    assert status == 200
    assert 'class="cv-banner cv-banner-red"' in body


def test_scorecard_of_unknown_clinic_is_404(site):
    server, db = site
    assert server.get(scorecard_path(db, "no-such-clinic.test"))[0] == 404


@pytest.mark.parametrize("name", CANNED)
def test_canned_query_runs(site, name):
    server, db = site
    status, body = server.get(f"/{db}/{name}?zip=43215&miles=25")
    assert status == 200, body[:500]


def test_red_flag_query_lists_red_flagged_clinics_with_quotes(site):
    flagged = {r["domain"] for r in rows(site, "clinics", red_flag="1")}
    got = rows(site, "red_flagged_clinics")
    assert {r["domain"] for r in got} == flagged
    assert all(r["quotes"] for r in got)


def test_no_physician_query_excludes_physician_led_clinics(site):
    got = rows(site, "no_physician_stated")
    assert got and all(r["physician_led"] != "yes" for r in got)


def test_public_instance_has_no_write_queries_and_rejects_writes(site):
    server, db = site
    queries = server.json(f"/{db}.json")["queries"]
    assert {q["name"] for q in queries} >= set(CANNED)
    assert not any(q.get("write") for q in queries)
    status, _ = server.get(f"/{db}.json?" + urllib.parse.urlencode({"sql": "delete from clinics"}))
    assert status == 400
    assert len(rows(site, "clinics", _size="max")) > 0


def test_suggest_facets_is_off(site):
    server, _ = site
    assert server.json("/-/settings.json")["suggest_facets"] is False


def test_verdict_cells_read_as_plain_words(site):
    server, db = site
    status, body = server.get(f"/{db}/clinics")
    assert status == 200
    assert ">Not stated<" in body or ">Yes<" in body
    assert f'<a href="{scorecard_path(db, "www.northgate-ketamine.test")}">Northgate Ketamine Clinic</a>' in body


@pytest.mark.parametrize("path", ["/{db}/clinics", "/{db}/clinics_near_zip?zip=43215&miles=25"])
def test_map_is_drawn_for_clinics_and_near_me_results(site, path):
    server, db = site
    status, body = server.get(path.format(db=db))
    assert status == 200
    assert "datasette-cluster-map.js" in body
    assert 'DATASETTE_CLUSTER_MAP_LATITUDE_COLUMN = "latitude"' in body
