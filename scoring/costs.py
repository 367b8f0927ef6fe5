"""What a clinic says it costs, each fact with its quote and page: prices, consultation, insurance,
HSA/FSA and financing. Patterns live in costs.yaml; this module only reads pages with them."""
from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass, field

import yaml

from scoring.text import Page, split_sentences

KINDS = ("price_per_infusion", "price_series", "consultation", "insurance", "hsa_fsa", "financing")
_TOP_KEYS = {"version", "skip_pages", "line_filter", "amount", "price_rules", "headline", "per_infusion_usd",
             "statements", "spravato_words", "insurance_question", "no_answer"}
_RULE_KEYS = {"id", "kind", "pattern"}
_STATEMENT_KEYS = {"id", "value", "pattern", "unless", "words"}
# Clause ends around an amount: the label of "$425 per infusion, or $2,300 for six" stops at ", or".
_AFTER_END = re.compile(r"[,;(·|•]|\s(?:and|or|plus)\s|[.!?](?:\s|$)|\s[–—-]\s")
_BEFORE_START = re.compile(r".*(?:[,;·|•]|\s(?:and|or|plus)\s|[.!?]\s)", re.S)
_LETTERS = re.compile(r"[A-Za-z]")


class CostsError(ValueError):
    """A costs.yaml that cannot be used; the message names the file and the entry."""


@dataclass
class CostFact:
    """One thing the site says about cost, with the page's own words."""
    kind: str           # one of KINDS
    value: str          # stated | free | paid | accepted | not_accepted | spravato | offered
    quote: str
    url: str
    rule_id: str
    amount: float | None = None
    amount_max: float | None = None
    rank: int = 0       # per-infusion prices: lower is a better headline price
    offer: bool = False  # an introductory, member or veteran price


@dataclass
class Costs:
    """Every cost fact of a site, and the summary the directory filters on."""
    facts: list[CostFact] = field(default_factory=list)
    version: str = ""

    def of(self, kind: str) -> list[CostFact]:
        return [f for f in self.facts if f.kind == kind]

    @property
    def price_per_infusion(self) -> float | None:
        """The headline price of one infusion: the best-ranked per-infusion price, first found."""
        prices = self.of("price_per_infusion")
        return min(prices, key=lambda f: f.rank).amount if prices else None

    @property
    def price_range(self) -> tuple[float | None, float | None]:
        """Lowest and highest per-infusion price stated (offers left out unless they are all there is)."""
        prices = self.of("price_per_infusion")
        regular = [f for f in prices if not f.offer] or prices
        if not regular:
            return None, None
        return (min(f.amount for f in regular),
                max(f.amount_max or f.amount for f in regular))

    @property
    def takes_insurance(self) -> str | None:
        """spravato (Spravato billed to insurance), no, yes, or None when the site does not say."""
        values = {f.value for f in self.of("insurance")}
        for value, summary in (("spravato", "spravato"), ("not_accepted", "no"), ("accepted", "yes")):
            if value in values:
                return summary
        return None

    def summary(self) -> dict:
        """The clinics-table columns: headline price, range, whether a price is stated, insurance."""
        low, high = self.price_range
        return {"price_per_infusion": self.price_per_infusion, "price_min": low, "price_max": high,
                "price_stated": int(bool(self.of("price_per_infusion") or self.of("price_series"))),
                "takes_insurance": self.takes_insurance}


@dataclass
class _Rule:
    id: str
    kind: str | None
    regex: re.Pattern


@dataclass
class _Statement:
    id: str
    kind: str
    value: str
    regex: re.Pattern
    unless: re.Pattern | None
    words: tuple[str, ...] = ()  # lowercase; a sentence holding none of them is not read


@dataclass
class CostRules:
    """costs.yaml, compiled."""
    version: str
    skip_pages: re.Pattern
    line_filter: re.Pattern
    amount: re.Pattern
    price_rules: list[_Rule]
    better: re.Pattern
    offer: re.Pattern
    worse: re.Pattern
    per_infusion_usd: tuple[float, float]
    statements: list[_Statement]
    spravato_words: re.Pattern
    insurance_question: re.Pattern
    no_answer: re.Pattern


