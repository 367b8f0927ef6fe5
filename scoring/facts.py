"""Clinic facts from a site's pages: name, phone, address, routes, staff credentials (costs: scoring/costs.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from scoring.text import Page

# Routes offered: route id -> pattern over the clinic's own (non-blog) page text.
ROUTE_PATTERNS = {
    "iv": r"\b(?:IV|intravenous\w*|infusions?|drip)\b",
    "im": r"\b(?:IM|intramuscular\w*|injection|injectable)\b",
    "nasal_esketamine": r"\b(?:spravato|esketamine)\b",
    "nasal_ketamine": r"\b(?:compounded|racemic|ketamine) (?:ketamine )?nasal spray\b|\bnasal spray (?:of |with )?(?:compounded |racemic )?ketamine\b",
    "oral_sublingual": r"\b(?:lozenges?|troches?|sublingual|rapid-dissolve|dissolving tablets?|oral ketamine|tablets?)\b",
    "at_home": r"\b(?:at-home|at home|take-home|home sessions?|shipped|mailed)\b",
}
ROUTES = {k: re.compile(v, re.I) for k, v in ROUTE_PATTERNS.items()}
# Per route, lowercase words one of which every mention of it contains: a line without any is not read.
ROUTE_WORDS = {
    "iv": ("iv", "intravenous", "infusion", "drip"),
    "im": ("im", "intramuscular", "injection", "injectable"),
    "nasal_esketamine": ("spravato", "esketamine"),
    "nasal_ketamine": ("nasal spray",),
    "oral_sublingual": ("lozenge", "troche", "sublingual", "rapid-dissolve", "dissolving tablet", "oral ketamine", "tablet"),
    "at_home": ("at-home", "at home", "take-home", "home session", "shipped", "mailed"),
}
ROUTE_OF = {w: r for r, words in ROUTE_WORDS.items() for w in words}

# Credential spellings -> the credential they count as.
CREDENTIALS = {
    "MD": "MD", "M.D.": "MD", "DO": "DO", "D.O.": "DO", "CRNA": "CRNA", "NP": "NP", "FNP": "NP",
    "FNP-C": "NP", "FNP-BC": "NP", "PMHNP": "NP", "PMHNP-BC": "NP", "APRN": "NP", "NP-C": "NP",
    "ANP": "NP", "AGNP": "NP", "ARNP": "NP", "PA": "PA", "PA-C": "PA", "RN": "RN", "BSN": "RN",
    "LPN": "LPN", "LCSW": "LCSW", "LICSW": "LCSW", "LPC": "LPC", "LMFT": "LMFT", "LIMHP": "LPC",
    "LMHC": "LPC", "PhD": "PhD", "PsyD": "PsyD", "DNP": "DNP",
}
_CRED_ALT = "|".join(re.escape(c) for c in sorted(CREDENTIALS, key=len, reverse=True))
_NAME = r"(?:Dr\.|Dra\.)?\s?[A-Z][\w'’.-]+(?:\s(?:[\"“][A-Z][\w'’.-]*[\"”]|[A-Z][\w'’.-]*)){1,3}"
_CREDS = rf"((?:(?:{_CRED_ALT})(?![\w-])(?:,\s*|\s+(?=(?:{_CRED_ALT})(?![\w-]))|$)?)+)"
_NAMED = re.compile(rf"(?:^|(?<=[\s(]))({_NAME}),\s*{_CREDS}")
# A staff card: the name alone on its line, the credentials opening the next one.
_NAME_LINE = re.compile(rf"^({_NAME})$")
_CREDS_LINE = re.compile(rf"^{_CREDS}")
# A leader named without a credential read ("Dr. Lee", "our medical director"): no evidence of "no physician".
_LEADER = re.compile(r"\b(?:medical director|(?:supervising|collaborating|overseeing) physician|physician partner)\b", re.I)
_DR = re.compile(r"Dr\.?\s[A-Z][\w'’-]+(?:\s[A-Z][\w'’-]+)?")  # case-sensitive, so re finds its literal start quickly
# Every _NAMED match holds ", <credential>": lines without one are not read.
_CRED_HINT = re.compile(rf",[^\S\n]*(?:{_CRED_ALT})(?![\w-])")
_PHONE = re.compile(r"\(?\b(\d{3})\)?[\s.-]{0,2}(\d{3})[\s.-](\d{4})\b")
_CITY_LINE = re.compile(r"(?:^|,\s*|[·|•]\s*)([A-Z][A-Za-z .'-]+),\s*([A-Z]{2})\s+(\d{5})(?:-\d{4})?\b")
_STREET = re.compile(r"(?:^|(?<=[\s:·|]))\d+[A-Za-z]?\s+[A-Z0-9][\w .'-]*?(?:,\s*(?:Suite|Ste\.?|Unit|#)\s*[\w-]+)?$")
_ORG_TYPES = ("MedicalClinic", "MedicalBusiness", "LocalBusiness", "Organization", "Physician",
              "MedicalOrganization", "HealthAndBeautyBusiness", "DaySpa", "Psychiatric")
# Article pages (blog, news): not the clinic's own listing of its staff or address.
ARTICLE_URL = re.compile(r"/(?:blog|news|journal|articles?|posts?|in-the-news|press)(?:/|\.html|$)")


@dataclass
class Facts:
    """What a patient needs to find and call the clinic."""
    name: str | None = None
    phone: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    routes: list[str] = field(default_factory=list)
    credentials: list[dict] = field(default_factory=list)  # [{"name", "credentials", "url", "quote"}]
    unnamed_leader: bool = False  # a "Dr." or medical director named without a credential read


def _ld_nodes(blocks: list):
    for block in blocks:
        if isinstance(block, dict):
            yield block
            for sub in block.get("@graph", []) or []:
                yield from _ld_nodes([sub])


def _is_org(node: dict) -> bool:
    types = node.get("@type", [])
    types = types if isinstance(types, list) else [types]
    return any(any(o in str(t) for o in _ORG_TYPES) for t in types)


def _from_jsonld(pages: list[Page], facts: Facts) -> None:
    for page in pages:
        for node in _ld_nodes(page.jsonld or []):
            if not _is_org(node):
                continue
            facts.name = facts.name or node.get("name")
            facts.phone = facts.phone or _normal_phone(node.get("telephone"))
            addr = node.get("address")
            addr = addr[0] if isinstance(addr, list) and addr else addr
            if isinstance(addr, dict):
                facts.street = facts.street or addr.get("streetAddress")
                facts.city = facts.city or addr.get("addressLocality")
                facts.state = facts.state or addr.get("addressRegion")
                facts.zip = facts.zip or (str(addr["postalCode"]) if addr.get("postalCode") else None)


def _format_phone(m: re.Match) -> str:
    return f"({m.group(1)}) {m.group(2)}-{m.group(3)}"


def _normal_phone(raw) -> str | None:
    digits = re.sub(r"\D", "", str(raw or ""))
    digits = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else (raw or None)


def _address_from_text(lines: list[str], facts: Facts) -> None:
    for i, line in enumerate(lines):
        m = "," in line and _CITY_LINE.search(line)  # every match holds ", XX 12345"
        if not m:
            continue
        before = line[: m.start()].strip(" ,·|")
        street = _STREET.search(before) or (_STREET.search(lines[i - 1]) if i and not before else None)
        facts.city = facts.city or m.group(1).strip()
        facts.state = facts.state or m.group(2)
        facts.zip = facts.zip or m.group(3)
        facts.street = facts.street or (street.group(0).strip() if street else None)
        return


def staff_credentials(pages: list[Page]) -> list[dict]:
    """Named people with their credentials ("Jane Roe, MD", or a card of "Jane Roe" over "MD") from
    the clinic's own pages, each with the page URL and the line(s) it was read from, verbatim."""
    found: dict[str, dict] = {}

    def add(name: str, creds_text: str, url: str, quote: str) -> None:
        norm = [CREDENTIALS[c] for c in re.findall(_CRED_ALT, creds_text) if c in CREDENTIALS]
        if not norm:
            return
        person = found.setdefault(name, {"name": name, "credentials": [], "url": url, "quote": quote})
        person["credentials"] += [c for c in norm if c not in person["credentials"]]

    for page in pages:
        if ARTICLE_URL.search(page.url):
            continue
        lines = page.text.split("\n")
        for i, line in enumerate(lines):
            line = line.strip()
            if "," in line and _CRED_HINT.search(line):
                for m in _NAMED.finditer(line):
                    add(m.group(1).strip(), m.group(2), page.url, line)
            elif i + 1 < len(lines) and (m := _NAME_LINE.match(line)):
                nxt = lines[i + 1].strip()
                c = _CREDS_LINE.match(nxt)
                if c:
                    add(m.group(1).strip(), c.group(1), page.url, line + "\n" + nxt)
    return list(found.values())


