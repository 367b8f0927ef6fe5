"""The whole pipeline at directory scale, measured side by side in one run (`make bench`).

Generates a synthetic web of clinic sites (bench/webgen.py) served on 127.0.0.1, then measures:
crawl with throttling off and as shipped (optionally on a subset: the shipped delay is slow by design),
`scrapy bench` as a reference, scoring beside lxml parse-only on the same stored HTML, publish,
a recrawl of the unchanged web, and Datasette pages at 10,000 synthetic clinics; with peak memory
of crawl, score and serve. Prints a markdown table, writes bench/results/latest.json (and a dated
copy) and docs/benchmarks.md.
Usage: .venv/bin/python bench/run_all.py [--sites 1000] [--pages 12] [--polite-sites 200]
       [--clinics 10000] [--requests 100] [--doc docs/benchmarks.md | --doc '']
"""
from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import lxml.html  # noqa: E402

from bench import crawl_bench, datasette_bench, recrawl_bench, verify_bench  # noqa: E402
from bench.webgen import generate  # noqa: E402
from crawler import settings as shipped  # noqa: E402
from crawler.extract import extract_page  # noqa: E402
from scoring.run import _site_pages, default_rubric, score_site  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"


def log(message: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:6.0f} s] {message}", file=sys.stderr, flush=True)


def subset_seeds(seeds: Path, n: int, out: Path) -> Path:
    """The first n rows of a seeds file."""
    rows = list(csv.reader(seeds.open()))
    with out.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows[: n + 1])
    return out


def clicmd(*args: str) -> list[str]:
    return [str(BIN / "clinicvet"), *args]


def db_size_mb(db: Path) -> float:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file()) / 1e6


def score_and_parse(db: Path) -> dict:
    """In-process: score_site over every site's stored text, lxml parse-only and crawl-time extraction
    over the same pages' stored HTML (pages.html_gz, decompressed outside the timing)."""
    import sqlite_utils

    conn = sqlite_utils.Database(db)
    domains = [r["domain"] for r in conn.query("select domain from sites order by domain")]
    sites = {d: _site_pages(conn, d) for d in domains}
    html = [(r["url"], gzip.decompress(r["html_gz"])) for r in conn.query(
        "select url, html_gz from pages where status = 200 and gone_at is null and text is not null "
        "and html_gz is not null order by url")]
    conn.conn.close()
    default_rubric()
    t0 = time.perf_counter()
    for pages in sites.values():
        score_site(pages)
    score_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _, body in html:
        lxml.html.fromstring(body)
    parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for url, body in html:
        extract_page(body, url)
    extract_s = time.perf_counter() - t0
    n_pages = sum(len(p) for p in sites.values())
    return {"pages": n_pages, "html_pages": len(html), "score_s": score_s, "score_pages_per_s": n_pages / score_s,
            "lxml_s": parse_s, "lxml_pages_per_s": len(html) / parse_s,
            "extract_s": extract_s, "extract_pages_per_s": len(html) / extract_s,
            "mean_html_kb": sum(len(b) for _, b in html) / len(html) / 1024}


