"""Generate a synthetic web of clinic sites (sites/<domain>/...) with realistic sizes and wording mixes.

Each site is one of the clinic kinds found in the labelled corpus (physician-led IV clinic, CRNA- or
NP-run clinic, med spa, ketamine-assisted psychotherapy practice, Spravato centre, at-home
telehealth, hybrid mail-order, a clinic that warns against at-home ketamine, a sparse site) and draws
each question's wording from that kind's mix: statements for and against, vague marketing, research
talk, warnings and FAQ questions, so that the scorer's context work (negation, warnings, blog pages)
runs as it does on real sites. Pages carry a per-site theme (inline CSS and script, menu, cookie
banner, footer) so that HTML sizes spread like real small-practice sites (about 8-60 KB, median ~20 KB).
"""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path

PAGES = ["about", "team", "treatment", "what-to-expect", "faq", "pricing", "contact", "safety",
         "blog", "blog/research-roundup", "conditions", "insurance", "careers", "privacy"]
# Which questions' wording each page leans to (the rest of a page is filler and research talk).
PAGE_TOPICS = {
    "home": ["physician", "monitoring", "mail"], "about": ["physician", "integration"],
    "team": ["physician", "physician"], "treatment": ["monitoring", "screening", "mail"],
    "what-to-expect": ["monitoring", "screening", "integration"], "faq": [], "pricing": ["mail"],
    "contact": [], "safety": ["monitoring", "screening", "warning"], "blog": ["research", "warning"],
    "blog/research-roundup": ["research", "research"], "conditions": ["screening", "research"],
    "insurance": [], "careers": ["physician"], "privacy": [],
}
# Wording per question and stance; {person}, {nurse}, {city}, {price}, {minutes} are filled per site.
WORDING = {
    "physician": {
        "yes": ["{person}, MD, our medical director and a board-certified anesthesiologist, supervises every infusion.",
                "Every treatment plan is reviewed and signed by our physician, {person}, DO.",
                "A physician is on site for every treatment and sees you before your first infusion.",
                "Our founder, {person}, MD, is an emergency medicine physician who leads the ketamine program.",
                "Infusions are ordered by our psychiatrist after a full consultation."],
        "no": ["We are a nurse-owned clinic, run by certified registered nurse anesthetists.",
               "Our clinic is owned and run by a nurse practitioner with full practice authority.",
               "{nurse}, CRNA, and {person}, RN, give every infusion.",
               "Our nurse practitioners practice independently under state law."],
        "vague": ["Our experienced, caring team is with you every step of the way.",
                  "Our medical team has years of experience in ketamine care.",
                  "Our providers are passionate about mental health."],
    },
    "monitoring": {
        "yes": ["Your blood pressure, heart rate and oxygen level are monitored throughout the infusion.",
                "A nurse stays with you for the entire infusion and watches your vital signs.",
                "You rest in our recovery area for {minutes} minutes until you are fully alert before a driver takes you home.",
                "We use continuous ECG and pulse oximetry during every session.",
                "Vital signs are checked every 15 minutes and again before discharge."],
        "no": ["Take your lozenge on your own, at home, at a time that suits you.",
               "No clinician is present during home sessions; a friend can sit with you.",
               "Sessions are self-guided with our app, and you don't need any medical training to use it."],
        "vague": ["Relax in our lounge with a warm blanket, music and an eye mask.",
                  "Your comfort and safety are our top priorities.",
                  "Most people feel relaxed and calm during the session."],
    },
    "screening": {
        "yes": ["Before treatment we review your medical and psychiatric history to rule out contraindications.",
                "Every patient has a comprehensive medical evaluation with our physician before the first infusion.",
                "Patients with uncontrolled high blood pressure, active psychosis or who are pregnant are not candidates.",
                "We complete a PHQ-9 and GAD-7 at intake and before each infusion.",
                "We may decline treatment if ketamine is not medically appropriate for you."],
        "no": ["No medical evaluation is needed: book online and start this week.",
               "There is no need for a psychiatric evaluation before your first session.",
               "Skip the waiting room: no exam required."],
        "vague": ["Fill in our online intake form to get started.",
                  "Call us for a free consultation to see if ketamine is right for you.",
                  "No referral needed."],
    },
    "integration": {
        "yes": ["Our therapist offers integration sessions after each infusion.",
                "We coordinate with your own therapist throughout the series and send a summary after each visit.",
                "Ketamine-assisted psychotherapy is offered by our licensed counselors.",
                "A preparation session comes before your first dose, and integration circles meet weekly."],
        "no": ["We do not offer counseling or therapy; many patients keep their own therapist.",
               "We are a medical infusion clinic only.",
               "Our service is medication management only."],
        "vague": ["Many patients find journaling helpful between sessions.",
                  "Healing is a journey, and we are here for you."],
    },
    "mail": {
        "yes": ["After your video visit, lozenges are mailed to your home by our partner pharmacy.",
                "Your first shipment arrives in discreet packaging within a week, with free shipping.",
                "Between infusions we prescribe ketamine troches for use at home.",
                "Refills ship automatically every month."],
        "no": ["We never send ketamine home: every dose is given in our office.",
               "Ketamine is only given here, under supervision, and is never mailed."],
        "vague": ["Appointments are available within days in {city}.",
                  "We serve patients across {city} and the surrounding area."],
    },
    "warning": {
        "any": ["Some online companies mail ketamine to your door; we believe this is unsafe.",
                "Be wary of any provider that ships ketamine tablets home with no one to watch your blood pressure.",
                "Ask whether a physician will supervise your treatment before you book anywhere."],
    },
    "research": {
        "any": ["Ketamine has been used safely in hospitals as an anesthetic for decades.",
                "Studies show ketamine can relieve depression within hours for many patients.",
                "Research on ketamine for depression has grown quickly over the past decade.",
                "A 2023 trial compared ketamine with electroconvulsive therapy for resistant depression.",
                "Some researchers study at-home ketamine use, but long-term safety data are limited.",
                "Esketamine nasal spray was approved in 2019 for treatment-resistant depression."],
    },
    "filler": {
        "any": ["Many people with depression have tried several medications without relief.",
                "Call us to schedule a free consultation with our team.",
                "We are located close to the highway with free parking.",
                "Our office is open Monday to Saturday by appointment.",
                "We accept HSA and FSA cards, and offer payment plans.",
                "Treatment for depression usually begins with a series of six infusions over two to three weeks.",
                "We treat depression, anxiety, PTSD, OCD and chronic pain.",
                "Our quiet treatment rooms have reclining chairs, soft lighting and noise-cancelling headphones.",
                "A single infusion is ${price}; a series of six is discounted.",
                "Please arrange a ride home, since you should not drive for the rest of the day."],
    },
}
# Per kind: probability of (yes, no, vague-only) per question, and the kind's share of sites.
KINDS = {
    "physician_iv":         (0.25, {"physician": (.9, 0, .1), "monitoring": (.9, 0, .1), "screening": (.85, 0, .15),
                                    "integration": (.4, .3, .3), "mail": (0, .7, .3)}),
    "np_crna_clinic":       (0.15, {"physician": (.25, .6, .15), "monitoring": (.85, 0, .15), "screening": (.6, 0, .4),
                                    "integration": (.3, .3, .4), "mail": (0, .5, .5)}),
    "med_spa":              (0.12, {"physician": (.1, .4, .5), "monitoring": (.3, 0, .7), "screening": (.2, .1, .7),
                                    "integration": (0, .3, .7), "mail": (0, .2, .8)}),
    "kap_practice":         (0.10, {"physician": (.6, .3, .1), "monitoring": (.7, 0, .3), "screening": (.8, 0, .2),
                                    "integration": (1, 0, 0), "mail": (.1, .3, .6)}),
    "spravato_center":      (0.08, {"physician": (.95, 0, .05), "monitoring": (.95, 0, .05), "screening": (.9, 0, .1),
                                    "integration": (.3, .3, .4), "mail": (0, .8, .2)}),
    "telehealth_at_home":   (0.08, {"physician": (.4, .3, .3), "monitoring": (0, .8, .2), "screening": (.2, .6, .2),
                                    "integration": (.4, 0, .6), "mail": (1, 0, 0)}),
    "hybrid_mail_order":    (0.05, {"physician": (.7, .1, .2), "monitoring": (.8, 0, .2), "screening": (.6, .1, .3),
                                    "integration": (.4, .2, .4), "mail": (1, 0, 0)}),
    "warns_against_at_home": (0.07, {"physician": (.9, 0, .1), "monitoring": (.9, 0, .1), "screening": (.8, 0, .2),
                                     "integration": (.5, .2, .3), "mail": (0, 1, 0)}),
    "sparse":               (0.10, {"physician": (0, 0, 1), "monitoring": (0, 0, 1), "screening": (0, 0, 1),
                                    "integration": (0, 0, 1), "mail": (0, 0, 1)}),
}
FAQ = {
    "physician": "Who gives the infusion?", "monitoring": "Will someone watch me during treatment?",
    "screening": "Am I a good candidate for ketamine?", "integration": "Do you offer therapy?",
    "mail": "Can I take ketamine at home?",
}
CITIES = [("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Boise", "ID", "83702"), ("Tulsa", "OK", "74103"),
          ("Omaha", "NE", "68102"), ("Fresno", "CA", "93721"), ("Tampa", "FL", "33602"), ("Akron", "OH", "44308"),
          ("Spokane", "WA", "99201"), ("Tucson", "AZ", "85701"), ("Raleigh", "NC", "27601"), ("Madison", "WI", "53703")]
