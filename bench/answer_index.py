"""The experiment behind the SQLite submission gap (README, Performance).

``BENCH_ANSWER_INDEX=adjacent`` replaces ``ix_answers_group_question_option``
(the index the analysis counts are read from, whose 44 entries per response
fall on 44 different pages) with one on ``(group_id, response_id,
question_code, option_code)``, whose entries for a response are adjacent.
``make bench BENCH=respond`` and ``BENCH=analysis`` then measure both sides
of the trade-off. The default is the schema as migrated.
"""

from __future__ import annotations

import os

from sqlalchemy import text

ADJACENT = os.environ.get("BENCH_ANSWER_INDEX", "") == "adjacent"
NAME = "ix_answers_group_question_option"
COLUMNS = "(group_id, response_id, question_code, option_code)" if ADJACENT else "(group_id, question_code, option_code)"


def describe() -> str:
    return f"answers index {COLUMNS}" + (" (BENCH_ANSWER_INDEX=adjacent experiment)" if ADJACENT else "")


def apply(engine) -> None:
    """Put the chosen index on a migrated database (nothing to do for the default)."""
    if ADJACENT:
        with engine.begin() as connection:
            connection.execute(text(f"DROP INDEX {NAME}"))
            connection.execute(text(f"CREATE INDEX {NAME} ON answers {COLUMNS}"))
