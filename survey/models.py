"""Every model, imported once so that the metadata (and Alembic) sees all tables."""

from survey.respond.models import AccessLink, Answer, Draft, Response, Submission
from survey.rounds.models import Agency, Province, Round, RoundGroup
from survey.roster.models import Respondent

__all__ = [
    "AccessLink", "Agency", "Answer", "Draft", "Province", "Respondent",
    "Response", "Round", "RoundGroup", "Submission",
]
