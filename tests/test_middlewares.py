"""Downloader middlewares on their own: the per-host proxy decision matches Scrapy's per-request one."""
import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.httpproxy import HttpProxyMiddleware

import crawler.middlewares
from crawler.middlewares import HostProxyMiddleware

URLS = ["http://www.a.test/", "http://www.a.test/about/", "https://www.a.test/", "http://direct.test/x",
        "http://sub.direct.test/", "http://www.b.test:8080/", "ftp://www.a.test/file"]


@pytest.fixture
def proxied(monkeypatch):
    for var in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("http_proxy", "http://user:pw@127.0.0.1:9")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("no_proxy", "direct.test")


def outcome(mw, url, meta=None):
    request = Request(url, meta=dict(meta or {}))
    mw.process_request(request)
    return request.meta.get("proxy"), request.meta.get("_scheme_proxy"), request.headers.get("Proxy-Authorization")


@pytest.mark.parametrize("meta", [None, {"proxy": None}, {"proxy": "http://127.0.0.1:7"}])
def test_host_proxy_middleware_decides_as_scrapy_does(proxied, meta):
    ours, scrapys = HostProxyMiddleware(), HttpProxyMiddleware()
    for url in URLS + URLS:  # the second pass answers from the per-host cache
        assert outcome(ours, url, meta) == outcome(scrapys, url, meta), url
    if meta is None:
        assert outcome(ours, "http://direct.test/")[0] is None
        assert outcome(ours, "http://www.a.test/")[0] == "http://127.0.0.1:9"


def test_no_proxy_is_checked_once_per_host(proxied, monkeypatch):
    calls = []
    real = crawler.middlewares.proxy_bypass
    monkeypatch.setattr(crawler.middlewares, "proxy_bypass", lambda host: calls.append(host) or real(host))
    mw = HostProxyMiddleware()
    for url in URLS:
        outcome(mw, url)
    assert sorted(calls) == ["direct.test", "sub.direct.test", "www.a.test", "www.b.test"]