def physician_surnames(pages: list[Page], credentials: list[dict], training: re.Pattern | None) -> list[str]:
    """Surnames of the site's physicians: people listed as MD or DO, and each "Dr. X" whose own paragraph
    tells of a physician's training (training: the rubric's physician_training concept)."""
    names = [p["name"].split()[-1] for p in credentials if {"MD", "DO"} & set(p["credentials"])]
    non_md = {p["name"].split()[-1] for p in credentials if p["credentials"] and not {"MD", "DO"} & set(p["credentials"])}
    for page in pages if training is not None else ():
        if ARTICLE_URL.search(page.url) or "Dr" not in page.text:
            continue
        for line in page.text.split("\n"):
            if "Dr" in line and training.search(line):
                for m in _DR.finditer(line):
                    words = m.group(0).split()[1:]  # "Dr. Ines Varga" -> Ines, Varga
                    if not non_md & set(words):
                        names += words
    return list(dict.fromkeys(names))


def unnamed_leader(pages: list[Page], credentials: list[dict]) -> bool:
    """Whether the clinic's pages name a leader ("Dr. Lee", a medical director) whose credential was
    not read: a staff list without an MD is then no evidence that no physician leads."""
    read = {part for p in credentials if p["credentials"] for part in p["name"].replace("Dr.", "").split()}
    non_md = {part for p in credentials if not {"MD", "DO"} & set(p["credentials"])
              for part in p["name"].replace("Dr.", "").split()}
    for page in pages:
        if ARTICLE_URL.search(page.url):
            continue
        text = page.text
        low = text.lower()
        roles = _LEADER.finditer(text) if "director" in low or "physician" in low else ()
        for m in [*_DR.finditer(text), *roles]:
            word = m.group(0)
            if word.lower().startswith("dr"):
                if (non_md | read) & set(word.split()[1:]):
                    continue  # a DNP or PhD "Dr.", or a person whose credential was read
            else:
                # The line of the match and its neighbours: the director's credential may be on the card.
                lo = text.rfind("\n", 0, text.rfind("\n", 0, m.start())) + 1
                hi = text.find("\n", text.find("\n", m.end()) + 1)
                near = text[lo:hi if hi >= 0 else len(text)].split("\n")
                if any(_CRED_HINT.search(x) or _CREDS_LINE.match(x.strip()) for x in near):
                    continue
            return True
    return False