def _compile(where: str, pattern) -> re.Pattern:
    if not isinstance(pattern, str) or not pattern:
        raise CostsError(f"{where}: a pattern must be a non-empty string")
    try:
        return re.compile(pattern, re.I)
    except re.error as exc:
        raise CostsError(f"{where}: bad pattern: {exc}") from None


def _check_keys(where: str, entry, allowed: set[str]) -> None:
    if not isinstance(entry, dict):
        raise CostsError(f"{where}: expected a mapping")
    unknown = set(entry) - allowed
    if unknown:
        raise CostsError(f"{where}: unknown key {sorted(unknown)[0]!r}")


def parse_rules(data, name: str = "costs.yaml") -> CostRules:
    """Validate and compile the contents of a costs.yaml; CostsError names what is wrong."""
    _check_keys(name, data, _TOP_KEYS)
    missing = _TOP_KEYS - set(data)
    if missing:
        raise CostsError(f"{name}: missing {sorted(missing)[0]!r}")
    rules = []
    for i, entry in enumerate(data["price_rules"]):
        where = f"{name}: price_rules[{i}]"
        _check_keys(where, entry, _RULE_KEYS)
        if entry.get("kind") not in (None, *KINDS):
            raise CostsError(f"{where}: unknown kind {entry.get('kind')!r}")
        rules.append(_Rule(entry["id"], entry.get("kind"), _compile(where, entry.get("pattern"))))
    statements = []
    for kind, entries in data["statements"].items():
        if kind not in KINDS:
            raise CostsError(f"{name}: statements: unknown kind {kind!r}")
        for i, entry in enumerate(entries):
            where = f"{name}: statements.{kind}[{i}]"
            _check_keys(where, entry, _STATEMENT_KEYS)
            unless = _compile(where + ".unless", entry["unless"]) if entry.get("unless") else None
            statements.append(_Statement(entry["id"], kind, entry["value"],
                                         _compile(where, entry.get("pattern")), unless,
                                         tuple(w.lower() for w in entry.get("words") or ())))
    head = data["headline"]
    low, high = data["per_infusion_usd"]
    return CostRules(
        version=str(data["version"]), skip_pages=_compile(f"{name}: skip_pages", data["skip_pages"]),
        line_filter=re.compile(data["line_filter"]),  # matched on lowercased lines
        amount=_compile(f"{name}: amount", data["amount"]), price_rules=rules,
        better=_compile(f"{name}: headline.better", head["better"]),
        offer=_compile(f"{name}: headline.offer", head["offer"]),
        worse=_compile(f"{name}: headline.worse", head["worse"]),
        per_infusion_usd=(float(low), float(high)), statements=statements,
        spravato_words=_compile(f"{name}: spravato_words", data["spravato_words"]),
        insurance_question=_compile(f"{name}: insurance_question", data["insurance_question"]),
        no_answer=_compile(f"{name}: no_answer", data["no_answer"]))


_RULES: CostRules | None = None


def load_cost_rules() -> CostRules:
    """The packaged costs.yaml, compiled once."""
    global _RULES
    if _RULES is None:
        text = importlib.resources.files("scoring").joinpath("costs.yaml").read_text(encoding="utf-8")
        _RULES = parse_rules(yaml.safe_load(text))
    return _RULES


def _number(text: str | None) -> float | None:
    return float(text.replace(",", "")) if text else None


def _decide(rules: CostRules, label: str) -> _Rule | None:
    """The first price rule matching a label, or None when the label says nothing rules know."""
    if not label or not _LETTERS.search(label):
        return None
    return next((r for r in rules.price_rules if r.regex.search(label)), None)


def _labels(text: str, start: int, end: int, prev_end: int, next_start: int) -> list[str]:
    """Where an amount's label may be, nearest first: after it in its clause, before it in its clause."""
    after = text[end:next_start]
    stop = _AFTER_END.search(after)
    after = after[: stop.start()] if stop else after
    before = text[prev_end:start]
    cut = _BEFORE_START.match(before)
    before = before[cut.end():] if cut else before
    return [after, before]


