"""Stored page text -> lines and sentences tagged with page URL, FAQ questions, staff cards and
boilerplate dedupe. Text is kept as the page has it (a quote is the page's own characters); matching
reads a folded copy of the same length (curly quotes and no-break spaces as plain ones)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Split after . ! ? (optionally closed by a quote or bracket) when a capital, digit or quote follows.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9¿¡])")
# Abbreviations that end in a period but never end a sentence.
_ABBREV = re.compile(r"(?:\b(?:Dr|Mr|Mrs|Ms|Dra|St|Ste|No|vs|e\.g|i\.e|approx|Inc|Co|Jr|Sr|Mt|Ft|[A-Z])\.)$")
_YES = re.compile(r"^(?:yes|yep|absolutely|of course|definitely|sí|certainly|always)\b", re.I)
_NO = re.compile(r"^(?:(?:unfortunately|sadly|sorry|no, sorry),? )?(?:no|nope|never|not (?:at this time|currently|yet|right now|at all))\b"
                 r"(?!\s+(?:referral|problem|matter|one|longer|need|worries|prior|doctor))", re.I)
# One character for one: offsets in the folded text are offsets in the page's text.
FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " ",
                      "\u2010": "-", "\u2011": "-", "\u02bc": "'"})
# A staff card line: a person's name, a credential, or a short title, without a sentence's end.
_CARD_LINE_MAX = 70
_NAME_LINE = re.compile(r"^(?:Dra?\.?\s+)?[A-Z][\w'’.-]+(?:\s+(?:[\"“][^\"”]+[\"”]|[A-Z][\w'’.-]*)){1,3}(?:,\s*[A-Z][\w.,\s-]*)?$")
_TITLE_WORD = re.compile(r"\b(?:Director|Nurse|Practitioner|Medical|Medicine|Founder|Owner|Manager|Coordinator|Therapist|"
                         r"Physician|Assistant|Anesthetist|Team|Our|Meet|Board|Certified|Clinical|Lead|Registered|"
                         r"Psychiatry|Services|Care|Clinic|Center|Contact|About|Home|Book|Pricing|Treatment|Infusions?|"
                         r"Ketamine|Therapy|Counselor|Specialist|Staff|Partner|Office|Patient|Wellness|Health)\b")
_CARD_MARK = re.compile(r"(?:\bDra?\.\s?[A-Z]|\b(?:M\.?D|D\.?O|NP|CRNA|PA-C|RN|DNP|PhD|PsyD|APRN|LCSW|LPC|LMFT|"
                        r"FNP(?:-[A-Z]+)?|PMHNP(?:-[A-Z]+)?)\b\.?)")


@dataclass
class Page:
    """One stored page: URL, visible text (one block a line), title, JSON-LD blocks, link texts."""
    url: str
    text: str
    title: str = ""
    jsonld: list = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # anchor texts of the page's links


@dataclass(slots=True)
class Sentence:
    """One sentence of a page; question is True for a FAQ heading, answer 'yes'/'no' when it opens one.
    text is verbatim; norm is the folded copy the rules read."""
    text: str
    url: str
    line: int
    question: bool = False
    answer: str | None = None
    heading: str = ""
    norm: str = ""
    words: set | None = None  # trigger words in it, filled by the matcher on first need

    def __post_init__(self):
        if not self.norm:
            self.norm = self.text.translate(FOLD)


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
    """One distinct text line (block) of a site; split into sentences only when a signal needs it.
    raw is the page's line list, pos this line's place in it (for staff cards and neighbours)."""
    text: str
    url: str
    index: int
    question: bool = False
    answer: str | None = None
    heading: str = ""
    link: bool = False  # the line is a link's text (menu, article list): a topic, not a claim
    norm: str = ""
    lower: str = ""
    raw: list | None = None
    # A line that opens with a quotation mark: a testimonial or a quoted outsider, not the clinic.
    quoted: bool = False
    # A short line without a sentence's end or a FAQ question's mark: a heading, menu or label.
    heading_like: bool = False
    words: set | None = None  # trigger words in it, filled by the matcher
    _sentences: list | None = None

    def __post_init__(self):
        self.norm = self.text.translate(FOLD)
        self.lower = self.norm.lower()
        self.quoted = self.norm[:1] == '"'
        self.heading_like = (not self.question and len(self.text) <= 60 and self.text[-1] not in ".!?:;)\"'”"
                             and self.text.count(" ") < 8)

    def sentences(self) -> list[tuple[int, Sentence]]:
        """(offset in line, Sentence) pairs."""
        if self._sentences is None:
            parts = [self.text] if self.question else split_sentences(self.text)
            out, pos = [], 0
            for part in parts:
                at = self.text.find(part, pos)
                at = pos if at < 0 else at
                # A question asked inside a paragraph ("Should you choose a clinic or home?") is no claim.
                asked = self.question or part.endswith("?")
                out.append((at, Sentence(part, self.url, self.index, asked, self.answer if self.question else None,
                                         self.heading, self.norm[at:at + len(part)])))
                pos = at + len(part)
            self._sentences = out
        return self._sentences


def _is_card_line(line: str) -> bool:
    return 0 < len(line) <= _CARD_LINE_MAX and line[-1] not in ".!?:;"


def is_name_line(line: str) -> bool:
    """A person's name alone on its line ("Dr. Ana Pérez", "Robert “Bo” Lind, MD"), not a title."""
    return bool(_NAME_LINE.match(line)) and not _TITLE_WORD.search(line)


