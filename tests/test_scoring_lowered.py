"""Case-insensitive regexes recompiled for lowercased text find the same spans as the originals."""
import re

import pytest

from scoring.literals import Probe
from scoring.lowered import lowered
from scoring.rubric import load_rubric

TEXTS = [
    "Dr. Jane Roe, MD, leads EVERY infusion; Blood Pressure and SpO2 are monitored.",
    "We SHIP troches to your home. Free 2-day shipping!",
    "Médico anestesiólogo SUPERVISA cada sesión de integración.",
    "A \u017ftudy: the \u212aelvin sign and long s, \u0130stanbul, \u03a3\u039f\u03a3 \u2014 \u201cquoted\u201d",
    "ÉVALUATION BEFORE TREATMENT — “yes”",
]


def _rubric_regexes():
    rubric = load_rubric()
    for q in rubric.questions.values():
        for s in q.signals:
            yield s.regex
            yield from s.requires
    yield from (m.regex for m in rubric.modifiers)


@pytest.mark.parametrize("text", TEXTS + [t.swapcase() for t in TEXTS] + [t.upper() for t in TEXTS])
def test_probe_search_finds_the_spans_of_the_original(text):
    probe = Probe(text)
    for rx in _rubric_regexes():
        fast = lowered(rx)
        assert [m.span() for m in probe.finditer(rx, fast)] == [m.span() for m in rx.finditer(text)], rx.pattern


@pytest.mark.parametrize("pattern", [r"(?-i:MD)\b", r"(?x) a b"])
def test_case_sensitive_or_verbose_patterns_are_not_lowered(pattern):
    assert lowered(re.compile(pattern, re.I)) is None


@pytest.mark.parametrize("pattern,text", [
    (r"\bstudy\b", "A \u017ftudy"),  # long s matches s under IGNORECASE
    (r"[^a-z]{2}x", "\u212aKx"),  # Kelvin sign
    (r"s[A-Z]", "\u017fS"),
])
def test_odd_case_characters_fall_back_to_the_original(pattern, text):
    rx = re.compile(pattern, re.I)
    probe = Probe(text)
    assert not probe.plain
    assert bool(probe.search(rx, lowered(rx))) is bool(rx.search(text))


def test_extra_case_forms_are_kept_in_lowered_literals():
    fast = lowered(re.compile(r"\bstudy\b", re.I))
    assert fast.search("a \u017ftudy") and fast.search("a study")
