"""Build the form posts an honest respondent would send."""

from __future__ import annotations

from questionnaires import Question, Section


def first_valid_option(question: Question) -> str:
    return next(o.code for o in question.scale.options if not o.is_missing)


def section_form(section: Section, csrf_token: str, *, action: str = "next", only_required: bool = False) -> dict:
    data: dict[str, object] = {"csrf_token": csrf_token, "action": action}
    for question in section.questions:
        if only_required and not question.required:
            continue
        name = f"q_{question.code}"
        if question.kind == "text":
            data[name] = "Ý kiến thử nghiệm"
        else:
            data[name] = [first_valid_option(question)]
    return data


def expected_answer_rows(sections, *, only_required: bool = False) -> int:
    return sum(1 for s in sections for q in s.questions if not only_required or q.required)
