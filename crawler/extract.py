"""HTML -> visible text lines, title, JSON-LD blocks and outgoing links.

lxml's HTML parser (the one BeautifulSoup's "lxml" builder drives) reports the page to a small target
object as it reads it, with no tree built: the same text BeautifulSoup gave on every corpus and demo
page, several times faster (the crawl spends most of its CPU here), and no depth limit, so a page
nested tens of thousands of elements deep still yields its text."""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urldefrag

from lxml import etree

# Elements whose text a visitor never reads as content. Text a visitor can reveal by a click (collapsed
# FAQ accordions, tabs, `hidden`/`aria-hidden`/`display:none` panels, <details>, questions written
# inside <button>) is content: clinics put their answers there.
DROP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "canvas", "head", "form",
                       "select"})
# Block elements: each starts a new line so headings and list items stay separate sentences.
BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "header", "footer", "nav", "aside", "li", "ul", "ol",
    "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th", "table", "dt", "dd", "dl",
    "blockquote", "summary", "details", "figcaption", "address", "pre", "hr", "label", "button",
})
# Cookie banners and consent pop-ups: class or id fragments seen on site builders.
BANNER = re.compile(r"cookie|consent|gdpr|cc-banner|cc-window", re.I)
SPACE = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")
TAG = re.compile(r"<[^>]*>")
# Bumped when the text read from the same HTML changes; older stored text is re-read from html_gz.
EXTRACT_VERSION = 2


@dataclass
class Extracted:
    title: str
    text: str  # one block (heading, paragraph, list item) a line
    jsonld: list = field(default_factory=list)
    links: list = field(default_factory=list)  # [{"url": absolute, "text": anchor}]


def _is_hidden(attrs) -> bool:
    """A cookie or consent banner: never the clinic's content, shown or not."""
    marker = " ".join((attrs.get("class") or "").split()) + " " + (attrs.get("id") or "")
    return bool(BANNER.search(marker))


class _PageTarget:
    """Parser target: collects visible text, the title, JSON-LD and links while the page is read."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.parts: list[str] = []
        self.open: list[tuple[str, bool]] = []  # (tag, shown) of each open element
        self.hidden_depth = 0  # open elements that hide their content (dropped tags, hidden, banners)
        self.title: list[str] | None = None  # parts of the first <title> while it is open
        self.title_text: str | None = None
        self.script: list[str] | None = None  # parts of an open JSON-LD script
        self.jsonld: list = []
        self.anchors: list[tuple[str, list]] = []  # open <a href>: (href, text parts)
        self.links: list[dict] = []
        self.seen: set[str] = set()

    def start(self, tag, attrs):
        shown = not self.hidden_depth and tag not in DROP_TAGS and not _is_hidden(attrs)
        if not shown:
            self.hidden_depth += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")
        self.open.append((tag, shown))
        self._string_break()
        if tag == "title" and self.title_text is None and self.title is None:
            self.title = []
        elif tag == "script" and (attrs.get("type") or "").strip().lower() == "application/ld+json":
            self.script = []
        elif tag == "a":
            self.anchors.append(((attrs.get("href") or "").strip(), []))

    def end(self, tag):
        if not self.open:
            return
        opened, shown = self.open.pop()
        self._string_break()
        if not shown:
            self.hidden_depth -= 1
        elif opened in BLOCK_TAGS:
            self.parts.append("\n")
        if opened == "title" and self.title is not None:
            self.title_text, self.title = "".join(self.title), None
        elif opened == "script" and self.script is not None:
            self._add_jsonld("".join(self.script))
            self.script = None
        elif opened == "a" and self.anchors:
            self._add_link(*self.anchors.pop())

    def data(self, text):
        if not self.hidden_depth:
            self.parts.append(text)
        if self.title is not None:
            self.title.append(text)
        if self.script is not None:
            self.script.append(text)
        for _, words in self.anchors:
            words.append(text)

    def comment(self, text):  # comments are not content, but they end a string as tags do
        self._string_break()

    def _string_break(self) -> None:
        # The parser hands over text in chunks (an entity can split a word); anchor text joins the
        # strings between tags with a space, as a reader sees them, and the chunks of one string without.
        for _, words in self.anchors:
            if words and words[-1] is not None:
                words.append(None)

    def close(self):
        while self.open:  # a truncated page: close what is still open
            self.end(self.open[-1][0])

    def _add_jsonld(self, source: str) -> None:
        try:
            data = json.loads(source)
        except (ValueError, TypeError):
            return
        self.jsonld.extend(data if isinstance(data, list) else [data])

    def _add_link(self, href: str, words: list) -> None:
        if not href or href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
            return
        url = urldefrag(urljoin(self.base_url, href))[0]
        if not url.startswith(("http://", "https://")) or url in self.seen:
            return
        self.seen.add(url)
        strings, current = [], []
        for part in words + [None]:
            if part is None:
                strings.append("".join(current).strip())
                current = []
            else:
                current.append(part)
        text = " ".join(string for string in strings if string)
        self.links.append({"url": url, "text": SPACE.sub(" ", text)[:200]})


def extract_page(html: str | bytes, url: str) -> Extracted:
    """Parse one HTML page into title, visible text lines, JSON-LD and links."""
    data = html.encode("utf-8", "replace") if isinstance(html, str) else html
    target = _PageTarget(url)
    if data.strip():
        parser = etree.HTMLParser(target=target, recover=True, encoding="utf-8")
        parser.feed(data)
        parser.close()
    lines = [s for line in "".join(target.parts).split("\n") if (s := SPACE.sub(" ", line).strip())]
    # FAQPage JSON-LD answers are content too (some builders put them nowhere else): each question and
    # answer the page's text does not already hold is added as lines, so a quote is still the page's text.
    shown = set(lines)
    for line in faq_lines(target.jsonld):
        if line not in shown:
            shown.add(line)
            lines.append(line)
    return Extracted(title=SPACE.sub(" ", (target.title_text or "").strip()),
                     text="\n".join(lines), jsonld=target.jsonld, links=target.links)


def _plain(value) -> str:
    text = html.unescape(TAG.sub(" ", value if isinstance(value, str) else ""))
    return SPACE.sub(" ", text).strip()


def faq_lines(blocks: list) -> list[str]:
    """Question and answer lines of FAQPage JSON-LD (schema.org mainEntity Question/acceptedAnswer)."""
    out: list[str] = []
    stack = list(blocks)
    while stack:
        node = stack.pop(0)
        if isinstance(node, list):
            stack[:0] = node
            continue
        if not isinstance(node, dict):
            continue
        stack[:0] = [node[k] for k in ("@graph", "mainEntity") if isinstance(node.get(k), (list, dict))]
        kind = node.get("@type")
        if kind == "Question" or (isinstance(kind, list) and "Question" in kind):
            answer = node.get("acceptedAnswer") or node.get("suggestedAnswer") or {}
            answer = answer[0] if isinstance(answer, list) and answer else answer
            question = _plain(node.get("name"))
            text = _plain(answer.get("text")) if isinstance(answer, dict) else ""
            if question and text:
                out += [question, text]
    return out
