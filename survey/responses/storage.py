"""``store_response`` and its bulk form; the SQL of each database is in ``survey.dialects``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy.engine import Connection

from questionnaires import Questionnaire
from survey import dialects
from survey.collection.models import CHANNELS
from survey.dialects import ResponseRows, Written
from survey.responses import counts
from survey.timeutil import utcnow, week_start

# A stored answer: the option codes chosen, or a text.
AnswerValue = list[str] | str


def answer_rows(questionnaire: Questionnaire,
                answers: Mapping[str, AnswerValue]) -> Iterable[tuple[str, str | None, str | None]]:
    """(question_code, option_code, text_value) rows to store, in questionnaire order."""
    for question in questionnaire.questions:
        value = answers.get(question.code)
        if not value:
            continue
        if question.kind == "text":
            yield question.code, None, value
        else:
            for option_code in value:
                yield question.code, option_code, None


def store_response(connection: Connection, *, round_id: int, group_id: int, questionnaire: Questionnaire,
                   answers: Mapping[str, AnswerValue], respondent_id: int | None = None,
                   draft_seen: datetime | None = None, now: datetime | None = None,
                   channel: str = "email", collection_point_id: int | None = None,
                   procedure_id: int | None = None, arrival_window: datetime | None = None) -> Written:
    """Store one response in the caller's transaction; ``Written.STORED`` unless a guard refused it.

    ``answers`` maps question codes to the options chosen or a text, as the
    respondent's draft holds them, already checked against ``questionnaire``.
    The response keeps only the group and the week: nothing links it to a
    person. With ``respondent_id``, the person enters the ledger of who
    submitted, once: ``Written.ALREADY`` if they are in it. With
    ``draft_seen`` too, their draft is consumed, only in the version read:
    ``Written.STALE`` if it changed or went meanwhile. A refused response
    writes nothing, so the caller's transaction stays as it was.

    ``channel`` says how the response was collected ("email" for a personal
    link; "point", "kiosk", "paper", "sms" for survey.collection), with the
    collection point and the procedure the citizen chose, if any: places and
    services, never a person, a device or an address. With ``arrival_window``
    (a citizen's response at a point), the point's ``point_arrivals`` gets a
    row for that window, written with the response and kept apart from it:
    what the burst watch counts.

    On a statement-by-statement connection (``survey.db.reads_statement_by_statement``)
    the writes are one transaction of their own on both databases.
    """
    if draft_seen is not None and respondent_id is None:
        raise ValueError("a draft belongs to a respondent: draft_seen needs respondent_id")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if arrival_window is not None and (collection_point_id is None or respondent_id is not None):
        raise ValueError("an arrival is an anonymous response's at a collection point")
    now = now or utcnow()
    rows = list(answer_rows(questionnaire, answers))
    response = {
        "id": uuid.uuid4().hex, "round_id": round_id, "group_id": group_id,
        "questionnaire_key": questionnaire.key, "questionnaire_version": questionnaire.version,
        "submitted_week": week_start(now), "channel": channel,
        "collection_point_id": collection_point_id, "procedure_id": procedure_id,
    }
    ledger = (None if respondent_id is None
              else {"respondent_id": respondent_id, "round_id": round_id, "submitted_at": now})
    arrival = (None if arrival_window is None
               else {"point_id": collection_point_id, "window_start": arrival_window})
    return dialects.of(connection).write_response(
        connection, ResponseRows(response, rows, counts.cells(rows), ledger, draft_seen, arrival))


def store_responses_in_bulk(connection: Connection, responses, answers) -> None:
    """Load many anonymous responses at once (benchmarks, data loads), counts included.

    ``responses`` and ``answers`` are pandas DataFrames whose columns are
    named after those of ``responses`` and ``answers`` (a column missing from
    ``answers``, such as ``text_value``, is stored as NULL); the response ids
    are the caller's. PostgreSQL loads them with COPY, SQLite with the
    driver's executemany, in the caller's transaction; what they add to
    ``answer_counts`` is computed from the frames and added in slot 0.
    No ledger: a bulk load has no person behind its responses.
    """
    dialect = dialects.of(connection)
    if "channel" not in responses.columns:
        responses = responses.assign(channel="email")  # as the column's default: a frame's missing column is NULL
    if not connection.in_transaction():
        connection.begin()  # the driver-level writes below must not commit row by row
    dialect.write_responses_in_bulk(connection, responses, answers)
    chosen = answers[answers["option_code"].notna()]
    if chosen.empty:
        return
    per_option = chosen.groupby(["group_id", "question_code", "option_code"]).size()
    per_question = chosen.groupby(["group_id", "question_code", "response_id"]).size()
    beyond_first = (per_question - 1)[per_question > 1].groupby(level=[0, 1]).sum()
    rows = [(int(g), 0, q, o, int(n)) for (g, q, o), n in per_option.items()]
    rows += [(int(g), 0, q, counts.EXTRA_OPTIONS, int(n)) for (g, q), n in beyond_first.items()]
    dialect.add_counts(connection, rows)


