"""The fast paths of the matcher (RE2 prefilter, RE2 forms, split regexes) give what plain `re` gives."""
import random
import re

import pytest

from conftest import CORPUS
from scoring import re2form
from scoring.corpus import load_corpus_pages
from scoring.facts import ROUTES
from scoring.lowered import lowered, split
from scoring.match import Matcher, prefilter
from scoring.rubric import load_rubric
from scoring.run import score_site
from scoring.text import Page, site_lines


@pytest.fixture(scope="module")
def corpus_dir():
    if not CORPUS.exists():
        pytest.skip(f"labelled corpus not found at {CORPUS}")
    return CORPUS

EDGE = [
    "Dr. Jane Roe, MD, leads EVERY infusion; Blood Pressure and SpO2 are monitored.",
    "jane roe,md supervises",
    "A PHYSICIAN'S ORDER: physicians\tsupervise\x0bevery\x1cinfusion.",
    "We SHIP troches to your home. Free 2-day shipping! Refills ship monthly.",
    "No medical evaluation is needed; skip the exam.",
    "Our integration-sessions, integration_sessions and integration9 sessions",
    "We do not offer therapy, but we coordinate with your own therapist.",
    "",
    "md",
]


def _regexes(rubric):
    for q in rubric.questions.values():
        for s in q.signals:
            yield s.regex
            yield from s.requires
    yield from (m.regex for m in rubric.modifiers)
    yield from ROUTES.values()


@pytest.fixture(scope="module")
def texts(corpus_dir):
    """ASCII lines and sentences of the corpus, edge cases, and shuffled, re-cased mixes of them."""
    found = set(EDGE)
    for pages in load_corpus_pages(corpus_dir).values():
        for line in site_lines(pages):
            found.add(line.text)
            found.update(s.text for _, s in line.sentences())
    found = sorted(t for t in found if t.isascii())
    rng = random.Random(5)
    words = [w for t in found for w in t.split()]
    for _ in range(3000):
        mix = " ".join(w.upper() if rng.random() < 0.15 else w for w in rng.sample(words, rng.randint(1, 20)))
        found.append(mix)
    return found


def _span(compiled, text):
    data = text.encode()
    (start, end), = compiled.Match(re2form.ANCHOR, data, 0, len(data))
    return (start, end) if start >= 0 else None


def test_re2_forms_find_the_spans_re_finds(texts):
    rubric = load_rubric()
    checked = 0
    for rx in _regexes(rubric):
        exact, loose = re2form.exact(rx), re2form.looser(rx)
        assert exact is not None or loose is not None, rx.pattern
        for text in texts:
            m = rx.search(text)
            if exact is not None:
                assert _span(exact, text) == (m.span() if m else None), (rx.pattern, text)
                checked += 1
            if m and loose is not None:
                assert _span(loose, text) is not None, (rx.pattern, text)
    assert checked > 50_000


def test_re2_exact_form_maps_python_classes_not_re2_ones():
    # RE2's own \s leaves out \v and \x1c-\x1f, which Python's \s holds: the form spells them out.
    rx = re.compile(r"a\sb", re.I)
    assert rx.search("a\x1cb") and _span(re2form.exact(rx), "a\x1cb") == (0, 3)
    from re2 import _re2
    plain = _re2.RE2(rb"a\sb", re2form.re2.Options())
    assert plain.Match(re2form.ANCHOR, b"a\x1cb", 0, 3)[0][0] < 0  # the control: a naive form differs


@pytest.mark.parametrize("pattern", [r"(?<!not )shipped", r"(\w)\1", "\u212aelvin", "[\u0100-\u017f]x",
                                     r"(?s)a.b", r"(?>ab)c"])
def test_no_exact_re2_form_where_the_engines_differ(pattern):
    assert re2form.exact(re.compile(pattern, re.I)) is None


def test_looser_form_drops_lookarounds_only_to_match_more():
    rx = re.compile(r"\bship\w*\b(?!\s+to (?:our|the) office)", re.I)
    loose = re2form.looser(rx)
    assert rx.search("we ship to the office") is None  # the lookahead rules it out ...
    assert _span(loose, "we ship to the office") is not None  # ... the looser form does not
    assert _span(loose, "nothing here") is None


def test_split_regex_matches_as_the_whole():
    parts = [r"\bphysicians?\b", r"(?-i:[a-z],\s*(?:M\.?D|D\.?O))\b", r"\bdoctor\b"]
    whole = re.compile("|".join(f"(?:{p})" for p in parts), re.I)
    assert lowered(whole) is None
    sp = split(whole, parts)
    for text in EDGE + ["roe, MD and a physician", "a physician, DO", "Roe, md", "doctor, MD"]:
        m = sp.search_in(text, text.lower())
        assert (m.span() if m else None) == (whole.search(text).span() if whole.search(text) else None), text


def test_prefilter_reports_trigger_words_in_any_case_and_skips_odd_text():
    rubric = load_rubric()
    sig = rubric.questions["physician_led"].signals[0]
    pf = prefilter(rubric)
    assert pf.id(sig.triggers) in pf.ids("Our ANESTHESIOLOGIST is here")
    assert pf.id(sig.triggers) not in pf.ids("Our nurse is here")
    assert pf.ids("A \u212aelvin-sign text") is None  # read the slow way


def _hits(site):
    return {q: [(h.rule_id, h.polarity, h.weight, h.sentence.text, h.sentence.url, h.context) for h in hs]
            for q, hs in site.hits.items()}


def test_fast_matcher_gives_the_reference_verdicts_and_evidence(corpus_dir, monkeypatch):
    sites = load_corpus_pages(corpus_dir)
    fast = {d: score_site(p) for d, p in sites.items()}
    # The reference: no prefilter and no RE2, only trigger substrings, cue tests and `re` (the
    # matcher's path for text the prefilter cannot read).
    monkeypatch.setattr(Matcher, "ids", lambda self, text: None)
    slow = {d: score_site(p) for d, p in sites.items()}
    for domain in sites:
        a, b = fast[domain], slow[domain]
        assert (a.score, a.tier, a.facts) == (b.score, b.tier, b.facts), domain
        assert _hits(a) == _hits(b), domain
        for q in a.verdicts:
            va, vb = a.verdicts[q], b.verdicts[q]
            assert (va.verdict, va.confidence, va.evidence) == (vb.verdict, vb.confidence, vb.evidence), (domain, q)
    assert sum(len(v.evidence) for s in fast.values() for v in s.verdicts.values()) > 200


def test_a_line_the_prefilter_cannot_read_is_still_matched():
    # The Kelvin sign folds onto "k" in `re` but not in RE2: that line takes the plain path.
    def verdict(name):
        pages = [Page("http://c.test/", f"About us\nOur anesthesiologist, Dr. {name} Roe, supervises every infusion.\n"
                                        "A nurse checks your blood pressure during the infusion.")]
        site = score_site(pages)
        return {q: (v.verdict, [e.rule_id for e in v.evidence]) for q, v in site.verdicts.items()}

    odd = verdict("\u212aim")
    assert odd == verdict("Kim")
    assert odd["physician_led"][0] == "yes" and odd["monitoring"][0] == "yes"
