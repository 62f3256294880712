"""The roster dashboard: expected against listed people per agency and group, and what is missing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.rounds.agencies import province_agencies
from survey.rounds.models import Agency, Round, RoundGroup, RoundQuota
from survey.roster.imports import PREVIEW_LIFETIME, blocking_problems, pending_imports
from survey.roster.models import Respondent
from survey.timeutil import as_utc, utcnow


@dataclass
class Cell:
    expected: int = 0
    listed: int = 0
    no_email: int = 0
    no_phone: int = 0


@dataclass
class Dashboard:
    groups: list[RoundGroup]
    agencies: list[Agency]
    cells: dict[tuple[int | None, int], Cell]
    not_submitted: list[Agency]  # agencies with a quota and nobody listed
    days_left: int | None
    totals: Cell
    open_problems: int  # rows that block a fresh, unconfirmed preview
    pending: int  # previews not confirmed nor discarded, stale ones included


def dashboard(session: Session, round_: Round, today: date, agency_id: int | None = None) -> Dashboard:
    cells: dict[tuple[int | None, int], Cell] = {}
    quota_query = select(RoundQuota).where(RoundQuota.round_id == round_.id)
    count_query = (
        select(Respondent.agency_id, Respondent.group_id, func.count(),
               func.count() - func.count(Respondent.email), func.count() - func.count(Respondent.phone))
        .where(Respondent.round_id == round_.id, Respondent.removed_at.is_(None))
        .group_by(Respondent.agency_id, Respondent.group_id)
    )
    if agency_id is not None:
        quota_query = quota_query.where(RoundQuota.agency_id == agency_id)
        count_query = count_query.where(Respondent.agency_id == agency_id)
    for quota in session.scalars(quota_query):
        cells.setdefault((quota.agency_id, quota.group_id), Cell()).expected = quota.expected
    for agency, group, listed, no_email, no_phone in session.execute(count_query):
        cell = cells.setdefault((agency, group), Cell())
        cell.listed, cell.no_email, cell.no_phone = listed, no_email, no_phone
    agencies = [a for a in province_agencies(session, round_.province_id)
                if any(k[0] == a.id for k in cells) and (agency_id is None or a.id == agency_id)]
    listed_by_agency: dict[int | None, int] = {}
    for (agency, _), cell in cells.items():
        listed_by_agency[agency] = listed_by_agency.get(agency, 0) + cell.listed
    not_submitted = [a for a in agencies if listed_by_agency.get(a.id, 0) == 0]
    totals = Cell(*(sum(getattr(c, f) for c in cells.values()) for f in ("expected", "listed", "no_email", "no_phone")))
    waiting = pending_imports(session, round_, agency_id)
    fresh_after = utcnow() - PREVIEW_LIFETIME
    open_problems = sum(len({p["row"] for p in blocking_problems(i)}) for i in waiting
                        if as_utc(i.created_at) >= fresh_after)
    days_left = (round_.ministry_deadline - today).days if round_.ministry_deadline else None
    return Dashboard(list(round_.groups), agencies, cells, not_submitted, days_left, totals, open_problems,
                     len(waiting))
