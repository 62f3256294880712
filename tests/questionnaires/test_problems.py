"""Broken files produce exactly the expected problems, all of them at once."""

from __future__ import annotations

import shutil

import pytest

from questionnaires import DEFAULT_ROOT, LoadError, Problem, load_catalog, load_questionnaire, load_structure

from .conftest import assert_problems, problems_of

F = "forms/x/2023.1.yaml"
S = "structures/tiny/2023.1.yaml"


def test_tiny_fixture_is_valid(tiny):
    q = tiny.load_form(tiny.form())
    assert [question.code for question in q.questions] == ["Q1", "Q2"]


def test_problem_and_error_formatting():
    p = Problem("forms/x/2023.1.yaml", "sections[2].questions[0].scale", "unknown scale 'abc'")
    assert str(p) == "forms/x/2023.1.yaml: sections[2].questions[0].scale: unknown scale 'abc'"
    assert str(Problem("f.yaml", "", "broken")) == "f.yaml: broken"
    err = LoadError([p, Problem("f.yaml", "", "broken")])
    assert str(err).splitlines() == [str(p), "f.yaml: broken"]


def test_yaml_syntax_error_reports_the_line(tiny):
    text = 'key: x\nversion: "2023.1"\ntitle: [unclosed\nintro: a\n'
    problems = problems_of(tiny.load_form, text)
    assert_problems(problems, [(F, "", "invalid YAML at line 4")])


def test_duplicate_yaml_key_is_an_error(tiny):
    text = 'key: x\nversion: "2023.1"\nkey: y\n'
    assert_problems(problems_of(tiny.load_form, text), [(F, "", "found duplicate key 'key'")])


def test_top_level_must_be_a_mapping(tiny):
    assert_problems(problems_of(tiny.load_form, "- a\n- b\n"), [(F, "", "must contain a YAML mapping")])


def test_not_utf8(tiny):
    path = tiny.root / F
    path.parent.mkdir(parents=True)
    path.write_bytes("title: Phiếu".encode("cp1258", errors="replace") + b"\xff")
    assert_problems(problems_of(load_questionnaire, path, root=tiny.root), [(F, "", "not valid UTF-8")])


def test_schema_violations_are_all_reported(tiny):
    doc = tiny.form()
    del doc["intro"]
    doc["version"] = 2023.1  # what unquoted YAML gives
    doc["colour"] = "red"
    doc["sections"][0]["questions"][0]["kind"] = "essay"
    doc["scales"]["leader"]["options"][0]["weight"] = "high"
    problems = problems_of(tiny.load_form, doc)
    assert_problems(problems, [
        (F, "", "'intro' is a required property"),
        (F, "", "'colour' was unexpected"),
        (F, "version", "2023.1 is not of type 'string'"),
        (F, "sections[0].questions[0].kind", "'essay' is not one of"),
        (F, "scales.leader.options[0].weight", "'high' is not of type 'number', 'null'"),
    ])


def test_par_questionnaire_needs_a_structure_reference(tiny):
    doc = tiny.form()
    del doc["structure"]
    assert_problems(problems_of(tiny.load_form, doc), [(F, "", "'structure' is a required property")])


def test_unknown_scale(tiny):
    doc = tiny.form()
    doc["sections"][1]["questions"][0]["scale"] = "abc"
    problems = problems_of(tiny.load_form, doc)
    assert [str(p) for p in problems] == ["forms/x/2023.1.yaml: sections[1].questions[0].scale: unknown scale 'abc'"]


def test_duplicate_question_code(tiny):
    doc = tiny.form()
    doc["sections"][1]["questions"][0]["code"] = "Q1"
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "sections[1].questions[0].code", "duplicate question code 'Q1' (also sections[0].questions[0])"),
    ])


def test_duplicate_option_code(tiny):
    doc = tiny.form()
    doc["scales"]["leader"]["options"][1]["code"] = "A"
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "scales.leader.options[1].code", "option code 'A' is used twice in scale 'leader'"),
    ])


@pytest.mark.parametrize("weight", [1.5, -0.1])
def test_weight_out_of_range(tiny, weight):
    doc = tiny.form()
    doc["scales"]["leader"]["options"][0]["weight"] = weight
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "scales.leader.options[0].weight", f"weight {weight:g} is out of range"),
    ])


def test_missing_option_must_not_have_a_weight(tiny):
    doc = tiny.form()
    doc["scales"]["leader"]["options"][2]["weight"] = 0.0
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "scales.leader.options[2].weight", "option 'E' is a don't-know/no-answer option"),
    ])


def test_answer_option_of_a_scored_scale_needs_a_weight(tiny):
    doc = tiny.form()
    del doc["scales"]["leader"]["options"][1]["weight"]
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "scales.leader.options[1].weight", "option 'B' of scored scale 'leader' needs a weight"),
    ])


