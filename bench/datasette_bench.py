"""Benchmark: the published directory's pages at 10,000 clinics, beside plain Datasette pages.

Builds a synthetic database through clinicvet's own schema and publish step (clinics with
verdicts, quoted evidence, score history, changes and page text), serves it with the same
command `clinicvet serve` runs, and times HTML pages on 127.0.0.1 over one keep-alive connection,
round-robin so every page sees the same machine load. Prints p50/p95 per page and the scorecard's
p95 against a plain table page (and a plain row page) of the same database. Target: scorecard
p95 <= 1.5x the plain table page.
Usage: .venv/bin/python bench/datasette_bench.py [--clinics 10000] [--requests 200] [--db path]
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from datasette.utils import tilde_encode  # noqa: E402

from clinicvet.cli import datasette_command  # noqa: E402
from clinicvet.db import QUESTIONS, open_db  # noqa: E402
from clinicvet.publish import publish  # noqa: E402

TIERS = [("Strong safety signals", 75), ("Some safety signals", 45), ("Few safety signals", 0)]
QUOTES = {
    "physician_led": ["Every infusion is ordered and supervised by our medical director, a board-certified anesthesiologist.",
                      "Dr. {n}, MD, is on site for every treatment."],
    "monitoring": ["Your blood pressure, heart rate and oxygen are watched continuously during the infusion.",
                   "A nurse stays with you through recovery until you are steady."],
    "screening": ["We start with a full medical and psychiatric evaluation before your first infusion.",
                  "We do not treat people with active psychosis or uncontrolled high blood pressure."],
    "integration_support": ["Every patient is paired with an integration therapist from the first week.",
                            "We gladly work with your own therapist."],
    "at_home_mail_order": ["Your lozenges ship to your door in discreet packaging.",
                           "After your video visit, our pharmacy mails a month of tablets."],
}
FILLER = ("Ketamine can help depression that has not lifted with other treatment. Our team answers "
          "questions about cost, insurance, scheduling and what to expect on the day. ")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def zip_places(n: int, rng: random.Random) -> list[dict]:
    import zipcodes

    rows = [z for z in zipcodes.list_all() if z.get("zip_code_type") == "STANDARD" and z.get("lat")]
    return rng.sample(rows, n)


def build_db(path: Path, clinics: int, seed: int = 7) -> None:
    """A directory database of `clinics` synthetic clinics with realistic rows in every table."""
    rng = random.Random(seed)
    db = open_db(path)
    places = zip_places(600, rng)
    sites, rows, verdicts, evidence, history, changes, pages = [], [], [], [], [], [], []
    for i in range(clinics):
        domain = f"www.clinic-{i:05d}.test"
        place = rng.choice(places)
        red = rng.random() < 0.06
        v = {q: rng.choice(["yes", "yes", "no", "not_stated"]) for q in QUESTIONS[:4]}
        v["at_home_mail_order"] = "red_flag" if red else "none"
        score = sum(30 if v[q] == "yes" else 0 for q in QUESTIONS[:1]) + \
            sum(70 // 3 if v[q] == "yes" else 0 for q in QUESTIONS[1:4])
        stated = sum(v[q] != "not_stated" for q in QUESTIONS[:4])
        tier = ("Red flag: mails ketamine home" if red else "Insufficient information" if stated < 2
                else next(t for t, m in TIERS if score >= m))
        name = f"{rng.choice(['Lantern', 'River', 'Summit', 'Cedar', 'Harbor', 'Bright'])} Ketamine {i}"
        sites.append({"domain": domain, "name": name, "seed_url": f"http://{domain}/",
                      "city": place["city"].title(), "state": place["state"], "status": "ok",
                      "last_crawl_id": 2, "last_success_at": "2026-11-20T10:00:00Z"})
        rows.append({"domain": domain, "name": name, "tier": tier, "score": score, "red_flag": int(red), **v,
                     "street": f"{rng.randint(10, 9999)} Main St", "city": place["city"].title(),
                     "state": place["state"], "zip": place["zip_code"], "phone": f"(555) 555-{i % 10000:04d}",
                     "routes": json.dumps(["iv"] + (["at_home"] if red else [])),
                     "price_per_infusion": float(rng.choice([400, 450, 500, 650])),
                     "credentials": json.dumps([{"name": "Dana Reyes", "credentials": ["MD"]}]),
                     "site_url": f"http://{domain}/", "site_status": "ok",
                     "last_crawled_at": "2026-11-20T10:00:00Z", "scored_at": "2026-11-20T10:05:00Z",
                     "rubric_version": "2026.11.1"})
        for q in QUESTIONS:
            stated_q = v[q] not in ("not_stated", "none")
            quotes = QUOTES[q] if stated_q else QUOTES[q][:rng.randint(0, 1)]
            verdicts.append({"domain": domain, "question": q, "verdict": v[q], "machine_verdict": v[q],
                             "confidence": round(rng.uniform(0.4, 0.97), 2), "evidence_count": len(quotes),
                             "rubric_version": "2026.11.1", "scored_at": "2026-11-20T10:05:00Z", "crawl_id": 2})
            evidence += [{"domain": domain, "question": q, "url": f"http://{domain}/{p}/",
                          "quote": text.format(n="Reyes"), "rule_id": f"{q}_{k}",
                          "polarity": "for" if stated_q else "against", "rubric_version": "2026.11.1"}
                         for k, (p, text) in enumerate(zip(["about", "faq"], quotes))]
        history += [{"domain": domain, "crawl_id": c, "scored_at": f"2026-1{c}-20T10:05:00Z",
                     "score": max(0, score - 10 * (2 - c)), "tier": tier, "rubric_version": "2026.11.1"}
                    for c in (1, 2)]
        if i % 7 == 0:
            changes.append({"domain": domain, "question": "monitoring", "old": "not_stated", "new": v["monitoring"],
                            "crawl_id": 2, "at": "2026-11-20T10:05:00Z", "evidence": QUOTES["monitoring"][0]})
        pages += [{"url": f"http://{domain}/{p}", "domain": domain, "crawl_id": 2, "status": 200,
                   "title": f"{name} {p}", "text": FILLER * 8 + " ".join(QUOTES[q][0] for q in QUESTIONS[:4])}
                  for p in ("", "about/")]
    for table, data, pk in [("sites", sites, "domain"), ("clinics", rows, "domain"),
                            ("verdicts", verdicts, ("domain", "question")), ("evidence", evidence, "id"),
                            ("score_history", history, "id"), ("changes", changes, "id"), ("pages", pages, "url")]:
        db[table].insert_all(data, pk=pk, batch_size=1000)
    db["crawls"].insert_all([{"id": c, "kind": "crawl", "status": "ok"} for c in (1, 2)], pk="id")
    publish(db)
    db.conn.close()


def serve(db_path: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(datasette_command(str(db_path), port), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"datasette exited: {proc.stderr.read()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/-/versions.json")
            conn.getresponse().read()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("datasette did not start within 60 s")


def pages_to_time(db: str, domains: list[str], place: dict) -> dict[str, list[str]]:
    q = urllib.parse.urlencode
    return {
        "plain table page (sites)": [f"/{db}/sites"],
        "plain row page (sites)": [f"/{db}/sites/{tilde_encode(d)}" for d in domains],
        "clinics table": [f"/{db}/clinics"],
        "facet: clinics?state=..": [f"/{db}/clinics?{q({'state': place['state']})}"],
        "search: clinics?_search=city": [f"/{db}/clinics?{q({'_search': place['city']})}"],
        "near me: clinics_near_zip": [f"/{db}/clinics_near_zip?{q({'zip': place['zip'], 'miles': 50})}"],
        "scorecard (clinics row)": [f"/{db}/clinics/{tilde_encode(d)}" for d in domains],
    }


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of a running process, in MB, from /proc; None where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def sample_targets(db_path: Path) -> tuple[int, list[str], dict]:
    """Clinic count, 50 random domains and one clinic's place (city, state, zip) to build URLs from."""
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        n = conn.execute("select count(*) from clinics").fetchone()[0]
        domains = [r[0] for r in conn.execute("select domain from clinics order by random() limit 50")]
        city, state, zip_code = conn.execute("select city, state, zip from clinics where state = 'OH' "
                                             "union all select city, state, zip from clinics limit 1").fetchone()
    return n, domains, {"city": city, "state": state, "zip": zip_code}


