"""What a personal link can do: open, save a draft, submit exactly once."""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey.db import begin_writes
from survey.questionnaire_registry import QuestionnaireChanged, QuestionnaireMissing, pinned_questionnaire
from survey.respond import answers as answer_rules
from survey.respond.links import hash_token_if_plausible
from survey.respond.models import AccessLink, Answer, Draft, Response, Submission
from survey.rounds.models import Province, Round, RoundGroup, window_state
from survey.roster.models import Respondent
from survey.timeutil import utcnow, week_start

log = logging.getLogger(__name__)

# The pages pass the request's Core connection (survey.db.connection); scripts
# and tests may pass an ORM session. Only ``execute`` and ``rollback`` are used.
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

_drafts = Draft.__table__
_INSERT_DRAFT = insert(_drafts)
_UPDATE_DRAFT = (update(_drafts).where(_drafts.c.respondent_id == bindparam("owner"))
                 .values(answers=bindparam("merged"), updated_at=bindparam("now")))
# The submission's first write: the draft goes only if it is still the version that was read.
_DELETE_DRAFT_AS_READ = delete(_drafts).where(_drafts.c.respondent_id == bindparam("owner"),
                                              _drafts.c.updated_at == bindparam("seen"))
_INSERT_SUBMISSION = insert(Submission.__table__)
_INSERT_RESPONSE = insert(Response.__table__)
_INSERT_ANSWERS = insert(Answer.__table__)


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
    query = _VISIT_FOR_UPDATE if for_update else _VISIT
    row = session.execute(query, {"token_hash": token_hash}).one_or_none()
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
    if not progress.is_complete:
        return SubmitOutcome(submitted=False, progress=progress)
    now = utcnow()
    response_id = uuid.uuid4().hex
    rows = [
        {"response_id": response_id, "group_id": visit.group.id, "question_code": q, "option_code": o, "text_value": t}
        for q, o, t in answer_rules.answer_rows(visit.questionnaire, answers)
    ]

    begin_writes(connection)
    deleted = connection.execute(_DELETE_DRAFT_AS_READ, {"owner": visit.respondent.id,
                                                         "seen": visit.draft_updated_at}).rowcount
    if deleted != 1:
        connection.rollback()
        return SubmitOutcome(submitted=False, stale=True)
    try:
        connection.execute(_INSERT_SUBMISSION, {"respondent_id": visit.respondent.id, "round_id": visit.round.id,
                                                "submitted_at": now})
    except IntegrityError:
        connection.rollback()  # nothing else was written yet
        return SubmitOutcome(submitted=False, already=True)
    connection.execute(_INSERT_RESPONSE, {
        "id": response_id, "round_id": visit.round.id, "group_id": visit.group.id,
        "questionnaire_key": visit.questionnaire.key, "questionnaire_version": visit.questionnaire.version,
        "submitted_week": week_start(now),
    })
    _insert_answers(connection, rows)
    return SubmitOutcome(submitted=True)


# On PostgreSQL a response's answers go in as one statement over five arrays:
# an executemany made the server parse, plan and run one INSERT per answer
# (its largest cost per submission), and a multi-row VALUES list was too long
# for psycopg's query cache, so it was parsed again on every submission.
_INSERT_ANSWERS_FROM_ARRAYS = text(
    "INSERT INTO answers (response_id, group_id, question_code, option_code, text_value) "
    "SELECT * FROM unnest(CAST(:response_ids AS VARCHAR[]), CAST(:group_ids AS INTEGER[]), "
    "CAST(:question_codes AS VARCHAR[]), CAST(:option_codes AS VARCHAR[]), CAST(:text_values AS TEXT[]))"
)


def _insert_answers(connection: Connection, rows: list[dict]) -> None:
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(_INSERT_ANSWERS, rows)  # SQLite's executemany is one loop in C
        return
    connection.execute(_INSERT_ANSWERS_FROM_ARRAYS, {
        "response_ids": [r["response_id"] for r in rows], "group_ids": [r["group_id"] for r in rows],
        "question_codes": [r["question_code"] for r in rows], "option_codes": [r["option_code"] for r in rows],
        "text_values": [r["text_value"] for r in rows],
    })
