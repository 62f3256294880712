"""content_hash pins a published version; diff explains what a new version changed."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import yaml

from questionnaires import DEFAULT_ROOT, diff_questionnaires, load_catalog, load_questionnaire


@pytest.fixture
def copied(tmp_path):
    """The shipped hdnd form and the structure, copied so tests may edit them."""
    shutil.copytree(DEFAULT_ROOT / "structures", tmp_path / "structures")
    target = tmp_path / "forms/par-hdnd-delegates/2023.1.yaml"
    target.parent.mkdir(parents=True)
    shutil.copy(DEFAULT_ROOT / "forms/par-hdnd-delegates/2023.1.yaml", target)
    return target


def test_hash_is_the_sha256_of_canonical_json(copied):
    q = load_questionnaire(copied)
    doc = yaml.safe_load(copied.read_text(encoding="utf-8"))
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert q.content_hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_hash_ignores_comments_and_layout(copied):
    before = load_questionnaire(copied).content_hash
    text = copied.read_text(encoding="utf-8")
    text = "# reviewed 2023-11-20\n" + text.replace("\nsections:\n", "\n\n\nsections:   # all sections\n")
    text = text.replace('{code: "A", label: "Rất tốt", weight: 1.0}', '{ code: A,  label: Rất tốt, weight: 1.0 }')
    assert "sections:   # all sections" in text and "{ code: A,  label: Rất tốt" in text
    copied.write_text(text, encoding="utf-8")
    assert load_questionnaire(copied).content_hash == before


def test_hash_changes_with_one_word(copied):
    before = load_questionnaire(copied)
    text = copied.read_text(encoding="utf-8")
    assert text.count("tính kịp thời của việc ban hành") == 1
    copied.write_text(text.replace("tính kịp thời của việc ban hành", "tính kịp thời của việc xây dựng"),
                      encoding="utf-8")
    after = load_questionnaire(copied)
    assert after.content_hash != before.content_hash
    assert [code for code, _ in diff_questionnaires(before, after).changed] == ["Q1.01"]


def test_shipped_hashes_are_distinct():
    catalog = load_catalog()
    hashes = [q.content_hash for q in catalog.questionnaires.values()]
    assert len(set(hashes)) == len(hashes)
    assert all(len(h) == 64 for h in hashes)


def test_department_2023_to_2025_diff():
    catalog = load_catalog()
    old = catalog.get("par-department-leaders", "2023.1")
    new = catalog.get("par-department-leaders", "2025.1")
    diff = diff_questionnaires(old, new)
    assert diff.added == ["Q7.05"]
    assert diff.removed == ["Q6.02"]
    assert [code for code, _ in diff.changed] == ["Q3.02"]
    [(_, changes)] = diff.changed
    assert len(changes) == 1 and changes[0].startswith("text: ")
    assert "Trung tâm Phục vụ hành chính công" in changes[0]
    assert not diff.is_empty
    text = diff.format()
    assert text.splitlines()[0] == "par-department-leaders 2023.1 -> par-department-leaders 2025.1"
    assert "+ Q7.05" in text and "- Q6.02" in text and "~ Q3.02" in text
    assert "1 added, 1 removed, 1 changed" in text
    assert any(m.startswith("title: ") for m in diff.meta)  # 2023 -> 2025 in the title


def test_diff_with_itself_is_empty():
    q = load_catalog().get("sipas-citizens", "2023.1")
    diff = diff_questionnaires(q, q)
    assert diff.is_empty
    assert (diff.added, diff.removed, diff.changed, diff.meta) == ([], [], [], [])
    assert "no differences" in diff.format()


def test_diff_reports_scale_and_attribute_changes(tiny):
    old = tiny.load_form(tiny.form())
    doc = tiny.form()
    doc["version"] = "2023.2"
    doc["scales"]["leader"]["options"][0]["weight"] = 0.9
    doc["scales"]["leader"]["options"][1]["label"] = "Rất kém"
    doc["scales"]["leader"]["options"].insert(2, {"code": "C", "label": "Chưa tốt", "weight": 0.2})
    doc["sections"][0]["questions"][0]["required"] = False
    doc["sections"][1]["questions"][0]["subcriterion"] = "1.1.1"
    doc["sections"][1]["field"] = 1
    new = tiny.load_form(doc, relpath="forms/x/2023.2.yaml")
    diff = diff_questionnaires(old, new)
    changed = dict(diff.changed)
    assert changed["Q1"] == [
        "required: True -> False",
        "option C added ('Chưa tốt')",
        "option A weight: 1.0 -> 0.9",
        "option B label: 'Kém' -> 'Rất kém'",
    ]
    assert "subcriterion: '2.1.1' -> '1.1.1'" in changed["Q2"]
    assert "option A weight: 1.0 -> 0.9" in changed["Q2"]  # shared scale: every user shows it
    assert diff.added == diff.removed == []


def test_diff_reports_kind_and_moves(tiny):
    old = tiny.load_form(tiny.form())
    doc = tiny.form()
    doc["version"] = "2023.2"
    moved = doc["sections"][1]["questions"].pop(0)
    moved.pop("subcriterion")
    moved.update(kind="text")
    moved.pop("scale")
    doc["sections"][0]["questions"].append(moved)
    doc["sections"][1]["questions"].append({"code": "Q3", "text": "Câu ba", "scale": "leader"})
    new = tiny.load_form(doc, relpath="forms/x/2023.2.yaml")
    changed = dict(diff_questionnaires(old, new).changed)
    assert changed["Q2"][0] == "section: 'f2' -> 'f1'"
    assert "kind: 'single' -> 'text'" in changed["Q2"]
    assert "scale: leader -> None" in changed["Q2"]