def time_pages(db_path: Path, requests: int) -> dict:
    """Serve db_path as `clinicvet serve` does and time every page; returns clinics, per-page ms, serve peak RSS."""
    n, domains, place = sample_targets(db_path)
    proc, port = serve(db_path)
    try:
        urls = pages_to_time(db_path.stem, domains, place)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def get(path: str) -> float:
            t0 = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response_body = response.read()
            elapsed = time.perf_counter() - t0
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}: {response_body[:300]!r}")
            return elapsed * 1000

        for paths in urls.values():  # warm caches and connections
            for path in paths[:5]:
                get(path)
        timings = {name: [] for name in urls}
        for i in range(requests):
            for name, paths in urls.items():
                timings[name].append(get(paths[i % len(paths)]))
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    return {"clinics": n, "requests": requests, "serve_peak_rss_mb": rss, "ms": timings}


def summarize(timings: dict[str, list[float]]) -> dict[str, dict]:
    """p50 and p95 in ms per page."""
    return {name: {"p50": statistics.median(v), "p95": statistics.quantiles(v, n=100)[94]}
            for name, v in timings.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clinics", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=200, help="timed requests per page")
    ap.add_argument("--db", help="reuse (or keep) the synthetic database at this path")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="datasette-bench-")
    db_path = Path(args.db) if args.db else Path(tmp.name) / "bench.db"
    if not db_path.exists():
        t0 = time.perf_counter()
        build_db(db_path, args.clinics)
        print(f"built {db_path.name}: {args.clinics} clinics in {time.perf_counter() - t0:.1f} s")
    result = time_pages(db_path, args.requests)
    stats = summarize(result["ms"])

    print(f"\nDatasette {result['clinics']:,} clinics, {args.requests} requests a page, 127.0.0.1, suggest_facets off")
    print(f"{'page':34} {'p50 ms':>8} {'p95 ms':>8}")
    for name, cut in stats.items():
        print(f"{name:34} {cut['p50']:8.1f} {cut['p95']:8.1f}")
    card = stats["scorecard (clinics row)"]["p95"]
    print(f"\nscorecard p95 / plain table page p95: {card / stats['plain table page (sites)']['p95']:.2f}x "
          "(target <= 1.5x)")
    print(f"scorecard p95 / plain row page p95:   {card / stats['plain row page (sites)']['p95']:.2f}x")
    if result["serve_peak_rss_mb"]:
        print(f"datasette peak RSS: {result['serve_peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
