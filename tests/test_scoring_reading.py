"""How the scorer reads a site it has never seen: one parametrized table per class of misreading
(issue 15), with sentences written for these tests."""
from __future__ import annotations

import pytest

from crawler.extract import extract_page
from scoring.run import score_site
from scoring.text import Page


def verdict(question: str, *lines: str, url: str = "http://clinic.test/", links=()) -> str:
    return score_site([Page(url=url, text="\n".join(lines), links=list(links))]).verdicts[question].verdict


def html_verdict(question: str, body: str) -> str:
    page = extract_page(f"<html><body>{body}</body></html>", "http://clinic.test/faq/")
    return score_site([Page("http://clinic.test/faq/", page.text, page.title, page.jsonld)]).verdicts[question].verdict


# 1. Revealable text: answers in collapsed accordions, tabs, <details> and FAQPage JSON-LD are read.
@pytest.mark.parametrize("question, body, expected", [
    ("monitoring", '<div class="elementor-tab-title" role="button">Who watches me?</div>'
                   '<div class="elementor-tab-content" hidden><p>A registered nurse stays at your chair and '
                   'records your blood pressure every ten minutes during the infusion.</p></div>', "yes"),
    ("at_home_mail_order", '<button aria-expanded="false">Can I get ketamine at home?</button>'
                           '<div aria-hidden="true" style="display:none"><p>Our partner pharmacy mails your '
                           'troches straight to your door each month.</p></div>', "red_flag"),
    ("screening", '<details><summary>What happens first?</summary><p>Your first visit is a psychiatric '
                  'evaluation with our psychiatrist.</p></details>', "yes"),
    ("integration_support", '<script type="application/ld+json">{"@type": "FAQPage", "mainEntity": [{"@type": '
                            '"Question", "name": "Is therapy included?", "acceptedAnswer": {"@type": "Answer", '
                            '"text": "<p>Every package includes two integration sessions with our counselor.</p>"}}]}'
                            '</script>', "yes"),
], ids=["elementor-hidden", "aria-hidden-panel", "details", "faqpage-jsonld"])
def test_revealable_text_is_read(question, body, expected):
    assert html_verdict(question, body) == expected


# 2. Page role: a clinic describing its own process on /blog/ counts; a general article and a list of
# links to articles do not.
def test_first_person_blog_post_counts_in_full():
    line = "At our clinic a nurse checks your blood pressure and oxygen every five minutes throughout the infusion."
    assert verdict("monitoring", line, url="http://clinic.test/blog/our-process/") == "yes"


def test_general_article_on_blog_does_not_decide():
    line = "Blood pressure can rise during an infusion, and it usually settles within minutes after it ends."
    assert verdict("monitoring", line, url="http://clinic.test/blog/ketamine-101/") == "not_stated"


def test_list_of_links_to_articles_is_not_a_claim():
    titles = ["Why some clinics mail ketamine lozenges to your home", "Integration sessions explained"]
    assert verdict("at_home_mail_order", *titles, links=titles) == "none"
    assert verdict("integration_support", *titles, links=titles) == "not_stated"


# 3. Cue words are phrases with a clause's scope: a contraindication list, a list of what a patient
# receives, or another clause does not cancel a claim.
@pytest.mark.parametrize("question, line, expected", [
    ("screening", "Before your first infusion our physician screens for psychosis, uncontrolled hypertension, "
                  "active substance misuse and pregnancy.", "yes"),
    ("integration_support", "Each package includes a guided journal, a playlist and two integration sessions with "
                            "our therapist.", "yes"),
    ("monitoring", "Ketamine can be dangerous without oversight; that is why a nurse watches your heart rate "
                   "throughout every session.", "yes"),
    ("physician_led", "Published studies guide our protocols, and Dr. Imani Cole, our anesthesiologist, "
                      "supervises every infusion.", "yes"),
], ids=["substance-in-list", "journal-in-package", "danger-other-clause", "research-other-clause"])
def test_cues_end_at_their_clause(question, line, expected):
    assert verdict(question, line) == expected


