"""Run one crawl of a list of seeds into the database: bookkeeping, resume, and the Scrapy process."""
from __future__ import annotations

import fcntl
import gc
import os
import time
from contextlib import contextmanager
from datetime import timedelta
from dataclasses import dataclass, field
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from clinicvet.db import now, open_db
from clinicvet.seeds import Seed
from crawler.spiders.clinic import ClinicSpider


class LockedError(RuntimeError):
    """Another clinicvet run holds the database."""


@dataclass
class CrawlSummary:
    crawl_id: int
    status: str
    sites: int
    sites_skipped: int
    pages_fetched: int
    errors: int
    duration_s: float
    not_modified: int = 0
    failed_sites: list = field(default_factory=list)
    changed_domains: list = field(default_factory=list)
    resumed: bool = False
    dead_links_skipped: int = 0


@contextmanager
def db_lock(db_path: str | Path):
    """Hold an exclusive lock beside the database for as long as the block runs."""
    lock_path = Path(f"{db_path}.lock")
    try:
        handle = open(lock_path, "a+")
    except OSError as exc:
        raise LockedError(f"{lock_path}: cannot create the lock file beside the database: {exc.strerror}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise LockedError(f"{db_path}: another clinicvet crawl is running on this database (pid {holder}); try again when it ends") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def register_seeds(db, seeds: list[Seed]) -> None:
    """Add new sites and refresh name/place of known ones; never removes a site."""
    stamp = now()
    existing = {row["domain"] for row in db.query("SELECT domain FROM sites")}
    rows = [{"domain": s.domain, "name": s.name, "seed_url": s.url, "city": s.city or None,
             "state": s.state or None, "updated_at": stamp} for s in seeds]
    new = [{**r, "added_at": stamp, "status": "new", "failed_crawls": 0} for r in rows if r["domain"] not in existing]
    with db.conn:
        db["sites"].upsert_all(rows, pk="domain")
        if new:
            db["sites"].upsert_all(new, pk="domain")


def begin_crawl(db, kind: str, seeds_file: str, seeds: list[Seed]) -> tuple[int, set, bool]:
    """Start a crawl row, or resume the one a kill left running: (crawl id, domains already done, resumed)."""
    with db.conn:
        left = list(db.query("SELECT id, kind FROM crawls WHERE status = 'running' ORDER BY id DESC"))
        for row in left[1:]:
            db.execute("UPDATE crawls SET status = 'interrupted' WHERE id = ?", [row["id"]])
        if left and left[0]["kind"] == kind:
            crawl_id = left[0]["id"]
            domains = [s.domain for s in seeds]
            done = {r["domain"] for r in db.query(
                f"SELECT domain FROM sites WHERE last_crawl_id = ? AND domain IN ({','.join('?' * len(domains))})",
                [crawl_id, *domains])}
            return crawl_id, done, True
        if left:
            db.execute("UPDATE crawls SET status = 'interrupted' WHERE id = ?", [left[0]["id"]])
        crawl_id = db["crawls"].insert({"kind": kind, "started_at": now(), "status": "running",
                                        "seeds_file": seeds_file, "sites": len(seeds), "pages_fetched": 0,
                                        "not_modified": 0, "errors": 0, "bytes_fetched": 0}).last_pk
    return crawl_id, set(), False


def known_pages(db, seeds: list[Seed]) -> dict:
    """Pages stored for these sites, with what a conditional request and link walk need."""
    domains = [s.domain for s in seeds]
    known = {}
    for start in range(0, len(domains), 500):
        chunk = domains[start:start + 500]
        for row in db.query(
                "SELECT url, domain, etag, last_modified, content_hash, links, depth, gone_at FROM pages "
                f"WHERE status = 200 AND domain IN ({','.join('?' * len(chunk))})", chunk):
            known[row["url"]] = row
    return known


def dead_links(db, seeds: list[Seed], known: dict, days: float) -> set:
    """Links of these sites whose last answer, less than `days` days ago, was 404 or 410, and that are not
    stored pages: a recrawl does not ask them again until then."""
    if days <= 0:
        return set()
    cutoff = now(timedelta(days=days))
    domains = {s.domain for s in seeds}
    last = {}  # url -> status of its newest failure since the cutoff (a 200 makes it a stored page)
    for row in db.query("SELECT url, domain, status FROM fetch_log WHERE at >= ? ORDER BY id", [cutoff]):
        if row["domain"] in domains:
            last[row["url"]] = row["status"]
    return {url for url, status in last.items() if status in (404, 410) and url not in known}


@contextmanager
def crawl_gc():
    """Garbage-collect less often while Scrapy runs. It makes and drops several objects a request, and
    at Python's default thresholds the collector re-scanned the long-lived heap (modules, the known
    pages) so often that it took an eighth of a recrawl's CPU; frozen, that heap is skipped."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def crawler_settings(db_path, crawl_id: int, overrides: dict | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("CLINICVET_DB", str(db_path), priority="cmdline")
    settings.set("CLINICVET_CRAWL_ID", crawl_id, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_crawl(db_path: str | Path, seeds: list[Seed], seeds_file: str = "", kind: str = "crawl",
              overrides: dict | None = None, progress=None) -> CrawlSummary:
    """Crawl every seed site into db_path; resumes an interrupted crawl of the same kind."""
    started = time.monotonic()
    with db_lock(db_path):
        db = open_db(db_path)
        register_seeds(db, seeds)
        crawl_id, done, resumed = begin_crawl(db, kind, seeds_file, seeds)
        known = known_pages(db, seeds) if kind == "recrawl" else {}
        no_sitemap = {r["domain"] for r in db.query("SELECT domain FROM sites WHERE has_sitemap = 0")} if known else set()
        settings = crawler_settings(db_path, crawl_id, overrides)
        dead = dead_links(db, seeds, known, settings.getfloat("CLINICVET_DEAD_LINK_DAYS")) if known else set()
        with crawl_gc():  # from here on: Scrapy imports its download handlers when the crawler starts
            process = CrawlerProcess(settings)
            crawler = process.create_crawler(ClinicSpider)
            process.crawl(crawler, seeds=seeds, skip_domains=done, progress=progress, known=known,
                          no_sitemap=no_sitemap, dead=dead)
            process.start()
        reason = crawler.stats.get_value("finish_reason") or "unknown"
        skipped_now = crawler.spider.totals["dead_skipped"] if crawler.spider else 0
        status = "ok" if reason == "finished" else "interrupted"
        crawled = [s.domain for s in seeds if s.domain not in done]
        failed = [dict(r) for r in db.query(
            f"SELECT domain, status_reason FROM sites WHERE last_crawl_id = ? AND failed_crawls > 0 "
            f"AND domain IN ({','.join('?' * len(crawled))})", [crawl_id, *crawled])] if crawled else []
        if status == "ok" and crawled and len(failed) == len(crawled):
            status = "failed"
        totals = next(db.query("SELECT pages_fetched, not_modified, errors FROM crawls WHERE id = ?", [crawl_id]))
        changed = [r["domain"] for r in db.query(
            "SELECT domain FROM sites WHERE last_changed_crawl_id = ?", [crawl_id])]
        duration = time.monotonic() - started
        with db.conn:
            db.execute("UPDATE crawls SET status = ?, finished_at = ?, duration_s = COALESCE(duration_s, 0) + ?, "
                       "message = ?, dead_links_skipped = COALESCE(dead_links_skipped, 0) + ? WHERE id = ?",
                       [status, now(), round(duration, 3), f"finish reason: {reason}", skipped_now, crawl_id])
        # A resumed crawl adds to what the killed run had counted.
        skipped = next(db.query("SELECT dead_links_skipped FROM crawls WHERE id = ?", [crawl_id]))["dead_links_skipped"]
        db.conn.close()
    return CrawlSummary(crawl_id=crawl_id, status=status, sites=len(seeds), sites_skipped=len(done),
                        pages_fetched=totals["pages_fetched"] or 0, not_modified=totals["not_modified"] or 0,
                        errors=totals["errors"] or 0, duration_s=duration, failed_sites=failed,
                        changed_domains=changed, resumed=resumed, dead_links_skipped=skipped or 0)