def measure(args: argparse.Namespace, tmp: Path, started: float) -> dict:
    r: dict = {"config": {"sites": args.sites, "pages_per_site": args.pages, "polite_sites": args.polite_sites,
                          "clinics": args.clinics, "requests": args.requests,
                          "download_delay_s": shipped.DOWNLOAD_DELAY, "autothrottle": shipped.AUTOTHROTTLE_ENABLED,
                          "randomize_delay": getattr(shipped, "RANDOMIZE_DOWNLOAD_DELAY", True),
                          "concurrent_requests": shipped.CONCURRENT_REQUESTS,
                          "concurrent_per_domain": shipped.CONCURRENT_REQUESTS_PER_DOMAIN}}
    seeds = generate(tmp / "web", args.sites, args.pages)
    files = list((tmp / "web" / "sites").rglob("*.html"))
    r["web"] = {"sites": args.sites, "html_files": len(files),
                "html_mb": sum(f.stat().st_size for f in files) / 1e6}
    log(f"generated {args.sites} sites, {len(files)} pages", started)
    server = recrawl_bench.serve(tmp / "web" / "sites")
    db = tmp / "crawl.db"
    try:
        server.bytes_sent = 0
        r["crawl_fast"] = crawl_bench.crawl(seeds, db, server.url, ["--delay", "0"])
        r["crawl_fast"]["wire_bytes"] = server.bytes_sent
        log(f"crawl --delay 0: {r['crawl_fast']['seconds']:.0f} s", started)

        run = crawl_bench.run_child(clicmd("score", "--db", str(db)), dict(os.environ))
        r["score_cli"] = {k: run[k] for k in ("seconds", "peak_rss_mb", "cpu_s")}
        log(f"clinicvet score: {run['seconds']:.0f} s", started)
        r["score_inproc"] = score_and_parse(db)
        r["score_cli"]["pages"] = r["score_inproc"]["pages"]
        r["score_cli"]["pages_per_s"] = r["score_inproc"]["pages"] / run["seconds"]
        log("score_site / lxml / extract timed", started)

        before = db_size_mb(db)
        run = crawl_bench.run_child(clicmd("publish", "--db", str(db)), dict(os.environ))
        r["publish"] = {"seconds": run["seconds"], "peak_rss_mb": run["peak_rss_mb"],
                        "db_mb_before": before, "db_mb": db_size_mb(db)}
        log(f"clinicvet publish: {run['seconds']:.0f} s", started)

        r["recrawl"] = recrawl_bench.run("recrawl", seeds, db, server, ["--delay", "0"])
        log(f"clinicvet recrawl: {r['recrawl']['seconds']:.0f} s", started)

        polite_sites = min(args.polite_sites or args.sites, args.sites)
        polite_seeds = subset_seeds(seeds, polite_sites, tmp / "polite-seeds.csv")
        r["crawl_polite"] = crawl_bench.crawl(polite_seeds, tmp / "polite.db", server.url, [])
        r["crawl_polite"]["sites"] = polite_sites
        log(f"polite crawl: {r['crawl_polite']['seconds']:.0f} s", started)
    finally:
        server.shutdown()

    r["verify"] = verify_bench.run(tmp, args.sites)
    log(f"clinicvet verify: {r['verify']['first']['seconds']:.0f} s", started)

    r["scrapy_bench_pages_per_s"] = crawl_bench.scrapy_bench()
    log("scrapy bench done", started)

    ds_db = tmp / "directory.db"
    t0 = time.perf_counter()
    datasette_bench.build_db(ds_db, args.clinics)
    build_s = time.perf_counter() - t0
    result = datasette_bench.time_pages(ds_db, args.requests)
    r["datasette"] = {"clinics": result["clinics"], "requests": result["requests"], "build_s": build_s,
                      "db_mb": db_size_mb(ds_db), "serve_peak_rss_mb": result["serve_peak_rss_mb"],
                      "pages": datasette_bench.summarize(result["ms"])}
    log("datasette timed", started)
    return r


def fmt_mb(b: float) -> str:
    return f"{b / 1e6:,.1f} MB"