def extract_facts(pages: list[Page], own_text: str, credentials: list[dict] | None = None) -> Facts:
    """Facts from JSON-LD first, then page text; own_text is the clinic's deduplicated own text;
    credentials, when given, are staff_credentials(pages) read already."""
    facts = Facts()
    home = sorted(pages, key=lambda p: (p.url.count("/"), len(p.url)))
    _from_jsonld(home, facts)
    lines = [line for p in home if not ARTICLE_URL.search(p.url) for line in p.text.split("\n")]
    if not facts.phone:
        m = next((m for line in lines for m in [_PHONE.search(line)] if m), None)
        facts.phone = _format_phone(m) if m else None
    if not (facts.city and facts.zip):
        _address_from_text(lines, facts)
    if not facts.name and home:
        title = re.split(r"\s[|–—·-]\s", home[0].title or "")[0].strip()
        facts.name = title or None
    facts.routes = [r for r, rx in ROUTES.items() if rx.search(own_text)]
    facts.credentials = staff_credentials(pages) if credentials is None else credentials
    # Only a staff list without an MD or DO needs the question (see verdict.staff_hit).
    if facts.credentials and not any({"MD", "DO"} & set(p["credentials"]) for p in facts.credentials):
        facts.unnamed_leader = unnamed_leader(pages, facts.credentials)
    return facts
