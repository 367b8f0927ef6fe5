"""What the spider hands to the pipeline: a page, a failed fetch, or a finished site."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PageItem:
    url: str
    domain: str
    fetched_at: str
    status: int
    content_type: str
    etag: str | None
    last_modified: str | None
    content_hash: str
    bytes: int
    depth: int
    title: str
    text: str
    jsonld: str
    links: str
    html_gz: bytes
    extract_version: int = 0  # crawler.extract.EXTRACT_VERSION of the text


@dataclass
class FetchErrorItem:
    url: str
    domain: str
    at: str
    status: int | None
    reason: str


@dataclass
class SiteDoneItem:
    domain: str
    pages: int = 0  # pages answered well, unchanged ones included
    changed: int = 0  # new, modified or gone pages
    unchanged: int = 0  # known pages that answered 304 or the same content
    has_sitemap: bool | None = None  # None: not asked this time
    errors: int = 0
    reasons: list = field(default_factory=list)


@dataclass
class NotModifiedItem:
    """A known page, marked gone earlier, that is back with the content we already have."""
    url: str
    domain: str
    at: str


@dataclass
class GoneItem:
    """A known page that now answers 404 or 410: marked gone, never deleted."""
    url: str
    domain: str
    at: str
    status: int
