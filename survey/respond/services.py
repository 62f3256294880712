"""What a personal link can do: open, save a draft, submit exactly once."""

from __future__ import annotations

import enum
import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, insert, select, text, update
from sqlalchemy.dialects.postgresql.psycopg import dialect as postgresql_psycopg_dialect
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey.db import begin_writes
from survey.questionnaire_registry import QuestionnaireChanged, QuestionnaireMissing, pinned_questionnaire
from survey.respond import answers as answer_rules
from survey.respond import counts
from survey.respond.links import hash_token_if_plausible
from survey.respond.models import AccessLink, Draft, Response, Submission
from survey.rounds.models import Province, Round, RoundGroup, window_state
from survey.roster.models import Respondent
from survey.timeutil import utcnow, week_start

log = logging.getLogger(__name__)

# Reading a link and saving a draft: the pages pass the request's Core
# connection (survey.db.connection); scripts and tests may pass an ORM session.
# Only ``execute`` is used. Submitting needs a Connection (see ``submit``).
Executor = Connection | Session


class Refusal(enum.Enum):
    INVALID = "invalid"  # unknown, malformed or revoked: says nothing more
    SCHEDULED = "scheduled"
    CLOSED = "closed"
    UNAVAILABLE = "unavailable"  # questionnaire file changed or missing: operator error


class LinkRefused(Exception):
    def __init__(self, reason: Refusal, round_: RoundView | None = None):
        self.reason = reason
        self.round = round_
        super().__init__(reason.value)


@dataclass(frozen=True)
class LinkView:
    id: int
    first_opened_at: datetime | None


@dataclass(frozen=True)
class RespondentView:
    id: int
    full_name: str


@dataclass(frozen=True)
class RoundView:
    id: int
    title: str
    opens_at: datetime
    closes_at: datetime

    def state(self, now: datetime | None = None) -> str:
        return window_state(self.opens_at, self.closes_at, now)


@dataclass(frozen=True)
class GroupView:
    id: int
    code: str
    label: str


@dataclass(frozen=True)
class Visit:
    """What one personal link resolves to: plain values, not ORM objects.

    The respondent's pages are the hottest path of the application and only
    read these few columns; building four tracked ORM objects per request
    cost more than the query itself.
    """

    link: LinkView
    respondent: RespondentView
    round: RoundView
    group: GroupView
    province_name: str
    questionnaire: Questionnaire
    submitted: bool
    stored_draft: dict | None  # the draft as stored, None if the respondent has not started
    draft_updated_at: datetime | None  # identifies the draft version read, for the submission's guard


def _visit_query():
    submitted = exists().where(Submission.respondent_id == Respondent.id).label("submitted")
    return (
        select(
            AccessLink.id, AccessLink.first_opened_at,
            Respondent.id, Respondent.full_name,
            Round.id, Round.title, Round.opens_at, Round.closes_at,
            RoundGroup.id, RoundGroup.code, RoundGroup.label,
            RoundGroup.questionnaire_key, RoundGroup.questionnaire_version, RoundGroup.questionnaire_hash,
            Province.name, submitted, Draft.answers, Draft.updated_at,
        )
        .join(Respondent, Respondent.id == AccessLink.respondent_id)
        .join(RoundGroup, RoundGroup.id == Respondent.group_id)
        .join(Round, Round.id == Respondent.round_id)
        .join(Province, Province.id == Round.province_id)
        .outerjoin(Draft, Draft.respondent_id == Respondent.id)
        .where(AccessLink.token_hash == bindparam("token_hash"), AccessLink.revoked_at.is_(None))
    )


# Built once: constructing a statement costs as much as running it on this path.
_VISIT = _visit_query()
_VISIT_FOR_UPDATE = _visit_query().with_for_update(of=Respondent)
_VISIT_POSTGRESQL = str(_VISIT.compile(dialect=postgresql_psycopg_dialect()))
_VISIT_CURSOR = "survey.visit_cursor"  # key of the pooled connection's info dict

_drafts = Draft.__table__
_INSERT_DRAFT = insert(_drafts)
_UPDATE_DRAFT = (update(_drafts).where(_drafts.c.respondent_id == bindparam("owner"))
                 .values(answers=bindparam("merged"), updated_at=bindparam("now")))


