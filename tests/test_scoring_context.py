"""Sentence -> verdict behaviour of the scorer: negation, warnings, third parties, FAQs, research talk."""
from __future__ import annotations

import pytest

from scoring.run import score_site
from scoring.text import Page, site_sentences, split_sentences


def verdict(question: str, *lines: str, url: str = "http://clinic.test/") -> str:
    return score_site([Page(url=url, text="\n".join(lines))]).verdicts[question].verdict


@pytest.mark.parametrize("lines, expected", [
    (["Our team mails a 30-day supply of ketamine troches straight to your home."], "red_flag"),
    (["After your visit, the partner pharmacy ships your lozenges to your door each month."], "red_flag"),
    (["Patients who respond may continue with prescribed ketamine tablets to take at home between visits."], "red_flag"),
    (["We never ship or mail ketamine to patients."], "none"),
    (["We do not prescribe ketamine lozenges for use at home."], "none"),
    (["Spravato is given only in our office under observation."], "none"),
    (["The specialty pharmacy ships each device to our office, not to you."], "none"),
], ids=["mails-troches", "pharmacy-ships", "take-home-maintenance", "never-ship", "no-home-use",
        "spravato-in-office", "shipped-to-office"])
def test_mail_order_red_flag_reads_negation(lines, expected):
    assert verdict("at_home_mail_order", *lines) == expected


@pytest.mark.parametrize("lines", [
    ["Some online companies mail ketamine lozenges to your home after a short video call; we think this is risky."],
    ["Avoid any service that ships ketamine tablets to your door without an exam."],
    ["A few telehealth startups send ketamine to patients by mail. The tablets are then taken at home alone."],
])
def test_warning_page_is_not_red_flag(lines):
    assert verdict("at_home_mail_order", *lines) == "none"


def test_ended_programme_is_not_red_flag():
    lines = ["From 2021 to 2023 we offered a home program in which a pharmacy mailed lozenges to patients.",
             "That program has ended."]
    assert verdict("at_home_mail_order", *lines) == "none"


@pytest.mark.parametrize("lines, expected", [
    (["Every infusion is given by Dr. Ana Ruiz, a board-certified anesthesiologist."], "yes"),
    (["Our medical director, a psychiatrist, evaluates each patient and supervises every session."], "yes"),
    (["Maria Chen, DO", "Medical Director"], "yes"),
    (["The clinic is nurse-owned and nurse-run."], "no"),
    (["Neither of our founders is a physician; both are nurse anesthetists who practice independently."], "no"),
    (["Our care team is warm, experienced and caring."], "not_stated"),
], ids=["anesthesiologist-gives", "psychiatrist-supervises", "credential-line", "nurse-run",
        "neither-physician", "slogans-only"])
def test_physician_led_verdicts(lines, expected):
    assert verdict("physician_led", *lines) == expected


@pytest.mark.parametrize("lines", [
    ["In a 2012 trial, physicians supervised every participant during the infusions."],
    ["My psychiatrist suggested I try this clinic, and he was right."],
    ["Ask whether a physician supervises each infusion before you book."],
], ids=["research", "patient-own-doctor", "advice"])
def test_research_third_party_and_advice_are_not_physician_led(lines):
    assert verdict("physician_led", *lines) == "not_stated"


def test_staff_listing_without_physician_is_no():
    lines = ["Our team", "Jo Park, PMHNP-BC", "Founder", "Sam Lee, RN", "Infusion nurse"]
    assert verdict("physician_led", *lines) == "no"


@pytest.mark.parametrize("lines, expected", [
    (["A nurse stays in the room and checks your blood pressure every ten minutes during the infusion."], "yes"),
    (["You rest in our recovery area until you are fully alert."], "yes"),
    (["Sessions are self-guided at home.", "Your companion does not need any medical training."], "no"),
    (["Studies show vital signs should be monitored throughout dosing."], "not_stated"),
], ids=["nurse-vitals", "recovery", "alone-at-home", "research-only"])
def test_monitoring_verdicts(lines, expected):
    assert verdict("monitoring", *lines) == expected


@pytest.mark.parametrize("lines, expected", [
    (["Is someone with me while I dose?", "No. You take each dose on your own at home."], "no"),
    (["Is someone with me while I dose?", "Yes, a nurse monitors you the whole time."], "yes"),
    (["Will a nurse watch my blood pressure during the infusion?"], "not_stated"),
], ids=["answered-no", "answered-yes", "unanswered-question"])
def test_faq_question_counts_only_through_its_answer(lines, expected):
    assert verdict("monitoring", *lines) == expected


