"""Downloader middleware that keeps every request on the site it belongs to."""
from __future__ import annotations

from scrapy.exceptions import DownloadCancelledError, IgnoreRequest

from crawler.links import same_site


class OffSiteRedirect(IgnoreRequest):
    """A redirect that leaves the clinic's site: recorded, not followed."""


class RedirectLoop(IgnoreRequest):
    """A redirect back to a URL already visited in the same chain."""


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
