"""Apply rubric signals to sentences and read their context (negation, warnings, research talk)."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from scoring.literals import CueSet, Probe
from scoring.rubric import Modifier, Question, Rubric
from scoring.text import Line, Sentence

# Context categories that void a match outright: the sentence is not the clinic's own claim.
VOIDING = ("WARNING", "THIRD_PARTY", "RESEARCH", "HYPOTHETICAL", "HISTORICAL", "SELF")
# Categories a section heading passes on to every sentence under it, and a sentence to the
# sentences after it in its paragraph unless they speak for the clinic ("we", "our").
HEADING_CATEGORIES = ("WARNING", "RESEARCH", "HYPOTHETICAL", "HISTORICAL")
_FIRST_PERSON = re.compile(r"\b(?:we|our|us|we're|we've)\b", re.I)
_NEWLINE = re.compile("\n")
_NEWLINE_BYTES = re.compile(b"\n")


def _trie_pattern(words: list[bytes]) -> bytes:
    """Regex source matching the longest of words at a position, as a trie of alternations."""
    root: dict = {}
    for word in words:
        node = root
        for byte in word:
            node = node.setdefault(byte, {})
        node[None] = {}

    def build(node: dict) -> bytes:
        alts = [re.escape(bytes([b])) + build(sub) for b, sub in sorted(
            ((k, v) for k, v in node.items() if k is not None), key=lambda kv: kv[0])]
        if not alts:
            return b""
        body = alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"
        return b"(?:" + body + b")?" if None in node else body

    return build(root)


class TriggerIndex:
    """Which trigger groups (a signal's trigger words) occur in which lines, in one pass per first letter."""

    def __init__(self, groups):
        self._groups = {g for g in groups if g}
        words = sorted({w.encode() for g in self._groups for w in g})
        tails: dict[bytes, list[bytes]] = {}
        for word in words:
            tails.setdefault(word[:1], []).append(word[1:])
        # One regex per first letter: `re` jumps from one occurrence of a literal first letter to
        # the next, far faster than trying a many-way alternation at every position. A zero-width
        # lookahead reports every occurrence with the longest trigger there; the other triggers
        # starting at that position are its prefixes.
        self._regexes = []
        for first, rest in tails.items():
            body = _trie_pattern([t for t in rest if t])
            if body and b"" in rest:
                body = b"(?:" + body + b")?"
            self._regexes.append((first, re.compile(re.escape(first) + b"(?=(" + body + b"))")))
        self._groups_at = {w: tuple(g for g in self._groups if any(w.startswith(t.encode()) for t in g))
                           for w in words}

    def known(self, triggers: tuple[str, ...]) -> bool:
        return triggers in self._groups

    def scan(self, low: str) -> dict[tuple[str, ...], set[int]]:
        """Trigger group -> indexes of the lines of low ("\n"-joined, lowercase) holding one of its words."""
        data = low.encode()
        breaks = [m.start() for m in _NEWLINE_BYTES.finditer(data)]
        found: dict[tuple[str, ...], set[int]] = {}
        groups_at = self._groups_at
        for first, regex in self._regexes:
            for m in regex.finditer(data):
                line = bisect_right(breaks, m.start())
                for g in groups_at[first + m.group(1)]:
                    found.setdefault(g, set()).add(line)
        return found


def trigger_index(rubric: Rubric, extra: tuple[tuple[str, ...], ...] = ()) -> TriggerIndex:
    """The trigger index of a rubric's signals plus extra trigger groups, built once per rubric."""
    key = ("triggers", extra)
    if key not in rubric.cache:
        groups = [s.triggers for q in rubric.questions.values() for s in q.signals] + list(extra)
        rubric.cache[key] = TriggerIndex(groups)
    return rubric.cache[key]


def context_cues(rubric: Rubric) -> CueSet | None:
    """Cues one of which any match of a non-terminating modifier holds (None: no such cues)."""
    if "context_cues" not in rubric.cache:
        cues = [m.cues for m in rubric.modifiers if m.direction != "terminate"]
        rubric.cache["context_cues"] = None if not cues or None in cues else CueSet(
            frozenset().union(*(c.words for c in cues)),
            tuple(sorted({sub for c in cues for sub in c.subs}, key=lambda t: (len(t), t))))
    return rubric.cache["context_cues"]


@dataclass
class Hit:
    """One signal matched in one sentence, after context: counts toward polarity with weight."""
    question: str
    rule_id: str
    polarity: str  # for | against
    weight: float
    sentence: Sentence
    context: tuple[str, ...] = ()


def _blocked(spans, lo: int, hi: int) -> bool:
    return any(m.direction == "terminate" and lo <= s < hi for m, s, _ in spans)


def context_categories(text: str, start: int, end: int, qid: str,
                       spans: list[tuple[Modifier, int, int]]) -> set[str]:
    """ConText: categories of modifiers whose scope covers text[start:end] for question qid."""
    found: set[str] = set()
    for mod, s, e in spans:
        if mod.direction == "terminate" or (mod.questions and qid not in mod.questions):
            continue
        if mod.direction == "bidirectional":
            found.add(mod.category)
        elif mod.direction == "forward" and e <= start and start - e <= mod.window:
            if not _blocked(spans, e, start):
                found.add(mod.category)
        elif mod.direction == "backward" and s >= end and s - end <= mod.window:
            if not _blocked(spans, end, s):
                found.add(mod.category)
    return found


class Matcher:
    """Finds every signal of a rubric in a site's sentences, with context applied."""

    def __init__(self, rubric: Rubric, extra_triggers: tuple[tuple[str, ...], ...] = ()):
        self.rubric = rubric
        self._index = trigger_index(rubric, extra_triggers)
        self._span_cache: dict[str, list] = {}
        self._any_cue = context_cues(rubric)
        self._probes: dict[str, Probe] = {}

    def probe(self, text: str) -> Probe:
        """text lowercased once, for cue checks before regexes run."""
        p = self._probes.get(text)
        if p is None:
            p = self._probes[text] = Probe(text)
        return p

    def _spans(self, text: str) -> list:
        spans = self._span_cache.get(text)
        if spans is None:
            # Most sentences hold no cue at all; a modifier whose literals are absent cannot match.
            p = self.probe(text)
            # One test for the cues of all non-terminating modifiers first: most texts hold none.
            mods = [m for m in self.rubric.modifiers if p.has(m.cues)] if p.has(self._any_cue) else []
            if any(m.direction != "terminate" and p.search(m.regex, m.fast) for m in mods):
                spans = [(m, x.start(), x.end()) for m in mods for x in p.finditer(m.regex, m.fast)]
            else:
                spans = []
            self._span_cache[text] = spans
        return spans

    def sentence_categories(self, text: str) -> set[str]:
        """Every context category whose cue appears anywhere in text."""
        return {m.category for m, _, _ in self._spans(text) if m.direction != "terminate"}

    def _heading_categories(self, heading: str, qid: str) -> set[str]:
        if not heading:
            return set()
        cats = context_categories(heading, 0, 0, qid, self._spans(heading))
        return cats & set(HEADING_CATEGORIES)

    def _page_weight(self, url: str) -> float:
        weight = 1.0
        for ctx in self.rubric.page_contexts:
            if ctx.url.search(url):
                weight *= ctx.weight
        return weight

    def _inherited(self, line: Line, k: int, qid: str) -> set[str]:
        """Voiding context carried from earlier sentences of the same paragraph (line)."""
        sents = line.sentences()
        cats: set[str] = set()
        if k == 0 or _FIRST_PERSON.search(sents[k][1].text):
            return cats
        for _, prev in sents[:k]:
            cats |= context_categories(prev.text, 0, 0, qid, self._spans(prev.text))
        return cats & set(HEADING_CATEGORIES)

    def _judge(self, q: Question, sig, line: Line, k: int, start: int, end: int) -> Hit | None:
        sent = line.sentences()[k][1]
        cats = context_categories(sent.text, start, end, q.id, self._spans(sent.text))
        cats |= self._heading_categories(sent.heading, q.id) | self._inherited(line, k, q.id)
        cats -= sig.ignore_context
        polarity, rule = sig.polarity, sig.id
        if sent.question:
            # A FAQ question is not a claim; its yes/no answer makes it one.
            cats.discard("NEGATED")
            if sent.answer is None or (sent.answer == "no" and polarity == "against"):
                return None
            if sent.answer == "no":
                polarity, rule = "against", f"{sig.id}:answered_no"
        if any(c in cats for c in VOIDING):
            if "HISTORICAL" in cats:
                self._historical.add((q.id, sent.url))
            return None
        if "NEGATED" in cats:
            if polarity != "for" or not q.negated_counts_against:
                return None
            polarity, rule = "against", f"{sig.id}:negated"
        weight = sig.weight * self._page_weight(sent.url)
        return Hit(q.id, rule, polarity, weight, sent, tuple(sorted(cats)))

    def candidates(self, triggers: tuple[str, ...]) -> list[int]:
        """Indexes of lines holding any trigger word (all lines when there are no triggers)."""
        if not triggers:
            return list(range(len(self._lines)))
        if self._index.known(triggers):
            return sorted(self._found.get(triggers, ()))
        low, starts, found = self._low, self._starts, set()
        for word in triggers:
            i = low.find(word)
            while i != -1:
                idx = bisect_right(starts, i) - 1
                found.add(idx)
                i = low.find(word, starts[idx + 1] if idx + 1 < len(starts) else len(low))
        return sorted(found)

    def prepare(self, lines: list[Line]) -> None:
        """Index a site's lines for trigger look-ups: one pass over the site's text."""
        low = "\n".join([line.text for line in lines]).lower()
        self._lines, self._historical, self._low = lines, set(), low
        self._starts = [0] + [m.end() for m in _NEWLINE.finditer(low)]
        self._found = self._index.scan(low)

    def match(self, lines: list[Line]) -> dict[str, list[Hit]]:
        """Hits per question over all lines of one site (one hit per rule and sentence)."""
        self.prepare(lines)
        hits: dict[str, list[Hit]] = {}
        for q in self.rubric.questions.values():
            out = []
            for sig in q.signals:
                cues, fast = sig.cues, sig.fast
                reqs = list(zip(sig.requires, sig.requires_fast, sig.requires_cues))
                for idx in self.candidates(sig.triggers):
                    line = lines[idx]
                    p = self.probe(line.text)
                    if not p.has(cues):
                        continue
                    whole = p.search(sig.regex, fast)
                    if not whole:
                        continue
                    sents = line.sentences()
                    for k, (_, sent) in enumerate(sents):
                        # A one-sentence line was searched already.
                        one = len(sents) == 1 and sent.text == line.text
                        p = self.probe(sent.text)
                        m = whole if one else p.has(cues) and p.search(sig.regex, fast)
                        if not m or not all(p.has(rc) and p.search(r, rf) for r, rf, rc in reqs):
                            continue
                        hit = self._judge(q, sig, line, k, m.start(), m.end())
                        if hit:
                            out.append(hit)
            # A page that describes a programme as ended speaks of the past throughout.
            hits[q.id] = [h for h in out if h.polarity != "for"
                          or (q.id, h.sentence.url) not in self._historical]
        return hits
