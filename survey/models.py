"""Every model, imported once so that the metadata (and Alembic) sees all tables."""

from survey.accounts.models import AuditEvent, SignInThrottle, User
import survey.assessment.models  # noqa: F401  (issue 15 tables)
import survey.collection.models  # noqa: F401  (issue 16 tables)
import survey.invitations.models  # noqa: F401  (issue 4 tables)
import survey.reports.models  # noqa: F401  (issue 5 tables)
import survey.samples.models  # noqa: F401  (issue 16: samples from the dossier register)
from survey.respond.models import AccessLink, Answer, Draft, Response, Submission
from survey.rounds.models import Agency, Province, Round, RoundGroup
from survey.roster.models import Respondent

__all__ = [
    "AuditEvent", "SignInThrottle", "User",
    "AccessLink", "Agency", "Answer", "Draft", "Province", "Respondent",
    "Response", "Round", "RoundGroup", "Submission",
]