def card_span(raw: list[str], pos: int) -> tuple[int, int]:
    """[first, last] line positions of the staff card holding raw[pos]: a name line and up to three
    short lines under it (credential, title) before the next name, one of them naming a credential
    or a "Dr."; (pos, pos) when raw[pos] is not on such a card."""
    if not _is_card_line(raw[pos]):
        return pos, pos
    first = pos
    while not is_name_line(raw[first]):
        if pos - first >= 3 or first == 0 or not _is_card_line(raw[first - 1]):
            return pos, pos
        first -= 1
    last = first
    while (last + 1 < len(raw) and last - first < 3 and _is_card_line(raw[last + 1])
           and not is_name_line(raw[last + 1])):
        last += 1
    if last == first or pos > last or not any(_CARD_MARK.search(line) for line in raw[first:last + 1]):
        return pos, pos
    return first, last


_LIST_ITEM_MAX, _LIST_MAX = 120, 15


def list_span(raw: list[str], pos: int) -> tuple[int, int]:
    """[first, last] line positions of a list led by raw[pos] when that line ends with ":" and short
    item lines follow it ("We may not treat you if you have:" / "Psychosis" / "Pregnancy" ...);
    (pos, pos) otherwise."""
    if not raw[pos].endswith(":"):
        return pos, pos
    last = pos
    while (last + 1 < len(raw) and last - pos < _LIST_MAX and raw[last + 1]
           and len(raw[last + 1]) <= _LIST_ITEM_MAX and not raw[last + 1].endswith(":")):
        last += 1
    return (pos, last) if last - pos >= 2 else (pos, pos)


def page_lines(page: Page, seen: set[str] | None = None) -> list[Line]:
    """Lines of one page; lines already in seen (boilerplate from other pages) are skipped."""
    raw = [line.strip() for line in page.text.split("\n")]
    links = {t.strip() for t in page.links if t and t.strip()}
    out: list[Line] = []
    heading = ""
    for i, line in enumerate(raw):
        if not line:
            continue
        if seen is not None:
            if line in seen:
                continue
            seen.add(line)
        is_question = line[-1] == "?"
        answer = None
        if is_question and i + 1 < len(raw):
            nxt = raw[i + 1].translate(FOLD)
            answer = "yes" if _YES.match(nxt) else "no" if _NO.match(nxt) else None
        out.append(Line(line, page.url, i, is_question, answer, heading, line in links, raw=raw))
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
