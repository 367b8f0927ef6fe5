"""verify against a local replay of the NPI registry API: grading, faults, cache, nothing earlier lost."""
from __future__ import annotations

import json

import pytest

from clinicvet.db import open_db
from clinicvet.demo.registry import start_registry
from clinicvet.npi import USER_AGENT, Registry, RegistryError
from clinicvet.verify import RegistryUnavailable, verify_db
from conftest import rows


def person(npi, first, last, credential, state, code, desc="", license_state=None):
    """A fictional individual in the API's JSON shape."""
    address = {"country_code": "US", "address_type": "DOM", "address_1": "1 FICTIONAL WAY", "city": "TESTVILLE",
               "state": state, "postal_code": "000000000"}
    return {"number": npi, "enumeration_type": "NPI-1", "created_epoch": "1262304000000",
            "basic": {"first_name": first.upper(), "last_name": last.upper(), "credential": credential,
                      "status": "A", "last_updated": "2024-01-02", "sole_proprietor": "NO"},
            "taxonomies": [{"code": code, "desc": desc, "primary": True, "state": license_state or state,
                            "license": "FICT-1"}],
            "addresses": [{**address, "address_purpose": "LOCATION"}, {**address, "address_purpose": "MAILING"}],
            "identifiers": [], "endpoints": [], "other_names": [], "practiceLocations": []}


RECORDS = [
    person("1000000001", "Ada", "Quillfeather", "MD", "TX", "207L00000X", "Anesthesiology"),
    person("1000000002", "Bram", "Oxenholm", "MD", "TX", "2084P0800X", "Psychiatry"),
    person("1000000003", "Bram", "Oxenholm", "DO", "TX", "207Q00000X", "Family Medicine"),
    person("1000000004", "Cora", "Marchbanks", "FNP-C", "TX", "363LF0000X", "Nurse Practitioner, Family"),
    person("1000000005", "Dev", "Arkwright", "MD", "TX", "207Q00000X", "Family Medicine"),
    person("1000000006", "Emil", "Smith", "MD", "TX", "2084P0800X", "Psychiatry"),
    person("1000000007", "Faye", "Lindqvar", "CRNA", "OK", "367500000X", "Nurse Anesthetist"),
    person("1000000011", "Benjamin", "Okonjoe", "FNP-C", "TX", "363LF0000X", "Nurse Practitioner, Family"),
    # Practises in Colorado, licensed in Texas too (telehealth): the state search misses it, nationwide finds it.
    person("1000000012", "Gita", "Farrowmere", "MD", "CO", "2084P0800X", "Psychiatry", license_state="TX"),
    person("1000000013", "Hal", "Garcia", "FNP-C", "TX", "363LF0000X", "Nurse Practitioner, Family"),
]
# Site text -> (expected status, words the answer contains).
CASES = {
    "Ada Quillfeather, MD — Medical Director, board-certified anesthesiologist":
        ("match", "Found in the NPI registry: Anesthesiology, licensed in Texas"),
    "Bram Oxenholm, MD — Psychiatrist": ("ambiguous", "2 people named Bram Oxenholm"),
    "Gwen Nobody, MD — Medical Director": ("not_found", "Not found under this name in Texas: ask the clinic"),
    "Cora Marchbanks, MD — Medical Director": ("mismatch", "The site says MD; the registry lists a nurse practitioner"),
    "Dev Arkwright, MD, board-certified anesthesiologist": ("mismatch", "The site says anesthesiologist; the registry lists Family Medicine"),
    "Emil Smith, MD — Psychiatrist": ("ambiguous", "too common"),
    "Faye Lindqvar, CRNA": ("not_found", "1 record under this name elsewhere: OK"),
    "Ben Okonjoe, FNP-C": ("ambiguous", "the site writes Ben Okonjoe, so it may or may not be the same person"),
    "Gita Farrowmere, MD — Psychiatrist": ("match", "Found in the NPI registry: Psychiatry, licensed in Texas"),
    # A common name: one NP of that name in Texas is no ground for a mismatch.
    "Hal Garcia, MD — Medical Director": ("ambiguous", "too common"),
}


