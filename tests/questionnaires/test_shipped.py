"""The data files shipped with the package load and have the published shape."""

from __future__ import annotations

import pytest

from questionnaires import DEFAULT_ROOT, Catalog, load_catalog, load_questionnaire

PAR_2023 = {
    "par-hdnd-delegates": ("hdnd", "Đại biểu HĐND tỉnh"),
    "par-department-leaders": ("department", "Lãnh đạo sở, ban, ngành"),
    "par-division-leaders": ("division", "Lãnh đạo cấp phòng thuộc sở, ban, ngành"),
    "par-district-leaders": ("district", "Lãnh đạo UBND cấp huyện"),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_every_shipped_file_is_in_the_catalog(catalog):
    forms = sorted(p.relative_to(DEFAULT_ROOT).as_posix() for p in (DEFAULT_ROOT / "forms").glob("*/*"))
    assert forms == sorted(f"forms/{k}/{v}.yaml" for k, v in catalog.questionnaires)
    assert set(catalog.questionnaires) == {
        *((k, "2023.1") for k in PAR_2023),
        ("sipas-citizens", "2023.1"),
        ("par-commune-leaders", "2025.1"),
        ("par-department-leaders", "2025.1"),
    }
    assert set(catalog.structures) == {("par-province", "2023.1")}


def test_structure_has_the_published_shape(catalog):
    s = catalog.structure("par-province", "2023.1")
    assert [f.number for f in s.fields] == list(range(1, 9))
    assert len(s.criteria) == 37
    assert len(s.subcriteria) == 88
    assert s.total_points == 100
    assert s.survey_points == 32
    assert s.field(3).owner == "Văn phòng UBND tỉnh"
    assert s.field(7).owner == "Sở Thông tin và Truyền thông"
    assert s.field(8).title.startswith("Tác động của cải cách hành chính")
    # Point values are not the official table yet; every one must say so.
    assert all(sub.provisional for sub in s.subcriteria)
    assert s.subcriterion("8.1.1").survey_scored and s.subcriterion("1.1.1").survey_scored is False


@pytest.mark.parametrize("key", sorted(PAR_2023))
def test_par_2023_questionnaires(catalog, key):
    q = catalog.get(key, "2023.1")
    structure = catalog.structure(q.structure_key, q.structure_version)
    assert q.survey == "par"
    assert (q.group_code, q.group_label) == PAR_2023[key]
    assert 25 <= len(q.questions) <= 45
    assert [s.field for s in q.sections if s.field is not None] == list(range(1, 9))
    for question in q.questions:
        if question.subcriterion is not None:
            assert structure.subcriterion(question.subcriterion).survey_scored
            assert question.scale.code == "leader"
    leader = q.scales["leader"]
    assert [(o.code, o.weight, o.is_missing) for o in leader.options] == [
        ("A", 1.0, False), ("B", 0.6, False), ("C", 0.2, False), ("D", 0.0, False), ("E", None, True)]
    assert leader.option("E").label == "Không biết / không trả lời"
    profile = {question.code: question for question in q.questions if question.is_profile}
    assert [p.text for p in profile.values()] == [
        "Giới tính", "Độ tuổi", "Trình độ học vấn, chuyên môn cao nhất", "Chức vụ, vị trí công tác hiện nay"]
    assert not profile["P1"].required and not profile["P2"].required
    assert "không ghi tên" in q.intro and "Bộ Nội vụ" in q.intro and "Sở Nội vụ" in q.intro


def test_leader_questionnaires_together_cover_every_leader_rated_subcriterion(catalog):
    structure = catalog.structure("par-province", "2023.1")
    # 8.1 and 8.2 are fed by SIPAS; every other survey-scored sub-criterion needs leader questions.
    needed = {s.code for s in structure.subcriteria
              if s.survey_scored and not s.code.startswith(("8.1.", "8.2."))}
    covered = {question.subcriterion for key in PAR_2023
               for question in catalog.get(key, "2023.1").questions if question.subcriterion}
    assert covered == needed


def test_longest_questionnaire_is_the_district_form(catalog):
    longest = max(catalog.questionnaires.values(), key=lambda q: len(q.questions))
    assert (longest.key, longest.version, len(longest.questions)) == ("par-district-leaders", "2023.1", 42)


def test_sipas_questionnaire(catalog):
    q = catalog.latest("sipas-citizens")
    assert (q.survey, q.group_code, q.structure_key) == ("sipas", "citizen", None)
    by_element = {}
    for question in q.questions:
        if question.sipas_element:
            by_element.setdefault(question.sipas_element, []).append(question)
    assert sorted(by_element) == [1, 2, 3, 4, 5]
    assert all(len(items) >= 3 for items in by_element.values())
    sat = q.scales["satisfaction"]
    assert [o.label for o in sat.options] == [
        "Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng",
        "Không biết / không trả lời"]
    assert [o.weight for o in sat.options] == [0.0, 0.25, 0.5, 0.75, 1.0, None]
    assert len(q.policies) == 9
    per_policy = {}
    for question in q.questions:
        if question.sipas_policy:
            per_policy[question.sipas_policy] = per_policy.get(question.sipas_policy, 0) + 1
    assert set(per_policy) == set(q.policies) and set(per_policy.values()) <= {1, 2}
    [expectation] = [question for question in q.questions if question.is_expectation]
    assert (expectation.kind, expectation.max_choices, expectation.scale.scored) == ("multi", 3, False)
    assert all(o.weight is None and not o.is_missing for o in expectation.scale.options)
    assert all(not question.required for question in q.questions if question.is_profile)


def test_groups_are_data_commune_replaces_district_in_2025(catalog):
    commune = catalog.latest("par-commune-leaders")
    assert (commune.version, commune.group_code, commune.group_label) == ("2025.1", "commune", "Lãnh đạo UBND cấp xã")
    assert (commune.structure_key, commune.structure_version) == ("par-province", "2023.1")
    assert [v.version for v in catalog.versions("par-district-leaders")] == ["2023.1"]


def test_catalog_lookups(catalog):
    assert [q.version for q in catalog.versions("par-department-leaders")] == ["2023.1", "2025.1"]
    assert catalog.latest("par-department-leaders").version_tuple == (2025, 1)
    assert catalog.keys() == sorted(catalog.keys()) and "sipas-citizens" in catalog.keys()
    q = catalog.get("par-hdnd-delegates", "2023.1")
    assert q.question("Q1.01").subcriterion == "1.5.1"
    assert q.question("nope") is None
    assert q.questions[0].code == "Q1.01"
    assert q.question("C1").kind == "text" and q.question("C1").max_length == 2000
    with pytest.raises(KeyError):
        catalog.get("par-hdnd-delegates", "1999.1")
    with pytest.raises(KeyError):
        catalog.latest("no-such-form")
    with pytest.raises(KeyError):
        catalog.structure("par-province", "2099.1")


def test_load_questionnaire_alone_finds_its_structure(catalog):
    path = DEFAULT_ROOT / "forms" / "par-division-leaders" / "2023.1.yaml"
    q = load_questionnaire(path)
    assert q == catalog.get("par-division-leaders", "2023.1")
    assert q.path == path


def test_package_never_imports_the_web_stack():
    import subprocess
    import sys

    code = ("import sys, questionnaires; questionnaires.load_catalog(); "
            "print(sorted(m for m in ('flask', 'sqlalchemy', 'survey') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=DEFAULT_ROOT.parent)
    assert out.stdout.strip() == "[]"
