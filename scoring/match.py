"""Apply rubric signals to sentences and read their context (negation, warnings, research talk)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from scoring.literals import Probe, required_cues
from scoring.prefilter import Prefilter
from scoring.re2form import ANCHOR, Span, exact, looser
from scoring.rubric import Modifier, Question, Rubric
from scoring.text import Line, Sentence

# Context categories that void a match outright: the sentence is not the clinic's own claim.
VOIDING = ("WARNING", "THIRD_PARTY", "RESEARCH", "HYPOTHETICAL", "HISTORICAL", "SELF")
# Categories a section heading passes on to every sentence under it, and a sentence to the
# sentences after it in its paragraph unless they speak for the clinic ("we", "our").
HEADING_CATEGORIES = ("WARNING", "RESEARCH", "HYPOTHETICAL", "HISTORICAL")
_UNSEEN = object()
_FIRST_PERSON = re.compile(r"\b(?:we|our|us|we're|we've)\b", re.I)


def prefilter(rubric: Rubric, extra_triggers: tuple[tuple[str, ...], ...] = (),
              extra_regexes: tuple[re.Pattern, ...] = ()) -> Prefilter:
    """The rubric's trigger words and regex cues in one RE2 set, built once per rubric and extras."""
    key = ("prefilter", extra_triggers, tuple(map(id, extra_regexes)))
    if key not in rubric.cache:
        pf = Prefilter()
        for q in rubric.questions.values():
            for sig in q.signals:
                pf.add(sig.triggers, sig.triggers)
                pf.add_cues(sig.regex, sig.cues)
                for r, cues in zip(sig.requires, sig.requires_cues):
                    pf.add_cues(r, cues)
        for mod in rubric.modifiers:
            pf.add_cues(mod.regex, mod.cues)
        for group in extra_triggers:
            pf.add(group, group)
        for regex in extra_regexes:
            pf.add_cues(regex, required_cues(regex.pattern, regex.flags))
        rubric.cache[key] = pf.compile()
    return rubric.cache[key]


@dataclass(frozen=True)
class _Engine:
    """What a Matcher reads its rubric with, built once per rubric and extras."""
    filter: Prefilter
    rid: dict[int, int]  # id(regex) -> prefilter id (by identity: hashing a pattern hashes its code)
    re2: dict[int, tuple]  # id(regex) -> (exact RE2 form or None, looser RE2 form or None)
    mods: list[tuple[Modifier, int]]


def engine(rubric: Rubric, extra_triggers: tuple[tuple[str, ...], ...] = (),
           extra_regexes: tuple[re.Pattern, ...] = ()) -> _Engine:
    """The prefilter and RE2 forms of a rubric's regexes (plus extras), built on first use."""
    key = ("engine", extra_triggers, tuple(map(id, extra_regexes)))
    if key not in rubric.cache:
        pf = prefilter(rubric, extra_triggers, extra_regexes)
        regexes = [r for q in rubric.questions.values() for sig in q.signals for r in (sig.regex, *sig.requires)]
        regexes += [m.regex for m in rubric.modifiers] + list(extra_regexes)
        forms = {}
        for regex in regexes:
            ex = exact(regex)
            forms[id(regex)] = (ex, None if ex is not None else looser(regex))
        rubric.cache[key] = _Engine(pf, {id(r): pf.id(r) for r in regexes}, forms,
                                    [(m, pf.id(m.regex)) for m in rubric.modifiers])
    return rubric.cache[key]


