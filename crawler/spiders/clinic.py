"""The clinic spider: best-first crawl of each seed site within its page budget."""
from __future__ import annotations

import gzip
import hashlib
import heapq
import itertools
import json
import time
from dataclasses import dataclass, field

import scrapy
from scrapy.downloadermiddlewares.robotstxt import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.sitemap import Sitemap
from twisted.internet.error import ConnectionDone, ConnectionLost, DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.web._newclient import ResponseFailed

from clinicvet.db import now
from clinicvet.seeds import Seed, site_key
from crawler.extract import EXTRACT_VERSION, extract_page
from crawler.items import FetchErrorItem, GoneItem, NotModifiedItem, PageItem, SiteDoneItem
from crawler.links import relevance, same_site, skip_reason
from crawler.middlewares import OffSiteRedirect, RobotsUnavailable

# Requests queued per site at once: enough to keep its download slot busy, few enough that the
# best links found later still go first.
IN_FLIGHT_PER_SITE = 2


@dataclass
class SiteState:
    seed: Seed
    key: str
    seen: set = field(default_factory=set)
    frontier: list = field(default_factory=list)  # heap of (-score, order, url, depth)
    budget_used: int = 0
    in_flight: int = 0
    pages: int = 0
    changed: int = 0
    unchanged: int = 0
    errors: int = 0
    reasons: list = field(default_factory=list)
    refusals: list = field(default_factory=list)
    done: bool = False
    has_sitemap: bool | None = None