PEOPLE = ["Ana Ruiz", "Ben Cole", "Chen Wu", "Dana Fox", "Eli Stone", "Fay Moss", "Gus Hale", "Ida Lin",
          "Jon Park", "Kim Ode", "Lea Marsh", "Max Brandt"]
WORDS = ["Ketamine", "Renewal", "Infusion", "Wellness", "Mind", "Mood", "Clarity", "Harbor", "Summit", "Cedar"]


def pick_kind(rng: random.Random) -> str:
    return rng.choices(list(KINDS), weights=[share for share, _ in KINDS.values()])[0]


def site_stances(rng: random.Random, kind: str) -> dict[str, str]:
    """One stance (yes / no / vague) per question for a site of this kind."""
    mix = KINDS[kind][1]
    return {q: rng.choices(["yes", "no", "vague"], weights=w)[0] for q, w in mix.items()}


def theme(rng: random.Random) -> tuple[str, str]:
    """A site's inline CSS and script: sizes spread like page builders' (a few KB to tens of KB)."""
    css_rules = int(min(600, max(20, rng.lognormvariate(4.6, 0.8))))
    css = "".join(f".c{rng.randrange(10**6):x}-{i}{{margin:{i % 17}px {i % 5}px;color:#{rng.randrange(16**6):06x};"
                  f"font-size:{12 + i % 9}px;line-height:1.{i % 9}}}" for i in range(css_rules))
    js_lines = int(min(300, max(5, rng.lognormvariate(3.5, 0.9))))
    js = "".join(f"window.cfg{i}={{id:'{rng.randrange(16**8):08x}',track:{i % 2 == 0},delay:{i * 13 % 997}}};"
                 for i in range(js_lines))
    return css, js


