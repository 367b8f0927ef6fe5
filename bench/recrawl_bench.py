"""Recrawl an unchanged generated web; print bytes and time of the recrawl as a ratio of the first crawl.

Bytes are counted on the wire by the local web server (status lines, headers and bodies it sends).
Usage: python bench/recrawl_bench.py [--sites 300] [--pages 12] [--repeat 3] [--polite]
"""
from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.webgen import generate  # noqa: E402
from clinicvet.demo.server import SiteHandler, SiteServer  # noqa: E402

BIN = Path(sys.executable).parent
_REGISTRY = None


def registry_url() -> str:
    """A local NPI registry replay holding nobody, started once: run and recrawl include verify, and a
    benchmark must never send the generated clinics' names to the real registry."""
    global _REGISTRY
    if _REGISTRY is None:
        from clinicvet.demo.registry import start_registry

        _REGISTRY = start_registry([])
    return _REGISTRY.url


class CountingHandler(SiteHandler):
    """A SiteHandler that adds every byte it sends to the server's counter."""

    def setup(self):
        super().setup()
        raw = self.wfile
        server = self.server

        class Counter:
            def write(self, data):
                with server.lock:
                    server.bytes_sent += len(data)
                return raw.write(data)

            def __getattr__(self, name):
                return getattr(raw, name)

        self.wfile = Counter()


def serve(root: Path) -> SiteServer:
    server = SiteServer(root, 0, handler=CountingHandler)
    server.bytes_sent, server.lock = 0, threading.Lock()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(command: str, seeds: Path, db: Path, server: SiteServer, extra: list[str]) -> dict:
    server.bytes_sent = 0
    env = {**os.environ, "http_proxy": server.url, "no_proxy": "", "CLINICVET_NPI_URL": registry_url()}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "clinicvet"), command, "--seeds", str(seeds), "--db", str(db), "--silent", *extra],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    if proc.returncode != 0:
        raise SystemExit(f"clinicvet {command} failed:\n{proc.stderr[-3000:]}")
    with sqlite3.connect(db) as conn:
        fetched, unchanged = conn.execute(
            "SELECT pages_fetched, not_modified FROM crawls ORDER BY id DESC LIMIT 1").fetchone()
    return {"seconds": seconds, "cpu": cpu, "bytes": server.bytes_sent, "fetched": fetched, "unchanged": unchanged}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3, help="first run + recrawl pairs, each on a fresh database")
    parser.add_argument("--polite", action="store_true", help="use the shipped per-site delay instead of --delay 0")
    args = parser.parse_args()
    extra = [] if args.polite else ["--delay", "0"]
    pairs = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seeds = generate(tmp, args.sites, args.pages)
        server = serve(tmp / "sites")
        for i in range(args.repeat):
            db = tmp / f"bench{i}.db"
            pairs.append((run("run", seeds, db, server, extra), run("recrawl", seeds, db, server, extra)))
        server.shutdown()
    mode = "polite (shipped delay)" if args.polite else "throttling off (--delay 0)"
    print(f"recrawl bench: {args.sites} sites x {args.pages} pages, unchanged web, {mode}, "
          f"{args.repeat} runs on fresh databases")
    for first, again in pairs:
        print(f"  first crawl+score+publish: {first['fetched']} pages, {first['bytes'] / 1e6:.2f} MB on the wire, "
              f"{first['seconds']:.1f} s;  recrawl: {again['fetched']} pages new, {again['unchanged']} unchanged, "
              f"{again['bytes'] / 1e6:.2f} MB, {again['seconds']:.1f} s;  time {again['seconds'] / first['seconds']:.1%}")
    ratios = sorted((again["bytes"] / first["bytes"], again["seconds"] / first["seconds"]) for first, again in pairs)
    times = sorted(t for _, t in ratios)
    print(f"  ratio: bytes {ratios[len(ratios) // 2][0]:.1%} (target <= 5%), "
          f"time {times[len(times) // 2]:.1%} median of {len(times)} (target <= 25%; "
          f"range {times[0]:.1%}-{times[-1]:.1%})")
    # CPU time of the clinicvet process (not the server's) is steadier than wall time on a shared machine.
    cpus = sorted(again["cpu"] / first["cpu"] for first, again in pairs)
    print(f"  CPU time of the clinicvet process: recrawl {cpus[len(cpus) // 2]:.1%} of the first run, median "
          f"(range {cpus[0]:.1%}-{cpus[-1]:.1%})")


if __name__ == "__main__":
    main()
