"""Recording that a respondent opened the questionnaire (the monitoring stage "opened")."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from survey.respond.models import AccessLink
from survey.timeutil import utcnow


def record_opened(session: Session, link: AccessLink) -> None:
    """Set the first opening once; later visits change nothing (one UPDATE, no read first)."""
    session.execute(
        update(AccessLink).where(AccessLink.id == link.id, AccessLink.first_opened_at.is_(None))
        .values(first_opened_at=utcnow()).execution_options(synchronize_session=False)
    )
