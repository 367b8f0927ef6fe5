"""Hits -> verdict, confidence and evidence per question; verdicts -> score and tier."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from scoring.match import Hit
from scoring.rubric import Question, Rubric
from scoring.text import Sentence

MAX_EVIDENCE = 8  # quotes kept per question; strongest first


@dataclass
class Evidence:
    """A quoted sentence behind a verdict."""
    quote: str
    url: str
    rule_id: str
    polarity: str
    weight: float


@dataclass
class Verdict:
    """A machine verdict on one question."""
    question: str
    verdict: str
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)
    for_score: float = 0.0
    against_score: float = 0.0


def staff_hit(q: Question, credentials: list[dict], leaders: bool = False) -> list[Hit]:
    """'Against' hits when listed staff hold only the rule's credentials (e.g. no MD or DO), one per
    person, quoting the lines each was read from; none when the site names a leader (a medical
    director, a "Dr.") whose credential was not read: that is not evidence of no physician."""
    rule = q.staff_rule
    if not rule or not credentials or leaders:
        return []
    held = {c for person in credentials for c in person["credentials"]}
    if held & set(rule["none_of"]) or not held & set(rule["any_of"]):
        return []
    if held & set(rule.get("therapists", ())) and not held & set(rule.get("prescribers", ())):
        return []  # therapists and a nurse: the prescriber is not on the list
    weight = float(rule.get("weight", 1.0))
    hits = []
    for i, person in enumerate(credentials[:MAX_EVIDENCE]):
        sent = Sentence(person["quote"], person["url"], 0)
        # The rule's weight counts once; the other people are shown as evidence.
        hits.append(Hit(q.id, "staff_credentials_only", "against", weight if i == 0 else 0.0, sent))
    return hits


def _confidence(win: float, lose: float) -> float:
    return round(min(0.97, 0.5 + 0.45 * (1 - math.exp(-(win - 0.5 * lose)))), 2)


def decide(q: Question, hits: list[Hit]) -> Verdict:
    """Weigh a question's hits into its verdict; silence gives the default, never a guessed 'no'."""
    pro = sum(h.weight for h in hits if h.polarity == "for")
    con = sum(h.weight for h in hits if h.polarity == "against")
    v = q.verdicts
    # Ties fall to "for" on the yes/no questions; an accusation needs more for than against.
    if pro >= q.threshold and (pro > con if q.red_flag else pro >= con or q.for_wins):
        verdict, conf = v["for"], _confidence(pro, con)
    elif con >= q.threshold:
        verdict, conf = v["against"], _confidence(con, pro)
    else:
        verdict, conf = v["default"], round(max(0.3, 0.7 - 0.2 * max(pro, con)), 2)
    ranked = sorted(hits, key=lambda h: (h.polarity != ("for" if verdict == v["for"] else "against"),
                                         -h.weight))
    evidence = [Evidence(h.sentence.text, h.sentence.url, h.rule_id, h.polarity, round(h.weight, 2))
                for h in ranked[:MAX_EVIDENCE]]
    return Verdict(q.id, verdict, conf, evidence, round(pro, 2), round(con, 2))


def implied(q: Question, verdicts: dict[str, Verdict]) -> Verdict | None:
    """The verdict another question's answer gives a question the site is silent on, with that answer's
    evidence (e.g. ketamine mailed home for doses taken there: nobody monitors them)."""
    if verdicts[q.id].verdict != q.verdicts["default"]:
        return None
    for rule in q.implied:
        if all(verdicts[other].verdict == want for other, want in rule["when"].items()):
            source = next(iter(rule["when"]))
            evidence = [Evidence(e.quote, e.url, f"implied_by:{source}", "against", 0.0)
                        for e in verdicts[source].evidence if e.polarity == "for"][:3]
            return Verdict(q.id, rule["gives"], 0.6, evidence)
    return None


def score_and_tier(rubric: Rubric, verdicts: dict[str, Verdict]) -> tuple[int, str, bool]:
    """0-100 score from question weights, plain-language tier, and whether a red flag was raised."""
    values = rubric.scoring.get("values", {"yes": 1.0})
    graded = [q for q in rubric.questions.values() if not q.red_flag and q.weight > 0]
    total = sum(q.weight for q in graded) or 1.0
    got = sum(q.weight * float(values.get(verdicts[q.id].verdict, 0.0)) for q in graded)
    score = round(100 * got / total)
    red = any(verdicts[q.id].verdict == q.verdicts["for"]
              for q in rubric.questions.values() if q.red_flag)
    stated = sum(verdicts[q.id].verdict != q.verdicts["default"] for q in graded)
    tiers = {t["id"]: t for t in rubric.tiers}
    if red:
        return score, tiers["red_flag"]["name"], True
    if stated < int(rubric.scoring.get("min_stated", 2)):
        return score, tiers["insufficient"]["name"], False
    graded_tiers = sorted((t for t in rubric.tiers if "min_score" in t), key=lambda t: -t["min_score"])
    tier = next((t for t in graded_tiers if score >= t["min_score"]), graded_tiers[-1])
    return score, tier["name"], False
