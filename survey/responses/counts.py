"""The per-option counts a submission adds to ``answer_counts``, and their recount from ``answers``.

A submission adds 1 to the count of every option it chose and, for a question
where it chose k > 1 options, k - 1 to the question's ``EXTRA_OPTIONS`` row:
the responses that answered a question are then the sum of its options'
counts minus that row, exactly, without storing anything per question for the
far more common single choice. Free-text answers are not counted.

``survey.responses.store_response`` writes these with the response, in the
same transaction. ``differing_groups`` compares the counts with the answers
and ``recount`` rebuilds them (``survey db check-counts [--repair]``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from survey.respond.models import Answer, AnswerCount

# Never an option code: the questionnaire schema requires codes to start with a letter or a digit.
EXTRA_OPTIONS = ""

def cells(answer_rows: Iterable[tuple[str, str | None, str | None]]) -> list[tuple[str, str, int]]:
    """``(question, option, added)`` for one response's ``(question, option, text)`` answer rows."""
    chosen = [(q, o) for q, o, _ in answer_rows if o is not None]
    per_question = Counter(q for q, _ in chosen)
    extras = [(q, EXTRA_OPTIONS, k - 1) for q, k in per_question.items() if k > 1]
    return [(q, o, 1) for q, o in chosen] + extras


Cells = dict[tuple[int, str, str], int]  # (group_id, question, option or EXTRA_OPTIONS) -> n


def stored(executor: Connection | Session) -> Cells:
    """``answer_counts`` with the slots added up (cells at zero left out)."""
    rows = executor.execute(
        select(AnswerCount.group_id, AnswerCount.question_code, AnswerCount.option_code, func.sum(AnswerCount.n))
        .group_by(AnswerCount.group_id, AnswerCount.question_code, AnswerCount.option_code))
    return {(g, q, o): int(n) for g, q, o, n in rows if n}


def _counted_from_answers(*where) -> list:
    """The two SELECTs of (group_id, question, option, n) that the counts must equal, over the answers chosen."""
    chosen = (Answer.option_code.is_not(None), *where)
    extra = func.count() - func.count(Answer.response_id.distinct())
    return [
        select(Answer.group_id, Answer.question_code, Answer.option_code, func.count())
        .where(*chosen).group_by(Answer.group_id, Answer.question_code, Answer.option_code),
        select(Answer.group_id, Answer.question_code, literal(EXTRA_OPTIONS), extra)
        .where(*chosen).group_by(Answer.group_id, Answer.question_code).having(extra > 0),
    ]


def from_answers(executor: Connection | Session) -> Cells:
    """What the counts must be: a GROUP BY over ``answers`` (a full scan, for checks, not for pages)."""
    return {(g, q, o): int(n) for query in _counted_from_answers() for g, q, o, n in executor.execute(query)}


def differing_groups(executor: Connection | Session) -> list[int]:
    """Groups whose counts are not what their answers say."""
    have, want = stored(executor), from_answers(executor)
    return sorted({cell[0] for cell in have.keys() | want.keys() if have.get(cell) != want.get(cell)})


def recount(executor: Connection | Session, group_ids: list[int]) -> None:
    """Rebuild the counts of ``group_ids`` from their answers, all in slot 0 (after a bulk load)."""
    executor.execute(delete(AnswerCount).where(AnswerCount.group_id.in_(group_ids)))
    for query in _counted_from_answers(Answer.group_id.in_(group_ids)):
        executor.execute(insert(AnswerCount).from_select(
            ["group_id", "question_code", "option_code", "n", "slot"], query.add_columns(literal(0))))