def open_link(session: Executor, token: str, *, for_update: bool = False) -> Visit:
    """Resolve a token into a visit, or raise LinkRefused.

    One query: every page behind a link needs the link, the person, their
    group and round, whether they submitted and their draft. ``for_update``
    locks the respondent row (PostgreSQL), so that saving and submitting
    through the same link are serialised per respondent.
    """
    token_hash = hash_token_if_plausible(token)
    if token_hash is None:
        raise LinkRefused(Refusal.INVALID)
    row = _read_visit(session, token_hash, for_update)
    if row is None:
        raise LinkRefused(Refusal.INVALID)
    (link_id, first_opened_at, respondent_id, full_name, round_id, title, opens_at, closes_at,
     group_id, group_code, group_label, q_key, q_version, q_hash, province_name, is_submitted, draft,
     draft_updated_at) = row
    round_ = RoundView(round_id, title, opens_at, closes_at)
    try:
        questionnaire = pinned_questionnaire(q_key, q_version, q_hash)
    except (QuestionnaireChanged, QuestionnaireMissing) as problem:
        log.error("round %s group %s refused: %s", round_id, group_code, problem)
        raise LinkRefused(Refusal.UNAVAILABLE, round_) from problem
    return Visit(
        LinkView(link_id, first_opened_at), RespondentView(respondent_id, full_name), round_,
        GroupView(group_id, group_code, group_label), province_name, questionnaire, bool(is_submitted), draft,
        draft_updated_at,
    )


def _read_visit(executor: Executor, token_hash: str, for_update: bool):
    if not for_update and isinstance(executor, Connection) and executor.dialect.name == "postgresql":
        pooled = executor.connection
        driver = pooled.driver_connection
        if driver.autocommit:
            # The pages' read on PostgreSQL, straight through psycopg, which
            # returns the very values SQLAlchemy would (none of these columns
            # has a result processor there). SQLAlchemy's execution and result
            # wrapping made the section page 0.83 ms in-process instead of 0.71.
            # One cursor per pooled connection, kept with it: creating one per
            # read cost a quarter of psycopg's time on this query.
            cursor = pooled.info.get(_VISIT_CURSOR)
            if cursor is None or cursor.connection is not driver or cursor.closed:
                cursor = pooled.info[_VISIT_CURSOR] = driver.cursor()
            return cursor.execute(_VISIT_POSTGRESQL, {"token_hash": token_hash}, prepare=True).fetchone()
    query = _VISIT_FOR_UPDATE if for_update else _VISIT
    return executor.execute(query, {"token_hash": token_hash}).one_or_none()


def require_open(visit: Visit) -> None:
    state = visit.round.state()
    if state == "scheduled":
        raise LinkRefused(Refusal.SCHEDULED, visit.round)
    if state == "closed":
        raise LinkRefused(Refusal.CLOSED, visit.round)


def draft_answers(visit: Visit) -> dict:
    if not visit.stored_draft:
        return {}
    return answer_rules.sanitise_stored(visit.questionnaire, visit.stored_draft)


class AlreadySubmitted(Exception):
    pass


def save_answers(session: Executor, visit: Visit, updates: dict) -> dict:
    """Merge ``updates`` into the respondent's draft; return the merged answers."""
    require_open(visit)
    if visit.submitted:
        raise AlreadySubmitted()
    merged = answer_rules.merge(draft_answers(visit), updates)
    now = utcnow()
    # The respondent is locked (or the SQLite write lock held) since open_link,
    # so the draft cannot appear or vanish between this check and the write.
    if visit.stored_draft is None:
        session.execute(_INSERT_DRAFT, {"respondent_id": visit.respondent.id, "answers": merged,
                                        "started_at": now, "updated_at": now})
    elif session.execute(_UPDATE_DRAFT, {"owner": visit.respondent.id, "merged": merged, "now": now}).rowcount != 1:
        # A submission read the draft without locking the respondent and consumed it meanwhile.
        raise AlreadySubmitted()
    return merged


@dataclass(frozen=True)
class SubmitOutcome:
    submitted: bool
    already: bool = False
    progress: answer_rules.Progress | None = None
    # The draft changed (another tab saved) or was consumed (another tab
    # submitted) after the visit was read: nothing was written; read the
    # visit again with a lock and submit that.
    stale: bool = False


