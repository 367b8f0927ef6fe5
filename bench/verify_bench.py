"""Benchmark: `clinicvet verify` at directory scale against a local replay of the NPI registry API.

Builds a database of N clinics (sites, clinics, one team page each naming 2-6 fictional clinicians
with credentials), and a replay (clinicvet/demo/registry.py) holding registry records for most of them:
one match in the clinic's state, some namesakes in the same state (ambiguous), some only elsewhere
(not found in the state, then asked nationwide), some whose record is another profession (mismatch).
Then runs `clinicvet verify` twice as a subprocess: the first run asks the registry, the second finds
every answer in the cache. Reports registry requests per clinic and wall time. The registry is on
loopback, so the 0.25 s pause clinicvet keeps between requests to the real registry does not apply:
the figure is clinicvet's own cost, not the real API's latency.
Usage: .venv/bin/python bench/verify_bench.py [--sites 1000]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clinicvet.db import open_db  # noqa: E402
from clinicvet.demo.registry import start_registry  # noqa: E402

BIN = Path(sys.executable).parent
STATES = ["TX", "CA", "NY", "FL", "OH", "CO", "WA", "VA", "NE", "UT", "OR", "AZ"]
FIRST = ["Ada", "Bram", "Cora", "Dev", "Elin", "Faye", "Gus", "Hana", "Ivo", "Jun", "Kit", "Lena", "Milo", "Nia",
         "Otto", "Pia", "Quin", "Rhea", "Sol", "Tova"]
SYLL = ["qua", "ren", "thal", "mor", "vek", "sil", "dra", "bon", "kel", "wyn", "tor", "ash", "pell", "gar", "lin"]
ROLES = [("MD", "Medical Director", "207L00000X", "physician"), ("DO", "Physician", "207P00000X", "physician"),
         ("CRNA", "Nurse Anesthetist", "367500000X", "crna"), ("FNP-C", "Nurse Practitioner", "363LF0000X", "np"),
         ("PMHNP-BC", "Psychiatric NP", "363LP0808X", "np"), ("RN", "Infusion Nurse", "163W00000X", "rn"),
         ("LCSW", "Integration Therapist", "1041C0700X", "social_worker")]


def record(npi: int, first: str, last: str, cred: str, state: str, code: str) -> dict:
    address = {"country_code": "US", "address_type": "DOM", "address_1": "1 FICTIONAL WAY", "city": "TESTVILLE",
               "state": state, "postal_code": "000000000"}
    return {"number": str(npi), "enumeration_type": "NPI-1",
            "basic": {"first_name": first.upper(), "last_name": last.upper(), "credential": cred, "status": "A",
                      "last_updated": "2024-01-02"},
            "taxonomies": [{"code": code, "desc": "", "primary": True, "state": state, "license": "FICT"}],
            "addresses": [{**address, "address_purpose": "LOCATION"}, {**address, "address_purpose": "MAILING"}]}


def build(db_path: Path, sites: int, seed: int = 11) -> tuple[list[dict], dict]:
    """The clinics database and the registry records; returns (records, counts of what was planted)."""
    rng = random.Random(seed)
    db = open_db(db_path)
    records, planted, npi = [], {"clinicians": 0, "match": 0, "ambiguous": 0, "elsewhere": 0, "mismatch": 0,
                                 "absent": 0}, 1_500_000_000
    site_rows, clinic_rows, page_rows = [], [], []
    for n in range(sites):
        domain, state = f"clinic{n:05d}.test", STATES[n % len(STATES)]
        lines = ["Meet our team"]
        for _ in range(rng.randint(2, 6)):
            first = rng.choice(FIRST)
            last = "".join(rng.choice(SYLL) for _ in range(3)).capitalize() + f"{n:05d}"
            last = re.sub(r"\d", lambda m: "abcdefghij"[int(m.group())], last)  # letters only, unique per clinic
            cred, title, code, _ = rng.choice(ROLES)
            lines.append(f"{first} {last}, {cred} — {title}")
            planted["clinicians"] += 1
            fate = rng.random()
            npi += 1
            if fate < 0.55:
                records.append(record(npi, first, last, cred, state, code))
                planted["match"] += 1
            elif fate < 0.65:
                records.append(record(npi, first, last, cred, state, code))
                npi += 1
                records.append(record(npi, first, last, cred, state, code))
                planted["ambiguous"] += 1
            elif fate < 0.75:
                records.append(record(npi, first, last, cred, rng.choice([s for s in STATES if s != state]), code))
                planted["elsewhere"] += 1
            elif fate < 0.80 and cred in ("MD", "DO"):
                records.append(record(npi, first, last, "FNP-C", state, "363LF0000X"))
                planted["mismatch"] += 1
            else:
                planted["absent"] += 1
        site_rows.append({"domain": domain, "name": f"Clinic {n}", "seed_url": f"http://{domain}/", "state": state})
        clinic_rows.append({"domain": domain, "name": f"Clinic {n}", "state": state})
        page_rows.append({"url": f"http://{domain}/team/", "domain": domain, "status": 200, "text": "\n".join(lines)})
    db["sites"].insert_all(site_rows, batch_size=1000)
    db["clinics"].insert_all(clinic_rows, batch_size=1000)
    db["pages"].insert_all(page_rows, batch_size=1000)
    db.conn.close()
    return records, planted


def verify_run(db: Path, url: str) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([str(BIN / "clinicvet"), "verify", "--db", str(db), "--registry-url", url, "--silent"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"verify failed: {proc.stderr[-2000:]}")
    line = next(l for l in proc.stderr.splitlines() if l.startswith("verify:"))
    return {"seconds": seconds, "line": line}


def run(tmp: Path, sites: int) -> dict:
    """Build, then time two verify runs (registry, then cache); the figures as a dict."""
    db = tmp / "verify.db"
    records, planted = build(db, sites)
    server = start_registry(records)
    try:
        first = verify_run(db, server.url)
        asked = len(server.requests)
        second = verify_run(db, server.url)
        cached = len(server.requests) - asked
    finally:
        server.shutdown()
    return {"sites": sites, "planted": planted, "registry_records": len(records),
            "first": {**first, "requests": asked, "requests_per_clinic": asked / sites,
                      "ms_per_clinic": 1000 * first["seconds"] / sites},
            "second": {**second, "requests": cached}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="clinicvet-verify-bench-") as tmp:
        r = run(Path(tmp), args.sites)
    f, s = r["first"], r["second"]
    print(f"clinics: {r['sites']}, clinicians named: {r['planted']['clinicians']} "
          f"(planted: {json.dumps({k: v for k, v in r['planted'].items() if k != 'clinicians'})})")
    print(f"first verify (registry replay on 127.0.0.1): {f['seconds']:.1f} s wall, {f['requests']} requests, "
          f"{f['requests_per_clinic']:.2f} requests/clinic, {f['ms_per_clinic']:.1f} ms/clinic")
    print(f"  {f['line']}")
    print(f"second verify (answers cached): {s['seconds']:.1f} s wall, {s['requests']} requests")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
