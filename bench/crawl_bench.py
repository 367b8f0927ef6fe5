"""Crawl a generated web of clinic sites on 127.0.0.1; print pages/s and peak memory beside `scrapy bench`.

Usage: python bench/crawl_bench.py [--sites 300] [--pages 12]
"""
from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.webgen import generate  # noqa: E402
from clinicvet.demo.server import start_in_thread  # noqa: E402

BIN = Path(sys.executable).parent


def run_child(cmd: list[str], env: dict, cwd: str | None = None) -> dict:
    """Run cmd; return wall seconds, the child's peak RSS (MB) and CPU seconds, and its output."""
    script = ("import resource,subprocess,sys;p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
              "sys.stderr.write(p.stderr+p.stdout);u=resource.getrusage(resource.RUSAGE_CHILDREN);"
              "print(u.ru_maxrss,u.ru_utime+u.ru_stime,file=sys.stderr);sys.exit(p.returncode)")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script, *cmd], env=env, capture_output=True, text=True, cwd=cwd)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    *lines, usage = proc.stderr.strip().splitlines()
    rss, cpu = usage.split()
    return {"seconds": seconds, "peak_rss_mb": int(rss) // 1024, "cpu_s": float(cpu), "output": "\n".join(lines)}


def run_measured(cmd: list[str], env: dict, cwd: str | None = None) -> tuple[float, int, str]:
    """Run cmd; return (seconds, peak RSS in MB of the child, stderr)."""
    run = run_child(cmd, env, cwd)
    return run["seconds"], run["peak_rss_mb"], run["output"]


def crawl(seeds: Path, db: Path, proxy: str, extra: list[str]) -> dict:
    """`clinicvet crawl` through the local web at proxy; seconds, pages, pages/s, peak RSS, CPU, bytes stored."""
    env = {**os.environ, "http_proxy": proxy, "no_proxy": ""}
    run = run_child([str(BIN / "clinicvet"), "crawl", "--seeds", str(seeds), "--db", str(db), "--silent", *extra], env)
    with sqlite3.connect(db) as conn:
        pages, bytes_ = conn.execute("SELECT count(*), sum(bytes) FROM pages").fetchone()
    return {"seconds": run["seconds"], "pages": pages, "pages_per_s": pages / run["seconds"],
            "peak_rss_mb": run["peak_rss_mb"], "cpu_s": run["cpu_s"], "bytes": bytes_}


def scrapy_bench() -> float:
    """Pages/s of Scrapy's own benchmark spider (run outside this project so its settings don't apply)."""
    with tempfile.TemporaryDirectory() as cwd:
        _, _, output = run_measured([str(BIN / "scrapy"), "bench", "-s", "LOG_LEVEL=INFO", "-s", "CLOSESPIDER_TIMEOUT=10"],
                                    dict(os.environ), cwd=cwd)
    rates = [int(m) for m in re.findall(r"at (\d+) pages/min", output)][1:]  # the first minute-rate is warm-up
    return sum(rates) / len(rates) / 60 if rates else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--polite", action="store_true", help="also crawl with the shipped 1 s per-site delay")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seeds = generate(tmp, args.sites, args.pages)
        web = start_in_thread(tmp / "sites")
        fast = crawl(seeds, tmp / "fast.db", web.url, ["--delay", "0"])
        polite = crawl(seeds, tmp / "polite.db", web.url, []) if args.polite else None
        web.shutdown()
    reference = scrapy_bench()
    print(f"crawl bench: {args.sites} sites x {args.pages} pages on 127.0.0.1 (2-core machine)")
    print(f"  clinicvet crawl, no delay : {fast['pages']} pages in {fast['seconds']:.1f} s = "
          f"{fast['pages_per_s']:.0f} pages/s, peak RSS {fast['peak_rss_mb']} MB")
    if polite:
        print(f"  clinicvet crawl, polite   : {polite['pages']} pages in {polite['seconds']:.1f} s = "
              f"{polite['pages_per_s']:.0f} pages/s, peak RSS {polite['peak_rss_mb']} MB")
    print(f"  scrapy bench (reference)  : {reference:.0f} pages/s")


if __name__ == "__main__":
    main()