def tables(r: dict) -> str:
    """The results as markdown: pipeline stages, then Datasette pages."""
    c, fast, polite = r["config"], r["crawl_fast"], r["crawl_polite"]
    sc, sp, pub, re_ = r["score_cli"], r["score_inproc"], r["publish"], r["recrawl"]
    delay = c["download_delay_s"]
    floor = c["pages_per_site"] * delay
    first_pipeline = fast["seconds"] + sc["seconds"] + pub["seconds"]
    rows = [
        ("crawl, throttling off (`--delay 0`)", f"{c['sites']:,} sites, {fast['pages']:,} pages",
         f"**{fast['pages_per_s']:.0f} pages/s**, {fast['seconds']:.0f} s wall",
         f"peak RSS {fast['peak_rss_mb']} MB; CPU {fast['cpu_s']:.0f} s "
         f"({1000 * fast['cpu_s'] / fast['pages']:.1f} ms/page); {fmt_mb(fast['wire_bytes'])} on the wire"),
        ("crawl, polite as shipped", (f"{polite['sites']:,}-site subset" if polite["sites"] < c["sites"] else
                                      f"{polite['sites']:,} sites") + f", {polite['pages']:,} pages",
         f"**{polite['pages_per_s']:.1f} pages/s**, {polite['seconds']:.0f} s wall",
         f"{polite['seconds'] / floor:.1f}x the per-site floor ({c['pages_per_site']} pages x {delay:g} s = "
         f"{floor:.0f} s); about {polite['pages_per_s'] * delay:.0f} sites fetched in parallel "
         f"(pages/s x delay); peak RSS {polite['peak_rss_mb']} MB"),
        ("`scrapy bench` (reference)", "Scrapy's own spider, same machine, same run",
         f"**{r['scrapy_bench_pages_per_s']:.0f} pages/s**", "run from a temp dir, so no project settings"),
        ("score (`clinicvet score`)", f"{sc['pages']:,} stored pages of {c['sites']:,} sites",
         f"**{sc['pages_per_s']:.0f} pages/s**, {sc['seconds']:.1f} s wall",
         f"end to end: process start, reads, verdict/evidence writes; peak RSS {sc['peak_rss_mb']} MB"),
        ("score_site() in process", "same pages, stored text -> verdicts + facts",
         f"**{sp['score_pages_per_s']:.0f} pages/s**, {sp['score_s']:.1f} s",
         f"{sp['score_pages_per_s'] / sp['lxml_pages_per_s']:.2f}x the speed of lxml parse-only"),
        ("lxml.html parse only", f"same pages' stored HTML (pages.html_gz, mean {sp['mean_html_kb']:.0f} KB)",
         f"**{sp['lxml_pages_per_s']:.0f} pages/s**, {sp['lxml_s']:.1f} s", "baseline"),
        ("HTML -> text (crawl time)", "crawler.extract.extract_page on the same HTML",
         f"**{sp['extract_pages_per_s']:.0f} pages/s**, {sp['extract_s']:.1f} s",
         f"{sp['extract_s'] / fast['cpu_s']:.0%} of the no-delay crawl's CPU time"),
        ("publish (`clinicvet publish`)", f"{c['sites']:,} clinics: coordinates, tier order, full-text search",
         f"**{pub['seconds']:.1f} s**", f"database {pub['db_mb_before']:.0f} MB -> {pub['db_mb']:.0f} MB "
         f"(pages keep gzipped HTML); peak RSS {pub['peak_rss_mb']} MB"),
        ("recrawl, unchanged web (`--delay 0`)",
         f"{re_['unchanged']:,} pages unchanged, {re_['fetched']:,} fetched",
         f"**{re_['bytes'] / fast['wire_bytes']:.1%} of the bytes**, "
         f"**{re_['seconds'] / fast['seconds']:.0%} of the time**",
         f"{fmt_mb(re_['bytes'])}, {re_['seconds']:.0f} s vs first crawl {fmt_mb(fast['wire_bytes'])}, "
         f"{fast['seconds']:.0f} s (recrawl includes its re-score + publish; "
         f"{re_['seconds'] / first_pipeline:.0%} of crawl+score+publish)"),
    ]
    if "verify" in r:
        v = r["verify"]
        rows.append(("verify (`clinicvet verify`)", f"{v['sites']:,} clinics, {v['planted']['clinicians']:,} named "
                     "clinicians, NPI registry replay on 127.0.0.1",
                     f"**{v['first']['requests_per_clinic']:.2f} requests/clinic**, {v['first']['seconds']:.1f} s wall",
                     f"{v['first']['ms_per_clinic']:.1f} ms/clinic; again with every answer cached: "
                     f"{v['second']['requests']} requests, {v['second']['seconds']:.1f} s (`bench/verify_bench.py`)"))
    out = ["| stage | measured on | result | notes |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c_} | {d} |" for a, b, c_, d in rows]
    ds = r["datasette"]
    pages = ds["pages"]
    plain = pages["plain table page (sites)"]["p95"]
    out += ["", f"Datasette, {ds['clinics']:,} synthetic clinics ({ds['db_mb']:.0f} MB database), "
            f"{ds['requests']} requests a page over one keep-alive connection, `suggest_facets` off; "
            f"serve peak RSS {ds['serve_peak_rss_mb']:.0f} MB:", "",
            "| page | p50 ms | p95 ms | p95 / plain table p95 |", "|---|---|---|---|"]
    out += [f"| {name} | {v['p50']:.1f} | {v['p95']:.1f} | {v['p95'] / plain:.2f}x |" for name, v in pages.items()]
    out += ["", "Peak memory (RSS): crawl {} MB, score {} MB, publish {} MB, serve {:.0f} MB.".format(
        fast["peak_rss_mb"], sc["peak_rss_mb"], pub["peak_rss_mb"], ds["serve_peak_rss_mb"] or float("nan"))]
    out += ["", f"Where the time goes, per page on one core: the no-delay crawl spends {1000 * fast['cpu_s'] / fast['pages']:.1f} ms "
            f"of CPU, {1000 * sp['extract_s'] / sp['html_pages']:.1f} ms of it turning HTML into text; scoring "
            f"{1000 * sp['score_s'] / sp['pages']:.1f} ms; lxml parse-only {1000 * sp['lxml_s'] / sp['html_pages']:.2f} ms. "
            f"Wall time for {c['sites']:,} sites: crawl {fast['seconds']:.0f} s without delay, "
            f"{polite['seconds'] * c['sites'] / polite['sites']:.0f} s polite"
            + ("" if polite["sites"] >= c["sites"] else " (scaled from the subset)")
            + f"; score {sc['seconds']:.0f} s; publish {pub['seconds']:.0f} s."]
    return "\n".join(out)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    from importlib.metadata import version

    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            **{pkg: version(pkg) for pkg in ("scrapy", "datasette", "lxml", "sqlite-utils")},
            "sqlite": sqlite3.sqlite_version, "commit": git("rev-parse", "--short", "HEAD"),
            "tree_dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def git(*args: str) -> str:
    """Output of a git command in the repository ('' where git is unavailable)."""
    import subprocess

    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def doc(r: dict, table: str) -> str:
    m, when = r["machine"], r["measured_at"]
    randomised = ", randomised 0.5-1.5x by Scrapy" if r["config"]["randomize_delay"] else ""
    polite_scope = (f"all {r['crawl_polite']['sites']:,} sites" if r["crawl_polite"]["sites"] >= r["web"]["sites"]
                    else f"the first {r['crawl_polite']['sites']:,} sites only, to keep `make bench` short")
    return f"""# Benchmarks

Measured {when[:10]} ({when[11:16]} UTC) by `make bench` (`bench/run_all.py`, {r['total_s'] / 60:.1f} min in all)
on a {m['cpus']}-core {m['cpu']}, Python {m['python']}, Scrapy {m['scrapy']}, Datasette {m['datasette']},
lxml {m['lxml']}, SQLite {m['sqlite']}, at commit {m['commit']}{' plus uncommitted changes' if m['tree_dirty'] else ''}.
Raw figures: `bench/results/latest.json` (not committed).

**Noisy figures.** The machine was shared with other engineers running test suites during the run
(load average {r['load'][0]:.1f} at the start, {r['load'][1]:.1f} at the end, on {m['cpus']} cores); treat
differences under ~20% between runs as noise.

What was measured:
- A synthetic web (`bench/webgen.py`) of {r['web']['sites']:,} clinic sites, {r['web']['html_files']:,} HTML pages
  ({r['web']['html_mb']:.0f} MB; up to {r['config']['pages_per_site']} pages a site, sparse sites fewer),
  served from one local threaded server on 127.0.0.1 that the crawler uses as its HTTP proxy. Each
  site is one of nine clinic kinds with its own wording mix, so scoring does real work.
- The polite crawl uses the shipped settings ({r['config']['download_delay_s']:g} s between requests to a
  site{randomised}, AutoThrottle on, {r['config']['concurrent_requests']} requests in
  flight, 1 per site) on {polite_scope}. Its floor is the time one site needs at that delay
  ({r['config']['pages_per_site']} pages x {r['config']['download_delay_s']:g} s); the ratio shows what comes on top: sites
  waiting for one of the {r['config']['concurrent_requests']} request slots, AutoThrottle's back-off, the slowest site's tail.
- Scoring, publish and the recrawl run on the no-delay crawl's database. Datasette pages are timed on a
  separate synthetic directory of {r['datasette']['clinics']:,} clinics built through clinicvet's schema and
  publish step (`bench/datasette_bench.py`), served as `clinicvet serve` serves it.

{table}
"""


