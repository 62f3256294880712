"""The round's year inside questionnaire texts, and the warning when a version was written for another year.

A questionnaire version is immutable (rounds pin its content hash), so a text that says "năm 2023"
would say it to every later round that reuses the version. Texts may instead write ``[năm]``,
replaced by the round's year where the respondent reads it. Square brackets, not braces: the texts
are printed by Jinja templates, and ``{{ year }}`` or ``{nam}`` would read as template syntax to
anyone editing them; ``[năm]`` survives HTML escaping unchanged, so the replacement also works on
markup rendered once per version and cached (survey.respond.fragments).
"""

from __future__ import annotations

import re

from markupsafe import Markup

from questionnaires import Questionnaire

PLACEHOLDER = "[năm]"
_VERSION_YEAR = re.compile(r"(\d{4})\.")


def with_round_year(text, year: int | None):
    """``text`` with every ``[năm]`` replaced by ``year``: a Jinja filter (``|with_round_year(year)``).

    Markup stays Markup (a year is digits, nothing to escape); None and a missing year leave the text as is.
    """
    if text is None or not year or PLACEHOLDER not in text:
        return text
    replaced = str(text).replace(PLACEHOLDER, str(int(year)))
    return Markup(replaced) if isinstance(text, Markup) else replaced


def questionnaire_year(questionnaire: Questionnaire) -> int | None:
    """The year a version was written for, from its name (``2023.1`` → 2023); None if it names none."""
    match = _VERSION_YEAR.match(questionnaire.version)
    return int(match.group(1)) if match else None


def uses_placeholder(questionnaire: Questionnaire) -> bool:
    """Whether any text a respondent reads (titles, questions, help, answer options) says ``[năm]``."""
    texts = [questionnaire.title, questionnaire.intro, questionnaire.deadline_note or ""]
    texts += [option.label for scale in questionnaire.scales.values() for option in scale.options]
    for section in questionnaire.sections:
        texts += [section.title, section.description or ""]
        texts += [text for q in section.questions for text in (q.text, q.help or "")]
    return any(PLACEHOLDER in text for text in texts)


def year_warning(questionnaire: Questionnaire, round_year: int) -> str | None:
    """A Vietnamese warning when ``questionnaire`` was written for another year than the round's."""
    written_for = questionnaire_year(questionnaire)
    if written_for is None or written_for == round_year:
        return None
    label = f"{questionnaire.key} {questionnaire.version}"
    if uses_placeholder(questionnaire):
        return (f"Phiếu {label} được soạn cho năm {written_for}; các chỗ “{PLACEHOLDER}” trong phiếu sẽ hiện "
                f"năm {round_year}, nhưng hãy đọc lại các câu còn ghi năm cố định.")
    return (f"Phiếu {label} được soạn cho năm {written_for}, khác năm của đợt ({round_year}): người trả lời sẽ "
            f"thấy các câu ghi năm {written_for}. Hãy chọn phiên bản của năm {round_year}, hoặc một phiên bản "
            f"dùng “{PLACEHOLDER}” thay cho năm.")