def test_unscored_scale_takes_no_weights_and_cannot_score(tiny):
    doc = tiny.form()
    doc["scales"]["priority"] = {"scored": False, "options": [
        {"code": "A", "label": "Một"}, {"code": "B", "label": "Hai", "weight": 0.5}]}
    doc["sections"][0]["questions"].append(
        {"code": "X1", "text": "Ưu tiên", "kind": "multi", "scale": "priority", "max_choices": 1})
    doc["sections"][0]["questions"][0]["scale"] = "priority"
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "scales.priority.options[1].weight", "scale 'priority' is not scored"),
        (F, "sections[0].questions[0].scale", "scores sub-criterion '1.1.1' but scale 'priority' is not scored"),
    ])


def test_unknown_and_self_assessed_subcriteria(tiny):
    doc = tiny.form()
    doc["sections"][0]["questions"][0]["subcriterion"] = "1.1.9"
    doc["sections"][1]["questions"][0]["subcriterion"] = "2.1.2"
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "sections[0].questions[0].subcriterion", "unknown sub-criterion '1.1.9' in structure 'tiny'"),
        (F, "sections[1].questions[0].subcriterion", "sub-criterion '2.1.2' is not survey-scored"),
    ])


def test_subcriterion_of_another_field(tiny):
    doc = tiny.form()
    doc["sections"][0]["questions"][0]["subcriterion"] = "2.1.1"
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "sections[0].questions[0].subcriterion", "belongs to field 2, but the section is for field 1"),
    ])


def test_section_field_must_exist_in_structure(tiny):
    doc = tiny.form()
    doc["sections"][1]["field"] = 3
    doc["sections"][1]["questions"][0].pop("subcriterion")
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "sections[1].field", "field 3 does not exist in structure 'tiny' version '2023.1'"),
    ])


def test_referenced_structure_must_exist(tiny):
    doc = tiny.form()
    doc["structure"]["version"] = "2030.1"
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "structure", "structure 'tiny' version '2030.1' does not exist (no file structures/tiny/2030.1.yaml)"),
    ])


def test_broken_structure_is_reported_with_the_questionnaire(tiny):
    structure = tiny.structure()
    structure["fields"][0]["max_points"] = 6
    tiny.write(S, structure)
    assert_problems(problems_of(tiny.load_form, tiny.form()), [
        (F, "structure", "structure 'tiny' version '2023.1' could not be loaded; fix it first"),
        (S, "fields[0].max_points", "field 1 has max_points 6 but its criteria sum to 5"),
        (S, "fields", "fields sum to 11, expected 10"),
    ])


def test_referenced_structure_must_exist_in_the_given_set(tiny):
    path = tiny.write(F, tiny.form())
    problems = problems_of(load_questionnaire, path, structures={}, root=tiny.root)
    assert_problems(problems, [(F, "structure", "structure 'tiny' version '2023.1' does not exist")])


def test_kind_specific_attributes(tiny):
    doc = tiny.form()
    doc["sections"][0]["questions"][0]["max_choices"] = 2
    doc["sections"][1]["questions"][0]["max_length"] = 50
    doc["sections"][1]["questions"].append({"code": "T1", "text": "Góp ý", "kind": "text", "scale": "leader"})
    doc["sections"][1]["questions"].append({"code": "M1", "text": "Chọn", "kind": "multi", "scale": "leader",
                                            "max_choices": 3})
    doc["sections"][1]["questions"].append({"code": "M2", "text": "Chọn", "kind": "multi"})
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "sections[0].questions[0].max_choices", "only allowed on multi questions, not single"),
        (F, "sections[1].questions[0].max_length", "only allowed on text questions, not single"),
        (F, "sections[1].questions[1].scale", "a text question has no scale"),
        (F, "sections[1].questions[2].max_choices", "max_choices 3 exceeds the 2 options of scale 'leader'"),
        (F, "sections[1].questions[3].scale", "a multi question needs a scale"),
    ])


def test_text_question_defaults(tiny):
    doc = tiny.form()
    doc["sections"][1]["questions"].append({"code": "T1", "text": "Góp ý", "kind": "text", "required": False})
    q = tiny.load_form(doc).question("T1")
    assert (q.scale, q.max_length, q.required, q.max_choices) == (None, 1000, False, None)


def test_key_and_version_must_match_the_location(tiny):
    doc = tiny.form()
    problems = problems_of(tiny.load_form, doc, relpath="forms/y/2024.1.yaml")
    assert_problems(problems, [
        ("forms/y/2024.1.yaml", "key", "key 'x' does not match the folder 'y'"),
        ("forms/y/2024.1.yaml", "version", "version '2023.1' does not match the file name '2024.1.yaml'"),
    ])


