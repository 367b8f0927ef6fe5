"""Stored page text -> sentences tagged with page URL, FAQ questions and boilerplate dedupe."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Split after . ! ? (optionally closed by a quote or bracket) when a capital, digit or quote follows.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9¿¡])")
# Abbreviations that end in a period but never end a sentence.
_ABBREV = re.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|Dra|St|Ste|No|vs|e\.g|i\.e|approx|Inc|Co|Jr|Sr|Mt|Ft|[A-Z])\.)$")
_YES = re.compile(r"^(?:yes|yep|absolutely|of course|definitely|sí)\b", re.I)
_NO = re.compile(r"^(?:no|nope|never|not (?:at this time|currently|yet|right now))\b(?!\s+(?:referral|problem|matter|one|longer))", re.I)


@dataclass
class Page:
    """One stored page: URL, visible text (one block a line), title and JSON-LD blocks."""
    url: str
    text: str
    title: str = ""
    jsonld: list = field(default_factory=list)


@dataclass(slots=True)
class Sentence:
    """One sentence of a page; question is True for a FAQ heading, answer 'yes'/'no' when it opens one."""
    text: str
    url: str
    line: int
    question: bool = False
    answer: str | None = None
    heading: str = ""


def split_sentences(line: str) -> list[str]:
    """Split one text line into sentences, keeping abbreviations like 'Dr.' together."""
    pieces = _SENTENCE_END.split(line)
    out: list[str] = []
    for piece in pieces:
        # An abbreviation is at most 6 letters and a period: only the end of a piece is read.
        if out and _ABBREV.search(out[-1], max(0, len(out[-1]) - 10)):
            out[-1] = out[-1] + " " + piece
        else:
            out.append(piece)
    return [p.strip() for p in out if p.strip()]


@dataclass(slots=True)
class Line:
    """One distinct text line (block) of a site; split into sentences only when a signal needs it."""
    text: str
    url: str
    index: int
    question: bool = False
    answer: str | None = None
    heading: str = ""
    _sentences: list | None = None

    def sentences(self) -> list[tuple[int, Sentence]]:
        """(offset in line, Sentence) pairs."""
        if self._sentences is None:
            parts = [self.text] if self.question else split_sentences(self.text)
            out, pos = [], 0
            for part in parts:
                at = self.text.find(part, pos)
                at = pos if at < 0 else at
                out.append((at, Sentence(part, self.url, self.index, self.question, self.answer,
                                         self.heading)))
                pos = at + len(part)
            self._sentences = out
        return self._sentences


def page_lines(page: Page, seen: set[str] | None = None) -> list[Line]:
    """Lines of one page; lines already in seen (boilerplate from other pages) are skipped."""
    text = page.text
    if "\u2019" in text or "\u2018" in text:
        text = text.replace("\u2019", "'").replace("\u2018", "'")
    lines = text.split("\n")
    out: list[Line] = []
    heading = ""
    for i, line in enumerate(lines):
        line = line.strip()
        if not line:
            continue
        if seen is not None:
            if line in seen:
                continue
            seen.add(line)
        is_question = line[-1] == "?"
        answer = None
        if is_question and i + 1 < len(lines):
            nxt = lines[i + 1].strip()
            answer = "yes" if _YES.match(nxt) else "no" if _NO.match(nxt) else None
        out.append(Line(line, page.url, i, is_question, answer, heading))
        if is_question or (len(line) < 80 and line[-1] not in ".!:,"):
            heading = line
    return out


def site_lines(pages: list[Page]) -> list[Line]:
    """Lines of every page of a site, home page first; each repeated line (nav, footer) once."""
    seen: set[str] = set()
    out: list[Line] = []
    for page in sorted(pages, key=lambda p: (p.url.count("/"), p.url)):
        out.extend(page_lines(page, seen))
    return out


def site_sentences(pages: list[Page]) -> list[Sentence]:
    """Sentences of every page of a site, each repeated line counted once."""
    return [s for line in site_lines(pages) for _, s in line.sentences()]
