"""Page parsing and link choice, on Scrapy response objects without crawling."""
import pytest
from scrapy.http import HtmlResponse

from crawler.extract import extract_page
from crawler.links import relevance, skip_reason

PAGE = b"""<!doctype html><html><head><title>Example  Clinic</title>
<style>.x{color:red}</style><script>var tracking = 1;</script>
<script type="application/ld+json">{"@type": "MedicalClinic", "name": "Example Clinic"}</script>
<script type="application/ld+json">not json</script></head>
<body><nav><a href="/team/">Our Team</a><a href="faq.html#top">FAQ</a><a href="mailto:x@y.test">Mail</a>
<a href="javascript:alert(1)">Click</a><a href="https://other.test/x">Other</a></nav>
<h2>Who gives the infusion?</h2><p>Dr. Ada Park, MD, an anesthesiologist,<br>supervises every infusion.</p>
<ul><li>Blood pressure</li><li>Oxygen</li></ul>
<div class="cookie-banner">We use cookies. Accept?</div>
<div style="display: none">Hidden promo</div><p hidden>Also hidden</p><noscript>Enable JS</noscript>
<p>Caf\xc3\xa9 &amp; <b>bold</b> text.</p></body></html>"""


@pytest.fixture
def page():
    response = HtmlResponse(url="http://www.example.test/about/", body=PAGE, encoding="utf-8")
    return extract_page(response.text, response.url)


def test_title_is_collapsed(page):
    assert page.title == "Example Clinic"


def test_headings_paragraphs_and_list_items_are_lines(page):
    lines = page.text.splitlines()
    assert "Who gives the infusion?" in lines
    assert "Blood pressure" in lines and "Oxygen" in lines
    assert "Café & bold text." in lines


@pytest.mark.parametrize("dropped", ["tracking", "color:red", "cookies", "Enable JS"])
def test_scripts_styles_and_banners_are_dropped(page, dropped):
    assert dropped not in page.text


@pytest.mark.parametrize("kept", ["Hidden promo", "Also hidden"])
def test_text_a_visitor_can_reveal_is_kept(page, kept):
    assert kept in page.text.splitlines()


# Collapsed answers as site builders write them: Elementor tabs, Squarespace accordions, <details>,
# Bootstrap tab panels, a question written inside a <button>.
ACCORDIONS = b"""<html><body>
<div class="elementor-tab-title" role="button">Do you send ketamine home?</div>
<div class="elementor-tab-content" style="display:none">No. Every dose is given in our office.</div>
<button class="accordion-item__click-target" aria-expanded="false">Who watches me?</button>
<div class="accordion-item__dropdown" aria-hidden="true"><p>A nurse stays in the room.</p></div>
<details><summary>Is a doctor involved?</summary><p>Our anesthesiologist sets every dose.</p></details>
<div role="tabpanel" hidden><p>Integration sessions follow each infusion.</p></div>
<template><p>Never shown template text</p></template>
<div id="cookie-notice" hidden>We use cookies</div>
</body></html>"""


@pytest.mark.parametrize("line", [
    "Do you send ketamine home?", "No. Every dose is given in our office.", "Who watches me?",
    "A nurse stays in the room.", "Is a doctor involved?", "Our anesthesiologist sets every dose.",
    "Integration sessions follow each infusion."])
def test_collapsed_accordion_and_tab_text_is_content(line):
    assert line in extract_page(ACCORDIONS, "http://a.test/faq/").text.splitlines()


@pytest.mark.parametrize("never", ["Never shown template text", "We use cookies"])
def test_templates_and_hidden_banners_stay_out(never):
    assert never not in extract_page(ACCORDIONS, "http://a.test/faq/").text


FAQ_LD = b"""<html><body><h1>FAQ</h1><p>Do you mail ketamine?</p><p>No, never.</p>
<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [{"@type": "FAQPage",
"mainEntity": [{"@type": "Question", "name": "Do you mail ketamine?", "acceptedAnswer": {"@type": "Answer",
"text": "No, never."}}, {"@type": "Question", "name": "Who gives the infusion?", "acceptedAnswer":
{"@type": "Answer", "text": "<p>Dr. Lee, MD, gives every infusion &amp; stays with you.</p>"}}]}]}</script>
</body></html>"""


def test_faqpage_jsonld_answers_are_added_once_as_text():
    lines = extract_page(FAQ_LD, "http://a.test/faq/").text.splitlines()
    assert lines.count("Do you mail ketamine?") == 1 and lines.count("No, never.") == 1
    assert lines[-2:] == ["Who gives the infusion?", "Dr. Lee, MD, gives every infusion & stays with you."]


def test_jsonld_blocks_are_parsed_and_broken_ones_skipped(page):
    assert page.jsonld == [{"@type": "MedicalClinic", "name": "Example Clinic"}]


def test_links_are_absolute_without_fragments_or_scripts(page):
    assert [link["url"] for link in page.links] == [
        "http://www.example.test/team/", "http://www.example.test/about/faq.html", "https://other.test/x"]


@pytest.mark.parametrize("url,reason", [
    ("http://a.test/files/intake.pdf", "not a web page"),
    ("http://a.test/patient-portal/login", "portal, archive or calendar"),
    ("http://a.test/blog/tag/ketamine/", "portal, archive or calendar"),
    ("http://a.test/blog/page/3/", "portal, archive or calendar"),
    ("http://a.test/2024/05/", "portal, archive or calendar"),
    ("http://a.test/events/?month=2025-01", "session or calendar query"),
    ("http://a.test/about/?sessionid=abc", "session or calendar query"),
    ("http://a.test/our-team/", None),
    ("http://a.test/blog/why-we-never-mail-ketamine/", None),
])
def test_skip_rules(url, reason):
    assert skip_reason(url) == reason


@pytest.mark.parametrize("better,worse", [
    ("http://a.test/our-team/", "http://a.test/blog/some-post/"),
    ("http://a.test/faq/", "http://a.test/careers/"),
    ("http://a.test/ketamine-infusions/", "http://a.test/privacy/"),
    ("http://a.test/pricing/", "http://a.test/gallery/"),
])
def test_evidence_pages_rank_above_others(better, worse):
    assert relevance(better) > relevance(worse)
