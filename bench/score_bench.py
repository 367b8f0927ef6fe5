"""Benchmark: scoring throughput on stored page text vs lxml parse-only, on the same pages.

Measured: the scorer's work from stored page text (the `pages.text`/`jsonld` columns) to verdicts
and facts: sentence split, boilerplate dedupe, signal + context matching, verdicts, facts. HTML
extraction (crawler/extract.py) is not part of it; it ran at crawl time. The baseline is
`lxml.html.fromstring` over each page's raw HTML, nothing more.
Usage: .venv/bin/python bench/score_bench.py [--pages 2000] [--corpus ../shared/corpus]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.corpus import load_corpus_pages  # noqa: E402
from scoring.run import default_rubric, score_site  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus"))
    args = ap.parse_args()
    corpus = Path(args.corpus)
    sites = load_corpus_pages(corpus)
    html = [f.read_bytes() for d in sorted((corpus / "sites").iterdir()) if d.is_dir()
            for f in sorted(d.rglob("*.html"))]
    n_corpus = sum(len(p) for p in sites.values())
    rounds = max(1, round(args.pages / n_corpus))
    default_rubric()  # load + compile once, outside the timing

    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for pages in sites.values():
            score_site(pages)
    score_s, score_cpu = time.perf_counter() - t0, time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for doc in html:
            lxml.html.fromstring(doc)
    parse_s, parse_cpu = time.perf_counter() - t0, time.process_time() - c0

    pages = rounds * n_corpus
    score_rate, parse_rate = pages / score_s, rounds * len(html) / parse_s
    print("measured: score_site() once per site per round, from extracted page text to verdicts,")
    print("  evidence and facts; a fresh matcher per site, so no line, sentence or context result")
    print("  is shared between sites or rounds (only the compiled rubric is reused)")
    print(f"corpus: {len(sites)} sites, {n_corpus} pages, repeated {rounds}x = {pages} pages")
    print(f"scoring (stored text -> verdicts + facts): {score_rate:8.0f} pages/s ({score_s:.2f} s)")
    print(f"lxml.html.fromstring parse only:          {parse_rate:8.0f} pages/s ({parse_s:.2f} s)")
    # CPU time is steadier than wall time on a shared machine.
    print(f"CPU per round: scoring {1000 * score_cpu / rounds:.1f} ms, parse {1000 * parse_cpu / rounds:.1f} ms"
          f" (CPU ratio {parse_cpu / score_cpu:.2f})")
    print(f"scoring / parse-only speed ratio: {score_rate / parse_rate:.2f} (target >= 0.50)")


if __name__ == "__main__":
    main()
