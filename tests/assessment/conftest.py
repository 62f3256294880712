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


def account(app, staff, role, **kwargs):
    """The e-mail of an account of ``role``: the existing one if a test made it already."""
    from sqlalchemy import select

    from survey import db
    from survey.accounts.models import User

    email = kwargs.get("email") or f"{role}.{kwargs.get('province_code', 'LCI').lower()}@example.vn"
    with app.app_context():
        if db.session().scalar(select(User.id).where(User.email == email)) is not None:
            return email
    return staff(role, **kwargs)


def open_cycle_directly(app, round_id):
    """Start and open the round's cycle with the default assignments (through the services)."""
    from survey import db
    from survey.assessment import services
    from survey.questionnaire_registry import catalog
    from survey.rounds.models import Round

    with app.app_context(), db.unit_of_work() as session:
        cycle = services.start_cycle(session, session.get(Round, round_id), catalog())
        services.open_self_assessment(session, cycle)
        return cycle.id


def score_parts(app, staff, round_id, *, level="0", only=None, submit=True):
    """Every part (or those of agency codes ``only``) scores each sub-criterion at ``level`` with an
    explanation (figures 9/10 for rates) and, unless ``submit`` is false, submits."""
    from sqlalchemy import select

    from survey import db
    from survey.accounts.models import User
    from survey.assessment import services
    from survey.assessment.models import Part
    from survey.questionnaire_registry import catalog
    from survey.rounds.models import Agency, Round

    with app.app_context():
        codes = sorted({a.code for a in db.session().scalars(select(Agency).join(Part, Part.agency_id == Agency.id))})
    # Accounts are made after that read has ended: on SQLite a write inside an open read would wait for it.
    for_agency = {code: account(app, staff, "focal_point", agency_code=code, email=f"focal.{code.lower()}@example.vn")
                  for code in codes if only is None or code in only}
    with app.app_context(), db.unit_of_work() as session:
        cycle = services.cycle_of(session, session.get(Round, round_id))
        ctx = services.context(cycle, catalog())
        for part in session.scalars(select(Part).where(Part.cycle_id == cycle.id)):
            if part.agency.code not in for_agency:
                continue
            user = session.scalar(select(User).where(User.email == for_agency[part.agency.code]))
            for code in services.codes_of(session, cycle, part.agency_id):
                services.save_entry(session, ctx, part, code, user, level=level, numerator="9", denominator="10",
                                    explanation="Có báo cáo.")
            if submit:
                services.submit_part(session, ctx, part)


def close_directly(app, staff, round_id, appraised=None, name="Kết quả thẩm định"):
    """The council appraises ``{code: points}`` and closes."""
    from sqlalchemy import select

    from survey import db
    from survey.accounts.models import User
    from survey.assessment import services
    from survey.questionnaire_registry import catalog
    from survey.rounds.models import Round

    email = account(app, staff, "council_chair")
    with app.app_context(), db.unit_of_work() as session:
        chair = session.scalar(select(User).where(User.email == email))
        cycle = services.cycle_of(session, session.get(Round, round_id))
        ctx = services.context(cycle, catalog())
        for code, points in (appraised or {}).items():
            services.appraise(session, ctx, code, chair, points=str(points), reason="Thẩm định", seen_version=0)
        services.close_appraisal(session, ctx, chair, name)
