"""Recording that a respondent opened the questionnaire (the monitoring stage "opened")."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

import survey.invitations.models  # noqa: F401  (declares AccessLink.first_opened_at)
from survey.respond.models import AccessLink
from survey.timeutil import utcnow


def record_opened(session: Session, link: AccessLink) -> None:
    """Set the first opening once: later visits see it on the loaded link and write nothing.

    The UPDATE keeps its own IS NULL guard, so two first visits at once still record one time.
    """
    if link.first_opened_at is not None:
        return
    session.execute(
        update(AccessLink).where(AccessLink.id == link.id, AccessLink.first_opened_at.is_(None))
        .values(first_opened_at=utcnow()).execution_options(synchronize_session=False)
    )