def paragraphs(rng: random.Random, page: str, stances: dict[str, str], fill: dict, words: int) -> list[str]:
    """Body paragraphs for one page: the page's topics in the site's stance, then filler to `words`."""
    sentences = []
    for topic in PAGE_TOPICS.get(page, []):
        pool = WORDING[topic].get(stances.get(topic, "any")) or WORDING[topic]["any"]
        if stances.get(topic) in ("yes", "no") and rng.random() < 0.3:
            pool = pool + WORDING[topic]["vague"]
        sentences += rng.sample(pool, min(len(pool), rng.randint(1, 2)))
    out, count = [], 0
    while count < words:
        pool = WORDING["research" if rng.random() < 0.25 else "filler"]["any"]
        chunk = [rng.choice(pool) for _ in range(rng.randint(2, 5))]
        if sentences and rng.random() < 0.5:
            chunk.insert(rng.randrange(len(chunk) + 1), sentences.pop())
        text = " ".join(chunk).format(**fill)
        out.append(text)
        count += len(text.split())
    out += [s.format(**fill) for s in sentences]
    return out


def faq_html(rng: random.Random, stances: dict[str, str], fill: dict) -> str:
    items = []
    for q, ask in FAQ.items():
        pool = WORDING[q][stances[q]]
        answer = " ".join(s.format(**fill) for s in rng.sample(pool, min(2, len(pool))))
        items.append(f"<details class='faq'><summary><h3>{ask}</h3></summary><p>{answer}</p></details>")
    return "".join(items)


