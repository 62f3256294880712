from __future__ import annotations

import pytest

from tests.conftest import STAFF_PASSWORD, csrf_token_in

PLAN_AGENCIES = ("SNV", "STP", "VPUB", "STC", "STTTT", "SKHDT")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def assessment_round(app, survey_round, tmp_path):
    """A round of province LCI whose catalogue has the plan's six departments; evidence under tmp_path."""
    from survey import db
    from survey.rounds.models import Round
    from survey.rounds.agencies import get_or_create_agency

    app.config["ASSESSMENT_EVIDENCE_DIR"] = str(tmp_path / "evidence")
    round_id, _ = survey_round(per_group=0)
    with app.app_context(), db.unit_of_work() as session:
        province = session.get(Round, round_id).province
        for code in PLAN_AGENCIES:
            get_or_create_agency(session, province, code, f"Sở {code}", "department")
    return round_id


class Actor:
    """A signed-in test client of one role."""

    def __init__(self, app, staff, role, **kwargs):
        self.client = app.test_client()
        email = staff(role, **kwargs)
        page = self.client.get("/admin/login")
        reply = self.client.post("/admin/login", data={"email": email, "password": STAFF_PASSWORD,
                                                       "csrf_token": csrf_token_in(page.text)})
        assert reply.status_code == 302
        self.csrf = csrf_token_in(self.client.get("/admin/login").text)

    def get(self, url):
        return self.client.get(url)

    def post(self, url, data=None, **kwargs):
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


@pytest.fixture
def actor(app, staff):
    def make(role, **kwargs):
        return Actor(app, staff, role, **kwargs)
    return make
