"""Clinic facts: JSON-LD first, then page text; routes and staff credentials (prices: test_costs.py)."""
from __future__ import annotations

from scoring.facts import extract_facts, staff_credentials
from scoring.run import score_site
from scoring.text import Page

JSONLD = [{"@context": "https://schema.org", "@type": "MedicalClinic", "name": "Harbor Ketamine",
           "telephone": "(207) 555-0101",
           "address": {"@type": "PostalAddress", "streetAddress": "12 Wharf St",
                       "addressLocality": "Portland", "addressRegion": "ME", "postalCode": "04101"}}]
TEXT = "\n".join(["Harbor Ketamine Clinic", "Call (207) 555-0199", "99 Other Rd", "Bangor, ME 04401"])


def test_jsonld_wins_over_text():
    f = extract_facts([Page("http://h.test/", TEXT, "Harbor | Home", JSONLD)], TEXT)
    assert (f.name, f.phone, f.street, f.city, f.state, f.zip) == (
        "Harbor Ketamine", "(207) 555-0101", "12 Wharf St", "Portland", "ME", "04101")


def test_text_fallback_for_address_and_phone():
    f = extract_facts([Page("http://h.test/", TEXT, "Harbor Ketamine | Home")], TEXT)
    assert (f.name, f.phone, f.street, f.city, f.state, f.zip) == (
        "Harbor Ketamine", "(207) 555-0199", "99 Other Rd", "Bangor", "ME", "04401")


def test_address_on_one_line():
    text = "Visit us: 400 Main Street, Suite 2, Dayton, OH 45402"
    f = extract_facts([Page("http://h.test/", text)], text)
    assert (f.street, f.city, f.state, f.zip) == ("400 Main Street, Suite 2", "Dayton", "OH", "45402")


def test_staff_credentials_are_normalised_and_skip_blog_pages():
    pages = [Page("http://h.test/team/", "Ana Ruiz, MD\nJo Park, PMHNP-BC\nLi Wei, DNP, CRNA\nSam Ode, LCSW"),
             Page("http://h.test/blog/news/", "Quoted expert Paul Grey, MD")]
    creds = {p["name"]: p["credentials"] for p in staff_credentials(pages)}
    assert creds == {"Ana Ruiz": ["MD"], "Jo Park": ["NP"], "Li Wei": ["DNP", "CRNA"], "Sam Ode": ["LCSW"]}


def test_routes_from_clinic_text_and_at_home_only_with_red_flag():
    text = "We offer IV ketamine infusions and Spravato (esketamine) nasal spray in our office."
    result = score_site([Page("http://h.test/", text)])
    assert result.facts.routes == ["iv", "nasal_esketamine"]