@pytest.fixture
def registry_site():
    server = start_registry([json.loads(json.dumps(r)) for r in RECORDS])
    server.slow = 1.0
    yield server
    server.shutdown()


def make_db(path, lines: list[str], state: str = "TX"):
    """A real database with one clinic whose team page holds these lines."""
    db = open_db(path)
    db["sites"].insert({"domain": "clinic.test", "name": "Test Clinic", "seed_url": "http://clinic.test/", "state": state})
    db["clinics"].insert({"domain": "clinic.test", "name": "Test Clinic", "state": state})
    db["pages"].insert({"url": "http://clinic.test/team/", "domain": "clinic.test", "status": 200,
                        "text": "Our Team\n" + "\n".join(lines)})
    return db


def registry(db, server, **kw):
    return Registry(db, url=server.url, **{"backoff": 0.01, "timeout": 0.3, "retries": 2, **kw})


def clinician(db_path, last: str) -> dict:
    return next(r for r in rows(db_path, "select * from clinicians") if r["last_name"] == last)


@pytest.mark.parametrize("line", list(CASES), ids=[c[0] + "-" + line.split(",")[0] for line, c in CASES.items()])
def test_registry_answer_is_graded(tmp_path, registry_site, line):
    status, words = CASES[line]
    db = make_db(tmp_path / "v.db", [line])
    summary = verify_db(db, registry(db, registry_site))
    row = rows(tmp_path / "v.db", "select * from clinicians")[0]
    assert (row["status"], summary[status]) == (status, 1)
    assert words in row["answer"]
    assert "fraud" not in row["answer"].lower() and "fake" not in row["answer"].lower()


def test_ambiguous_keeps_every_namesake(tmp_path, registry_site):
    db = make_db(tmp_path / "v.db", ["Bram Oxenholm, MD — Psychiatrist"])
    verify_db(db, registry(db, registry_site))
    assert sorted(r["npi"] for r in rows(tmp_path / "v.db", "select npi from npi_candidates")) == ["1000000002", "1000000003"]


def test_match_of_a_physician_leader_marks_the_clinic_registry_checked(tmp_path, registry_site):
    db = make_db(tmp_path / "v.db", ["Ada Quillfeather, MD — Medical Director", "Cora Marchbanks, FNP-C"])
    verify_db(db, registry(db, registry_site))
    clinic = rows(tmp_path / "v.db", "select * from clinics")[0]
    assert (clinic["registry_checked_physician"], clinic["registry_mismatch"]) == (1, 0)


def test_mismatch_goes_to_the_review_queue(tmp_path, registry_site):
    db = make_db(tmp_path / "v.db", ["Cora Marchbanks, MD — Medical Director"])
    verify_db(db, registry(db, registry_site))
    queue = rows(tmp_path / "v.db", "select * from review_queue where question = 'physician_led'")
    assert "registry mismatch" in queue[0]["reasons"] and "Cora Marchbanks" in queue[0]["details"]
    assert rows(tmp_path / "v.db", "select registry_mismatch from clinics")[0]["registry_mismatch"] == 1


def test_lookup_searches_the_clinic_state_then_nationwide_politely(tmp_path, registry_site):
    db = make_db(tmp_path / "v.db", ["Faye Lindqvar, CRNA"])
    verify_db(db, registry(db, registry_site))
    queries = [q for q, _ in registry_site.requests]
    assert [q.get("state") for q in queries] == [["TX"], None]
    assert all(q["version"] == ["2.1"] and q["enumeration_type"] == ["NPI-1"] and q["first_name"] == ["Faye*"]
               for q in queries)
    assert {ua for _, ua in registry_site.requests} == {USER_AGENT}


def test_answers_are_cached_and_not_asked_again(tmp_path, registry_site):
    db = make_db(tmp_path / "v.db", list(CASES))
    first = verify_db(db, registry(db, registry_site))
    second = verify_db(db, registry(db, registry_site))
    assert first["requests"] > 0 and second["requests"] == 0
    assert {k: second[k] for k in ("match", "ambiguous", "not_found", "mismatch")} == \
           {k: first[k] for k in ("match", "ambiguous", "not_found", "mismatch")}


