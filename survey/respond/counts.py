"""The per-option counts a submission adds to ``answer_counts``, and their recount from ``answers``.

A submission adds 1 to the count of every option it chose and, for a question
where it chose k > 1 options, k - 1 to the question's ``EXTRA_OPTIONS`` row:
the responses that answered a question are then the sum of its options'
counts minus that row, exactly, without storing anything per question for the
far more common single choice. Free-text answers are not counted.

The submission writes these in its own transaction (``survey.respond.services``);
whoever loads ``answers`` in bulk instead (a benchmark, a test fixture) calls
``recount`` for the groups it loaded.
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

# PostgreSQL runs submissions concurrently; one row per cell would make them
# queue on its row lock. SQLite writes one transaction at a time: one slot.
SLOTS = {"postgresql": 16}


def slot_of(response_id: str, dialect_name: str) -> int:
    """The slot a response counts in: spread evenly by its random id."""
    return int(response_id[:4], 16) % SLOTS.get(dialect_name, 1)


def cells(answer_rows: Iterable[tuple[str, str | None, str | None]]) -> list[tuple[str, str, int]]:
    """``(question, option, added)`` for one response's ``(question, option, text)`` answer rows."""
    chosen = [(q, o) for q, o, _ in answer_rows if o is not None]
    per_question = Counter(q for q, _ in chosen)
    extras = [(q, EXTRA_OPTIONS, k - 1) for q, k in per_question.items() if k > 1]
    return [(q, o, 1) for q, o in chosen] + extras


def recount(executor: Connection | Session, group_ids: list[int]) -> None:
    """Rebuild the counts of ``group_ids`` from their answers (after a bulk load)."""
    executor.execute(delete(AnswerCount).where(AnswerCount.group_id.in_(group_ids)))
    chosen = (Answer.group_id.in_(group_ids), Answer.option_code.is_not(None))
    executor.execute(insert(AnswerCount).from_select(
        ["group_id", "slot", "question_code", "option_code", "n"],
        select(Answer.group_id, literal(0), Answer.question_code, Answer.option_code, func.count())
        .where(*chosen).group_by(Answer.group_id, Answer.question_code, Answer.option_code),
    ))
    extra = func.count() - func.count(Answer.response_id.distinct())
    executor.execute(insert(AnswerCount).from_select(
        ["group_id", "slot", "question_code", "option_code", "n"],
        select(Answer.group_id, literal(0), Answer.question_code, literal(EXTRA_OPTIONS), extra)
        .where(*chosen).group_by(Answer.group_id, Answer.question_code).having(extra > 0),
    ))
