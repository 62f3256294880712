"""What a personal link can do: open, save a draft, submit exactly once."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey.questionnaire_registry import QuestionnaireChanged, QuestionnaireMissing, pinned_questionnaire
from survey.respond import answers as answer_rules
from survey.respond.links import find_active_link
from survey.respond.models import AccessLink, Answer, Draft, Response, Submission
from survey.rounds.models import Round, RoundGroup
from survey.roster.models import Respondent
from survey.timeutil import utcnow, week_start

log = logging.getLogger(__name__)


class Refusal(enum.Enum):
    INVALID = "invalid"  # unknown, malformed or revoked: says nothing more
    SCHEDULED = "scheduled"
    CLOSED = "closed"
    UNAVAILABLE = "unavailable"  # questionnaire file changed or missing: operator error


class LinkRefused(Exception):
    def __init__(self, reason: Refusal, round_: Round | None = None):
        self.reason = reason
        self.round = round_
        super().__init__(reason.value)


@dataclass(frozen=True)
class Visit:
    link: AccessLink
    respondent: Respondent
    round: Round
    group: RoundGroup
    questionnaire: Questionnaire
    submitted: bool


def open_link(session: Session, token: str, *, for_update: bool = False) -> Visit:
    """Resolve a token into a visit, or raise LinkRefused.

    ``for_update`` locks the respondent row (PostgreSQL), so that saving and
    submitting through the same link are serialised per respondent.
    """
    link = find_active_link(session, token)
    if link is None:
        raise LinkRefused(Refusal.INVALID)
    query = select(Respondent).where(Respondent.id == link.respondent_id)
    if for_update:
        query = query.with_for_update()
    respondent = session.scalar(query)
    round_ = respondent.round
    group = respondent.group
    submitted = session.scalar(select(exists().where(Submission.respondent_id == respondent.id)))
    try:
        questionnaire = pinned_questionnaire(group.questionnaire_key, group.questionnaire_version, group.questionnaire_hash)
    except (QuestionnaireChanged, QuestionnaireMissing) as problem:
        log.error("round %s group %s refused: %s", round_.id, group.code, problem)
        raise LinkRefused(Refusal.UNAVAILABLE, round_) from problem
    return Visit(link, respondent, round_, group, questionnaire, bool(submitted))


def require_open(visit: Visit) -> None:
    state = visit.round.state()
    if state == "scheduled":
        raise LinkRefused(Refusal.SCHEDULED, visit.round)
    if state == "closed":
        raise LinkRefused(Refusal.CLOSED, visit.round)


def draft_answers(session: Session, visit: Visit) -> dict:
    draft = session.scalar(select(Draft).where(Draft.respondent_id == visit.respondent.id))
    if draft is None:
        return {}
    return answer_rules.sanitise_stored(visit.questionnaire, draft.answers or {})


class AlreadySubmitted(Exception):
    pass


def save_answers(session: Session, visit: Visit, updates: dict) -> dict:
    """Merge ``updates`` into the respondent's draft; return the merged answers."""
    require_open(visit)
    if visit.submitted:
        raise AlreadySubmitted()
    draft = session.scalar(select(Draft).where(Draft.respondent_id == visit.respondent.id))
    if draft is None:
        draft = Draft(respondent_id=visit.respondent.id, answers={})
        session.add(draft)
    current = answer_rules.sanitise_stored(visit.questionnaire, draft.answers or {})
    merged = answer_rules.merge(current, updates)
    draft.answers = merged  # a new dict, so the JSON column is seen as changed
    draft.updated_at = utcnow()
    session.flush()
    return merged


@dataclass(frozen=True)
class SubmitOutcome:
    submitted: bool
    already: bool = False
    progress: answer_rules.Progress | None = None


def submit(session: Session, visit: Visit) -> SubmitOutcome:
    """Turn the draft into an anonymous response, exactly once.

    The unique ledger row is the guard: a concurrent second submission either
    waits on the respondent lock and sees it, or fails on the constraint.
    """
    require_open(visit)
    if visit.submitted:
        return SubmitOutcome(submitted=False, already=True)
    answers = draft_answers(session, visit)
    progress = answer_rules.progress(visit.questionnaire, answers)
    if not progress.is_complete:
        return SubmitOutcome(submitted=False, progress=progress)

    now = utcnow()
    try:
        with session.begin_nested():
            session.add(Submission(respondent_id=visit.respondent.id, round_id=visit.round.id, submitted_at=now))
            session.flush()
    except IntegrityError:
        return SubmitOutcome(submitted=False, already=True)

    response = Response(
        round_id=visit.round.id,
        group_id=visit.group.id,
        questionnaire_key=visit.questionnaire.key,
        questionnaire_version=visit.questionnaire.version,
        submitted_week=week_start(now),
    )
    session.add(response)
    session.flush()
    rows = [
        {"response_id": response.id, "group_id": visit.group.id, "question_code": q, "option_code": o, "text_value": t}
        for q, o, t in answer_rules.answer_rows(visit.questionnaire, answers)
    ]
    if rows:
        session.execute(insert(Answer), rows)
    session.execute(delete(Draft).where(Draft.respondent_id == visit.respondent.id))
    session.flush()
    return SubmitOutcome(submitted=True)
