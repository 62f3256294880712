"""Fixtures that write small, specific data files into a temporary catalog root."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from questionnaires import LoadError, Problem, load_questionnaire

# Totals are overridden so a two-field structure is valid; the default 100/32 check is
# exercised on a copy of the shipped structure in test_structure_problems.py.
TINY_STRUCTURE = {
    "key": "tiny",
    "version": "2023.1",
    "title": "Cấu trúc thử nghiệm",
    "expected_total": 10,
    "expected_survey_total": 4,
    "fields": [
        {"number": 1, "title": "Lĩnh vực một", "owner": "Sở Nội vụ", "max_points": 5, "criteria": [
            {"code": "1.1", "title": "Tiêu chí 1.1", "max_points": 5, "subcriteria": [
                {"code": "1.1.1", "title": "Thành phần 1.1.1", "max_points": 3, "survey_scored": True},
                {"code": "1.1.2", "title": "Thành phần 1.1.2", "max_points": 2, "survey_scored": False},
            ]},
        ]},
        {"number": 2, "title": "Lĩnh vực hai", "owner": "Sở Tư pháp", "max_points": 5, "criteria": [
            {"code": "2.1", "title": "Tiêu chí 2.1", "max_points": 5, "subcriteria": [
                {"code": "2.1.1", "title": "Thành phần 2.1.1", "max_points": 1, "survey_scored": True},
                {"code": "2.1.2", "title": "Thành phần 2.1.2", "max_points": 4, "survey_scored": False},
            ]},
        ]},
    ],
}

TINY_FORM = {
    "key": "x",
    "version": "2023.1",
    "survey": "par",
    "title": "Phiếu thử",
    "group": {"code": "department", "label": "Lãnh đạo sở, ban, ngành"},
    "structure": {"key": "tiny", "version": "2023.1"},
    "intro": "Giới thiệu.",
    "scales": {
        "leader": {"options": [
            {"code": "A", "label": "Rất tốt", "weight": 1.0},
            {"code": "B", "label": "Kém", "weight": 0.0},
            {"code": "E", "label": "Không biết / không trả lời", "missing": True},
        ]},
    },
    "sections": [
        {"code": "f1", "title": "Lĩnh vực 1", "field": 1, "questions": [
            {"code": "Q1", "text": "Câu một", "scale": "leader", "subcriterion": "1.1.1"},
        ]},
        {"code": "f2", "title": "Lĩnh vực 2", "field": 2, "questions": [
            {"code": "Q2", "text": "Câu hai", "scale": "leader", "subcriterion": "2.1.1"},
        ]},
    ],
}


class TinyCatalog:
    def __init__(self, root: Path):
        self.root = root
        self.write("structures/tiny/2023.1.yaml", TINY_STRUCTURE)

    def write(self, relpath: str, doc_or_text: dict | str) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(doc_or_text, str):
            text = doc_or_text
        else:
            text = yaml.safe_dump(doc_or_text, allow_unicode=True, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    @staticmethod
    def structure() -> dict:
        return copy.deepcopy(TINY_STRUCTURE)

    @staticmethod
    def form() -> dict:
        return copy.deepcopy(TINY_FORM)

    def load_form(self, doc: dict | str, relpath: str = "forms/x/2023.1.yaml"):
        return load_questionnaire(self.write(relpath, doc), root=self.root)


@pytest.fixture
def tiny(tmp_path: Path) -> TinyCatalog:
    return TinyCatalog(tmp_path)


def problems_of(call, *args, **kwargs) -> list[Problem]:
    with pytest.raises(LoadError) as excinfo:
        call(*args, **kwargs)
    return excinfo.value.problems


def assert_problems(problems: list[Problem], expected: list[tuple[str, str, str]]) -> None:
    """Exactly these problems, in any order: (file, path, message substring)."""
    remaining = list(problems)
    for file, path, fragment in expected:
        match = next((p for p in remaining if p.file == file and p.path == path and fragment in p.message), None)
        assert match is not None, f"no problem {file}: {path}: …{fragment}… in\n" + "\n".join(map(str, problems))
        remaining.remove(match)
    assert not remaining, "unexpected problems:\n" + "\n".join(map(str, remaining))
