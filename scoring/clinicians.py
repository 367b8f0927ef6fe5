"""Named clinicians on a clinic's own pages: name, credential as written, role words, quote and page.

Three shapes are read: a card or sentence with the credential after the name ("Eleanor Whitcombe, MD
— Medical Director", "Dr. X, MD, board-certified anesthesiologist", "Medical oversight: Gregory
Aldana, MD (internal medicine)"); a staff card whose name, credential and title sit on lines of their
own; and "Dr. First Last, a board-certified anesthesiologist" with no credential letters. The words
(credentials, roles, leader verbs) live in clinicians.yaml.
"""
from __future__ import annotations

import importlib.resources
import re
import unicodedata
from dataclasses import dataclass, field

import yaml

from scoring.facts import ARTICLE_URL
from scoring.text import Page, split_sentences

_UPPER = "A-ZÀ-ÖØ-Þ"
_WORD = rf"[{_UPPER}][\w'’.-]*"
_DR = r"(?:Dr|Dra)\.\s?"
# Role words by which a site presents a "Dr." without credential letters as a physician.
PHYSICIAN_ROLES = {"anesthesiologist", "psychiatrist", "emergency physician", "supervising physician"}


@dataclass
class Clinician:
    """One person a site names, as the site names them."""
    name: str                 # as written, without "Dr."
    first_name: str
    last_name: str
    credential: str | None    # as written: "MSN, PMHNP-BC"; None for "Dr. X, a psychiatrist"
    family: str | None        # physician, np, crna, pa, rn, ... (clinicians.yaml)
    roles: list[str] = field(default_factory=list)
    leader: bool = False      # says this person directs, founded, owns or supervises
    doctor_title: bool = False
    quote: str = ""
    url: str = ""

    @property
    def key(self) -> str:
        """Who this is within one clinic: first and last name, folded."""
        return person_key(self.first_name, self.last_name)


