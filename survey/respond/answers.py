"""Reading answers from a submitted form and checking them against the questionnaire.

Every value is checked before anything is written: an option code that the
question does not offer (a tampered form) rejects the whole save.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from questionnaires import Question, Questionnaire, Section

DEFAULT_TEXT_LIMIT = 1000

# A stored answer: list of option codes for choice questions, a string for text.
AnswerValue = list[str] | str


class InvalidAnswers(ValueError):
    """Answers that no honest form could have produced; nothing is saved."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("; ".join(messages))


def field_name(question: Question) -> str:
    return f"q_{question.code}"


def parse_section(section: Section, form: Mapping[str, str], getlist) -> dict[str, AnswerValue | None]:
    """Answers of one section from form data; None means "cleared"."""
    parsed: dict[str, AnswerValue | None] = {}
    errors: list[str] = []
    for question in section.questions:
        name = field_name(question)
        if question.kind == "text":
            raw = form.get(name, "")
            text = unicodedata.normalize("NFC", raw).strip()
            limit = question.max_length or DEFAULT_TEXT_LIMIT
            if len(text) > limit:
                errors.append(f"Câu {question.code}: câu trả lời dài quá {limit} ký tự.")
                continue
            parsed[question.code] = text or None
            continue
        chosen = [value for value in getlist(name) if value != ""]
        problem = _check_choices(question, chosen)
        if problem:
            errors.append(problem)
            continue
        parsed[question.code] = chosen or None
    if errors:
        raise InvalidAnswers(errors)
    return parsed


def _check_choices(question: Question, chosen: list[str]) -> str | None:
    valid = question.scale.valid_codes
    if len(chosen) == 1 and chosen[0] in valid:
        return None  # nearly every answer: one valid option, which no rule below can refuse
    if any(code not in valid for code in chosen):
        return f"Câu {question.code}: lựa chọn không hợp lệ."
    if len(set(chosen)) != len(chosen):
        return f"Câu {question.code}: một lựa chọn bị gửi hai lần."
    if question.kind == "single" and len(chosen) > 1:
        return f"Câu {question.code}: chỉ được chọn một phương án."
    if question.kind == "multi" and question.max_choices and len(chosen) > question.max_choices:
        return f"Câu {question.code}: chỉ được chọn tối đa {question.max_choices} phương án."
    if question.kind == "multi" and len(chosen) > 1:
        missing_codes = {o.code for o in question.scale.options if o.is_missing}
        if missing_codes & set(chosen):
            return f"Câu {question.code}: không thể vừa chọn “không biết” vừa chọn phương án khác."
    return None


def merge(draft: Mapping[str, AnswerValue], updates: Mapping[str, AnswerValue | None]) -> dict[str, AnswerValue]:
    merged = dict(draft)
    for code, value in updates.items():
        if value is None:
            merged.pop(code, None)
        else:
            merged[code] = value
    return merged


@dataclass(frozen=True)
class Progress:
    answered: int
    total: int
    missing_required: tuple[Question, ...]

    @property
    def is_complete(self) -> bool:
        return not self.missing_required


def progress(questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]) -> Progress:
    questions = questionnaire.questions
    answered = sum(1 for q in questions if answers.get(q.code))
    missing = tuple(q for q in questions if q.required and not answers.get(q.code))
    return Progress(answered=answered, total=len(questions), missing_required=missing)


def sanitise_stored(questionnaire: Questionnaire, answers: Mapping[str, AnswerValue]) -> dict[str, AnswerValue]:
    """Drop anything in a stored draft that the questionnaire does not define."""
    clean: dict[str, AnswerValue] = {}
    for code, value in answers.items():
        question = questionnaire.question(code)
        if question is None:
            continue
        if question.kind == "text":
            if isinstance(value, str) and value:
                clean[code] = value
        elif isinstance(value, list) and value and not _check_choices(question, value):
            clean[code] = value
    return clean