def submit(connection: Connection, visit: Visit) -> SubmitOutcome:
    """Turn the draft into an anonymous response, exactly once.

    The visit may have been read without any lock (the submit page does so):
    the checks and the rows are prepared from it first, and only then do the
    writes begin, so the writer queue (SQLite) or the row locks (PostgreSQL)
    are held for the writes alone. The first write deletes the draft as it
    was read; if it is no longer there in that version, nothing is written
    and the outcome is ``stale``. The unique ledger row stays the final guard:
    a concurrent second submission fails on it if it gets that far.
    """
    require_open(visit)
    if visit.submitted:
        return SubmitOutcome(submitted=False, already=True)
    answers = draft_answers(visit)
    progress = answer_rules.progress(visit.questionnaire, answers)
    if not progress.is_complete or not answers:  # an empty form (all questions optional) says nothing
        return SubmitOutcome(submitted=False, progress=progress)
    submission = _Submission(visit, answers)
    try:
        if connection.dialect.name == "postgresql":
            recorded = _record_in_one_statement(connection, submission)
        else:
            recorded = _record_statement_by_statement(connection, submission)
    except IntegrityError:
        # The ledger's unique key: another submission got there first. Nothing
        # of this one was written (one statement, or the ledger row came first).
        connection.rollback()
        return SubmitOutcome(submitted=False, already=True)
    if not recorded:
        connection.rollback()
        return SubmitOutcome(submitted=False, stale=True)
    return SubmitOutcome(submitted=True)


class _Submission:
    """Every value a submission writes, prepared before any write begins."""

    def __init__(self, visit: Visit, answers: dict):
        now = utcnow()
        self.respondent_id = visit.respondent.id
        self.draft_seen = visit.draft_updated_at
        self.ledger = {"respondent_id": visit.respondent.id, "round_id": visit.round.id, "submitted_at": now}
        self.response = {
            "id": uuid.uuid4().hex, "round_id": visit.round.id, "group_id": visit.group.id,
            "questionnaire_key": visit.questionnaire.key, "questionnaire_version": visit.questionnaire.version,
            "submitted_week": week_start(now),
        }
        # (question_code, option_code, text_value), in questionnaire order
        self.answers = list(answer_rules.answer_rows(visit.questionnaire, answers))
        # (question_code, option_code, added): what the response adds to answer_counts
        self.counted = counts.cells(self.answers)


# SQLite: the writes are the driver's own statements, with every value
# converted beforehand by its column's type (the text SQLAlchemy would store).
# Compiling four Core statements and processing 44 answer rows cost about a
# tenth of a submission in-process (1.68 -> 1.54 ms), and they ran inside the
# writer queue, which every other submission waits for.
# The first write: the draft goes only if it is still the version that was read.
_SQLITE_DELETE_DRAFT_AS_READ = "DELETE FROM drafts WHERE respondent_id = ? AND updated_at = ?"
_SQLITE_INSERT_SUBMISSION = "INSERT INTO submissions (respondent_id, round_id, submitted_at) VALUES (?, ?, ?)"
_SQLITE_INSERT_RESPONSE = ("INSERT INTO responses (id, round_id, group_id, questionnaire_key, questionnaire_version, "
                           "submitted_week) VALUES (?, ?, ?, ?, ?, ?)")
_SQLITE_INSERT_ANSWERS = ("INSERT INTO answers (response_id, group_id, question_code, option_code, text_value) "
                          "VALUES (?, ?, ?, ?, ?)")
_SQLITE_ADD_COUNTS = ("INSERT INTO answer_counts (group_id, slot, question_code, option_code, n) VALUES (?, ?, ?, ?, ?) "
                      "ON CONFLICT (group_id, slot, question_code, option_code) DO UPDATE SET n = n + excluded.n")


@functools.cache
def _sqlite_storage(column) -> Callable:
    """The conversion SQLAlchemy applies to ``column``'s values on SQLite (identity when there is none)."""
    dialect = sqlite_dialect()
    return column.type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)


def _sqlite_parameters(submission: _Submission) -> tuple[tuple, tuple, tuple, list[tuple], list[tuple]]:
    ledger, response = submission.ledger, submission.response
    stored_time = _sqlite_storage(Submission.__table__.c.submitted_at)
    draft_seen = _sqlite_storage(Draft.__table__.c.updated_at)(submission.draft_seen)
    week = _sqlite_storage(Response.__table__.c.submitted_week)(response["submitted_week"])
    response_id, group_id = response["id"], response["group_id"]
    return (
        (submission.respondent_id, draft_seen),
        (ledger["respondent_id"], ledger["round_id"], stored_time(ledger["submitted_at"])),
        (response_id, response["round_id"], group_id, response["questionnaire_key"],
         response["questionnaire_version"], week),
        [(response_id, group_id, q, o, t) for q, o, t in submission.answers],
        [(group_id, counts.slot_of(response_id, "sqlite"), q, o, n) for q, o, n in submission.counted],
    )


