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
    pages: int = 0
    errors: int = 0
    reasons: list = field(default_factory=list)
