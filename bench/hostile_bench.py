"""Crawl the hostile test web (tests/hostile_web.py) and print the crawl's peak memory and time.

Usage: python bench/hostile_bench.py [--max-pages 25] [--timeout 20]
The crawl runs as a subprocess; its peak RSS is resource.getrusage(RUSAGE_CHILDREN).ru_maxrss.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import hostile_web  # noqa: E402

LIMIT_MB = 500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-pages", type=int, default=25, help="pages per site (the crawler's default)")
    parser.add_argument("--timeout", type=float, default=5, help="seconds per page (the slow host waits this)")
    args = parser.parse_args()
    web = hostile_web.start_in_thread()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(http_proxy=web.url, https_proxy=web.url, no_proxy="")
    with tempfile.TemporaryDirectory() as tmp:
        seeds = hostile_web.write_seeds(Path(tmp) / "seeds.csv")
        cmd = [str(Path(sys.executable).parent / "clinicvet"), "crawl", "--seeds", str(seeds),
               "--db", str(Path(tmp) / "hostile.db"), "--delay", "0", "--max-pages", str(args.max_pages),
               "--timeout", str(args.timeout), "--silent"]
        started = time.perf_counter()
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        seconds = time.perf_counter() - started
    web.shutdown()
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = next((line for line in result.stderr.splitlines() if line.startswith("crawl ")), "no summary line")
    print(f"hostile web: {len(hostile_web.CASES)} hosts, exit {result.returncode}, {seconds:.1f} s; {summary}")
    print(f"peak RSS of the crawl: {peak_mb:.0f} MB (limit {LIMIT_MB} MB)")
    return 0 if result.returncode == 0 and peak_mb < LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