# 4. Negation reaches into a long match and across the accusation's whole sentence; a tie never accuses.
@pytest.mark.parametrize("line", [
    "Ketamine tablets are never shipped or mailed to a patient's home by our practice.",
    "We will not, under any circumstances, send ketamine home with you; every dose is given here.",
    "We don't prescribe lozenges to take at home, and no medication leaves our office.",
], ids=["never-inside-match", "not-far-before", "dont-prescribe"])
def test_negated_accusation_is_none(line):
    assert verdict("at_home_mail_order", line) == "none"


def test_warning_anywhere_in_the_sentence_voids_the_accusation():
    line = "Mail-order ketamine is risky: companies ship lozenges straight to your home after a five-minute call."
    assert verdict("at_home_mail_order", line) == "none"


def test_equal_for_and_against_never_accuses():
    lines = ["Some maintenance patients receive troches to take at home between visits.",
             "We never mail ketamine to anyone's home."]
    assert verdict("at_home_mail_order", *lines) == "none"


# 5. Evidence across neighbours: staff cards, pointing-back sentences, nicknames; a PA is not a physician;
# a named leader whose credential was not read is no evidence of "no physician".
@pytest.mark.parametrize("lines, expected", [
    (["Dr. Teodora Vance", "MD", "Medical Director"], "yes"),
    (["Dr. Owen Reyes, MD, trained in emergency medicine in Denver.", "He reviews every patient's chart and sets each dose."], "yes"),
    (["Robert \u201cBo\u201d Lind, MD", "Founder"], "yes"),
    (["Our physician assistant administers every infusion."], "not_stated"),
    (["Kara Mills, PA-C", "Lead clinician", "Ben Ode, RN", "Infusion nurse", "Medical direction by Dr. Felix Hahn"], "not_stated"),
    (["Kara Mills, PA-C", "Lead clinician", "Ben Ode, RN", "Infusion nurse"], "no"),
], ids=["card-lines", "he-points-back", "nickname", "physician-assistant", "uncredentialed-leader", "staff-no-md"])
def test_evidence_across_neighbours(lines, expected):
    assert verdict("physician_led", *lines) == expected


# 6. Explicit "no" in many forms and ordinary paraphrases of "yes"; a bare topic in a heading is no claim.
@pytest.mark.parametrize("question, lines, expected", [
    ("screening", ["Walk-ins welcome, no exam required."], "no"),
    ("monitoring", ["No one from our practice attends your at-home session."], "no"),
    ("monitoring", ["You dose on your own at home after the video visit."], "no"),
    ("monitoring", ["Our anesthesiologist supervises your session in person from start to finish."], "yes"),
    ("monitoring", ["You are never left alone: a nurse checks on you throughout the infusion."], "yes"),
    ("screening", ["Our psychiatrist decides with you whether ketamine is safe for you before any treatment."], "yes"),
    ("integration_support", ["With your permission we collaborate with your current therapist between sessions."], "yes"),
    ("integration_support", ["We'll loop in your counselor after each infusion."], "yes"),
    ("at_home_mail_order", ["Take-home ketamine programs"], "none"),
    ("integration_support", ["Integration Therapy"], "not_stated"),
], ids=["no-exam-required", "no-one-attends", "dose-on-your-own", "supervised-in-person", "never-left-alone",
        "candidacy-decision", "collaborate-with-therapist", "loop-in-counselor", "heading-topic", "heading-service"])
def test_plain_no_and_paraphrased_yes(question, lines, expected):
    assert verdict(question, *lines) == expected


# 7. Quotes are the page's own characters: curly apostrophes kept, staff cards quote their lines.
def test_quotes_keep_the_pages_characters():
    text = "Dr. Lena Ortiz, MD\nMedical Director\nWe\u2019ll check your blood pressure every 5 minutes during your infusion."
    result = score_site([Page("http://clinic.test/team/", text)])
    quotes = [e.quote for v in result.verdicts.values() for e in v.evidence]
    assert quotes and all(q in text for q in quotes), quotes
    assert "We\u2019ll check your blood pressure every 5 minutes during your infusion." in quotes


def test_staff_rule_quotes_the_lines_it_read():
    text = "Our team\nJo Park\nPMHNP-BC\nSam Lee, RN"
    result = score_site([Page("http://clinic.test/team/", text)])
    evidence = result.verdicts["physician_led"].evidence
    assert result.verdicts["physician_led"].verdict == "no"
    assert {e.quote for e in evidence} == {"Jo Park\nPMHNP-BC", "Sam Lee, RN"}
    assert all(e.quote in text for e in evidence)


