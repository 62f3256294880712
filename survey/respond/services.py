"""What a personal link can do: open, save a draft, submit exactly once."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey import dialects
from survey.questionnaire_registry import QuestionnaireChanged, QuestionnaireMissing, pinned_questionnaire
from survey.respond import answers as answer_rules
from survey.respond.links import hash_token_if_plausible
from survey.respond.models import AccessLink, Draft, Submission
from survey.responses import Written, store_response
from survey.rounds.models import Province, Round, RoundGroup, window_state
from survey.roster.models import Respondent
from survey.timeutil import utcnow

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
    channel: str  # what their response records as its channel (Respondent.response_channel)


@dataclass(frozen=True)
class RoundView:
    id: int
    title: str
    opens_at: datetime
    closes_at: datetime
    year: int  # replaces "[năm]" in the questionnaire's texts (survey.round_year)

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
            Respondent.id, Respondent.full_name, Respondent.response_channel,
            Round.id, Round.title, Round.opens_at, Round.closes_at, Round.year,
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
# The same, only if the draft is still the version read: a save needs no lock and no transaction.
_UPDATE_DRAFT_AS_READ = _UPDATE_DRAFT.where(_drafts.c.updated_at == bindparam("seen"))


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
    (link_id, first_opened_at, respondent_id, full_name, channel, round_id, title, opens_at, closes_at, year,
     group_id, group_code, group_label, q_key, q_version, q_hash, province_name, is_submitted, draft,
     draft_updated_at) = row
    round_ = RoundView(round_id, title, opens_at, closes_at, year)
    try:
        questionnaire = pinned_questionnaire(q_key, q_version, q_hash)
    except (QuestionnaireChanged, QuestionnaireMissing) as problem:
        log.error("round %s group %s refused: %s", round_id, group_code, problem)
        raise LinkRefused(Refusal.UNAVAILABLE, round_) from problem
    return Visit(
        LinkView(link_id, first_opened_at), RespondentView(respondent_id, full_name, channel), round_,
        GroupView(group_id, group_code, group_label), province_name, questionnaire, bool(is_submitted), draft,
        draft_updated_at,
    )


def _read_visit(executor: Executor, token_hash: str, for_update: bool):
    if for_update:
        return executor.execute(_VISIT_FOR_UPDATE, {"token_hash": token_hash}).one_or_none()
    return dialects.of(executor).fetch_one(executor, _VISIT, {"token_hash": token_hash})


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


def _merged(visit: Visit, updates: dict) -> tuple[dict, bool]:
    """The draft with ``updates`` applied, and whether that changes anything."""
    require_open(visit)
    if visit.submitted:
        raise AlreadySubmitted()
    current = draft_answers(visit)
    merged = answer_rules.merge(current, updates)
    return merged, visit.stored_draft is None or merged != current


def save_answers_as_read(connection: Connection, visit: Visit, updates: dict) -> dict | None:
    """Merge ``updates`` into the draft if it is still the version ``visit`` read; the merged answers.

    ``visit`` is read without a lock. None when the draft changed since (another
    tab saved, or a submission consumed it), or when a first save could not be
    inserted without the lock (``Dialect.insert_first_draft``): then read the
    visit again with the respondent locked and call ``save_answers``. A post
    that changes nothing (a refresh, a double click, the back button) writes
    nothing.
    """
    merged, changes = _merged(visit, updates)
    if not changes:
        return merged
    dialect, now = dialects.of(connection), utcnow()
    if visit.stored_draft is None:
        inserted = dialect.insert_first_draft(connection, {
            "respondent_id": visit.respondent.id, "answers": merged, "started_at": now, "updated_at": now})
        return merged if inserted else None
    written = dialect.write_statement(connection, _UPDATE_DRAFT_AS_READ, {
        "owner": visit.respondent.id, "merged": merged, "now": now, "seen": visit.draft_updated_at})
    return merged if written.rowcount == 1 else None


def save_answers(session: Executor, visit: Visit, updates: dict) -> dict:
    """Merge ``updates`` into the draft of a respondent locked since ``open_link(for_update=True)``."""
    merged, changes = _merged(visit, updates)
    if not changes:
        return merged
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
    the checks are made on it first, and only then do the writes begin, so the
    writer queue (SQLite) or the row locks (PostgreSQL) are held for the
    writes alone. The draft is consumed only in the version read, and the
    ledger's unique key admits the person once: if either guard refuses,
    nothing is written (``stale`` or ``already``).
    """
    require_open(visit)
    if visit.submitted:
        return SubmitOutcome(submitted=False, already=True)
    answers = draft_answers(visit)
    progress = answer_rules.progress(visit.questionnaire, answers)
    if not progress.is_complete or not answers:  # an empty form (all questions optional) says nothing
        return SubmitOutcome(submitted=False, progress=progress)
    written = store_response(
        connection, round_id=visit.round.id, group_id=visit.group.id, questionnaire=visit.questionnaire,
        answers=answers, respondent_id=visit.respondent.id, draft_seen=visit.draft_updated_at,
        channel=visit.respondent.channel,
    )
    return SubmitOutcome(submitted=written is Written.STORED, already=written is Written.ALREADY,
                         stale=written is Written.STALE)