def test_sipas_specific_checks(tiny):
    doc = tiny.form()
    doc["survey"] = "sipas"
    del doc["structure"]
    doc["policies"] = {"water": "Cung cấp nước sạch sinh hoạt"}
    doc["sections"][0].pop("field")
    doc["sections"][0]["questions"][0].update(sipas_element=1, sipas_policy="roads")
    doc["sections"][1].pop("field")
    doc["sections"][1]["questions"][0].pop("subcriterion")
    doc["sections"][1]["questions"][0]["sipas_policy"] = "water"
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "sections[0].questions[0].subcriterion", "only PAR questionnaires score sub-criteria"),
        (F, "sections[0].questions[0].sipas_policy", "policy group 'roads' is not declared under 'policies'"),
    ])


def test_sipas_fields_are_rejected_in_par_forms(tiny):
    doc = tiny.form()
    doc["sections"][0]["questions"][0]["sipas_element"] = 2
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "sections[0].questions[0].sipas_element", "only allowed in SIPAS questionnaires"),
    ])


def test_several_problems_at_once_are_all_reported(tiny):
    doc = tiny.form()
    doc["scales"]["leader"]["options"][0]["weight"] = 2
    doc["scales"]["leader"]["options"][2]["weight"] = 0
    doc["sections"][0]["questions"][0]["scale"] = "abc"
    doc["sections"][1]["questions"][0]["code"] = "Q1"
    doc["sections"][1]["questions"][0]["subcriterion"] = "2.1.2"
    assert_problems(problems_of(tiny.load_form, doc), [
        (F, "scales.leader.options[0].weight", "weight 2 is out of range"),
        (F, "scales.leader.options[2].weight", "must not have a weight"),
        (F, "sections[0].questions[0].scale", "unknown scale 'abc'"),
        (F, "sections[1].questions[0].code", "duplicate question code 'Q1'"),
        (F, "sections[1].questions[0].subcriterion", "'2.1.2' is not survey-scored"),
    ])


# --- structures -------------------------------------------------------------------------


def test_structure_totals_mismatch_reports_the_numbers(tiny):
    doc = tiny.structure()
    doc["fields"][0]["criteria"][0]["subcriteria"][0]["max_points"] = 2.5
    path = tiny.write(S, doc)
    assert_problems(problems_of(load_structure, path, root=tiny.root), [
        (S, "fields[0].criteria[0].max_points", "criterion '1.1' has max_points 5 but its sub-criteria sum to 4.5"),
        (S, "fields", "survey-scored sub-criteria sum to 3.5, expected 4"),
    ])


def test_field_and_grand_totals(tiny):
    doc = tiny.structure()
    doc["fields"][1]["max_points"] = 4.5
    path = tiny.write(S, doc)
    assert_problems(problems_of(load_structure, path, root=tiny.root), [
        (S, "fields[1].max_points", "field 2 has max_points 4.5 but its criteria sum to 5"),
        (S, "fields", "fields sum to 9.5, expected 10"),
    ])


def test_shipped_structure_with_one_value_changed_fails_the_100_and_32_totals(tmp_path):
    shutil.copytree(DEFAULT_ROOT / "structures", tmp_path / "structures")
    path = tmp_path / "structures/par-province/2023.1.yaml"
    text = path.read_text(encoding="utf-8")
    old = 'title: "Tính kịp thời, sát thực tế của kế hoạch cải cách hành chính năm của tỉnh", max_points: 0.5'
    assert text.count(old) == 1
    path.write_text(text.replace(old, old[:-3] + "1.0"), encoding="utf-8")
    # Keep criterion and field consistent so only the two grand totals are off.
    text = path.read_text(encoding="utf-8")
    text = text.replace("title: Sự năng động trong chỉ đạo, điều hành cải cách hành chính\n        max_points: 2.5",
                        "title: Sự năng động trong chỉ đạo, điều hành cải cách hành chính\n        max_points: 3.0")
    text = text.replace("owner: Sở Nội vụ\n    max_points: 9.0", "owner: Sở Nội vụ\n    max_points: 9.5", 1)
    path.write_text(text, encoding="utf-8")
    name = "structures/par-province/2023.1.yaml"
    assert_problems(problems_of(load_structure, path, root=tmp_path), [
        (name, "fields", "fields sum to 100.5, expected 100"),
        (name, "fields", "survey-scored sub-criteria sum to 32.5, expected 32"),
    ])


