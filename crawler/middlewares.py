"""Downloader middleware that keeps every request on the site it belongs to."""
from __future__ import annotations

from scrapy.exceptions import IgnoreRequest

from crawler.links import same_site


class OffSiteRedirect(IgnoreRequest):
    """A redirect that leaves the clinic's site: recorded, not followed."""


class SiteScopeMiddleware:
    """Refuse requests (redirect targets included) that leave the site named in request.meta."""

    def process_request(self, request, spider=None):
        key = request.meta.get("site_key")
        if key and not same_site(request.url, key):
            source = (request.meta.get("redirect_urls") or [request.url])[0]
            raise OffSiteRedirect(f"redirect off-site from {source} to {request.url}")
        return None
