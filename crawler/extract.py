"""HTML -> visible text lines, title, JSON-LD blocks and outgoing links."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urldefrag

from bs4 import BeautifulSoup, Comment

# Elements whose text a visitor never reads as content.
DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "canvas", "head", "form", "button", "select")
# Block elements: each starts a new line so headings and list items stay separate sentences.
BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "li", "ul", "ol",
    "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th", "table", "dt", "dd", "dl",
    "blockquote", "summary", "details", "figcaption", "address", "pre", "hr", "label",
}
# Cookie banners and consent pop-ups: class or id fragments seen on site builders.
BANNER = re.compile(r"cookie|consent|gdpr|cc-banner|cc-window", re.I)
SPACE = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


@dataclass
class Extracted:
    title: str
    text: str  # one block (heading, paragraph, list item) a line
    jsonld: list = field(default_factory=list)
    links: list = field(default_factory=list)  # [{"url": absolute, "text": anchor}]


def _is_hidden(tag) -> bool:
    attrs = tag.attrs or {}
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    if HIDDEN_STYLE.search(attrs.get("style", "") or ""):
        return True
    marker = " ".join(attrs.get("class", []) or []) + " " + (attrs.get("id", "") or "")
    return bool(BANNER.search(marker))


def _jsonld(soup) -> list:
    blocks = []
    for tag in soup.find_all("script", type="application/ld+json"):
        try:
            data = json.loads(tag.string or "")
        except (ValueError, TypeError):
            continue
        blocks.extend(data if isinstance(data, list) else [data])
    return blocks


def _links(soup, base_url: str) -> list:
    seen, links = set(), []
    for a in soup.find_all("a", href=True):
        href = a["href"].strip()
        if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
            continue
        url = urldefrag(urljoin(base_url, href))[0]
        if not url.startswith(("http://", "https://")) or url in seen:
            continue
        seen.add(url)
        links.append({"url": url, "text": SPACE.sub(" ", a.get_text(" ", strip=True))[:200]})
    return links


def _text_lines(root) -> str:
    parts: list[str] = []
    # An explicit stack, not recursion: hostile pages nest tens of thousands of elements deep.
    stack = [(iter(root.children), False)]
    while stack:
        children, is_block = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if is_block:
                parts.append("\n")
            continue
        if isinstance(child, Comment):
            continue
        name = getattr(child, "name", None)
        if name is None:
            parts.append(str(child))
            continue
        if name in BLOCK_TAGS:
            parts.append("\n")
        stack.append((iter(child.children), name in BLOCK_TAGS))

    lines = (SPACE.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def extract_page(html: str | bytes, url: str) -> Extracted:
    """Parse one HTML page into title, visible text lines, JSON-LD and links."""
    soup = BeautifulSoup(html, "lxml")
    title_tag = soup.find("title")
    title = SPACE.sub(" ", title_tag.get_text(" ", strip=True)) if title_tag else ""
    jsonld = _jsonld(soup)
    links = _links(soup, url)
    for tag in soup.find_all(DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(_is_hidden):
        tag.decompose()
    root = soup.body or soup
    return Extracted(title=title, text=_text_lines(root), jsonld=jsonld, links=links)
