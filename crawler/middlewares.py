"""Downloader middlewares: keep every request on its site, reuse a recent robots.txt, proxy cheaply."""
from __future__ import annotations

from datetime import timedelta
from urllib.request import proxy_bypass

from scrapy import signals
from scrapy.downloadermiddlewares.httpproxy import HttpProxyMiddleware
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from clinicvet.db import now, open_db
from crawler.links import same_site


class OffSiteRedirect(IgnoreRequest):
    """A redirect that leaves the clinic's site: recorded, not followed."""


class RedirectLoop(IgnoreRequest):
    """A redirect back to a URL already visited in the same chain."""


class RobotsUnavailable(IgnoreRequest):
    """The host's robots.txt answered 5xx and no earlier copy is stored: RFC 9309 (2.3.1.4) says to assume
    complete disallow."""


class SiteScopeMiddleware:
    """Refuse requests (redirect targets included) that leave the site named in request.meta or loop."""

    def __init__(self, maxsize: int = 0):
        self.maxsize = maxsize

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_request(self, request, spider=None):
        chain = request.meta.get("redirect_urls") or []
        key = request.meta.get("site_key")
        if key and not same_site(request.url, key):
            source = (chain or [request.url])[0]
            raise OffSiteRedirect(f"redirect off-site from {source} to {request.url}")
        if request.url in chain:
            raise RedirectLoop("redirect loop: " + " -> ".join([*chain, request.url]))
        return None

    def process_exception(self, request, exception, spider=None):
        # Scrapy cancels a body that outgrows DOWNLOAD_MAXSIZE mid-stream with an empty message;
        # say why, so the fetch log does.
        if isinstance(exception, DownloadCancelledError) and not str(exception):
            raise DownloadCancelledError(
                f"response larger than {self.maxsize} bytes (DOWNLOAD_MAXSIZE): download stopped") from exception
        return None


class _NoReferer:
    """For Scrapy's redirect middlewares in a crawler that sends no Referer header (RefererMiddleware
    is off): a redirected request goes without one, and no warning that the Referer middleware is
    missing is logged on every run (Scrapy's from_crawler looks for it when the engine starts)."""

    @classmethod
    def from_crawler(cls, crawler):
        middleware = cls(crawler.settings)
        middleware.crawler = crawler
        return middleware

    def handle_referer(self, request, response):
        request.headers.pop("Referer", None)


class NoRefererRedirectMiddleware(_NoReferer, RedirectMiddleware):
    """RedirectMiddleware without Referer handling."""


class NoRefererMetaRefreshMiddleware(_NoReferer, MetaRefreshMiddleware):
    """MetaRefreshMiddleware without Referer handling."""


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """RobotsTxtMiddleware that reuses a host's robots.txt fetched less than CLINICVET_ROBOTS_MAX_AGE
    seconds ago (RFC 9309 section 2.4 allows 24 hours), read from and stored in the robots table.
    A 5xx answer or a failed fetch is not stored, so the next crawl asks again. A 5xx answer means
    complete disallow (RFC 9309 2.3.1.4; Scrapy would read the error page as an empty robots.txt), unless
    an older copy is stored: then that copy's rules hold, as 2.4 allows while robots.txt is unreachable."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.db_path = crawler.settings.get("CLINICVET_DB")
        self.max_age = crawler.settings.getint("CLINICVET_ROBOTS_MAX_AGE", 24 * 3600)
        self.cached: dict[str, bytes] = {}  # netloc -> body, parsed when the host is first asked for
        self.older: dict[str, bytes] = {}   # netloc -> body of a copy past max_age, if robots.txt fails
        self.unavailable: dict[str, int] = {}  # netloc -> 5xx status of a robots.txt with no copy stored
        self.fetched: list[dict] = []
        if self.db_path:
            cutoff = now(timedelta(seconds=self.max_age))
            db = open_db(self.db_path)
            for row in db.query("SELECT netloc, body, fetched_at FROM robots"):
                fresh = self.max_age > 0 and row["fetched_at"] > cutoff
                (self.cached if fresh else self.older)[row["netloc"]] = row["body"] or b""
            db.conn.close()
        crawler.signals.connect(self.store, signal=signals.spider_closed)

    def process_request_2(self, rp, request):
        status = self.unavailable.get(urlparse_cached(request).netloc)
        if status:
            raise RobotsUnavailable(f"robots.txt answered HTTP {status}: not crawled until it answers (RFC 9309)")
        super().process_request_2(rp, request)

    async def robot_parser(self, request):
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers and netloc in self.cached:
            self._parsers[netloc] = build_from_crawler(self._parserimpl, self.crawler, self.cached.pop(netloc))
            self._stats.inc_value("robotstxt/cached")
        return await super().robot_parser(request)

    async def _parse_robots(self, response, netloc, request):
        if response.status >= 500:
            if netloc in self.older:
                self._stats.inc_value("robotstxt/older_copy")
                body = self.older[netloc]
            else:
                self.unavailable[netloc] = response.status
                body = b""
            await super()._parse_robots(response.replace(body=body), netloc, request)
            return
        await super()._parse_robots(response, netloc, request)
        self.fetched.append({"netloc": netloc, "status": response.status, "body": response.body,
                             "fetched_at": now()})

    def store(self, spider=None):
        if self.fetched and self.db_path:
            db = open_db(self.db_path)
            with db.conn:
                db["robots"].upsert_all(self.fetched, pk="netloc")
            db.conn.close()
            self.fetched = []


class HostProxyMiddleware(HttpProxyMiddleware):
    """HttpProxyMiddleware that checks no_proxy once per host, not once per request: urllib's
    proxy_bypass re-reads the whole environment on each call, an eighth of the function calls of a
    recrawl behind a proxy. The proxies themselves are read once at start, as Scrapy does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bypass: dict[str, bool] = {}

    def process_request(self, request, spider=None):
        parsed = urlparse_cached(request)
        host = parsed.hostname
        if "proxy" in request.meta or not self.proxies or parsed.scheme not in ("http", "https") or not host:
            return super().process_request(request)
        if host not in self.bypass:
            self.bypass[host] = bool(proxy_bypass(host))
        creds, proxy_url, scheme = None, None, None
        if not self.bypass[host] and parsed.scheme in self.proxies:
            scheme = parsed.scheme
            creds, proxy_url = self.proxies[scheme]
        self._set_proxy_and_creds(request, proxy_url, creds, scheme)
        return None
