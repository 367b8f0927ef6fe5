"""Batched writes of crawled pages, fetch errors and per-site health into SQLite."""
from __future__ import annotations

import dataclasses

from clinicvet.db import now, open_db
from crawler.items import FetchErrorItem, GoneItem, NotModifiedItem, PageItem, SiteDoneItem


class SQLitePipeline:
    """Buffer items and write them in transactions; a kill loses at most the open batch."""

    def __init__(self, db_path: str, crawl_id: int, batch_size: int, unreachable_after: int):
        self.db_path = db_path
        self.crawl_id = crawl_id
        self.batch_size = batch_size
        self.unreachable_after = unreachable_after
        self.pages: list[dict] = []
        self.errors: list[dict] = []
        self.back: list[tuple] = []  # (at, url) of gone pages that answered again
        self.gone: list[tuple] = []
        self.counts = {"pages_fetched": 0, "not_modified": 0, "errors": 0, "bytes_fetched": 0}

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(s.get("CLINICVET_DB"), s.getint("CLINICVET_CRAWL_ID"), s.getint("CLINICVET_BATCH_SIZE", 200),
                   s.getint("CLINICVET_UNREACHABLE_AFTER", 3))

    def open_spider(self, spider=None):
        self.db = open_db(self.db_path)
        # A resumed crawl goes on counting from where the killed run left its row.
        row = next(self.db.query("SELECT pages_fetched, not_modified, errors, bytes_fetched FROM crawls WHERE id = ?",
                                 [self.crawl_id]), None)
        if row:
            self.counts = {key: row[key] or 0 for key in self.counts}

    def process_item(self, item, spider=None):
        if isinstance(item, PageItem):
            row = dataclasses.asdict(item)
            row.update(crawl_id=self.crawl_id, checked_at=row["fetched_at"], gone_at=None)
            self.pages.append(row)
            self.counts["pages_fetched"] += 1
            self.counts["bytes_fetched"] += item.bytes
        elif isinstance(item, FetchErrorItem):
            self.errors.append({**dataclasses.asdict(item), "crawl_id": self.crawl_id})
            self.counts["errors"] += 1
        elif isinstance(item, NotModifiedItem):
            self.back.append((item.at, item.url))
        elif isinstance(item, GoneItem):
            self.gone.append((item.at, item.at, item.url))
        elif isinstance(item, SiteDoneItem):
            self.counts["not_modified"] += item.unchanged
            self.flush()
            self.finish_site(item)
        if len(self.pages) + len(self.errors) + len(self.back) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        """Write buffered pages and errors, and the crawl's counters, in one transaction."""
        with self.db.conn:
            if self.pages:
                self.db["pages"].upsert_all(self.pages, pk="url", batch_size=500)
                self.db.execute("UPDATE pages SET first_seen_at = fetched_at WHERE first_seen_at IS NULL")
            if self.errors:
                self.db["fetch_log"].insert_all(self.errors, batch_size=500)
            if self.back:
                self.db.conn.executemany("UPDATE pages SET checked_at = ?, gone_at = NULL WHERE url = ?", self.back)
            if self.gone:
                self.db.conn.executemany("UPDATE pages SET checked_at = ?, gone_at = COALESCE(gone_at, ?) WHERE url = ?",
                                         self.gone)
            self.db.execute(
                "UPDATE crawls SET pages_fetched = ?, not_modified = ?, errors = ?, bytes_fetched = ? WHERE id = ?",
                [self.counts["pages_fetched"], self.counts["not_modified"], self.counts["errors"],
                 self.counts["bytes_fetched"], self.crawl_id])
        self.pages, self.errors, self.back, self.gone = [], [], [], []

    def finish_site(self, item: SiteDoneItem) -> None:
        """Record a site's health; a site with no good page keeps the pages it had."""
        stamp = now()
        with self.db.conn:
            if item.pages:
                self.db.execute(
                    "UPDATE sites SET status = 'ok', status_reason = NULL, stale_since = NULL, failed_crawls = 0, "
                    "last_success_at = ?, last_crawl_id = ?, updated_at = ?, "
                    "last_changed_crawl_id = CASE WHEN ? THEN ? ELSE last_changed_crawl_id END, "
                    "has_sitemap = COALESCE(?, has_sitemap) WHERE domain = ?",
                    [stamp, self.crawl_id, stamp, item.changed > 0, self.crawl_id,
                     None if item.has_sitemap is None else int(item.has_sitemap), item.domain])
            else:
                reason = "; ".join(item.reasons) or "no page could be fetched"
                self.db.execute(
                    "UPDATE sites SET failed_crawls = COALESCE(failed_crawls, 0) + 1, "
                    "status = CASE WHEN COALESCE(failed_crawls, 0) + 1 >= ? THEN 'unreachable' ELSE 'stale' END, "
                    "status_reason = ?, stale_since = COALESCE(stale_since, ?), last_crawl_id = ?, updated_at = ? "
                    "WHERE domain = ?",
                    [self.unreachable_after, reason[:500], stamp, self.crawl_id, stamp, item.domain])

    def close_spider(self, spider=None):
        self.flush()
        self.db.conn.close()