def test_float_sums_use_a_tolerance(tiny):
    doc = tiny.structure()
    field2 = doc["fields"][1]
    field2["criteria"][0]["max_points"] = 4.7
    field2["criteria"][0]["subcriteria"][1]["max_points"] = 3.7
    field2["criteria"].append({"code": "2.2", "title": "Tiêu chí 2.2", "max_points": 0.3, "subcriteria": [
        {"code": f"2.2.{i}", "title": f"Thành phần 2.2.{i}", "max_points": 0.1, "survey_scored": False}
        for i in (1, 2, 3)]})
    assert 0.1 + 0.1 + 0.1 != 0.3  # binary floats: the exact comparison would fail
    structure = load_structure(tiny.write(S, doc), root=tiny.root)
    assert structure.total_points == pytest.approx(10)
    assert len(structure.criteria) == 3


def test_structure_codes_numbers_and_hierarchy(tiny):
    doc = tiny.structure()
    doc["fields"][1]["number"] = 1
    doc["fields"][1]["criteria"][0]["code"] = "1.1"
    doc["fields"][0]["criteria"][0]["subcriteria"][1]["code"] = "1.2.2"
    path = tiny.write(S, doc)
    assert_problems(problems_of(load_structure, path, root=tiny.root), [
        (S, "fields[1].number", "field number 1 is used twice"),
        (S, "fields[1].criteria[0].code", "code '1.1' is used twice"),
        (S, "fields[0].criteria[0].subcriteria[1].code", "'1.2.2' is not numbered under criterion '1.1'"),
        (S, "fields[1].criteria[0].subcriteria[0].code", "'2.1.1' is not numbered under criterion '1.1'"),
        (S, "fields[1].criteria[0].subcriteria[1].code", "'2.1.2' is not numbered under criterion '1.1'"),
    ])


def test_criterion_numbered_under_another_field(tiny):
    doc = tiny.structure()
    crit = doc["fields"][1]["criteria"][0]
    crit["code"] = "3.1"
    for sub, code in zip(crit["subcriteria"], ("3.1.1", "3.1.2")):
        sub["code"] = code
    assert_problems(problems_of(load_structure, tiny.write(S, doc), root=tiny.root), [
        (S, "fields[1].criteria[0].code", "criterion '3.1' is not numbered under field 2"),
    ])


def test_structure_schema(tiny):
    doc = tiny.structure()
    doc["fields"][0]["number"] = 9
    doc["fields"][0]["criteria"][0]["subcriteria"][0]["code"] = "1.1"
    del doc["fields"][1]["owner"]
    assert_problems(problems_of(load_structure, tiny.write(S, doc), root=tiny.root), [
        (S, "fields[0].number", "9 is greater than the maximum of 8"),
        (S, "fields[0].criteria[0].subcriteria[0].code", "'1.1' does not match"),
        (S, "fields[1]", "'owner' is a required property"),
    ])


# --- catalog ----------------------------------------------------------------------------


def test_catalog_reports_problems_of_all_files(tiny):
    bad_structure = tiny.structure()
    bad_structure["fields"][0]["max_points"] = 6
    tiny.write(S, bad_structure)
    other = tiny.form()
    other["key"] = "z"
    other["structure"] = {"key": "missing", "version": "2023.1"}
    tiny.write("forms/z/2023.1.yaml", other)
    broken = tiny.form()
    broken["sections"][0]["questions"][0]["scale"] = "abc"
    tiny.write(F, broken)
    problems = problems_of(load_catalog, tiny.root)
    assert_problems(problems, [
        (S, "fields[0].max_points", "field 1 has max_points 6 but its criteria sum to 5"),
        (S, "fields", "fields sum to 11, expected 10"),
        (F, "structure", "structure 'tiny' version '2023.1' could not be loaded"),
        # Checks that need no structure still run, so the operator sees them too.
        (F, "sections[0].questions[0].scale", "unknown scale 'abc'"),
        ("forms/z/2023.1.yaml", "structure", "structure 'missing' version '2023.1' does not exist"),
    ])


def test_catalog_of_a_valid_tiny_root(tiny):
    tiny.write(F, tiny.form())
    newer = tiny.form()
    newer["version"] = "2023.10"
    tiny.write("forms/x/2023.10.yaml", newer)
    v2 = tiny.form()
    v2["version"] = "2023.2"
    tiny.write("forms/x/2023.2.yaml", v2)
    catalog = load_catalog(tiny.root)
    assert [q.version for q in catalog.versions("x")] == ["2023.1", "2023.2", "2023.10"]
    assert catalog.latest("x").version == "2023.10"


def test_catalog_rejects_yml_extension(tiny):
    tiny.write("forms/x/2023.1.yml", tiny.form())
    assert_problems(problems_of(load_catalog, tiny.root), [("forms/x/2023.1.yml", "", "must end in .yaml")])
