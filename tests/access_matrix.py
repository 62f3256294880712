"""Values for URL parameters when the role matrix walks every admin endpoint.

An area that adds an endpoint with a new parameter adds a way to fill it here;
the matrix test fails on a parameter it cannot fill, so nothing is skipped silently.
"""

from __future__ import annotations

from sqlalchemy import select

from survey import db
from survey.rounds.models import Agency
from survey.roster.models import Respondent

# Endpoints anyone may reach; everything else must carry required_roles.
PUBLIC_ENDPOINTS = {"static", "accounts.login", "health.healthz"}
PUBLIC_BLUEPRINTS = {"respond", "point"}
# Requested last, in this order, because they end the session.
LAST_ENDPOINTS = ["accounts.logout"]


def parameter_values(app, round_id: int) -> dict[str, object]:
    with app.app_context():
        session = db.session()
        respondent = session.scalars(select(Respondent).where(Respondent.round_id == round_id)).first()
        agency = session.scalars(select(Agency).where(Agency.code == "STP")).first()
        return {
            "round_id": round_id,
            "respondent_id": respondent.id,
            "group_id": respondent.group_id,
            "agency_id": agency.id,
            "filename": "x",
            "import_id": 1,  # none exists: allowed roles get 404, the others 403
            # reports: field 1 of the structure, the field chart as PNG, the CSV export
            "field": 1,
            "chart": "fields",
            "fmt": "png",
            "kind": "csv",
            "frozen_id": 1,  # frozen results: none exists, allowed roles get 404, the others 403
            # assessment: a sub-criterion code and an evidence document (none exists: 404 when allowed)
            "code": "2.1.1",
            "document_id": 1,
            "point_id": 1,  # collection points: none exists, allowed roles get 404, the others 403
            "token": "x",
            "printout": "poster",
            "batch_id": 1,  # paper batches: none exists, allowed roles get 404, the others 403
            "form_number": 1,
            "sample_id": 1,  # samples from the dossier register: none exists, allowed roles get 404, the others 403
        }


def is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or endpoint.split(".", 1)[0] in PUBLIC_BLUEPRINTS