def fold(text: str) -> str:
    """Lowercase ASCII letters only, for comparing names ("Vuković" == "Vukovic")."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", plain.lower())


def person_key(first: str, last: str) -> str:
    return f"{fold(first)}|{fold(last)}"


class _Vocabulary:
    def __init__(self, data: dict):
        self.version = str(data.get("version", ""))
        self.credentials: dict[str, str] = data["credentials"]
        self.family_order: list[str] = data["family_order"]
        self.roles = {role: re.compile(p, re.I) for role, p in data["roles"].items()}
        self.leader = re.compile(data["leader"], re.I)
        self.not_name = set(data["not_name"])
        self.place_words = set(data["place_words"])
        self.third_party = re.compile(data["third_party"], re.I)
        known = "|".join(re.escape(c) for c in sorted(self.credentials, key=len, reverse=True))
        # A credential token: a known spelling, or an all-capitals degree (MSN, DNAP, CCRN, FAAD).
        token = rf"(?:(?:{known})|[A-Z]{{2,6}}(?:-[A-Z]{{1,3}})?)(?![\w.-])"
        self.known = re.compile(rf"^(?:{known})$")
        name = rf"(?:{_DR})?{_WORD}(?:\s{_WORD}){{1,3}}"
        self.named = re.compile(
            rf"(?:^|(?<=[\s(:;]))(?P<name>{name}),?\s(?P<creds>{token}(?:(?:,\s*|\s+|\s*/\s*){token})*)")
        self.bare_doctor = re.compile(rf"(?:^|(?<=[\s(]))(?P<name>{_DR}{_WORD}(?:\s{_WORD}){{1,3}}),\s+an?\s")
        self.name_line = re.compile(rf"^(?P<name>(?:{_DR})?{_WORD}(?:\s{_WORD}){{1,3}})$")
        self.cred_line = re.compile(rf"^(?P<creds>{token}(?:(?:,\s*|\s+){token})*)$")
        self.token = re.compile(token)


_VOCAB: _Vocabulary | None = None


def vocabulary() -> _Vocabulary:
    """clinicians.yaml, compiled once."""
    global _VOCAB
    if _VOCAB is None:
        text = importlib.resources.files("scoring").joinpath("clinicians.yaml").read_text(encoding="utf-8")
        _VOCAB = _Vocabulary(yaml.safe_load(text))
    return _VOCAB


def credential_family(credential: str | None) -> str | None:
    """The deciding family of a credential as written ("DNP, CRNA" -> crna), or None."""
    v = vocabulary()
    families = {v.credentials[t] for t in v.token.findall(credential or "") if t in v.credentials}
    return next((f for f in v.family_order if f in families), None)


def _split_name(raw: str) -> tuple[str, str, str, bool] | None:
    v = vocabulary()
    words = raw.split()
    doctor = False
    while words and (words[0] in v.not_name or words[0] in ("Dr.", "Dra.")):
        doctor = doctor or words[0] in ("Dr.", "Dra.")
        words = words[1:]
    words = [w for w in words if w not in ("Jr.", "Sr.", "II", "III")]
    if len(words) < 2 or words[-1] in v.place_words or any(w in v.not_name for w in words):
        return None
    if any(v.known.match(w.rstrip(",")) for w in words):
        return None  # "MD Founder": a credential is not a name
    first, last = words[0], words[-1]
    if len(fold(first)) < 1 or len(fold(last)) < 2:
        return None
    return " ".join(words), first.rstrip("."), last, doctor


def _roles(text: str) -> list[str]:
    return [role for role, rx in vocabulary().roles.items() if rx.search(text)]


def _sentence(line: str, start: int) -> str:
    """The sentence of line that holds position start."""
    pos = 0
    for sentence in split_sentences(line):
        at = line.find(sentence, pos)
        if at <= start < at + len(sentence) or at < 0:
            return sentence
        pos = at + len(sentence)
    return line


def _context(lines: list[str], i: int, start: int) -> str:
    """The card text: the sentence naming the person, plus up to two following lines (title, bio) until
    the next person or heading."""
    v = vocabulary()
    text = _sentence(lines[i], start)
    for nxt in lines[i + 1:i + 3]:
        if v.named.search(nxt) or v.name_line.match(nxt.strip()):
            break
        text += "\n" + nxt
    return text


def _make(name_raw: str, creds: str | None, lines: list[str], i: int, start: int, end: int, url: str,
          card: str | None = None) -> Clinician | None:
    split = _split_name(name_raw)
    if split is None:
        return None
    name, first, last, doctor = split
    if creds is not None and card is None and re.match(r"\s*\d{5}\b", lines[i][end:]):
        return None  # "Silver Spring, MD 20910": an address
    family = credential_family(creds)
    if creds is not None and family is None:
        return None  # only unknown capitals ("Pittsburgh, PA" is caught above; "Acme, LLC" here)
    context = card if card is not None else _context(lines, i, start)
    roles = _roles(context)
    if family is None and doctor and set(roles) & PHYSICIAN_ROLES:
        family = "physician"  # "Dr. X, a board-certified anesthesiologist": the site presents a physician
    return Clinician(name=name, first_name=first, last_name=last, credential=creds, family=family,
                     roles=roles, leader=bool(vocabulary().leader.search(context)), doctor_title=doctor,
                     quote=lines[i].strip() if card is None else card, url=url)


def _from_page(page: Page) -> list[Clinician]:
    v = vocabulary()
    lines = page.text.split("\n")
    found = []
    for i, line in enumerate(lines):
        if "," in line or " " in line:
            for m in v.named.finditer(line):
                c = _make(m.group("name"), m.group("creds").strip(" ,"), lines, i, m.start(), m.end(), page.url)
                if c:
                    found.append(c)
        if ("Dr." in line or "Dra." in line) and not v.third_party.search(line):
            for m in v.bare_doctor.finditer(line):
                c = _make(m.group("name"), None, lines, i, m.start(), m.end(), page.url)
                if c and c.roles:
                    found.append(c)
        # A staff card: name alone on a line, credentials alone on the next, then a title line.
        name = v.name_line.match(line.strip())
        if name and i + 1 < len(lines):
            creds = v.cred_line.match(lines[i + 1].strip())
            if creds:
                card = "\n".join(x.strip() for x in lines[i:i + 3])
                c = _make(name.group("name"), creds.group("creds"), lines, i, 0, 0, page.url, card)
                if c:
                    found.append(c)
    return found


def _merge(old: Clinician, new: Clinician) -> Clinician:
    """One row a person: the first credentialed mention, with every role word seen."""
    keep, other = (old, new) if old.credential or not new.credential else (new, old)
    keep.roles = list(dict.fromkeys(keep.roles + other.roles))
    keep.leader = keep.leader or other.leader
    keep.doctor_title = keep.doctor_title or other.doctor_title
    if len(other.name) > len(keep.name) and fold(other.name).endswith(fold(keep.last_name)):
        keep.name = other.name
    return keep


def named_clinicians(pages: list[Page]) -> list[Clinician]:
    """Every clinician named on the clinic's own pages (blog and news pages skipped), one per person."""
    people: dict[str, Clinician] = {}
    by_last: dict[str, str] = {}
    for page in sorted(pages, key=lambda p: p.url):
        if ARTICLE_URL.search(page.url):
            continue
        for c in _from_page(page):
            key = c.key
            if len(fold(c.first_name)) == 1:  # "J. Smith": the same person as "Jane Smith" if named
                key = by_last.get(fold(c.last_name), key)
            people[key] = _merge(people[key], c) if key in people else c
            by_last.setdefault(fold(c.last_name), key)
    return list(people.values())