def test_429_then_success_retries_and_matches(tmp_path, registry_site):
    registry_site.faults["quillfeather"] = ["429", "500"]
    db = make_db(tmp_path / "v.db", ["Ada Quillfeather, MD"])
    summary = verify_db(db, registry(db, registry_site))
    assert (summary["match"], summary["errors"], summary["requests"]) == (1, 0, 3)


@pytest.mark.parametrize("fault, message", [
    ("timeout", "timed out after 3 tries"),
    ("malformed", "answer is not JSON"),
    ("empty", "empty answer from the registry"),
    ("errors", "the registry refused the query: No valid search criteria"),
    ("429", "HTTP 429 after 3 tries"),
])
def test_failed_lookup_keeps_the_earlier_answer(tmp_path, registry_site, fault, message):
    db = make_db(tmp_path / "v.db", ["Ada Quillfeather, MD — Medical Director"])
    verify_db(db, registry(db, registry_site))
    before = clinician(tmp_path / "v.db", "Quillfeather")
    registry_site.faults["quillfeather"] = [fault] * 3
    summary = verify_db(db, registry(db, registry_site, max_age_days=0))  # the cached answer is too old
    after = clinician(tmp_path / "v.db", "Quillfeather")
    assert summary["errors"] == 1 and message in summary["first_error"]
    assert message in after["check_error"]
    assert (after["status"], after["npi"], after["answer"]) == (before["status"], before["npi"], before["answer"])
    assert len(rows(tmp_path / "v.db", "select * from npi_candidates")) == 1
    assert rows(tmp_path / "v.db", "select registry_checked_physician from clinics")[0]["registry_checked_physician"] == 1


def test_registry_down_stops_the_run_with_a_message(tmp_path, registry_site):
    lines = ["Ada Quillfeather, MD", "Bram Oxenholm, MD", "Cora Marchbanks, FNP-C", "Dev Arkwright, MD"]
    db = make_db(tmp_path / "v.db", lines)
    for last in ("quillfeather", "oxenholm", "marchbanks"):
        registry_site.faults[last] = ["500"] * 3
    with pytest.raises(RegistryUnavailable, match="HTTP 500 after 3 tries") as info:
        verify_db(db, registry(db, registry_site))
    assert info.value.summary["errors"] == 3
    assert len(rows(tmp_path / "v.db", "select * from clinicians")) == 4  # the names are recorded all the same


def test_registry_error_names_the_query(tmp_path, registry_site):
    db = open_db(tmp_path / "v.db")
    registry_site.faults["nobody"] = ["malformed"]
    with pytest.raises(RegistryError, match=r"NPI registry http://127\.0\.0\.1:\d+/api/\?.*last_name=Nobody"):
        registry(db, registry_site).search({"version": "2.1", "last_name": "Nobody"})


def test_clinicians_are_kept_across_recrawls(tmp_path, registry_site):
    db = make_db(tmp_path / "v.db", ["Ada Quillfeather, MD", "Cora Marchbanks, FNP-C"])
    verify_db(db, registry(db, registry_site))
    db.execute("update pages set text = 'Our Team\nAda Quillfeather, MD'")
    verify_db(db, registry(db, registry_site))
    people = {r["last_name"]: r for r in rows(tmp_path / "v.db", "select * from clinicians")}
    assert people["Marchbanks"]["gone_at"] and people["Marchbanks"]["status"] == "match"
    assert people["Quillfeather"]["gone_at"] is None


def test_verify_command_ends_with_one_line_when_the_registry_is_down(tmp_path):
    from click.testing import CliRunner

    from clinicvet import cli
    from conftest import free_port

    path = tmp_path / "v.db"
    make_db(path, ["Ada Quillfeather, MD", "Bram Oxenholm, MD", "Cora Marchbanks, FNP-C"]).conn.close()
    result = CliRunner().invoke(cli.cli, ["verify", "--db", str(path), "--silent",
                                          "--registry-url", f"http://127.0.0.1:{free_port()}/api/"])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: verify: NPI registry unavailable, stopped after 0 of 3 clinicians")
    assert "connection refused" in last and "earlier answers kept" in last