class _Reader:
    """Reads one site's pages into cost facts."""

    def __init__(self, rules: CostRules):
        self.rules = rules
        self.facts: list[CostFact] = []
        self.seen_lines: set[str] = set()
        self.seen_sentences: set[str] = set()
        self.keys: set[tuple] = set()

    def add(self, fact: CostFact) -> None:
        key = (fact.kind, fact.value, fact.amount, fact.amount_max)
        if key not in self.keys:  # the same fact again (a footer, a repeated table) adds nothing
            self.keys.add(key)
            self.facts.append(fact)

    def page(self, page: Page) -> None:
        raw = page.text
        # Matching reads curly apostrophes as straight ones; quotes are cut from the raw text.
        norm = raw.replace("\u2019", "'").replace("\u2018", "'")
        starts, pos = [], 0
        for line in norm.split("\n"):
            starts.append((pos, pos + len(line)))
            pos += len(line) + 1
        above: list[tuple[int, int]] = []  # the two non-empty lines above, nearest first
        for i, (a, b) in enumerate(starts):
            stripped = norm[a:b].strip()
            if not stripped:
                continue
            if stripped not in self.seen_lines and self.rules.line_filter.search(stripped.lower()):
                self.seen_lines.add(stripped)
                nxt = starts[i + 1] if i + 1 < len(starts) else None
                self.line(page.url, raw, norm, a, b, above, nxt)
            above = [(a, b), *above[:1]]

    def line(self, url, raw, norm, a, b, above, nxt) -> None:
        text = norm[a:b]
        if text.rstrip().endswith("?"):
            self.question(url, raw, norm, a, b, nxt)
            return
        # The statements whose words the line holds at all; a line with neither one nor an amount is done.
        low_line = text.lower()
        statements = [st for st in self.rules.statements if not st.words or any(w in low_line for w in st.words)]
        if not statements and "$" not in text:
            return
        offset = a
        sentences = []
        for sentence in split_sentences(text):
            at = norm.find(sentence, offset, b)
            if at < 0:
                continue
            sentences.append((at, at + len(sentence)))
            offset = at + len(sentence)
        first_amount = True
        for k, (s, e) in enumerate(sentences):
            sentence = norm[s:e]
            if sentence in self.seen_sentences:
                continue  # a sentence the site repeats (a call to action in many paragraphs) is read once
            self.seen_sentences.add(sentence)
            decided: set[str] = set()  # one value a kind a sentence: the first statement that matches
            low = sentence.lower()
            for st in statements:
                if st.kind in decided or (st.words and not any(w in low for w in st.words)):
                    continue
                if not st.regex.search(sentence):
                    continue
                if st.unless and st.unless.search(sentence):
                    continue
                decided.add(st.kind)
                self.statement(st, url, raw, norm, s, e, above[0] if above else None)
            if "$" in sentence:
                prev_sentence = norm[sentences[k - 1][0]:sentences[k - 1][1]] if k else ""
                self.prices(url, raw, norm, s, e, prev_sentence, above if first_amount else [], a)
                first_amount = False

    def statement(self, st: _Statement, url, raw, norm, s, e, prev_line) -> None:
        if any(f.kind == st.kind and f.value == st.value for f in self.facts):
            return
        quote_start = s
        # A short table cell ("billed to insurance") is quoted with the row label above it.
        line_start = norm.rfind("\n", 0, s) + 1
        line_end = norm.find("\n", e)
        whole_line = not norm[line_start:s].strip() and not norm[e:line_end if line_end >= 0 else None].strip()
        if e - s < 40 and whole_line and st.kind == "insurance" and prev_line and prev_line[1] - prev_line[0] < 60:
            quote_start = prev_line[0]
            if st.value != "spravato" and self.rules.spravato_words.search(norm[quote_start:e]):
                st = _Statement(st.id, st.kind, "spravato", st.regex, st.unless, st.words)
        self.add(CostFact(st.kind, st.value, raw[quote_start:e].strip(), url, st.id))

    def question(self, url, raw, norm, a, b, nxt) -> None:
        """A FAQ question on insurance answered "No" on the next line."""
        if not nxt or not self.rules.insurance_question.search(norm[a:b]):
            return
        answer = norm[nxt[0]:nxt[1]]
        if self.rules.no_answer.search(answer.strip()):
            first = split_sentences(answer)
            end = norm.find(first[0], nxt[0]) + len(first[0]) if first else nxt[1]
            self.add(CostFact("insurance", "not_accepted", raw[a:end].strip(), url, "insurance_faq_no"))

    def prices(self, url, raw, norm, s, e, prev_sentence, prev_lines, line_start) -> None:
        sentence = norm[s:e]
        matches = list(self.rules.amount.finditer(sentence))
        for j, m in enumerate(matches):
            prev_end = matches[j - 1].end() if j else 0
            next_start = matches[j + 1].start() if j + 1 < len(matches) else len(sentence)
            labels = _labels(sentence, m.start(), m.end(), prev_end, next_start)
            quote_start = s
            bare = not _LETTERS.search(sentence[:m.start()] + sentence[m.end():next_start])
            if j == 0 and bare:
                labels.append(prev_sentence)
            rule, used = None, None
            for n, label in enumerate(labels):
                rule = _decide(self.rules, label)
                if rule:
                    used = n
                    break
            # "members save $50 per session": words before the amount that rule it out still do.
            if rule is not None and rule.kind is not None and used == 0:
                before = _decide(self.rules, labels[1])
                if before is not None and before.kind is None:
                    continue
            # A table cell holding only an amount: its label is the line above.
            # A table cell holding only an amount: its label is the row's first cell, a line or two
            # above (a "Length" column may sit between).
            if rule is None and j == 0 and not _LETTERS.search(norm[line_start:s] + sentence[:m.start()]):
                for above in prev_lines:
                    label = norm[above[0]:above[1]]
                    rule = _decide(self.rules, label)
                    if rule:
                        quote_start, used = above[0], len(labels)
                        labels.append(label)
                        break
            if rule is None or rule.kind is None:
                continue
            # A short table cell ("$475 per infusion") is quoted with its row label above it.
            if quote_start == s and j == 0 and prev_lines and e - s < 40 \
                    and not _LETTERS.search(norm[line_start:s] + sentence[:m.start()]) \
                    and prev_lines[0][1] - prev_lines[0][0] < 60:
                quote_start = prev_lines[0][0]
            low, high = _number(m.group(1)), _number(m.group(2))
            context = " ".join(labels[: used + 1]) + " " + sentence
            self.price(rule, low, high, context, raw[quote_start:e].strip(), url)

    def price(self, rule: _Rule, low, high, context: str, quote: str, url: str) -> None:
        r = self.rules
        if rule.kind == "consultation":
            value = "free" if low == 0 else "paid"
            self.add(CostFact("consultation", value, quote, url, rule.id, low, high))
            return
        if rule.kind == "price_per_infusion":
            lo, hi = r.per_infusion_usd
            if not lo <= low <= hi:
                return
            offer = bool(r.offer.search(context))
            rank = (2 * offer + len(set(m.group(0).lower() for m in r.worse.finditer(context)))
                    - (1 if r.better.search(context) else 0))
            self.add(CostFact(rule.kind, "stated", quote, url, rule.id, low, high, rank, offer))
            return
        if low > 0:
            self.add(CostFact(rule.kind, "stated", quote, url, rule.id, low, high))


def extract_costs(pages: list[Page], rules: CostRules | None = None) -> Costs:
    """Cost facts from a site's own pages (home page first; blog and news pages skipped)."""
    rules = rules or load_cost_rules()
    reader = _Reader(rules)
    for page in sorted(pages, key=lambda p: (p.url.count("/"), len(p.url), p.url)):
        if rules.skip_pages.search(page.url):
            continue
        reader.page(page)
    return Costs(reader.facts, rules.version)
