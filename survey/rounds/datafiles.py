"""The domain facts kept as data beside the questionnaires, read and checked here.

``questionnaires/groups.yaml``: respondent group codes, their labels and the words a roster file
uses for them. ``questionnaires/calendar/default-plan.yaml``: the milestones a new round starts
with. A national change of groups or calendar is an edit of those files, reviewed like code; a
file that does not have the expected shape stops the command or request with ``DataFileError``
naming the file and the entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files

import yaml

GROUPS_FILE = "groups.yaml"
PLAN_FILE = "calendar/default-plan.yaml"


class DataFileError(ValueError):
    """A data file beside the questionnaires is missing or malformed."""


def _load(name: str) -> dict:
    path = files("questionnaires").joinpath(name)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DataFileError(f"questionnaires/{name}: cannot be read: {error}") from None
    if not isinstance(content, dict):
        raise DataFileError(f"questionnaires/{name}: expected a mapping at the top level")
    return content


def _entries(content: dict, name: str, key: str, fields: tuple[str, ...]) -> list[dict]:
    entries = content.get(key)
    if not isinstance(entries, list) or not entries:
        raise DataFileError(f"questionnaires/{name}: “{key}” must be a non-empty list")
    for number, entry in enumerate(entries, start=1):
        missing = [f for f in fields if not isinstance(entry, dict) or not isinstance(entry.get(f), str)
                   or not entry[f].strip()]
        if missing:
            raise DataFileError(f"questionnaires/{name}: {key} entry {number} lacks {', '.join(missing)}")
    return entries


# --- respondent groups --------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupWords:
    labels: dict[str, str]  # code -> usual label
    without_agency: frozenset[str]  # codes whose people belong to no agency (citizens)
    positions: tuple[tuple[str, re.Pattern[str]], ...]  # position title -> code, first match wins
    words: tuple[tuple[str, re.Pattern[str]], ...]  # group cell -> code, first match wins


def _patterns(entries: list[dict], codes: dict, name: str, key: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    compiled = []
    for number, entry in enumerate(entries, start=1):
        if entry["group"] not in codes:
            raise DataFileError(f"questionnaires/{name}: {key} entry {number}: unknown group “{entry['group']}”")
        try:
            compiled.append((entry["group"], re.compile(entry["pattern"])))
        except re.error as error:
            raise DataFileError(f"questionnaires/{name}: {key} entry {number}: bad pattern: {error}") from None
    return tuple(compiled)


@cache
def group_words() -> GroupWords:
    """The groups file's content, read once per process."""
    return parse_group_words(_load(GROUPS_FILE))


def parse_group_words(content: dict) -> GroupWords:
    groups = _entries(content, GROUPS_FILE, "groups", ("code", "label"))
    labels = {g["code"]: g["label"] for g in groups}
    if len(labels) != len(groups):
        raise DataFileError(f"questionnaires/{GROUPS_FILE}: a group code is listed twice")
    without_agency = frozenset(g["code"] for g in groups if g.get("needs_agency", True) is False)
    return GroupWords(
        labels, without_agency,
        _patterns(_entries(content, GROUPS_FILE, "positions", ("group", "pattern")), labels, GROUPS_FILE, "positions"),
        _patterns(_entries(content, GROUPS_FILE, "words", ("group", "pattern")), labels, GROUPS_FILE, "words"),
    )


# --- default milestone plan ---------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedMilestone:
    label: str
    starts: tuple[int, int] | None  # (month, day)
    due: tuple[int, int]
    next_year: bool
    # What other parts of the platform know this milestone as (e.g. the self-assessment's
    # deadline for the departments' reports), so that they never match it by its wording.
    marks: str | None = None

    def dates(self, year: int) -> tuple[date | None, date]:
        """(starts_on, due_on) for a round of ``year``."""
        year += 1 if self.next_year else 0
        return (date(year, *self.starts) if self.starts else None), date(year, *self.due)


def _day_month(value: object, where: str) -> tuple[int, int]:
    day, _, month = str(value).partition("/")
    try:
        parsed = int(month), int(day)
        date(2023, *parsed)  # not a leap year: 29/02 would not exist in most rounds' years
    except ValueError:
        raise DataFileError(f"questionnaires/{PLAN_FILE}: {where}: “{value}” is not a day/month") from None
    return parsed


@dataclass(frozen=True)
class Plan:
    milestones: tuple[PlannedMilestone, ...]
    ministry_deadline: tuple[int, int]  # (month, day) in the round's year

    def marked(self, name: str) -> PlannedMilestone | None:
        return next((m for m in self.milestones if m.marks == name), None)


@cache
def default_plan() -> Plan:
    """The default plan's content, read once per process."""
    return parse_plan(_load(PLAN_FILE))


def parse_plan(content: dict) -> Plan:
    milestones = []
    for number, entry in enumerate(_entries(content, PLAN_FILE, "milestones", ("label", "due")), start=1):
        where = f"milestone {number}"
        starts = _day_month(entry["starts"], where) if entry.get("starts") else None
        due = _day_month(entry["due"], where)
        next_year = entry.get("next_year", False)
        if not isinstance(next_year, bool):
            raise DataFileError(f"questionnaires/{PLAN_FILE}: {where}: next_year must be true or false")
        if starts is not None and starts > due:
            raise DataFileError(f"questionnaires/{PLAN_FILE}: {where}: starts after it is due")
        marks = entry.get("marks")
        if marks is not None and (not isinstance(marks, str) or not marks.strip()):
            raise DataFileError(f"questionnaires/{PLAN_FILE}: {where}: marks must be a name")
        milestones.append(PlannedMilestone(entry["label"].strip(), starts, due, next_year,
                                           marks.strip() if marks else None))
    if "ministry_deadline" not in content:
        raise DataFileError(f"questionnaires/{PLAN_FILE}: ministry_deadline is missing")
    return Plan(tuple(milestones), _day_month(content["ministry_deadline"], "ministry_deadline"))
