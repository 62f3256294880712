"""The round's roster as it stands, in the shapes the import engine compares against.

Shared by the import workflow and single edits, so that a person typed into the form and a row
of an uploaded file are matched with the same rules.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.respond.models import Submission
from survey.rounds.agencies import province_agencies
from survey.rounds.models import AgencyAlias, Agency, Round
from survey.roster import importing
from survey.roster.importing import AgencyRef, GroupRef, Resolver
from survey.roster.models import Respondent


class RosterError(ValueError):
    """A refused roster action; the message is Vietnamese and shown as is."""


def resolver(session: Session, round_: Round) -> Resolver:
    aliases = session.execute(select(AgencyAlias.name, Agency).join(Agency, AgencyAlias.agency_id == Agency.id)
                              .where(AgencyAlias.province_id == round_.province_id, Agency.is_active.is_(True)))
    return Resolver(
        [GroupRef(g.id, g.code, g.label) for g in round_.groups],
        [AgencyRef(a.id, a.code, a.name) for a in province_agencies(session, round_.province_id) if a.is_active],
        [(name, AgencyRef(a.id, a.code, a.name)) for name, a in aliases],
    )


def listed_people(session: Session, round_id: int) -> list[dict]:
    """The round's current respondents as dicts with "id" and the compared fields."""
    columns = [Respondent.id, *(getattr(Respondent, name) for name in importing.COMPARED)]
    result = session.execute(select(*columns).where(Respondent.round_id == round_id, Respondent.removed_at.is_(None)))
    return [dict(row._mapping) for row in result]


def submitted_ids(session: Session, round_id: int) -> frozenset[int]:
    return frozenset(session.scalars(select(Submission.respondent_id).where(Submission.round_id == round_id)))


def agency_names(session: Session, round_: Round) -> dict[int, str]:
    return {a.id: a.name for a in province_agencies(session, round_.province_id)}


def plan(session: Session, round_: Round, rows: list[dict], agency_id: int | None,
         decisions: dict | None = None) -> importing.Plan:
    """What ``rows`` would add, update or leave unchanged in the roster as it is now."""
    return importing.plan_rows(rows, listed_people(session, round_.id), agency_names=agency_names(session, round_),
                               group_names={g.id: g.label for g in round_.groups}, own_agency_id=agency_id,
                               locked_ids=submitted_ids(session, round_.id), decisions=decisions)