# Everything in the doc from this line on is written by hand (targets, paired runs, what was tried)
# and kept when `make bench` rewrites the figures above it.
NOTES_MARKER = "<!-- notes: kept by make bench -->"


def kept_notes(path: Path) -> str:
    """The hand-written notes at the end of an existing doc, from NOTES_MARKER on ("" if none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    at = text.find(NOTES_MARKER)
    return "\n" + text[at:] if at >= 0 else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--pages", type=int, default=12, help="pages per site")
    ap.add_argument("--polite-sites", type=int, default=0,
                    help="sites in the polite (shipped delay) crawl; 0 = all (about 4 min at 1,000 sites)")
    ap.add_argument("--clinics", type=int, default=10_000, help="clinics in the Datasette directory")
    ap.add_argument("--requests", type=int, default=100, help="timed requests per Datasette page")
    ap.add_argument("--doc", default=str(ROOT / "docs" / "benchmarks.md"), help="markdown output ('' for none)")
    args = ap.parse_args()
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="clinicvet-bench-") as tmp:
        results = measure(args, Path(tmp), started)
    results.update(machine=machine(), load=[load_start, os.getloadavg()[0]], total_s=time.perf_counter() - started,
                   measured_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    table = tables(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2)
    (RESULTS / "latest.json").write_text(text)
    (RESULTS / f"{results['measured_at'][:19].replace(':', '')}.json").write_text(text)
    print(table)
    print(f"\ntotal {results['total_s'] / 60:.1f} min; load average {results['load'][0]:.1f} -> "
          f"{results['load'][1]:.1f} on {os.cpu_count()} cores; bench/results/latest.json written")
    if args.doc:
        Path(args.doc).write_text(doc(results, table) + kept_notes(Path(args.doc)))
        print(f"{args.doc} written")


if __name__ == "__main__":
    main()
