"""What changed between two versions of a questionnaire, question by question.

Questions are matched by code: a code keeps its meaning across versions, so rewording a
question keeps its code while a different question gets a new one (FORMAT.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Question, Questionnaire, Scale

_QUESTION_ATTRS = (
    "kind",
    "required",
    "subcriterion",
    "sipas_element",
    "sipas_policy",
    "is_expectation",
    "is_profile",
    "max_choices",
    "max_length",
    "help",
)
_META_ATTRS = (
    "title",
    "survey",
    "group_code",
    "group_label",
    "structure_key",
    "structure_version",
    "intro",
    "deadline_note",
)


def _short(value: object, limit: int = 70) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…'"


@dataclass
class QuestionnaireDiff:
    old_label: str
    new_label: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, list[str]]] = field(default_factory=list)
    meta: list[str] = field(default_factory=list)
    # Question texts for display only, so format() can say what was added/removed.
    texts: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.meta)

    def format(self) -> str:
        lines = [f"{self.old_label} -> {self.new_label}"]
        if self.is_empty:
            lines.append("  no differences")
            return "\n".join(lines)
        for change in self.meta:
            lines.append(f"  * {change}")
        for code in self.added:
            lines.append(f"  + {code}: {_short(self.texts.get(code, ''))}")
        for code in self.removed:
            lines.append(f"  - {code}: {_short(self.texts.get(code, ''))}")
        for code, changes in self.changed:
            lines.append(f"  ~ {code}")
            lines.extend(f"      {c}" for c in changes)
        lines.append(
            f"  {len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed"
        )
        return "\n".join(lines)


def _scale_changes(old: Scale | None, new: Scale | None) -> list[str]:
    if old is None or new is None:
        if old is not new:
            return [f"scale: {old.code if old else None} -> {new.code if new else None}"]
        return []
    changes = []
    if old.code != new.code:
        changes.append(f"scale: '{old.code}' -> '{new.code}'")
    if old.scored != new.scored:
        changes.append(f"scale scored: {old.scored} -> {new.scored}")
    old_codes = [o.code for o in old.options]
    new_codes = [o.code for o in new.options]
    for o in old.options:
        if o.code not in new_codes:
            changes.append(f"option {o.code} removed ('{o.label}')")
    for o in new.options:
        if o.code not in old_codes:
            changes.append(f"option {o.code} added ('{o.label}')")
    for o in old.options:
        n = new.option(o.code)
        if n is None:
            continue
        if o.label != n.label:
            changes.append(f"option {o.code} label: '{o.label}' -> '{n.label}'")
        if o.weight != n.weight:
            changes.append(f"option {o.code} weight: {o.weight} -> {n.weight}")
        if o.is_missing != n.is_missing:
            changes.append(f"option {o.code} is_missing: {o.is_missing} -> {n.is_missing}")
    common_old = [c for c in old_codes if c in new_codes]
    common_new = [c for c in new_codes if c in old_codes]
    if common_old != common_new:
        changes.append(f"option order: {' '.join(old_codes)} -> {' '.join(new_codes)}")
    return changes


def _pair(old: object, new: object) -> str:
    """``old -> new``, trimmed to the part that differs so long texts stay readable."""
    if not (isinstance(old, str) and isinstance(new, str)) or (len(old) <= 70 and len(new) <= 70):
        return f"{_short(old)} -> {_short(new)}"
    a, b = old.split(" "), new.split(" ")
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    head = max(head - 2, 0)  # keep a little context
    tail = max(tail - 2, 0)

    def part(words: list[str]) -> str:
        middle = " ".join(words[head:len(words) - tail])
        return ("…" if head else "") + middle + ("…" if tail else "")

    return f"{_short(part(a), 200)} -> {_short(part(b), 200)}"


def _question_changes(old: Question, new: Question) -> list[str]:
    changes = []
    if old.text != new.text:
        changes.append(f"text: {_pair(old.text, new.text)}")
    for attr in _QUESTION_ATTRS:
        a, b = getattr(old, attr), getattr(new, attr)
        if a != b:
            changes.append(f"{attr}: {_pair(a, b)}")
    changes.extend(_scale_changes(old.scale, new.scale))
    return changes


def diff_questionnaires(old: Questionnaire, new: Questionnaire) -> QuestionnaireDiff:
    diff = QuestionnaireDiff(
        old_label=f"{old.key} {old.version}",
        new_label=f"{new.key} {new.version}",
    )
    for attr in _META_ATTRS:
        a, b = getattr(old, attr), getattr(new, attr)
        if a != b:
            diff.meta.append(f"{attr}: {_pair(a, b)}")
    old_sections = [s.code for s in old.sections]
    new_sections = [s.code for s in new.sections]
    if old_sections != new_sections:
        diff.meta.append(f"sections: {' '.join(old_sections)} -> {' '.join(new_sections)}")

    old_codes = [q.code for q in old.questions]
    new_codes = [q.code for q in new.questions]
    old_set, new_set = set(old_codes), set(new_codes)
    diff.added = [c for c in new_codes if c not in old_set]
    diff.removed = [c for c in old_codes if c not in new_set]
    diff.texts = {q.code: q.text for q in old.questions} | {q.code: q.text for q in new.questions}
    for code in old_codes:
        if code not in new_set:
            continue
        changes = _question_changes(old.question(code), new.question(code))
        old_sec, new_sec = old.section_of(code), new.section_of(code)
        if old_sec.code != new_sec.code:
            changes.insert(0, f"section: '{old_sec.code}' -> '{new_sec.code}'")
        if changes:
            diff.changed.append((code, changes))
    return diff
