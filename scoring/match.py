"""Apply rubric signals to a site's sentences and read their context (medspaCy ConText style).

A signal matches in one unit of text: a sentence; for signals that reach further, a staff card (name,
credential and title on their own lines) or a sentence together with the one a "He"/"She"/"Dr. Lee"
sentence points back to. Modifiers (negation, warnings, research talk...) apply within the clause of
the match: a clause ends at the rubric's `terminate` cues (";", "but", "however", ...)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from scoring.rubric import Modifier, Question, Rubric, Signal
from scoring.text import Line, Sentence, card_span, list_span

# Context categories that void a match outright: the sentence is not the clinic's own claim.
VOIDING = ("WARNING", "THIRD_PARTY", "RESEARCH", "HYPOTHETICAL", "HISTORICAL", "SELF")
# Categories a section heading passes on to every sentence under it, and a sentence to the
# sentences after it in its paragraph unless they speak for the clinic ("we", "our").
HEADING_CATEGORIES = ("WARNING", "RESEARCH", "HYPOTHETICAL", "HISTORICAL")
# An accusation is never read from a sentence that negates or warns anywhere in it.
ACCUSATION_VOIDS = ("NEGATED", "WARNING")
FIRST_PERSON = re.compile(r"\b(?:we|our|us|we're|we've|we'll|ours)\b|(?-i:\bI\b|\bI'(?:m|ll|ve|d)\b)", re.I)
# A page (a blog post too) is the clinic speaking of itself when this share of its sentences, and at
# least OWN_VOICE_MIN of them, are in the first person; a general article rarely is.
OWN_VOICE_SHARE, OWN_VOICE_MIN = 0.3, 3


@dataclass(slots=True)
class Hit:
    """One signal matched in one sentence (or card), after context: counts toward polarity with weight."""
    question: str
    rule_id: str
    polarity: str  # for | against
    weight: float
    sentence: Sentence
    context: tuple[str, ...] = ()


class Context:
    """The modifier cues of one sentence and where its clauses end."""
    __slots__ = ("cues", "breaks")

    def __init__(self, text: str, modifiers: list[Modifier], words: set[str]):
        self.cues: list[tuple[Modifier, int, int]] = []
        self.breaks: list[int] = []
        for mod in modifiers:
            if mod.direction != "terminate" and (not mod.triggers or not mod.triggers.isdisjoint(words)):
                self.cues += [(mod, m.start(), m.end()) for m in mod.regex.finditer(text)]
        if self.cues:  # clause ends matter only around a cue
            for mod in modifiers:
                if mod.direction == "terminate":
                    self.breaks += [m.start() for m in mod.regex.finditer(text)]

    def _broken(self, lo: int, hi: int) -> bool:
        return any(lo <= b < hi for b in self.breaks)

    def categories(self, start: int, end: int, qid: str, across_clauses: bool = False) -> set[str]:
        """Categories of the cues whose scope covers text[start:end] for question qid."""
        found: set[str] = set()
        for mod, s, e in self.cues:
            if mod.questions and qid not in mod.questions:
                continue
            if mod.direction == "forward":
                # A cue before the match's end (inside a long match too), near its start.
                if s >= end or (e <= start and start - e > mod.window):
                    continue
                if not across_clauses and e <= start and self._broken(e, start):
                    continue
            elif mod.direction == "backward":
                if e <= start or (s >= end and s - end > mod.window):
                    continue
                if not across_clauses and s >= end and self._broken(end, s):
                    continue
            elif not across_clauses:  # bidirectional: the same clause, either side
                lo, hi = (e, start) if e <= start else (end, s) if s >= end else (0, 0)
                if self._broken(lo, hi):
                    continue
            found.add(mod.category)
        return found

    def everywhere(self, qid: str) -> set[str]:
        """Every category with a cue anywhere in the sentence."""
        return {m.category for m, _, _ in self.cues if not m.questions or qid in m.questions}


_SENTENCE_MARK = re.compile(r"[.!?](?:\s|$)")
# The clinic walking its patient through its own process ("you'll meet your clinician").
_ADDRESS = re.compile(r"\b(?:you'll|you will)\b", re.I)
_SENTENCE_GAPS = (". ", "! ", "? ", '" ', "' ", ") ")


def own_voice_pages(lines: list[Line], urls: set[str]) -> set[str]:
    """Of urls, the pages where the clinic speaks in the first person: at least OWN_VOICE_MIN first-person
    words, and OWN_VOICE_SHARE of one a sentence."""
    counts: dict[str, list[int]] = {}
    for line in lines:
        if line.url not in urls or line.heading_like or line.quoted:
            continue
        c = counts.setdefault(line.url, [0, 0])
        c[0] += len(FIRST_PERSON.findall(line.norm)) + len(_ADDRESS.findall(line.norm))
        c[1] += max(1, len(_SENTENCE_MARK.findall(line.norm)))
    return {url for url, (own, total) in counts.items() if own >= OWN_VOICE_MIN and own >= OWN_VOICE_SHARE * total}


@dataclass(slots=True)
class _Unit:
    """Text one signal is read in: a sentence, or a card / pointing-back pair quoted verbatim."""
    line: Line
    k: int  # sentence index in line (the pointing sentence for a pair); -1 for a card
    sentence: Sentence
    covers: range = range(0)  # page line positions of a card or pair


class Matcher:
    """Finds every signal of a rubric in a site's lines, with context applied."""

    def __init__(self, rubric: Rubric, physicians: list[str] | tuple = ()):
        """physicians: surnames of the site's people listed as MD or DO, so "Dr. Vukovich leads the
        programme" counts for a signal with named_physicians where "physician" is not said."""
        self.rubric = rubric
        names = sorted({re.escape(n) for n in physicians if len(n) > 1})
        self._named = re.compile(r"\b(?:" + "|".join(names) + r")\b") if names else None
        self._own_voice: set[str] = set()
        self._contexts: dict[str, Context] = {}
        self._weights: dict[str, float] = {}
        self._historical: set = set()

    def context(self, text: str, words: set[str] | None = None) -> Context:
        ctx = self._contexts.get(text)
        if ctx is None:
            words = self.rubric.words(text.lower()) if words is None else words
            ctx = self._contexts[text] = Context(text, self.rubric.modifiers, words)
        return ctx

    def sentence_categories(self, text: str) -> set[str]:
        """Every context category whose cue appears anywhere in text."""
        return {m.category for m, _, _ in self.context(text).cues}

    def _heading_categories(self, heading: str, qid: str) -> set[str]:
        if not heading:
            return set()
        return self.context(heading).everywhere(qid) & set(HEADING_CATEGORIES)

    def _inherited(self, line: Line, k: int, qid: str) -> set[str]:
        """Voiding context carried from earlier sentences of the same paragraph (line)."""
        sents = line.sentences()
        if k <= 0 or FIRST_PERSON.search(sents[k][1].norm):
            return set()
        cats: set[str] = set()
        for _, prev in sents[:k]:
            cats |= self.context(prev.norm).everywhere(qid)
        return cats & set(HEADING_CATEGORIES)

    def page_weight(self, url: str) -> float:
        weight = self._weights.get(url)
        if weight is None:
            weight = 1.0
            for ctx in self.rubric.page_contexts:
                if ctx.url.search(url):
                    weight *= ctx.weight
            self._weights[url] = weight
        return weight

    def _judge(self, q: Question, sig: Signal, unit: _Unit, start: int, end: int) -> Hit | None:
        sent = unit.sentence
        polarity, rule = sig.polarity, sig.id
        # A FAQ question is not a claim; its yes/no answer makes it one.
        if sent.question and (sent.answer is None or (sent.answer == "no" and polarity == "against")):
            return None
        ctx = self.context(sent.norm, sent.words)
        cats = ctx.categories(start, end, q.id)
        if q.red_flag and polarity == "for":
            # A negation or warning anywhere in the sentence keeps it from accusing; one outside the
            # match's clause ("... in hours, not months") does not make it a denial either.
            wide = (ctx.categories(start, end, q.id, across_clauses=True) | ctx.everywhere(q.id)) & set(ACCUSATION_VOIDS)
            if wide - cats - sig.ignore_context:
                return None
            cats |= wide
        own_cats = set(cats)
        cats |= self._heading_categories(sent.heading, q.id) | self._inherited(unit.line, unit.k, q.id)
        cats -= sig.ignore_context
        if sent.question:
            cats.discard("NEGATED")
            if sent.answer == "no":
                polarity, rule = "against", f"{sig.id}:answered_no"
        if any(c in cats for c in VOIDING):
            # The page speaks of an ended programme when the sentence itself does ("we no longer...").
            if "HISTORICAL" in own_cats - sig.ignore_context:
                self._historical.add((q.id, sent.url))
            return None
        if "NEGATED" in cats:
            if polarity != "for" or not q.negated_counts_against:
                return None
            polarity, rule = "against", f"{sig.id}:negated"
        weight = self.page_weight(sent.url)
        # An article page weighs less, but not where the clinic speaks of itself ("we", "our", "I").
        if weight < 1.0 and (sent.url in self._own_voice or FIRST_PERSON.search(sent.norm)):
            weight = 1.0
        return Hit(q.id, rule, polarity, sig.weight * weight, sent, tuple(sorted(cats)))

    def _found(self, sig: Signal, unit: _Unit, text: str) -> tuple[int, int] | None:
        m = sig.regex.search(text)
        if m is None and sig.named_physicians and self._named is not None:
            m = self._named.search(text)
        where = unit.line.norm if sig.requires_in == "line" and unit.k >= 0 else text
        if m and all(r.search(where) for r in sig.requires):
            return m.start(), m.end()
        return None

    def _extras(self, lines: list[Line]) -> dict[str, list[_Unit]]:
        """Units beyond the sentence, built once a site, by reach: staff cards (name / credential / title
        lines read as one, quoted as the page has them), pointing-back pairs ("She reviews...") and
        lists led by a line ending in ":"."""
        cards, pairs, lists, seen = [], [], [], set()
        refer = self.rubric.referring
        for line in lines:
            if line.raw is None or line.link:
                continue
            first, last = list_span(line.raw, line.index)
            if last > first:
                quote = "\n".join(line.raw[first:last + 1])
                lists.append(_Unit(line, -1, self._joined(quote, line, first), range(first, last + 1)))
            first, last = card_span(line.raw, line.index)
            if last > first and (line.url, first) not in seen:
                seen.add((line.url, first))
                quote = "\n".join(line.raw[first:last + 1])
                cards.append(_Unit(line, -1, self._joined(quote, line, first), range(first, last + 1)))
            if refer is None or line.quoted or not any(
                    m.start() == 0 or line.norm[m.start() - 2:m.start()] in _SENTENCE_GAPS
                    for m in self.rubric.referring_anywhere.finditer(line.norm)):
                continue
            sents = line.sentences()
            for k, (at, sent) in enumerate(sents):
                if not refer.match(sent.norm):
                    continue
                if k:
                    quote = line.text[sents[k - 1][0]:at + len(sent.text)]
                else:
                    prev = line.index - 1
                    while prev >= 0 and not line.raw[prev]:
                        prev -= 1
                    if prev < 0:
                        continue
                    quote = "\n".join(line.raw[card_span(line.raw, prev)[0]:line.index + 1])
                pairs.append(_Unit(line, k, self._joined(quote, line, line.index), range(line.index, line.index + 1)))
        return {"card": cards, "previous": pairs, "list": lists}

    def _joined(self, quote: str, line: Line, index: int) -> Sentence:
        """A unit of several lines: quoted verbatim, read as one line (lines joined by ", ")."""
        sent = Sentence(quote, line.url, index, heading=line.heading)
        sent.norm = sent.norm.replace("\n", ", ")
        sent.words = self.rubric.words(sent.norm.lower())
        return sent

    def _extra_hits(self, q: Question, sig: Signal, units: list[_Unit], done: set) -> list[Hit]:
        """The signal read in cards or pairs whose lines gave it no sentence hit already."""
        out = []
        for unit in units:
            words = unit.sentence.words
            if (sig.triggers and sig.triggers.isdisjoint(words)) or (
                    sig.triggers_also and sig.triggers_also.isdisjoint(words)):
                continue
            if any((unit.line.url, i) in done for i in unit.covers):
                continue
            span = self._found(sig, unit, unit.sentence.norm)
            if span:
                hit = self._judge(q, sig, unit, *span)
                if hit:
                    out.append(hit)
        return out

    def _sentence_pass(self, lines: list[Line]) -> tuple[dict[int, list[Hit]], dict[int, set]]:
        """Every signal read in every sentence holding one of its trigger words, each sentence once:
        id(signal) -> hits, and id(signal) -> (url, line) positions it matched in."""
        rubric = self.rubric
        by_word = rubric.signals_by_word
        signals = {id(sig): (q, sig) for q in rubric.questions.values() for sig in q.signals}
        every = {key for key, (_, sig) in signals.items() if not sig.triggers}
        named = {key for key, (_, sig) in signals.items() if sig.named_physicians} if self._named else set()
        hits: dict[int, list[Hit]] = {key: [] for key in signals}
        done: dict[int, set] = {key: set() for key in signals}

        def wanted(found: set[str]) -> set[int]:
            keys = set(every)
            for word in found:
                keys.update(by_word.get(word, ()))  # route words are indexed too, for facts
            return keys

        index = rubric.trigger_index
        seen: set[str] = set()  # a sentence repeated on the site (a call to action) is read once
        for line in lines:
            # Links (menus, article lists) and quoted testimonials are not the clinic's claims.
            if line.link or line.quoted:
                continue
            found = [(end, w) for end, w in index.iter(line.lower)] if index else []
            line.words = {w for _, w in found}
            keys = wanted(line.words)
            if named and self._named.search(line.norm):
                keys |= named  # a surname listed as MD/DO elsewhere on the site
            if not keys:
                continue
            sents = line.sentences()
            for k, (at, sent) in enumerate(sents):
                if sent.norm in seen:
                    continue
                seen.add(sent.norm)
                if len(sents) == 1:
                    sent.words, sent_keys = line.words, keys
                else:
                    # The line's trigger words that lie wholly in this sentence.
                    stop = at + len(sent.text)
                    sent.words = {w for end, w in found if at <= end - len(w) + 1 and end < stop}
                    sent_keys = wanted(sent.words)
                    if named and self._named.search(sent.norm):
                        sent_keys |= named
                unit = _Unit(line, k, sent)
                for key in sent_keys:
                    q, sig = signals[key]
                    if sig.triggers_also and sig.triggers_also.isdisjoint(sent.words):
                        continue
                    # A topic in a heading ("A note on take-home ketamine") is not a claim; a card is.
                    if line.heading_like and sig.polarity == "for" and sig.reach != "card":
                        continue
                    span = self._found(sig, unit, sent.norm)
                    if span:
                        done[key].add((line.url, line.index))
                        hit = self._judge(q, sig, unit, *span)
                        if hit:
                            hits[key].append(hit)
        return hits, done

    def match(self, lines: list[Line]) -> dict[str, list[Hit]]:
        """Hits per question over all lines of one site (one hit per rule and unit), in rubric order."""
        self._historical = set()
        self._own_voice = own_voice_pages(lines, {line.url for line in lines if self.page_weight(line.url) < 1.0})
        found, done = self._sentence_pass(lines)
        extras = self._extras(lines)
        hits: dict[str, list[Hit]] = {}
        for q in self.rubric.questions.values():
            out = []
            for sig in q.signals:
                out += found[id(sig)]
                if sig.reach != "sentence":
                    out += self._extra_hits(q, sig, extras[sig.reach], done[id(sig)])
            # A page that describes a programme as ended speaks of the past throughout; once the site
            # says a programme ended, its articles announcing it are history too.
            ended = any(qid == q.id for qid, _ in self._historical)
            hits[q.id] = [h for h in out if h.polarity != "for" or not (
                (q.id, h.sentence.url) in self._historical or (ended and self.page_weight(h.sentence.url) < 1.0))]
        return hits