def describe_failure(failure) -> tuple[int | None, str]:
    """(HTTP status or None, one-line reason) for a failed request."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return exc.response.status, f"HTTP {exc.response.status}"
    if isinstance(exc, (OffSiteRedirect, RobotsUnavailable)):
        return None, str(exc)
    if isinstance(exc, IgnoreRequest):
        text = str(exc) or "ignored"
        return None, "disallowed by robots.txt" if "robots" in text.lower() else text
    if isinstance(exc, DNSLookupError):
        return None, "DNS lookup failed"
    if isinstance(exc, (TimeoutError, TCPTimedOutError)):
        return None, "timed out"
    if isinstance(exc, (ConnectionLost, ConnectionDone, ResponseFailed)) or "ConnectionLost" in repr(exc):
        return None, "connection reset by server"
    return None, f"{type(exc).__name__}: {exc}"[:300]


class ClinicSpider(scrapy.Spider):
    name = "clinic"

    def __init__(self, seeds: list[Seed], max_pages: int | None = None, depth_limit: int | None = None,
                 skip_domains: set | None = None, progress=None, known: dict | None = None,
                 no_sitemap: set | None = None, dead: set | None = None, **kwargs):
        super().__init__(**kwargs)
        # url -> {"domain", "etag", "last_modified", "content_hash", "links", "depth"} of pages stored
        # earlier: a recrawl asks for them conditionally and walks their stored links when unchanged.
        self.known = known or {}
        self.no_sitemap = no_sitemap or set()  # sites whose sitemap was missing last time: not asked again
        self.dead = dead or set()  # links that answered 404/410 lately (crawler.run.dead_links): not asked
        self.known_by_site: dict[str, list] = {}
        for url, page in self.known.items():
            self.known_by_site.setdefault(page["domain"], []).append((url, page))
        self.sites = {s.domain: SiteState(seed=s, key=site_key(s.domain)) for s in seeds
                      if s.domain not in (skip_domains or set())}
        self._max_pages = max_pages
        self._depth_limit = depth_limit
        self._order = itertools.count()
        self._progress = progress
        self._last_progress = 0.0
        self.totals = {"sites": len(self.sites), "sites_done": 0, "pages": 0, "not_modified": 0, "errors": 0,
                       "dead_skipped": 0}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.max_pages = spider._max_pages or settings.getint("CLINICVET_MAX_PAGES", 25)
        spider.depth_limit = spider._depth_limit if spider._depth_limit is not None else settings.getint("CLINICVET_DEPTH_LIMIT", 4)
        return spider

    async def start(self):
        for item in self.start_requests():
            yield item

    def start_requests(self):
        for st in self.sites.values():
            st.seen.add(st.seed.url)
            st.budget_used += 1
            yield self._request(st, st.seed.url, 0)
            # A recrawl re-checks every page it knows, even one no longer linked, so none goes unnoticed.
            for url, page in self.known_by_site.get(st.seed.domain, []):
                self._enqueue(st, url, "", page["depth"] or 1)
            if st.seed.domain in self.no_sitemap:
                continue
            root = "/".join(st.seed.url.split("/", 3)[:3])
            st.in_flight += 1
            yield scrapy.Request(root + "/sitemap.xml", callback=self.parse_sitemap,
                                 errback=self.sitemap_failed, priority=-10,
                                 meta={"site": st.seed.domain, "site_key": st.key, "dont_retry": True})

    def _request(self, st: SiteState, url: str, depth: int) -> scrapy.Request:
        st.in_flight += 1
        meta = {"site": st.seed.domain, "site_key": st.key, "page_depth": depth}
        headers = {}
        page = self.known.get(url)
        if page:
            if page["etag"]:
                headers["If-None-Match"] = page["etag"]
            if page["last_modified"]:
                headers["If-Modified-Since"] = page["last_modified"]
            meta["handle_httpstatus_list"] = [304]
        return scrapy.Request(url, callback=self.parse_page, errback=self.page_failed, headers=headers, meta=meta)

    def _enqueue(self, st: SiteState, url: str, anchor: str, depth: int) -> None:
        if url in st.seen or depth > self.depth_limit or not same_site(url, st.key) or skip_reason(url):
            return
        st.seen.add(url)
        if url in self.dead:
            self.totals["dead_skipped"] += 1
            return
        heapq.heappush(st.frontier, (-relevance(url, anchor), next(self._order), url, depth))

    def _next(self, st: SiteState):
        """Queue the best pending links of a site, or report it done."""
        while st.in_flight < IN_FLIGHT_PER_SITE and st.frontier and st.budget_used < self.max_pages:
            _, _, url, depth = heapq.heappop(st.frontier)
            st.budget_used += 1
            yield self._request(st, url, depth)
        if st.in_flight == 0 and not st.done:
            st.done = True
            self.totals["sites_done"] += 1
            yield SiteDoneItem(domain=st.seed.domain, pages=st.pages, changed=st.changed, unchanged=st.unchanged,
                               errors=st.errors,
                               reasons=(st.reasons + st.refusals)[:3], has_sitemap=st.has_sitemap)
        self._report()

    def _report(self, force: bool = False):
        if self._progress and (force or time.monotonic() - self._last_progress > 0.5):
            self._last_progress = time.monotonic()
            self._progress(dict(self.totals))

    def parse_page(self, response):
        st = self.sites[response.meta["site"]]
        st.in_flight -= 1
        st.seen.add(response.url)
        content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
        body = response.body
        page = self.known.get(response.url)
        if page and (response.status == 304 or hashlib.sha256(body).hexdigest() == page["content_hash"]):
            back = self._unchanged(st, response.url, page, response.meta.get("page_depth", 0))
            if back:
                yield back
        elif response.status == 304:  # a 304 for a page we never stored: nothing to reuse
            yield self._error(st, response.url, 304, "304 Not Modified for an unknown page")
        elif not isinstance(response, scrapy.http.HtmlResponse) and "html" not in content_type:
            yield self._error(st, response.url, response.status, f"not an HTML page ({content_type or 'no type'})")
        elif b"\x00" in body[:2048] and body[:2] not in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 has a BOM
            yield self._error(st, response.url, response.status, "binary content served as HTML")
        else:
            yield self._page(st, response, content_type)
        yield from self._next(st)

    def _unchanged(self, st: SiteState, url: str, page: dict, depth: int) -> NotModifiedItem | None:
        """Count an unchanged page as fetched and walk the links stored with it: no re-parsing, and no
        item unless the page had been marked gone (most of a recrawl is these pages: they stay cheap)."""
        for link in json.loads(page["links"] or "[]"):
            self._enqueue(st, link["url"], link.get("text", ""), depth + 1)
        st.pages += 1
        st.unchanged += 1
        self.totals["not_modified"] += 1
        return NotModifiedItem(url=url, domain=st.seed.domain, at=now()) if page["gone_at"] else None

    def _page(self, st: SiteState, response, content_type: str) -> PageItem:
        depth = response.meta.get("page_depth", 0)
        page = extract_page(response.text, response.url)
        for link in page.links:
            self._enqueue(st, link["url"], link["text"], depth + 1)
        st.pages += 1
        st.changed += 1
        self.totals["pages"] += 1
        header = lambda name: (response.headers.get(name) or b"").decode("latin-1") or None  # noqa: E731
        return PageItem(
            url=response.url, domain=st.seed.domain, fetched_at=now(), status=response.status,
            content_type=content_type, etag=header("ETag"), last_modified=header("Last-Modified"),
            content_hash=hashlib.sha256(response.body).hexdigest(), bytes=len(response.body), depth=depth,
            title=page.title, text=page.text, jsonld=json.dumps(page.jsonld, ensure_ascii=False),
            links=json.dumps(page.links, ensure_ascii=False), html_gz=gzip.compress(response.body, 6),
            extract_version=EXTRACT_VERSION,
        )

    def _error(self, st: SiteState, url: str, status: int | None, reason: str) -> FetchErrorItem:
        # Refusals (robots.txt, off-site redirects) are the site's choice, not errors; they are kept
        # last among the reasons so a site that refused everything still says why it has no page.
        if reason == "disallowed by robots.txt" or "off-site" in reason:
            st.refusals.append(f"{url}: {reason}")
        else:
            st.errors += 1
            st.reasons.append(f"{url}: {reason}")
            self.totals["errors"] += 1
        return FetchErrorItem(url=url, domain=st.seed.domain, at=now(), status=status, reason=reason)

    def page_failed(self, failure):
        request = failure.request
        st = self.sites[request.meta["site"]]
        st.in_flight -= 1
        status, reason = describe_failure(failure)
        if reason == "disallowed by robots.txt":
            st.budget_used -= 1  # never fetched: the budget goes to the next link
        if status in (404, 410) and request.url in self.known:
            st.changed += not self.known[request.url]["gone_at"]
            yield GoneItem(url=request.url, domain=st.seed.domain, at=now(), status=status)
        yield self._error(st, request.url, status, reason)
        yield from self._next(st)

    def parse_sitemap(self, response):
        st = self.sites[response.meta["site"]]
        st.in_flight -= 1
        st.has_sitemap = True
        try:
            sitemap = Sitemap(response.body)
            if sitemap.type == "urlset":
                for entry in itertools.islice(sitemap, 500):
                    self._enqueue(st, entry.get("loc", ""), "", 1)
        except Exception as exc:  # a broken sitemap only costs us its hints
            self.logger.info("unreadable sitemap %s: %s", response.url, exc)
        yield from self._next(st)

    def sitemap_failed(self, failure):
        st = self.sites[failure.request.meta["site"]]
        st.in_flight -= 1
        if isinstance(failure.value, HttpError) and failure.value.response.status in (404, 410):
            st.has_sitemap = False
        yield from self._next(st)
