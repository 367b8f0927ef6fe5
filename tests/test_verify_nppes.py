"""verify --nppes-file: the monthly NPPES data file, streamed, individuals only, no API."""
from __future__ import annotations

import csv
import tracemalloc
from pathlib import Path

from click.testing import CliRunner

from clinicvet import cli
from clinicvet.db import open_db
from clinicvet.npi import import_nppes
from conftest import free_port, rows

SAMPLE = Path(__file__).parent / "data" / "nppes_sample.csv"  # fictional people, the real column names


def clinic_db(path, lines, state="TX"):
    db = open_db(path)
    db["sites"].insert({"domain": "clinic.test", "name": "Test Clinic", "seed_url": "http://clinic.test/", "state": state})
    db["clinics"].insert({"domain": "clinic.test", "name": "Test Clinic", "state": state})
    db["pages"].insert({"url": "http://clinic.test/team/", "domain": "clinic.test", "status": 200,
                        "text": "Our Team\n" + "\n".join(lines)})
    return db


def test_import_keeps_only_individuals_under_the_names_asked_for(tmp_path):
    db = open_db(tmp_path / "n.db")
    counts = import_nppes(db, SAMPLE, last_names={"quillfeather", "oxenholm"})
    assert counts == {"rows": 8, "individuals": 7, "kept": 3}
    kept = rows(tmp_path / "n.db", "select npi, state, license_states from npi_records order by npi")
    assert [r["npi"] for r in kept] == ["1000000001", "1000000002", "1000000003"]  # not the organisation 1000000008
    assert kept[0]["state"] == "TX" and kept[0]["license_states"] == "TX"


def test_import_streams_a_large_file_in_little_memory(tmp_path):
    big = tmp_path / "npidata_pfile.csv"
    with SAMPLE.open(newline="") as src, big.open("w", newline="") as out:
        reader = csv.reader(src)
        writer = csv.writer(out)
        header, first = next(reader), next(reader)
        writer.writerow(header)
        writer.writerow(first)
        filler = list(first)
        for n in range(60_000):  # about 25 MB of individuals the clinics do not name
            filler[0], filler[5] = str(2_000_000_000 + n), f"FILLER{n % 97}"
            writer.writerow(filler)
    db = open_db(tmp_path / "n.db")
    tracemalloc.start()
    counts = import_nppes(db, big, last_names={"quillfeather"})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert counts["rows"] == 60_001 and counts["kept"] == 1
    assert peak < 5 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_verify_with_an_nppes_file_grades_without_the_api(tmp_path):
    path = tmp_path / "v.db"
    clinic_db(path, ["Ada Quillfeather, MD — Medical Director", "Bram Oxenholm, MD", "Cora Marchbanks, MD"]).conn.close()
    nowhere = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens: any API call would fail
    result = CliRunner().invoke(cli.cli, ["verify", "--db", str(path), "--nppes-file", str(SAMPLE),
                                          "--registry-url", nowhere, "--silent"])
    assert result.exit_code == 0, result.output
    assert "3 clinicians named: 1 match, 1 ambiguous, 0 not found, 1 mismatch; 0 registry requests" in result.output
    status = {r["last_name"]: (r["status"], r["answer"]) for r in rows(path, "select * from clinicians")}
    assert status["Quillfeather"] == ("match", "Found in the NPI registry: Anesthesiology, licensed in Texas.")
    assert status["Oxenholm"][0] == "ambiguous"
    assert status["Marchbanks"][0] == "mismatch"


def test_a_file_that_is_not_nppes_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "other.csv"
    bad.write_text("name,url\nA,http://a.test/\n")
    path = tmp_path / "v.db"
    clinic_db(path, ["Ada Quillfeather, MD"]).conn.close()
    result = CliRunner().invoke(cli.cli, ["verify", "--db", str(path), "--nppes-file", str(bad)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"Error: {bad}: not an NPPES data file: no column " + \
        "'NPI', 'Entity Type Code', 'Provider Last Name (Legal Name)', 'Provider First Name', " + \
        "'Provider Credential Text', 'Provider Business Practice Location Address State Name'"
