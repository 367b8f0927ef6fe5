"""Generate a synthetic web of clinic sites (sites/<domain>/...) with realistic sizes and wording mixes."""
from __future__ import annotations

import csv
import random
from pathlib import Path

PAGES = ["about", "team", "treatment", "what-to-expect", "faq", "pricing", "contact", "safety",
         "blog", "blog/research-roundup", "conditions", "insurance", "careers", "privacy"]
SENTENCES = {
    "physician": ["Dr. {person}, MD, a board-certified anesthesiologist, supervises every infusion.",
                  "Our medical director, {person}, DO, reviews every treatment plan.",
                  "Infusions are given by our nurse practitioner, {person}, NP.",
                  "Our team of caring nurses is with you throughout."],
    "monitoring": ["Your blood pressure, heart rate and oxygen level are monitored throughout the infusion.",
                   "You rest in a recovery area for 30 minutes before a driver takes you home.",
                   "Relax in our lounge with a warm blanket and music."],
    "screening": ["Before treatment we review your medical and psychiatric history to rule out contraindications.",
                  "Fill in our online intake form to get started.",
                  "Patients with uncontrolled high blood pressure or a history of psychosis are not candidates."],
    "integration": ["Our therapist offers integration sessions between infusions.",
                    "We coordinate with your own therapist throughout the series.",
                    "We do not offer counseling; many patients keep their own therapist."],
    "mail": ["We never send ketamine home: every dose is given in our office.",
             "After your video visit, lozenges are mailed to your home by our partner pharmacy.",
             "Some online companies mail ketamine to your door; we believe this is unsafe."],
    "filler": ["Ketamine has been used safely in hospitals for decades.",
               "Many people with depression have tried several medications without relief.",
               "Call us to schedule a free consultation with our team.",
               "We are located close to the highway with free parking.",
               "Our office is open Monday to Saturday by appointment.",
               "Research on ketamine for depression has grown quickly over the past decade."],
}
CITIES = [("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Boise", "ID", "83702"), ("Tulsa", "OK", "74103"),
          ("Omaha", "NE", "68102"), ("Fresno", "CA", "93721"), ("Tampa", "FL", "33602"), ("Akron", "OH", "44308")]
PEOPLE = ["Ana Ruiz", "Ben Cole", "Chen Wu", "Dana Fox", "Eli Stone", "Fay Moss", "Gus Hale", "Ida Lin"]


def page_html(rng: random.Random, name: str, city: tuple, page: str, nav: list[str], words: int) -> str:
    paragraphs = []
    while sum(len(p.split()) for p in paragraphs) < words:
        topic = rng.choice(list(SENTENCES))
        text = " ".join(rng.choice(SENTENCES[topic]).format(person=rng.choice(PEOPLE)) for _ in range(3))
        paragraphs.append(text)
    links = "".join(f'<a href="/{p}/">{p.replace("-", " ").title()}</a> ' for p in nav)
    body = "".join(f"<h2>{rng.choice(['About us', 'Your visit', 'Questions?', 'Safety'])}</h2><p>{p}</p>"
                   for p in paragraphs)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{name} - {page}</title>"
            f"<style>body{{font-family:sans-serif}}</style></head><body><header><nav>{links}</nav></header>"
            f"<main><h1>{name}</h1>{body}</main><footer><p>{name}, 100 Main St, {city[0]}, {city[1]} {city[2]}"
            f"</p><p>(555) 555-0100</p></footer></body></html>")


def generate(root: Path, sites: int = 300, pages_per_site: int = 12, seed: int = 7) -> Path:
    """Write `sites` sites under root/sites and root/seeds.csv; returns the seeds file."""
    rng = random.Random(seed)
    (root / "sites").mkdir(parents=True, exist_ok=True)
    with (root / "seeds.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "url", "city", "state"])
        for i in range(sites):
            domain = f"www.bench-clinic-{i:05d}.test"
            name = f"Bench Clinic {i}"
            city = rng.choice(CITIES)
            nav = PAGES[: max(1, pages_per_site - 1)]
            site = root / "sites" / domain
            site.mkdir(exist_ok=True)
            (site / "index.html").write_text(page_html(rng, name, city, "home", nav, rng.randint(600, 1500)))
            for page in nav:
                (site / page).mkdir(parents=True, exist_ok=True)
                (site / page / "index.html").write_text(page_html(rng, name, city, page, nav, rng.randint(500, 2000)))
            writer.writerow([name, f"http://{domain}/", city[0], city[1]])
    return root / "seeds.csv"
