"""Immutable in-memory form of questionnaire and index-structure files.

Instances are built only by :mod:`questionnaires.loader` after validation, so code that
receives them can rely on the invariants documented in FORMAT.md (unique codes, weights in
[0, 1], totals that add up) without re-checking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from collections.abc import Mapping
from typing import Literal

QuestionKind = Literal["single", "multi", "text"]
SurveyKind = Literal["par", "sipas"]


def version_tuple(version: str) -> tuple[int, ...]:
    """``"2023.1"`` -> ``(2023, 1)``; versions compare numerically, not as strings."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one data file, worded for the operator who must fix it."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        if self.path:
            return f"{self.file}: {self.path}: {self.message}"
        return f"{self.file}: {self.message}"


class LoadError(Exception):
    """A data file (or several) could not be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- questionnaires -------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    weight: float | None
    is_missing: bool = False


@dataclass(frozen=True)
class Scale:
    code: str
    options: tuple[Option, ...]
    # False for nominal scales (profile items, improvement priorities) whose options carry
    # no weight and must never be averaged into a score.
    scored: bool = True

    def option(self, code: str) -> Option | None:
        for opt in self.options:
            if opt.code == code:
                return opt
        return None

    @cached_property  # checked for every stored answer on every page; a scale never changes
    def valid_codes(self) -> frozenset[str]:
        return frozenset(opt.code for opt in self.options)


@dataclass(frozen=True)
class Question:
    code: str
    text: str
    kind: QuestionKind
    scale: Scale | None
    required: bool = True
    subcriterion: str | None = None
    sipas_element: int | None = None
    sipas_policy: str | None = None
    is_expectation: bool = False
    is_profile: bool = False
    max_choices: int | None = None
    max_length: int | None = None
    help: str | None = None


@dataclass(frozen=True)
class Section:
    code: str
    title: str
    description: str | None
    field: int | None
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Questionnaire:
    key: str
    version: str
    title: str
    group_code: str
    group_label: str
    structure_key: str | None
    structure_version: str | None
    intro: str
    deadline_note: str | None
    sections: tuple[Section, ...]
    content_hash: str
    path: Path
    survey: SurveyKind = "par"
    # Lookup tables; excluded from equality/hash because they repeat what sections hold.
    scales: Mapping[str, Scale] = field(default_factory=dict, compare=False, repr=False)
    policies: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for s in self.sections for q in s.questions)

    @cached_property
    def _by_code(self) -> dict[str, Question]:
        return {q.code: q for q in self.questions}

    def question(self, code: str) -> Question | None:
        return self._by_code.get(code)

    def section_of(self, code: str) -> Section | None:
        for section in self.sections:
            if any(q.code == code for q in section.questions):
                return section
        return None

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return version_tuple(self.version)


# --- PAR index structure --------------------------------------------------------------


@dataclass(frozen=True)
class SubCriterion:
    code: str
    title: str
    max_points: float
    survey_scored: bool
    provisional: bool = False
    # The SIPAS index whose value scores this sub-criterion (SI_1..SI_5 or "policy"), if any.
    sipas_index: str | None = None


@dataclass(frozen=True)
class Criterion:
    code: str
    title: str
    max_points: float
    subcriteria: tuple[SubCriterion, ...]

    @property
    def provisional(self) -> bool:
        return any(s.provisional for s in self.subcriteria)


@dataclass(frozen=True)
class Field:
    number: int
    title: str
    owner: str
    max_points: float
    criteria: tuple[Criterion, ...]

    @property
    def subcriteria(self) -> tuple[SubCriterion, ...]:
        return tuple(s for c in self.criteria for s in c.subcriteria)

    @property
    def survey_points(self) -> float:
        return sum(s.max_points for s in self.subcriteria if s.survey_scored)

    @property
    def provisional(self) -> bool:
        return any(c.provisional for c in self.criteria)


@dataclass(frozen=True)
class Structure:
    key: str
    version: str
    title: str
    fields: tuple[Field, ...]
    content_hash: str
    path: Path

    @cached_property
    def criteria(self) -> tuple[Criterion, ...]:
        return tuple(c for f in self.fields for c in f.criteria)

    @cached_property
    def subcriteria(self) -> tuple[SubCriterion, ...]:
        return tuple(s for f in self.fields for s in f.subcriteria)

    @cached_property
    def _sub_by_code(self) -> dict[str, SubCriterion]:
        return {s.code: s for s in self.subcriteria}

    def subcriterion(self, code: str) -> SubCriterion | None:
        return self._sub_by_code.get(code)

    def field(self, number: int) -> Field | None:
        for f in self.fields:
            if f.number == number:
                return f
        return None

    def field_of(self, subcriterion_code: str) -> Field | None:
        for f in self.fields:
            if any(s.code == subcriterion_code for s in f.subcriteria):
                return f
        return None

    @property
    def total_points(self) -> float:
        return sum(f.max_points for f in self.fields)

    @property
    def survey_points(self) -> float:
        return sum(s.max_points for s in self.subcriteria if s.survey_scored)

    @property
    def provisional(self) -> bool:
        return any(f.provisional for f in self.fields)

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return version_tuple(self.version)