def _record_statement_by_statement(connection: Connection, submission: _Submission) -> bool:
    """SQLite: one short transaction in the writer queue; False if the draft is not the one read."""
    draft, ledger, response, answers, counted = _sqlite_parameters(submission)
    begin_writes(connection)
    if connection.exec_driver_sql(_SQLITE_DELETE_DRAFT_AS_READ, draft).rowcount != 1:
        return False
    connection.exec_driver_sql(_SQLITE_INSERT_SUBMISSION, ledger)
    connection.exec_driver_sql(_SQLITE_INSERT_RESPONSE, response)
    connection.exec_driver_sql(_SQLITE_INSERT_ANSWERS, answers)  # executemany: one loop in C
    connection.exec_driver_sql(_SQLITE_ADD_COUNTS, counted)
    return True


# PostgreSQL: the whole submission is one statement, atomic on its own, so the
# autocommit connection that read the visit sends it without BEGIN or COMMIT:
# two round trips per submission instead of eight (BEGIN, five writes, COMMIT
# and the read), and one parse-plan-execute on the server instead of one per
# answer. Each step feeds the next, so a draft that is no longer the one read
# writes nothing (the count returned is 0); a second submission violates the
# ledger's unique key. Parent and child rows in one statement are fine for
# the foreign keys: they are checked at the end of the statement.
_SUBMIT_IN_ONE_STATEMENT = text("""
WITH consumed AS (
    DELETE FROM drafts WHERE respondent_id = :respondent_id AND updated_at = :draft_seen
    RETURNING respondent_id
), ledger AS (
    INSERT INTO submissions (respondent_id, round_id, submitted_at)
    SELECT respondent_id, :round_id, :submitted_at FROM consumed
    RETURNING id
), response AS (
    INSERT INTO responses (id, round_id, group_id, questionnaire_key, questionnaire_version, submitted_week)
    SELECT :response_id, :round_id, :group_id, :questionnaire_key, :questionnaire_version, :submitted_week
    FROM ledger
    RETURNING id
), answer AS (
    INSERT INTO answers (response_id, group_id, question_code, option_code, text_value)
    SELECT response.id, :group_id, given.question_code, given.option_code, given.text_value
    FROM response CROSS JOIN unnest(CAST(:question_codes AS VARCHAR[]), CAST(:option_codes AS VARCHAR[]),
                                    CAST(:text_values AS TEXT[])) AS given(question_code, option_code, text_value)
), counted AS (
    INSERT INTO answer_counts (group_id, slot, question_code, option_code, n)
    SELECT :group_id, :slot, added.question_code, added.option_code, added.n
    FROM response CROSS JOIN unnest(CAST(:counted_questions AS VARCHAR[]), CAST(:counted_options AS VARCHAR[]),
                                    CAST(:counted_ns AS INTEGER[])) AS added(question_code, option_code, n)
    -- Rows locked in one order by every submission: two in the same slot queue, never deadlock.
    ORDER BY added.question_code, added.option_code
    ON CONFLICT (group_id, slot, question_code, option_code) DO UPDATE SET n = answer_counts.n + EXCLUDED.n
)
SELECT count(*) FROM ledger
""")


def _record_in_one_statement(connection: Connection, submission: _Submission) -> bool:
    response = submission.response
    recorded = connection.execute(_SUBMIT_IN_ONE_STATEMENT, {
        "respondent_id": submission.respondent_id, "draft_seen": submission.draft_seen,
        "round_id": response["round_id"], "submitted_at": submission.ledger["submitted_at"],
        "response_id": response["id"], "group_id": response["group_id"],
        "questionnaire_key": response["questionnaire_key"],
        "questionnaire_version": response["questionnaire_version"], "submitted_week": response["submitted_week"],
        "question_codes": [q for q, _, _ in submission.answers],
        "option_codes": [o for _, o, _ in submission.answers],
        "text_values": [t for _, _, t in submission.answers],
        "slot": counts.slot_of(response["id"], "postgresql"),
        "counted_questions": [q for q, _, _ in submission.counted],
        "counted_options": [o for _, o, _ in submission.counted],
        "counted_ns": [n for _, _, n in submission.counted],
    }).scalar_one()
    return recorded == 1