@pytest.mark.parametrize("lines, expected", [
    (["Before treatment, our psychiatrist completes a psychiatric evaluation and reviews your medical history."], "yes"),
    (["We do not treat people with a history of psychosis, uncontrolled high blood pressure or who are pregnant."], "yes"),
    (["Fill out our online intake form to get started."], "not_stated"),
    (["Good clinics look for psychosis and uncontrolled hypertension before treating anyone."], "not_stated"),
], ids=["evaluation", "exclusions", "intake-form-only", "generic-advice"])
def test_screening_verdicts(lines, expected):
    assert verdict("screening", *lines) == expected


@pytest.mark.parametrize("lines, expected", [
    (["Each series includes two integration sessions with our licensed therapist."], "yes"),
    (["With your consent we coordinate with your own therapist after every infusion."], "yes"),
    (["We don't offer counseling, psychotherapy or integration sessions."], "no"),
    (["Do you offer therapy?", "No. We are a medical infusion practice only."], "no"),
    (["If you don't have a therapist, we refer you to local integration counselors."], "yes"),
    (["Please keep seeing your regular doctor."], "not_stated"),
], ids=["integration-sessions", "coordinates", "dont-offer", "faq-no", "if-you-dont", "nothing"])
def test_integration_support_verdicts(lines, expected):
    assert verdict("integration_support", *lines) == expected


def test_boilerplate_repeated_on_every_page_counts_once():
    footer = "Medical oversight: Dana Cole, MD, supervising physician."
    pages = [Page(url=f"http://clinic.test/{p}", text=f"Page {p}\n{footer}") for p in ("", "a/", "b/", "c/")]
    sentences = site_sentences(pages)
    assert [s.text for s in sentences].count(footer) == 1
    result = score_site(pages)
    assert result.verdicts["physician_led"].verdict == "yes"
    assert {e.url for e in result.verdicts["physician_led"].evidence if e.quote == footer} == {
        "http://clinic.test/"}


def test_blog_talk_alone_does_not_decide():
    text = "A physician should supervise every infusion, and good clinics monitor blood pressure."
    result = score_site([Page(url="http://clinic.test/blog/what-to-know/", text=text)])
    assert result.verdicts["monitoring"].verdict == "not_stated"


def test_sentences_keep_abbreviations_together():
    assert split_sentences("Dr. Lee sees you. Then we start.") == ["Dr. Lee sees you.", "Then we start."]


def test_silence_gives_insufficient_information_not_low_grade():
    result = score_site([Page(url="http://clinic.test/", text="Ketamine infusions\nCall us today.")])
    assert result.tier == "Insufficient information"
    assert all(v.verdict in ("not_stated", "none") for v in result.verdicts.values())


def test_red_flag_caps_tier():
    lines = ["Dr. Ana Ruiz, MD, our psychiatrist, evaluates every patient and supervises treatment.",
             "A psychiatric evaluation checks for psychosis, mania, uncontrolled blood pressure and pregnancy.",
             "Our pharmacy partner mails ketamine lozenges to your home every month."]
    result = score_site([Page(url="http://clinic.test/", text="\n".join(lines))])
    assert result.red_flag and result.tier.startswith("Red flag")


@pytest.mark.parametrize("lines, expected", [
    (["There's no need for a doctor's visit or a psych evaluation beforehand."], "no"),
    (["You don't need an exam; just sign the waiver."], "no"),
    (["You don't need a referral, but our physician does a full medical evaluation first."], "yes"),
], ids=["no-need-for-evaluation", "dont-need-exam", "no-referral-but-evaluation"])
def test_waived_evaluation_reads_as_no_screening(lines, expected):
    assert verdict("screening", *lines) == expected


@pytest.mark.parametrize("lines, expected", [
    (["Después de su primera consulta, le enviamos la ketamina a su casa cada mes."], "red_flag"),
    (["No enviamos ketamina a domicilio: cada dosis se administra en nuestra clínica."], "none"),
    (["Algunas empresas en línea envían ketamina a domicilio; no lo recomendamos."], "none"),
    (["Enviamos los resultados de laboratorio a su casa por correo."], "none"),
], ids=["spanish-mails-home", "spanish-never-ships", "spanish-warning", "spanish-lab-results"])
def test_spanish_mail_order_wording(lines, expected):
    assert verdict("at_home_mail_order", *lines) == expected