def page_html(rng: random.Random, site: dict, page: str, nav: list[str], words: int) -> str:
    """One page of a site: theme, menu, cookie banner, body, footer."""
    name, city, fill = site["name"], site["city"], site["fill"]
    links = "".join(f'<li class="menu-item"><a href="/{p}/">{p.split("/")[-1].replace("-", " ").title()}</a></li>'
                    for p in nav)
    body = "".join(f"<section><h2>{rng.choice(['About us', 'Your visit', 'Questions?', 'Safety', 'Our care'])}</h2>"
                   f"<p>{p}</p></section>" for p in paragraphs(rng, page, site["stances"], fill, words))
    if page == "faq":
        body = faq_html(rng, site["stances"], fill) + body
    jsonld = ""
    if site["jsonld"] and page == "home":
        jsonld = "<script type='application/ld+json'>" + json.dumps({
            "@context": "https://schema.org", "@type": "MedicalClinic", "name": name, "telephone": site["phone"],
            "address": {"@type": "PostalAddress", "streetAddress": site["street"], "addressLocality": city[0],
                        "addressRegion": city[1], "postalCode": city[2]}}) + "</script>"
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{name} - {page}</title>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{site['css']}</style>"
            f"{jsonld}</head><body><div class='cookie-banner'><p>We use cookies to improve your experience. "
            f"<a href='/privacy/'>Privacy policy</a></p><button>Accept</button></div>"
            f"<header><a class='logo' href='/'>{name}</a><nav><ul class='menu'>{links}</ul></nav></header>"
            f"<main><h1>{name}</h1>{body}</main><footer><p>{name}, {site['street']}, {city[0]}, {city[1]} {city[2]}"
            f"</p><p>{site['phone']}</p><p>&copy; 2026 {name}. All rights reserved.</p></footer>"
            f"<script>{site['js']}</script></body></html>")


def generate(root: Path, sites: int = 300, pages_per_site: int = 12, seed: int = 7) -> Path:
    """Write `sites` sites under root/sites, root/seeds.csv and root/kinds.csv; returns the seeds file."""
    rng = random.Random(seed)
    (root / "sites").mkdir(parents=True, exist_ok=True)
    with (root / "seeds.csv").open("w", newline="") as handle, (root / "kinds.csv").open("w", newline="") as kinds:
        writer, kind_writer = csv.writer(handle), csv.writer(kinds)
        writer.writerow(["name", "url", "city", "state"])
        kind_writer.writerow(["domain", "kind"])
        for i in range(sites):
            domain = f"www.bench-clinic-{i:05d}.test"
            kind = pick_kind(rng)
            city = rng.choice(CITIES)
            css, js = theme(rng)
            site = {"name": f"{rng.choice(WORDS)} {rng.choice(WORDS)} Clinic {i}", "city": city, "kind": kind,
                    "stances": site_stances(rng, kind), "css": css, "js": js, "jsonld": rng.random() < 0.4,
                    "street": f"{rng.randint(10, 9999)} {rng.choice(['Main St', 'Oak Ave', 'Park Blvd'])}",
                    "phone": f"(555) 555-{i % 10000:04d}",
                    "fill": {"person": rng.choice(PEOPLE), "nurse": rng.choice(PEOPLE), "city": city[0],
                             "price": rng.choice([349, 400, 450, 495, 550, 650, 750]),
                             "minutes": rng.choice([30, 45, 60])}}
            sparse = kind == "sparse"
            nav = PAGES[: max(1, (min(pages_per_site, 4) if sparse else pages_per_site) - 1)]
            folder = root / "sites" / domain
            folder.mkdir(exist_ok=True)
            if rng.random() < 0.7:
                (folder / "robots.txt").write_text("User-agent: *\nDisallow: /wp-admin/\n")
            (folder / "index.html").write_text(page_html(rng, site, "home", nav, rng.randint(300, 900)))
            for page in nav:
                (folder / page).mkdir(parents=True, exist_ok=True)
                words = rng.randint(1200, 2500) if page == "privacy" else rng.randint(250, 1100)
                (folder / page / "index.html").write_text(page_html(rng, site, page, nav, words))
            writer.writerow([site["name"], f"http://{domain}/", city[0], city[1]])
            kind_writer.writerow([domain, kind])
    return root / "seeds.csv"