# Wording read on real providers' pages (patterns only; the sentences are written for these tests).
@pytest.mark.parametrize("question, lines, expected", [
    ("monitoring", ["Patients are monitored continuously from the first drop to discharge."], "yes"),
    ("monitoring", ["You will be observed in our office for at least two hours after each dose."], "yes"),
    ("monitoring", ["Patients are monitored remotely through the app between doses."], "not_stated"),
    ("physician_led", ["As anesthesiologists, we bring operating-room safety to every infusion."], "yes"),
    ("physician_led", ["Your care will be provided by a board-certified psychiatrist."], "yes"),
    ("physician_led", ["Each session is prescribed by a medical doctor and given by a registered nurse."], "yes"),
    ("screening", ["Ketamine may not be right for you if you have any of these:", "Psychosis or schizophrenia",
                   "Uncontrolled high blood pressure", "Pregnancy"], "yes"),
    ("screening", ["An evaluation in our office is required before your first treatment."], "yes"),
    ("at_home_mail_order", ["Your medicine is shipped separately in discreet packaging."], "red_flag"),
    ("at_home_mail_order", ["After the video visit you take the medication at home, following your plan."], "red_flag"),
    ("at_home_mail_order", ["At-home ketamine programs typically involve tablets mailed to a patient's home."], "none"),
    ("at_home_mail_order", ["Ketamine is delivered slowly through an IV over forty minutes."], "none"),
    ("at_home_mail_order", ["Not only does our at-home ketamine program help, it also saves you the drive."], "red_flag"),
    ("at_home_mail_order", ["Should you pick a clinic or an at-home ketamine program? Here is how we think about it."], "none"),
    ("at_home_mail_order", ["Remote KAP dosing is conducted from the comfort of your own home with your therapist on video."], "red_flag"),
    ("at_home_mail_order", ["Consultations are conducted from the comfort of your own home."], "none"),
    ("screening", ["You will be evaluated by a medical professional at our practice to rule out any possible contraindications."], "yes"),
    ("screening", ["Complete a medical and psychiatric assessments with our team first."], "yes"),
    ("physician_led", ["What makes us different than other clinics?", "Your care is provided by a board-certified psychiatrist."], "yes"),
    ("physician_led", ["During each infusion our MD personally checks in with you."], "yes"),
    ("screening", ["Blood pressure that is not under control, or a past psychotic episode, rules ketamine out."], "yes"),
    ("at_home_mail_order", ["The pharmacy mails your lozenges to you; bring them unopened to your session.",
                            "Lozenges are only ever taken in our office, never at home."], "none"),
    ("physician_led", ["Dr. Ines Varga earned her medical degree in Ohio and trained in anesthesiology at Duke.",
                       "Today Dr. Varga oversees every treatment plan at our clinic."], "yes"),
    ("at_home_mail_order", ["We meet by video, and I stay onscreen while you take the lozenge."], "red_flag"),
    ("at_home_mail_order", ["The pharmacy delivers your troches; you bring your medication to and from each session."], "none"),
    ("at_home_mail_order", ["The rise of at-home ketamine, where people order and dose alone, raises concerns for us."], "none"),
    ("monitoring", ["Dr. Amsel is present on site and supervises each treatment."], "yes"),
    ("screening", ["Every new patient starts with an initial evaluation by our psychiatrist, which takes an hour."], "yes"),
    ("screening", ["No prior diagnosis, no referral, no physical exam and no video visit to sit through."], "no"),
    ("monitoring", ["Our nurse screens for uncontrolled blood pressure during your intake call."], "not_stated"),
    ("monitoring", ["Your prescriber, with a person you trust in the room, designs the plan."], "not_stated"),
    ("monitoring", ["Afterward you'll log how you feel and your blood pressure in the app."], "not_stated"),
    ("monitoring", ["A trusted adult stays at home with you until you're back to baseline."], "no"),
    ("monitoring", ["In our office a nurse checks your blood pressure every 15 minutes during the injection.",
                    "Between visits you take a troche at home on your own, with a trusted adult in the house."], "yes"),
    ("at_home_mail_order", ["The pharmacy mails the lozenges to you, but they're only ever taken here, during a session."], "none"),
    ("screening", ["The APA's consensus statement, published in a journal, recommends: a full psychiatric assessment first."], "not_stated"),
    ("screening", ["We ask about things that would make ketamine a risky fit: psychosis, heavy drug use, heart disease."], "yes"),
    ("physician_led", ["We are a nurse-anesthetist-owned practice working under the direction of our medical director."], "not_stated"),
    ("physician_led", ["Nurse-anesthetist owned and operated since 2019."], "no"),
    ("integration_support", ["Do you offer therapy?", "Unfortunately, no. We are a medication-only service."], "no"),
    ("integration_support", ["Patients can see one of our licensed therapists the same week as their treatment."], "yes"),
    ("physician_led", ["I'm a psychologist, not a medical doctor, so I don't prescribe."], "not_stated"),
    ("monitoring", ["Your first sessions are in my office, and I stay in the room the whole time."], "yes"),
    ("monitoring", ["Participants take their lozenge together in the office.",
                    "Two therapists and a registered nurse are present from start to finish."], "yes"),
    ("screening", ["Before any infusion you'll see one of our physicians for a consultation."], "yes"),
    ("screening", ["No doctor's visit, exam or referral required."], "no"),
    ("screening", ["No prior diagnosis, referral or medical clearance is needed to book."], "no"),
    ("at_home_mail_order", ["Your provider can prescribe a month of troches. Our pharmacy mails them straight to your door."], "red_flag"),
    ("at_home_mail_order", ["We send a referral to our partner clinic, and they reach out to you."], "none"),
    ("physician_led", ["If you'd prefer a physician-run clinic, we'll point you to colleagues in town."], "not_stated"),
    ("physician_led", ["Our team", "Ruth Engel, LPC", "Dev Kaur, LCSW", "Grace Whit, RN"], "not_stated"),
], ids=["passive-monitored", "observed-in-office", "monitored-remotely", "as-anesthesiologists",
        "care-provided-by", "medical-doctor", "contraindication-list", "evaluation-required",
        "medicine-shipped", "take-at-home", "generic-at-home-talk", "delivered-through-iv", "not-only",
        "question-in-paragraph", "remote-dosing", "remote-consult", "evaluated-rule-out", "assessments-plural",
        "comparison-not-warning", "our-md", "negated-condition", "mailed-but-taken-in-office", "physician-by-training",
        "virtual-dosing", "bring-to-session", "rise-raises-concerns", "present-supervises", "evaluation-by-psychiatrist",
        "list-of-waivers", "condition-not-reading", "lay-person-in-room", "self-logging", "lay-adult-until-baseline",
        "hybrid-monitors-in-office", "only-taken-in-office", "outside-body-recommends", "risky-fit-is-screening",
        "nurse-owned-with-director", "nurse-anesthetist-owned", "unfortunately-no", "see-our-therapists",
        "speaker-not-physician", "i-stay-in-the-room", "group-participants", "see-our-physicians", "no-doctors-visit",
        "no-medical-clearance", "mails-them", "referral-sent", "if-you-prefer", "therapists-and-nurse"])
def test_real_world_wording(question, lines, expected):
    assert verdict(question, *lines) == expected


def test_ketamine_sent_home_means_doses_nobody_monitors():
    lines = ["After your video visit our partner pharmacy mails your lozenges to your home."]
    result = score_site([Page("http://clinic.test/", "\n".join(lines))])
    monitoring = result.verdicts["monitoring"]
    assert result.red_flag and monitoring.verdict == "no"
    assert monitoring.evidence and monitoring.evidence[0].rule_id == "implied_by:at_home_mail_order"
    assert monitoring.evidence[0].quote == lines[0]


def test_a_hybrid_that_monitors_in_the_office_keeps_its_yes():
    lines = ["A nurse checks your blood pressure every five minutes during each infusion.",
             "Between infusions our pharmacy mails maintenance troches to your home."]
    result = score_site([Page("http://clinic.test/", "\n".join(lines))])
    assert result.red_flag and result.verdicts["monitoring"].verdict == "yes"
