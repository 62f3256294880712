"""Scoring rules of the self-assessed sub-criteria, read from the data file beside the structure.

A rule is either a list of levels to choose from ("đúng hạn / chậm / không ban hành") or tiers
on a rate that the department measures as numerator / denominator. Values are given as a share
of the sub-criterion's maximum or as points; the loader collects every problem of the file
before refusing it, and refuses any value above the maximum, so that no entry can ever exceed it.
Pure Python: no flask, no database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from questionnaires import Structure

RULES_FILE = "rules.yaml"
ASSIGNMENTS_FILE = "assignments.yaml"


class RulesError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class EntryError(ValueError):
    """An entry the rule cannot score (Vietnamese message for the department)."""


@dataclass(frozen=True)
class Level:
    label: str
    points: float


@dataclass(frozen=True)
class Tier:
    min_percent: float
    points: float


@dataclass(frozen=True)
class Rule:
    code: str
    max_points: float
    levels: tuple[Level, ...] = ()
    tiers: tuple[Tier, ...] = ()  # highest threshold first; the last one is 0
    numerator_label: str = ""
    denominator_label: str = ""

    @property
    def kind(self) -> str:
        return "levels" if self.levels else "tiers"

    def points_for_level(self, index: int) -> float:
        if not 0 <= index < len(self.levels):
            raise EntryError("Mức đánh giá không có trong quy tắc chấm điểm.")
        return self.levels[index].points

    def points_for_figures(self, numerator: float, denominator: float) -> tuple[float, float]:
        """(rate in percent, points) for the measured figures."""
        for value in (numerator, denominator):
            if not math.isfinite(value):
                raise EntryError("Số liệu phải là số hữu hạn.")
        if numerator < 0 or denominator < 0:
            raise EntryError("Số liệu không được âm.")
        if denominator == 0:
            raise EntryError("Mẫu số (tổng số) phải lớn hơn 0.")
        if numerator > denominator:
            raise EntryError("Tử số không được lớn hơn mẫu số.")
        percent = round(100.0 * numerator / denominator, 4)
        for tier in self.tiers:
            if percent >= tier.min_percent:
                return percent, tier.points
        raise AssertionError("the loader guarantees a tier at 0 %")  # pragma: no cover

    def describe(self) -> str:
        if self.levels:
            return "; ".join(f"{level.label}: {level.points:g}" for level in self.levels)
        return "; ".join(f"từ {tier.min_percent:g}%: {tier.points:g}" for tier in self.tiers)


@dataclass(frozen=True)
class RuleBook:
    structure_key: str
    structure_version: str
    provisional: bool
    rules: dict[str, Rule]
    content: str  # the file's text, hashed by the caller that pins it

    def rule(self, code: str) -> Rule:
        return self.rules[code]


def data_folder(structure: Structure) -> Path:
    """Where a structure version keeps its assessment data (…/par-province/2023.1/)."""
    return structure.path.parent / structure.version


# Parsed rule books by (structure, file text): every assessment page checks the rules its cycle
# pinned, so the file is read on every request, but parsed only when its text is new. The text is
# part of the key, so an edited file is parsed (and checked against the pinned hash) at once.
_parsed: dict[tuple[str, str, str, str], RuleBook] = {}
_PARSED_MAX = 16


def load_rules(structure: Structure, path: Path | None = None) -> RuleBook:
    path = path or data_folder(structure) / RULES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RulesError([f"{path.name}: không đọc được tệp ({error})"]) from error
    key = (structure.key, structure.version, structure.content_hash, text)
    found = _parsed.get(key)
    if found is not None:
        return found
    try:
        # The C loader when libyaml is there (the pure-Python parser is several times slower).
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    except yaml.YAMLError as error:
        raise RulesError([f"{path.name}: không đọc được tệp ({error})"]) from error
    problems: list[str] = []
    rules = _parse(doc, structure, problems) if isinstance(doc, dict) else {}
    if not isinstance(doc, dict):
        problems.append(f"{path.name}: tệp phải là một bảng (mapping)")
    if problems:
        raise RulesError(problems)
    book = RuleBook(structure.key, structure.version, bool(doc.get("provisional", True)), rules, text)
    if len(_parsed) >= _PARSED_MAX:
        _parsed.clear()
    _parsed[key] = book
    return book


def _share_or_points(entry: object, max_points: float, where: str, problems: list[str]) -> float | None:
    if not isinstance(entry, dict) or ("share" in entry) == ("points" in entry):
        problems.append(f"{where}: cần đúng một trong hai giá trị share hoặc points")
        return None
    value = entry.get("share", entry.get("points"))
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"{where}: giá trị phải là số")
        return None
    points = value * max_points if "share" in entry else float(value)
    if points < 0 or points > max_points + 1e-9:
        problems.append(f"{where}: {points:g} điểm nằm ngoài khoảng 0–{max_points:g}")
        return None
    return round(points, 2)


def _parse(doc: dict, structure: Structure, problems: list[str]) -> dict[str, Rule]:
    if (doc.get("structure"), str(doc.get("version"))) != (structure.key, structure.version):
        problems.append(f"tệp quy tắc dành cho {doc.get('structure')} {doc.get('version')}, "
                        f"không phải {structure.key} {structure.version}")
    level_sets = doc.get("level_sets") or {}
    tier_sets = doc.get("tier_sets") or {}
    given = doc.get("rules") or {}
    rules: dict[str, Rule] = {}
    for code in given:
        sub = structure.subcriterion(str(code))
        if sub is None:
            problems.append(f"{code}: không có trong bộ tiêu chí")
        elif sub.survey_scored:
            problems.append(f"{code}: chấm bằng điều tra xã hội học, không có quy tắc tự đánh giá")
    for sub in structure.subcriteria:
        if sub.survey_scored:
            continue
        spec = given.get(sub.code)
        if not isinstance(spec, dict) or ("levels" in spec) == ("tiers" in spec):
            problems.append(f"{sub.code}: thiếu quy tắc (cần levels hoặc tiers)")
            continue
        if "levels" in spec:
            raw = level_sets.get(spec["levels"]) if isinstance(spec["levels"], str) else spec["levels"]
            if not isinstance(raw, list) or not raw:
                problems.append(f"{sub.code}: danh sách mức {spec['levels']!r} không tồn tại hoặc rỗng")
                continue
            levels = []
            for i, item in enumerate(raw):
                points = _share_or_points(item, sub.max_points, f"{sub.code} mức {i + 1}", problems)
                label = item.get("label") if isinstance(item, dict) else None
                if not isinstance(label, str) or not label.strip():
                    problems.append(f"{sub.code} mức {i + 1}: thiếu tên mức")
                elif points is not None:
                    levels.append(Level(label.strip(), points))
            rules[sub.code] = Rule(sub.code, sub.max_points, levels=tuple(levels))
        else:
            raw = tier_sets.get(spec["tiers"]) if isinstance(spec["tiers"], str) else spec["tiers"]
            if not isinstance(raw, list) or not raw:
                problems.append(f"{sub.code}: bảng bậc {spec['tiers']!r} không tồn tại hoặc rỗng")
                continue
            tiers = []
            for i, item in enumerate(raw):
                points = _share_or_points(item, sub.max_points, f"{sub.code} bậc {i + 1}", problems)
                threshold = item.get("min_percent") if isinstance(item, dict) else None
                if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 100:
                    problems.append(f"{sub.code} bậc {i + 1}: min_percent phải là số từ 0 đến 100")
                elif points is not None:
                    tiers.append(Tier(float(threshold), points))
            thresholds = [t.min_percent for t in tiers]
            if len(tiers) == len(raw) and (thresholds != sorted(set(thresholds), reverse=True) or thresholds[-1] != 0):
                problems.append(f"{sub.code}: các bậc phải giảm dần và bậc cuối là 0%")
            labels = (spec.get("numerator"), spec.get("denominator"))
            if not all(isinstance(label, str) and label.strip() for label in labels):
                problems.append(f"{sub.code}: bảng bậc cần tên tử số (numerator) và mẫu số (denominator)")
                continue
            rules[sub.code] = Rule(sub.code, sub.max_points, tiers=tuple(tiers),
                                   numerator_label=labels[0].strip(), denominator_label=labels[1].strip())
    return rules


def load_default_assignments(structure: Structure, path: Path | None = None) -> dict[str, str]:
    """Sub-criterion code -> agency code, for every self-assessed sub-criterion the file covers."""
    path = path or data_folder(structure) / ASSIGNMENTS_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise RulesError([f"{path.name}: không đọc được tệp ({error})"]) from error
    if not isinstance(doc, dict) or (doc.get("structure"), str(doc.get("version"))) != (structure.key,
                                                                                       structure.version):
        raise RulesError([f"{path.name}: không dành cho {structure.key} {structure.version}"])
    fields = {int(k): str(v) for k, v in (doc.get("fields") or {}).items()}
    criteria = {str(k): str(v) for k, v in (doc.get("criteria") or {}).items()}
    unknown = [k for k in criteria if k not in {c.code for c in structure.criteria}]
    unknown += [str(k) for k in fields if structure.field(k) is None]
    if unknown:
        raise RulesError([f"{path.name}: mã không có trong bộ tiêu chí: {', '.join(unknown)}"])
    out = {}
    for field in structure.fields:
        for criterion in field.criteria:
            owner = criteria.get(criterion.code, fields.get(field.number))
            for sub in criterion.subcriteria:
                if owner and not sub.survey_scored:
                    out[sub.code] = owner
    return out