@dataclass(slots=True)
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

    def __init__(self, rubric: Rubric, extra_triggers: tuple[tuple[str, ...], ...] = (),
                 extra_regexes: tuple[re.Pattern, ...] = ()):
        self.rubric = rubric
        eng = engine(rubric, extra_triggers, extra_regexes)
        self._filter, self._rid, self._re2, self._mods = eng.filter, eng.rid, eng.re2, eng.mods
        self._span_cache: dict[str, list] = {}
        self._heading_cache: dict[tuple[str, str], set[str]] = {}
        self._weights: dict[str, float] = {}
        self._ids: dict[str, set[int] | None] = {}
        self._probes: dict[str, Probe] = {}

    def probe(self, text: str) -> Probe:
        """text lowercased once, for the regexes' lowercase forms."""
        p = self._probes.get(text)
        if p is None:
            p = self._probes[text] = Probe(text)
        return p

    def ids(self, text: str) -> set[int] | None:
        """Prefilter ids (trigger groups, regexes) that may match in text; None: check them all."""
        ids = self._ids.get(text, _UNSEEN)
        if ids is _UNSEEN:
            ids = self._ids[text] = self._filter.ids(text)
        return ids

    def search(self, text: str, regex: re.Pattern, fast, cues) -> re.Match | Span | None:
        """regex.search(text) (text holds no newline), by the quickest way that finds the same match."""
        ids = self.ids(text)
        if ids is None:
            p = self.probe(text)
            return p.search(regex, fast) if p.has(cues) else None
        # Keyed by object identity: hashing a compiled pattern hashes its whole code.
        key = id(regex)
        if self._rid[key] not in ids:
            return None  # none of its cues in text
        if text.isascii():
            same, loose = self._re2[key]
            data = text.encode()
            if same is not None:
                (start, end), = same.Match(ANCHOR, data, 0, len(data))
                return Span(start, end) if start >= 0 else None
            if loose is not None and loose.Match(ANCHOR, data, 0, len(data))[0][0] < 0:
                return None
        return self.probe(text).search(regex, fast)

    def _spans(self, text: str) -> list:
        spans = self._span_cache.get(text)
        if spans is None:
            # Most sentences hold no modifier cue at all; a modifier whose cues are absent cannot match.
            ids = self.ids(text)
            if ids is None:
                p = self.probe(text)
                mods = [m for m, _ in self._mods if p.has(m.cues)]
            else:
                mods = [m for m, rid in self._mods if rid in ids]
            p = self.probe(text) if mods else None
            if any(m.direction != "terminate" and self.search(text, m.regex, m.fast, m.cues) for m in mods):
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
        key = (heading, qid)
        cats = self._heading_cache.get(key)
        if cats is None:
            cats = self._heading_cache[key] = (
                context_categories(heading, 0, 0, qid, self._spans(heading)) & set(HEADING_CATEGORIES))
        return cats

    def _page_weight(self, url: str) -> float:
        weight = self._weights.get(url)
        if weight is None:
            weight = 1.0
            for ctx in self.rubric.page_contexts:
                if ctx.url.search(url):
                    weight *= ctx.weight
            self._weights[url] = weight
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
        polarity, rule = sig.polarity, sig.id
        # A FAQ question is not a claim; its yes/no answer makes it one.
        if sent.question and (sent.answer is None or (sent.answer == "no" and polarity == "against")):
            return None
        cats = context_categories(sent.text, start, end, q.id, self._spans(sent.text))
        cats |= self._heading_categories(sent.heading, q.id) | self._inherited(line, k, q.id)
        cats -= sig.ignore_context
        if sent.question:
            cats.discard("NEGATED")
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

    def candidates(self, triggers: tuple[str, ...], regex: re.Pattern | None = None) -> list[int]:
        """Indexes of lines holding a trigger word (all lines when there are no triggers) and, when
        regex is given, one of its cues."""
        lines = self._lines
        tid = self._filter.id(triggers) if triggers else None
        if triggers and tid is None:
            raise KeyError(f"trigger group {triggers!r} is not in the prefilter")
        rid = self._rid[id(regex)] if regex is not None else None
        line_ids = self._line_ids
        if not self._odd:  # the common case, as comprehensions
            if tid is None:
                return list(range(len(lines))) if rid is None else [
                    i for i, ids in enumerate(line_ids) if rid in ids]
            if rid is None:
                return [i for i, ids in enumerate(line_ids) if tid in ids]
            return [i for i, ids in enumerate(line_ids) if tid in ids and rid in ids]
        out = []
        for i, ids in enumerate(line_ids):
            if ids is None:
                # A line the prefilter cannot read: a lowercase substring test, as triggers are defined.
                low = lines[i].text.lower()
                if not triggers or any(w in low for w in triggers):
                    out.append(i)
            elif (tid is None or tid in ids) and (rid is None or rid in ids):
                out.append(i)
        return out

    def prepare(self, lines: list[Line]) -> None:
        """Read each of a site's lines once for every trigger word and regex cue."""
        self._lines, self._historical = lines, set()
        self._line_ids = [self.ids(line.text) for line in lines]
        self._odd = None in self._line_ids

    def match(self, lines: list[Line]) -> dict[str, list[Hit]]:
        """Hits per question over all lines of one site (one hit per rule and sentence)."""
        self.prepare(lines)
        hits: dict[str, list[Hit]] = {}
        ids_of, search = self.ids, self.search
        for q in self.rubric.questions.values():
            out = []
            for sig in q.signals:
                regex, fast, cues = sig.regex, sig.fast, sig.cues
                rid = self._rid[id(regex)]
                reqs = list(zip(sig.requires, sig.requires_fast, sig.requires_cues))
                for idx in self.candidates(sig.triggers, regex):
                    line = lines[idx]
                    sents = line.sentences()
                    if len(sents) == 1 and sents[0][1].text == line.text:
                        m = search(line.text, regex, fast, cues)
                        found = [(0, m)] if m else []
                    else:
                        # Sentences first: most lines hold a cue in one sentence at most, and a long
                        # line's own search is only needed (as the gate it always was) when one matches.
                        found = [(k, m) for k, (_, sent) in enumerate(sents)
                                 if ((sids := ids_of(sent.text)) is None or rid in sids)
                                 and (m := search(sent.text, regex, fast, cues))]
                        if found and not search(line.text, regex, fast, cues):
                            found = []
                    for k, m in found:
                        text = sents[k][1].text
                        if all(search(text, r, rf, rc) for r, rf, rc in reqs):
                            hit = self._judge(q, sig, line, k, m.start(), m.end())
                            if hit:
                                out.append(hit)
            # A page that describes a programme as ended speaks of the past throughout.
            hits[q.id] = [h for h in out if h.polarity != "for"
                          or (q.id, h.sentence.url) not in self._historical]
        return hits
