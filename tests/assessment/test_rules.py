"""The scoring rules file: the shipped one loads and covers every self-assessed sub-criterion; bad files are refused."""

from __future__ import annotations

import pytest
import yaml

from questionnaires import load_catalog
from survey.assessment.rules import EntryError, RulesError, data_folder, load_default_assignments, load_rules


@pytest.fixture(scope="module")
def structure():
    return load_catalog().structure("par-province", "2023.1")


def test_shipped_rules_cover_every_self_assessed_subcriterion_within_its_maximum(structure):
    book = load_rules(structure)
    self_assessed = {s.code for s in structure.subcriteria if not s.survey_scored}
    assert set(book.rules) == self_assessed and len(self_assessed) == 61
    assert book.provisional
    for code, rule in book.rules.items():
        values = [x.points for x in rule.levels or rule.tiers]
        assert max(values) <= structure.subcriterion(code).max_points and min(values) >= 0


def test_levels_and_tiers_give_points(structure):
    book = load_rules(structure)
    assert book.rule("1.1.1").points_for_level(1) == 0.25  # late: half of 0.5
    assert book.rule("3.3.2").points_for_figures(95, 100) == (95.0, 0.75)
    assert book.rule("3.3.2").points_for_figures(100, 100) == (100.0, 1.5)
    for numerator, denominator in ((1, 0), (-1, 5), (6, 5)):
        with pytest.raises(EntryError):
            book.rule("3.3.2").points_for_figures(numerator, denominator)


def _write(tmp_path, doc):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_a_file_with_points_above_the_maximum_or_a_missing_rule_is_refused(structure, tmp_path):
    doc = yaml.safe_load((data_folder(structure) / "rules.yaml").read_text(encoding="utf-8"))
    doc["rules"]["1.1.1"] = {"levels": [{"label": "Đúng hạn", "points": 0.75}]}  # max 0.5
    del doc["rules"]["8.5.1"]
    doc["rules"]["1.5.1"] = {"levels": "full_partial_none"}  # survey-scored
    doc["rules"]["1.6.1"]["tiers"] = [{"min_percent": 80, "share": 1}]  # no tier at 0 %
    with pytest.raises(RulesError) as refused:
        load_rules(structure, _write(tmp_path, doc))
    text = " | ".join(refused.value.problems)
    assert "1.1.1 mức 1: 0.75 điểm nằm ngoài khoảng 0–0.5" in text
    assert "8.5.1: thiếu quy tắc" in text
    assert "1.5.1: chấm bằng điều tra xã hội học" in text
    assert "1.6.1: các bậc phải giảm dần và bậc cuối là 0%" in text


def test_a_file_is_parsed_once_per_text_and_again_when_it_changes(structure, tmp_path):
    doc = yaml.safe_load((data_folder(structure) / "rules.yaml").read_text(encoding="utf-8"))
    path = _write(tmp_path, doc)
    first = load_rules(structure, path)
    assert load_rules(structure, path) is first  # same text: the parsed book is reused
    doc["rules"]["1.1.1"] = {"levels": [{"label": "Đúng hạn", "points": 0.4}, {"label": "Không", "points": 0}]}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    edited = load_rules(structure, path)
    assert edited.rule("1.1.1").levels[0].points == 0.4 and edited.content != first.content
    doc["rules"]["1.1.1"]["levels"][0]["points"] = 0.75  # above the maximum: refused, not served from before
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RulesError):
        load_rules(structure, path)


def test_default_assignments_follow_the_plan(structure):
    plan = load_default_assignments(structure)
    assert plan["1.1.1"] == "SNV" and plan["1.6.1"] == "VPUB" and plan["2.1.1"] == "STP"
    assert plan["7.3.1"] == "STTTT" and plan["8.4.1"] == "SKHDT"
    assert "1.5.1" not in plan  # survey-scored: never assigned
    assert len(plan) == 61
