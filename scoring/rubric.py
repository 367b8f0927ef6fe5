"""Load and validate rubric.yaml: questions, signals, context modifiers and tiers, compiled once."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick
import yaml

DEFAULT_PATH = Path(__file__).with_name("rubric.yaml")
DIRECTIONS = ("forward", "backward", "bidirectional", "terminate")
CATEGORIES = ("NEGATED", "WARNING", "THIRD_PARTY", "RESEARCH", "HYPOTHETICAL", "HISTORICAL",
              "SELF", "TERMINATE")
REACHES = ("sentence", "card", "previous", "list")
_TOP_KEYS = {"version", "description", "scoring", "tiers", "concepts", "referring", "modifiers",
             "page_contexts", "questions"}
_CONCEPT = re.compile(r"\{([a-z_]+)\}")
_IMPLIED_KEYS = {"when", "gives", "phrase"}
_QUESTION_KEYS = {"implied", "for_wins", "ask", "why", "weight", "verdicts", "threshold", "negated_counts_against",
                  "signals", "staff_rule", "red_flag"}
_SIGNAL_KEYS = {"id", "phrase", "polarity", "weight", "patterns", "requires", "ignore_context",
                "triggers", "triggers_also", "reach", "named_physicians", "requires_in"}
_MODIFIER_KEYS = {"id", "category", "phrase", "patterns", "direction", "window", "questions", "triggers"}
_PAGE_KEYS = {"id", "phrase", "url", "weight"}
_TIER_KEYS = {"id", "name", "min_score", "meaning"}
_STAFF_KEYS = {"any_of", "none_of", "weight", "phrase", "therapists", "prescribers"}
_SCORING_KEYS = {"min_stated", "values"}


class RubricError(ValueError):
    """A rubric file that cannot be used; the message names the file and the rule path."""


@dataclass
class Signal:
    id: str
    phrase: str
    polarity: str  # for | against
    weight: float
    regex: re.Pattern
    requires: list[re.Pattern]
    ignore_context: set[str]
    triggers: frozenset[str] = frozenset()  # lowercase; empty = run on every line
    triggers_also: frozenset[str] = frozenset()  # and one of these too (e.g. a negation word)
    # The unit read besides each sentence: a staff card's lines ("card"), a "He"/"She"/"Dr. Lee"
    # sentence with the one it points back to ("previous"), a list led by a line ending in ":" ("list").
    reach: str = "sentence"
    # A surname the site lists as MD/DO elsewhere counts as the pattern ("Dr. Vukovich leads...").
    named_physicians: bool = False
    requires_in: str = "sentence"  # or "line": `requires` may be met anywhere in the paragraph


@dataclass
class Modifier:
    id: str
    category: str
    phrase: str
    regex: re.Pattern
    direction: str
    window: int
    questions: set[str] | None
    triggers: frozenset[str] = frozenset()  # lowercase; empty = read every sentence


@dataclass
class PageContext:
    id: str
    phrase: str
    url: re.Pattern
    weight: float


@dataclass
class Question:
    id: str
    ask: str
    why: str
    weight: float
    verdicts: dict  # for / against / default -> verdict string
    threshold: float
    negated_counts_against: bool
    signals: list[Signal]
    staff_rule: dict | None = None
    red_flag: bool = False
    # When the site says nothing on this question, another question's verdict may answer it:
    # [{"when": {question: verdict}, "gives": verdict, "phrase": ...}].
    implied: list[dict] = field(default_factory=list)
    for_wins: bool = False  # evidence for at the threshold decides, whatever the evidence against


@dataclass
class Rubric:
    version: str
    questions: dict[str, Question]
    modifiers: list[Modifier]
    page_contexts: list[PageContext]
    tiers: list[dict]
    scoring: dict = field(default_factory=dict)
    concept_regex: dict[str, re.Pattern] = field(default_factory=dict)  # each concept compiled alone
    referring: re.Pattern | None = None  # a sentence that opens by pointing back ("She", "Dr. Lee")
    referring_anywhere: re.Pattern | None = None  # the same anywhere in a line (a sentence may start there)
    # Every trigger word of every rule, found in one pass over a text (Aho-Corasick).
    trigger_index: ahocorasick.Automaton | None = field(default=None, repr=False, compare=False)
    _by_word: dict | None = field(default=None, repr=False, compare=False)
    _added: set = field(default_factory=set, repr=False, compare=False)

    @property
    def signals_by_word(self) -> dict[str, list[int]]:
        """Trigger word -> id() of each signal it lets read a line."""
        if self._by_word is None:
            self._by_word = {}
            for q in self.questions.values():
                for sig in q.signals:
                    for w in sig.triggers:
                        self._by_word.setdefault(w, []).append(id(sig))
                    for w in sig.triggers_also:
                        self._by_word.setdefault(w, [])
            for m in self.modifiers:
                for w in m.triggers:
                    self._by_word.setdefault(w, [])
        return self._by_word

    def add_words(self, words) -> None:
        """Have the trigger index find these words too (e.g. the route words of clinic facts)."""
        words = set(words)
        if words <= self._added:
            return
        known = set(self.trigger_index.keys()) if self.trigger_index else set()
        index = ahocorasick.Automaton()
        for w in known | words:
            index.add_word(w, w)
        index.make_automaton()
        self.trigger_index = index
        self._added |= words

    def words(self, lower: str) -> set[str]:
        """The trigger words that occur in lowercased text."""
        return {w for _, w in self.trigger_index.iter(lower)} if self.trigger_index else set()


class _Loader:
    def __init__(self, name: str):
        self.name = name
        self.concepts: dict[str, str] = {}

    def expand(self, pattern: str, where: str) -> str:
        """A pattern with each {concept} replaced by its lexicon as one group."""
        def one(m: re.Match) -> str:
            if m.group(1) not in self.concepts:
                raise self.fail(where, f"unknown concept {{{m.group(1)}}}")
            return self.concepts[m.group(1)]
        return _CONCEPT.sub(one, pattern)

    def lexicons(self, raw) -> None:
        """Read the concepts: section into self.concepts (name -> one group of its phrases)."""
        raw = raw or {}
        if not isinstance(raw, dict):
            raise self.fail("concepts", "expected a mapping of name -> list of patterns")
        for name, items in raw.items():
            where = f"concepts.{name}"
            items = self.pattern_list(items)
            if not isinstance(items, list) or not items:
                raise self.fail(where, "must be a non-empty list of patterns")
            # A concept may use concepts defined above it.
            expanded = [self.expand(str(p), f"{where}[{i}]") for i, p in enumerate(items)]
            for i, p in enumerate(expanded):
                self.regex(p, f"{where}[{i}]")
            self.concepts[name] = "(?:" + "|".join(f"(?:{p})" for p in expanded) + ")"

    def fail(self, where: str, msg: str) -> RubricError:
        return RubricError(f"{self.name}: {where}: {msg}" if where else f"{self.name}: {msg}")

    def keys(self, obj, allowed: set, required: set, where: str) -> dict:
        if not isinstance(obj, dict):
            raise self.fail(where, f"expected a mapping, got {type(obj).__name__}")
        for key in obj:
            if key not in allowed:
                raise self.fail(where, f"unknown key {key!r}")
        for key in sorted(required):
            if key not in obj:
                raise self.fail(where, f"missing key {key!r}")
        return obj

    def regex(self, pattern, where: str) -> re.Pattern:
        if not isinstance(pattern, str) or not pattern:
            raise self.fail(where, "pattern must be a non-empty string")
        try:
            return re.compile(pattern, re.I)
        except re.error as exc:
            raise self.fail(where, f"bad regex {pattern!r}: {exc}") from None

    def patterns(self, items, where: str) -> re.Pattern:
        items = self.pattern_list(items)
        if not isinstance(items, list) or not items:
            raise self.fail(where, "patterns must be a non-empty list")
        items = [self.expand(p, f"{where}[{i}]") if isinstance(p, str) else p for i, p in enumerate(items)]
        for i, p in enumerate(items):
            self.regex(p, f"{where}[{i}]")
        return re.compile("|".join(f"(?:{p})" for p in items), re.I)

    @staticmethod
    def pattern_list(items):
        """A rubric's patterns: one string or a list of them (validated by patterns())."""
        return [items] if isinstance(items, str) else items

    def signal(self, raw, where: str) -> Signal:
        raw = self.keys(raw, _SIGNAL_KEYS, {"id", "phrase", "polarity", "patterns"}, where)
        if raw["polarity"] not in ("for", "against"):
            raise self.fail(where, f"polarity must be 'for' or 'against', not {raw['polarity']!r}")
        ignore = raw.get("ignore_context", [])
        for i, cat in enumerate(ignore):
            if cat not in CATEGORIES:
                raise self.fail(f"{where}.ignore_context[{i}]", f"unknown category {cat!r}")
        requires = raw.get("requires", [])
        triggers = self.triggers(raw.get("triggers", []), where)
        reach = self.choice(raw.get("reach", "sentence"), REACHES, f"{where}.reach")
        regex = self.patterns(raw["patterns"], f"{where}.patterns")
        reqs = [self.patterns(r, f"{where}.requires[{i}]") for i, r in enumerate(requires)]
        return Signal(
            id=str(raw["id"]), phrase=str(raw["phrase"]), polarity=raw["polarity"],
            weight=float(raw.get("weight", 1.0)), regex=regex, requires=reqs,
            ignore_context=set(ignore), triggers=triggers, reach=reach,
            triggers_also=self.triggers(raw.get("triggers_also", []), f"{where}.triggers_also"),
            named_physicians=bool(raw.get("named_physicians", False)),
            requires_in=self.choice(raw.get("requires_in", "sentence"), ("sentence", "line"), f"{where}.requires_in"))

    def choice(self, value, allowed: tuple, where: str) -> str:
        if value not in allowed:
            raise self.fail(where, f"must be one of {', '.join(allowed)}")
        return value

    def triggers(self, words, where: str) -> frozenset[str]:
        """A rule's trigger words (lowercase substrings); empty: the rule reads every line."""
        if not isinstance(words, list) or not all(isinstance(t, str) and t for t in words):
            raise self.fail(f"{where}.triggers", "must be a list of non-empty strings")
        return frozenset(t.lower() for t in words)

    def modifier(self, raw, where: str) -> Modifier:
        raw = self.keys(raw, _MODIFIER_KEYS, {"id", "category", "patterns", "direction"}, where)
        if raw["category"] not in CATEGORIES:
            raise self.fail(where, f"unknown category {raw['category']!r}")
        if raw["direction"] not in DIRECTIONS:
            raise self.fail(where, f"direction must be one of {', '.join(DIRECTIONS)}")
        qs = raw.get("questions")
        regex = self.patterns(raw["patterns"], f"{where}.patterns")
        return Modifier(
            id=str(raw["id"]), category=raw["category"], phrase=str(raw.get("phrase", "")),
            regex=regex, direction=raw["direction"], window=int(raw.get("window", 1000)),
            questions=set(qs) if qs else None, triggers=self.triggers(raw.get("triggers", []), where))

    def question(self, qid: str, raw) -> Question:
        raw = self.keys(raw, _QUESTION_KEYS, {"ask", "why", "weight", "verdicts", "signals"}, qid)
        verdicts = self.keys(raw["verdicts"], {"for", "against", "default"},
                             {"for", "against", "default"}, f"{qid}.verdicts")
        staff = raw.get("staff_rule")
        if staff is not None:
            self.keys(staff, _STAFF_KEYS, {"any_of", "none_of"}, f"{qid}.staff_rule")
        if not isinstance(raw["signals"], list) or not raw["signals"]:
            raise self.fail(f"{qid}.signals", "must be a non-empty list")
        signals = [self.signal(s, f"{qid}.signals[{i}]") for i, s in enumerate(raw["signals"])]
        ids = [s.id for s in signals]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise self.fail(f"{qid}.signals", f"duplicate id {sorted(dup)[0]!r}")
        return Question(
            id=qid, ask=str(raw["ask"]), why=str(raw["why"]), weight=float(raw["weight"]),
            verdicts=dict(verdicts), threshold=float(raw.get("threshold", 1.0)),
            negated_counts_against=bool(raw.get("negated_counts_against", False)),
            signals=signals, staff_rule=staff, red_flag=bool(raw.get("red_flag", False)),
            for_wins=bool(raw.get("for_wins", False)),
            implied=[self.keys(r, _IMPLIED_KEYS, {"when", "gives", "phrase"}, f"{qid}.implied[{i}]")
                     for i, r in enumerate(raw.get("implied") or [])])


