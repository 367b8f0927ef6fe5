"""Named clinicians from page text: name, credential as written, role words, quote and page."""
from __future__ import annotations

import re

import pytest

from scoring.clinicians import named_clinicians
from scoring.text import Page

# page text -> [(name, credential as written, family, role words that must be among the roles, leader)]
CASES = [
    ("Eleanor Whitcombe, MD — Medical Director\nShe is a board-certified anesthesiologist.",
     [("Eleanor Whitcombe", "MD", "physician", {"medical director", "anesthesiologist"}, True)]),
    ("Dr. Priya Castellanos, MD, board-certified anesthesiologist, sees every patient.",
     [("Priya Castellanos", "MD", "physician", {"anesthesiologist"}, False)]),
    ("Our team\nJanelle Voss\nDNP, PMHNP-BC\nOwner and Clinical Director\nMarcus Tran\nRN\nClinical nurse",
     [("Janelle Voss", "DNP, PMHNP-BC", "np", {"owner", "clinical director"}, True),
      ("Marcus Tran", "RN", "rn", set(), False)]),
    ("Medical oversight: Gregory Aldana, MD (internal medicine), supervising physician.",
     [("Gregory Aldana", "MD", "physician", {"internal medicine", "supervising physician"}, True)]),
    ("Every new member meets our founder and medical director, Imogen Halvorsen, MD, a psychiatrist.",
     [("Imogen Halvorsen", "MD", "physician", {"founder", "medical director", "psychiatrist"}, True)]),
    ("Cole Whitaker, DNAP, CRNA — owner, administers all infusions",
     [("Cole Whitaker", "DNAP, CRNA", "crna", {"owner"}, True)]),
    ("Deshawn Pruitt, RN & Kaylee Ortiz, RN", [("Deshawn Pruitt", "RN", "rn", set(), False),
                                              ("Kaylee Ortiz", "RN", "rn", set(), False)]),
    ("Every infusion is given by Dr. Elena Marchetti, a board-certified anesthesiologist.",
     [("Elena Marchetti", None, "physician", {"anesthesiologist"}, False)]),
    ("Dra. Lucía Ybarra Montes, MD", [("Lucía Ybarra Montes", "MD", "physician", set(), False)]),
    # Not people: places, testimonials, outside experts.
    ("Visit us at 8 Main St, Silver Spring, MD 20910", []),
    ("“My psychiatrist, Dr. Anand Rao, a kind man, suggested ketamine.”", []),
    ("“The evidence is strong,” said Dr. Evelyn Marsh, a psychiatrist not affiliated with the clinic.", []),
    ("Currently serving PA, OH, NY, NJ, MD and DE.", []),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[re.sub(r"\W+", "_", t[:40]) for t, _ in CASES])
def test_named_clinicians(text, expected):
    found = named_clinicians([Page("http://clinic.test/team/", text)])
    got = [(c.name, c.credential, c.family) for c in found]
    assert got == [(n, cred, fam) for n, cred, fam, _, _ in expected]
    for c, (_, _, _, roles, leader) in zip(found, expected):
        assert roles <= set(c.roles), c.roles
        assert c.leader == leader
        assert c.url == "http://clinic.test/team/" and c.name.split()[-1] in c.quote


def test_one_row_a_person_across_pages_and_blog_pages_skipped():
    pages = [Page("http://clinic.test/", "Dr. Henrik Aasen, a board-certified anesthesiologist, gives every infusion."),
             Page("http://clinic.test/physician/", "Henrik Aasen, MD\nDr. Aasen founded the clinic in 2022."),
             Page("http://clinic.test/blog/post/", "By Tom Writer, RN")]
    found = named_clinicians(pages)
    assert [(c.name, c.credential) for c in found] == [("Henrik Aasen", "MD")]
    assert {"anesthesiologist", "founder"} <= set(found[0].roles) and found[0].doctor_title


def test_every_clinician_quote_is_verbatim_in_its_page():
    from conftest import CORPUS
    from scoring.corpus import load_corpus_pages

    if not CORPUS.exists():
        pytest.skip(f"labelled corpus not found at {CORPUS}")
    wrong, count = [], 0
    for pages in load_corpus_pages(CORPUS).values():
        texts = {p.url: p.text for p in pages}
        for c in named_clinicians(pages):
            count += 1
            if c.quote not in texts[c.url]:
                wrong.append((c.url, c.quote[:60]))
    assert count > 100 and not wrong, wrong[:5]
