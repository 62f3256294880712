from __future__ import annotations

from datetime import timedelta

import pytest


@pytest.fixture
def roster_round(app):
    """Lào Cai with its 2023 agencies and a scheduled round bound to the 2023 questionnaires; returns its id."""
    from survey import db
    from survey.demo.data import AGENCIES_FILE, DEMO_BINDINGS
    from survey.questionnaire_registry import catalog
    from survey.rounds.agencies import agency_rows_from_file, import_agencies
    from survey.rounds.services import create_round, get_or_create_province
    from survey.timeutil import utcnow

    def build(title: str = "Khảo sát 2023", opens_in: timedelta = timedelta(days=10)) -> int:
        with app.app_context(), db.unit_of_work() as session:
            province = get_or_create_province(session, "LCI", "tỉnh Lào Cai")
            import_agencies(session, province, agency_rows_from_file(AGENCIES_FILE.read_bytes(), "agencies.csv"))
            now = utcnow()
            round_ = create_round(session, catalog(), province=province, year=2023, title=title,
                                  opens_at=now + opens_in, closes_at=now + opens_in + timedelta(days=30),
                                  bindings=DEMO_BINDINGS)
            return round_.id

    return build