def parse_rubric(data, name: str = "rubric.yaml") -> Rubric:
    """Validate rubric data (as parsed YAML) and compile its patterns."""
    ld = _Loader(name)
    data = ld.keys(data, _TOP_KEYS, {"version", "questions", "tiers"}, "")
    questions = data["questions"]
    if not isinstance(questions, dict) or not questions:
        raise ld.fail("questions", "must be a non-empty mapping")
    # Concepts first: every pattern after them may name one as {concept}.
    ld.lexicons(data.get("concepts"))
    referring = ld.patterns(data["referring"], "referring") if data.get("referring") else None
    # Case as written (the referring words are capitalised sentence openers), so re scans it quickly.
    anywhere = re.compile(referring.pattern) if referring else None
    mods = [ld.modifier(m, f"modifiers[{i}]") for i, m in enumerate(data.get("modifiers") or [])]
    for i, m in enumerate(mods):
        unknown = (m.questions or set()) - set(questions)
        if unknown:
            raise ld.fail(f"modifiers[{i}].questions", f"unknown question {sorted(unknown)[0]!r}")
    pages = []
    for i, p in enumerate(data.get("page_contexts") or []):
        p = ld.keys(p, _PAGE_KEYS, {"id", "url", "weight"}, f"page_contexts[{i}]")
        pages.append(PageContext(str(p["id"]), str(p.get("phrase", "")),
                                 ld.regex(p["url"], f"page_contexts[{i}].url"), float(p["weight"])))
    tiers = []
    for i, t in enumerate(data["tiers"]):
        tiers.append(ld.keys(t, _TIER_KEYS, {"id", "name"}, f"tiers[{i}]"))
    scoring = ld.keys(data.get("scoring") or {}, _SCORING_KEYS, set(), "scoring")
    parsed = {q: ld.question(q, raw) for q, raw in questions.items()}
    words = {w for q in parsed.values() for sig in q.signals for w in sig.triggers | sig.triggers_also}
    words |= {w for m in mods for w in m.triggers}
    index = None
    if words:
        index = ahocorasick.Automaton()
        for w in words:
            index.add_word(w, w)
        index.make_automaton()
    return Rubric(version=str(data["version"]), questions=parsed,
                  modifiers=mods, page_contexts=pages, tiers=tiers, scoring=scoring,
                  referring=referring, referring_anywhere=anywhere, trigger_index=index,
                  concept_regex={n: re.compile(p, re.I) for n, p in ld.concepts.items()})


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Read, validate and compile a rubric file (the packaged rubric.yaml by default)."""
    path = Path(path) if path else DEFAULT_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RubricError(f"{path.name}: invalid YAML: {exc}") from None
    return parse_rubric(data, path.name)
