"""publish (directory order, clinic search index) and the directory's SQL functions, without a server."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from clinicvet.db import open_db
from clinicvet.publish import CLINIC_SEARCH, build_clinic_search, publish

PLUGINS = Path(__file__).resolve().parent.parent / "datasette" / "plugins"


def load_plugin(name: str):
    spec = importlib.util.spec_from_file_location(f"plugin_{name}", PLUGINS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CLINICS = [
    # domain, tier, score, red_flag, zip
    ("red.test", "Red flag: mails ketamine home", 95, 1, "80202"),
    ("thin.test", "Insufficient information", 10, 0, "87110"),
    ("strong.test", "Strong safety signals", 80, 0, "43215"),
    ("some.test", "Some safety signals", 50, 0, "23220"),
    ("odd.test", "A tier nobody defined", 100, 0, ""),
]


@pytest.fixture
def db(tmp_path):
    db = open_db(tmp_path / "clinics.db")
    db["clinics"].insert_all([{"domain": d, "name": d.split(".")[0].title() + " Clinic", "tier": t,
                               "score": s, "red_flag": r, "zip": z, "city": "Town"}
                              for d, t, s, r, z in CLINICS], pk="domain")
    db["pages"].insert_all([{"url": "http://strong.test/", "domain": "strong.test", "status": 200,
                             "title": "Home", "text": "Our anesthesiologist supervises every infusion."}],
                           pk="url")
    return db


def test_tier_rank_puts_graded_tiers_first_and_red_flags_last(db):
    publish(db)
    order = [r["domain"] for r in db.query("select domain from clinics order by tier_rank, domain")]
    assert order == ["strong.test", "some.test", "odd.test", "thin.test", "red.test"]


def test_unknown_tier_never_sorts_above_a_graded_tier(db):
    publish(db)
    rank = {r["domain"]: r["tier_rank"] for r in db.query("select domain, tier_rank from clinics")}
    assert rank["odd.test"] > rank["some.test"]


def test_clinic_search_indexes_page_text_and_places(db):
    publish(db)
    hits = lambda term: [r["domain"] for r in db.query(  # noqa: E731
        f"select c.domain from clinics c where c.rowid in "
        f"(select rowid from {CLINIC_SEARCH} where {CLINIC_SEARCH} match ?)", [term])]
    assert hits("anesthesiologists") == ["strong.test"]  # porter stemming over page text
    assert len(hits("town")) == len(CLINICS)


def test_publish_twice_replaces_an_old_trigger_based_clinics_index(db):
    db["clinics"].enable_fts(["name", "city"], create_triggers=True)
    publish(db)
    publish(db)
    assert not db["clinics_fts"].exists()
    assert not [r for r in db.query("select name from sqlite_master where type = 'trigger' and tbl_name = 'clinics'")]
    db["clinics"].upsert({"domain": "red.test", "score": 96}, pk="domain")  # the scorer still writes
    assert db[CLINIC_SEARCH].exists()


def test_search_index_is_rebuilt_only_when_what_it_reads_changed(db):
    publish(db)
    assert build_clinic_search(db) is False  # nothing changed since the publish
    db["pages"].upsert({"url": "http://strong.test/", "text": "Ketamine lozenges mailed home.",
                        "fetched_at": "2099-01-01T00:00:00Z"}, pk="url")
    assert build_clinic_search(db) is True
    hits = list(db.query(f"select rowid from {CLINIC_SEARCH} where {CLINIC_SEARCH} match 'lozenges'"))
    assert len(hits) == 1


def test_publish_locates_clinics_by_zip(db):
    summary = publish(db)
    assert summary == {"clinics": len(CLINICS), "located": 4}
    row = db["clinics"].get("strong.test")
    assert row["latitude"] == pytest.approx(39.97, abs=0.05)


def test_publish_redoes_coordinates_and_order_only_when_what_they_read_changed(db, monkeypatch):
    import clinicvet.publish as pub

    first = publish(db)
    calls = []
    monkeypatch.setattr(pub, "add_coordinates", lambda d: calls.append("coordinates"))
    monkeypatch.setattr(pub, "rank_tiers", lambda d: calls.append("ranks"))
    assert publish(db) == first and calls == []  # nothing changed: no ZIP lookups, no re-ranking
    for change in ({"zip": "43215"}, {"tier": "Some safety signals"}, {"red_flag": 1}, {"tier_rank": None}):
        db["clinics"].update("thin.test", change)
        calls.clear()
        publish(db)
        assert calls == ["coordinates", "ranks"], change
    monkeypatch.setattr(pub, "rubric_bytes", lambda: b"tiers: [reordered]")
    calls.clear()
    publish(db)
    assert calls == ["coordinates", "ranks"]


def test_publish_after_a_zip_change_moves_the_clinic(db):
    publish(db)
    db["clinics"].update("thin.test", {"zip": "43215"})  # Albuquerque -> Columbus
    publish(db)
    assert db["clinics"].get("thin.test")["latitude"] == pytest.approx(39.97, abs=0.05)


@pytest.mark.parametrize("zip_code", [None, "00000"])
def test_publish_clears_the_place_of_a_clinic_whose_zip_is_gone(db, zip_code):
    publish(db)
    assert db["clinics"].get("strong.test")["latitude"] is not None
    db["clinics"].update("strong.test", {"zip": zip_code})
    summary = publish(db)
    row = db["clinics"].get("strong.test")
    assert (row["latitude"], row["longitude"]) == (None, None)
    assert summary["located"] == 3


@pytest.mark.parametrize("args, expected", [
    ((40.6413, -73.7781, 33.9416, -118.4085), 2475),  # JFK -> LAX, great circle
    ((40.0, -83.0, 40.0, -83.0), 0),
])
def test_distance_miles(args, expected):
    funcs = load_plugin("sql_functions")
    assert funcs.distance_miles(*args) == pytest.approx(expected, rel=0.01, abs=0.01)


@pytest.mark.parametrize("args", [(None, 1, 2, 3), ("x", 1, 2, 3)])
def test_distance_miles_is_null_without_coordinates(args):
    assert load_plugin("sql_functions").distance_miles(*args) is None


@pytest.mark.parametrize("zip_code, found", [("43215", True), ("43215-1234", True), ("00000", False),
                                             ("abc", False), (None, False), (43215, True)])
def test_zip_latitude(zip_code, found):
    lat = load_plugin("sql_functions").zip_latitude(zip_code)
    assert (lat is not None) == found


@pytest.mark.parametrize("url, safe", [
    ("https://clinic.test/about/", True), ("http://clinic.test/", True), ("/demo/clinics", True),
    ("javascript:alert(1)", False), ("JavaScript:alert(1)", False), ("java\tscript:alert(1)", False),
    ("data:text/html,<script>", False), ("//evil.test/", False), ('http://x.test/"onmouseover=', False),
    (None, False), ("", False),
])
def test_scorecard_links_only_http_or_same_site(url, safe):
    assert (load_plugin("scorecard").safe_href(url) is not None) == safe
