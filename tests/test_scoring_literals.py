"""Literal cues derived from regexes: text without them cannot match, so skipping it is exact."""
import re

import pytest

from scoring.literals import Probe, required_cues
from scoring.rubric import load_rubric


@pytest.mark.parametrize("pattern,words,subs", [
    (r"\b(?:no|not|never)\b", {"no", "not", "never"}, ()),
    (r"\bphysicians?\b", set(), ("physician",)),
    (r"\b(?:compounded|racemic) nasal spray\b", set(), (" nasal spray",)),
    (r"(?-i:[a-z],\s*(?:M\.?D|D\.?O))\b", set(), ("do", "md", "d.o", "m.d")),
    (r"\w+ly", set(), ("ly",)),
    (r"\w+|x", None, None),
])
def test_required_cues(pattern, words, subs):
    cues = required_cues(pattern)
    if words is None:
        assert cues is None
    else:
        assert set(cues.words) == words and set(cues.subs) == set(subs)


@pytest.mark.parametrize("pattern,text,has", [
    (r"\bno\b", "We know it now.", False),
    (r"\bno\b", "No, never.", True),
    (r"\bstudy\b", "A STUDY found", True),
    # Long s and Kelvin sign match s and k under IGNORECASE though lower() keeps them: not skipped.
    (r"\bstudy\b", "A \u017ftudy found", True),
    (r"\bkit\b", "a \u212ait here", True),
])
def test_probe_is_never_wrong_about_a_match(pattern, text, has):
    rx = re.compile(pattern, re.I)
    assert Probe(text).has(required_cues(pattern)) is has
    if rx.search(text):
        assert has


def test_rubric_cues_hold_for_every_match_in_rubric_text():
    rubric = load_rubric()
    regexes = [(m.regex, m.cues) for m in rubric.modifiers]
    for q in rubric.questions.values():
        for s in q.signals:
            regexes += [(s.regex, s.cues)] + list(zip(s.requires, s.requires_cues))
    sample = [q.ask for q in rubric.questions.values()] + [q.why for q in rubric.questions.values()]
    sample += [s.phrase for q in rubric.questions.values() for s in q.signals]
    sample += [m.phrase for m in rubric.modifiers]
    for rx, cues in regexes:
        for text in sample:
            if rx.search(text):
                assert Probe(text).has(cues), (rx.pattern[:60], text)
