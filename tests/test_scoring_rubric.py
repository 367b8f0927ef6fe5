"""Rubric loading: the packaged rubric is valid; typos and bad regexes fail naming the rule."""
from __future__ import annotations

import copy

import pytest
import yaml

from scoring.rubric import DEFAULT_PATH, RubricError, load_rubric, parse_rubric


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(DEFAULT_PATH.read_text())


def test_packaged_rubric_loads_with_version_and_all_questions():
    rubric = load_rubric()
    assert rubric.version
    assert set(rubric.questions) == {"physician_led", "monitoring", "screening",
                                     "integration_support", "at_home_mail_order"}
    for q in rubric.questions.values():
        assert q.ask.endswith("?") and q.why and q.signals


def _break(raw, edit):
    data = copy.deepcopy(raw)
    edit(data)
    return data


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["questions"]["screening"]["signals"][1].update(patern="x"),
     "rubric.yaml: screening.signals[1]: unknown key 'patern'"),
    (lambda d: d["questions"]["monitoring"]["signals"][0].update(patterns=["(unclosed"]),
     "rubric.yaml: monitoring.signals[0].patterns[0]: bad regex '(unclosed'"),
    (lambda d: d["questions"]["physician_led"]["signals"][0].pop("phrase"),
     "rubric.yaml: physician_led.signals[0]: missing key 'phrase'"),
    (lambda d: d["questions"]["physician_led"]["signals"][0].update(polarity="maybe"),
     "rubric.yaml: physician_led.signals[0]: polarity must be 'for' or 'against'"),
    (lambda d: d["modifiers"][0].update(direction="sideways"),
     "rubric.yaml: modifiers[0]: direction must be one of"),
    (lambda d: d["modifiers"][0].update(category="MAYBE"),
     "rubric.yaml: modifiers[0]: unknown category 'MAYBE'"),
    (lambda d: d["questions"]["monitoring"].pop("weight"),
     "rubric.yaml: monitoring: missing key 'weight'"),
    (lambda d: d.pop("version"), "rubric.yaml: missing key 'version'"),
], ids=["typo-key", "bad-regex", "missing-phrase", "bad-polarity", "bad-direction",
        "bad-category", "missing-weight", "missing-version"])
def test_invalid_rubric_names_file_and_rule(raw, edit, message):
    with pytest.raises(RubricError) as exc:
        parse_rubric(_break(raw, edit), "rubric.yaml")
    assert str(exc.value).startswith(message)


def test_load_rubric_reports_the_file_name(tmp_path, raw):
    bad = _break(raw, lambda d: d["questions"]["screening"]["signals"][0].update(patern="x"))
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(RubricError, match=r"^custom\.yaml: screening\.signals\[0\]: unknown key 'patern'"):
        load_rubric(path)
