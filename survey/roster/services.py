from __future__ import annotations

from sqlalchemy.orm import Session

from survey.rounds.models import Agency, Round, RoundGroup
from survey.roster.models import Respondent


def add_respondent(
    session: Session,
    round_: Round,
    group: RoundGroup,
    *,
    full_name: str,
    email: str | None = None,
    phone: str | None = None,
    position: str | None = None,
    agency: Agency | None = None,
) -> Respondent:
    respondent = Respondent(
        round_id=round_.id, group_id=group.id, full_name=full_name, email=email, phone=phone,
        position=position, agency_id=agency.id if agency else None,
    )
    session.add(respondent)
    session.flush()
    return respondent
