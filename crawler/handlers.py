"""HTTP download handler whose connection pool suits many sites reached through one proxy."""
from __future__ import annotations

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler


class ProxyAwareHTTPHandler(HTTP11DownloadHandler):
    """Scrapy keeps CONCURRENT_REQUESTS_PER_DOMAIN idle connections per pool key, and behind an HTTP
    proxy every site shares one key (the proxy), so all but one connection closes after each request.
    Politeness is enforced per site by the download slots, not by this pool, so keeping up to
    CONCURRENT_REQUESTS connections to the proxy changes no site's request rate."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self._pool.maxPersistentPerHost = max(self._pool.maxPersistentPerHost,
                                              crawler.settings.getint("CONCURRENT_REQUESTS"))
