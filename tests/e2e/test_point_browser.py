"""A citizen scans a point's QR code and answers on a phone-sized Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sqlalchemy import select

from survey import db
from survey.respond.models import Response, Submission
from tests.collection.helpers import citizen_questionnaire, make_point
from tests.e2e.conftest import answer_every_question

pytestmark = pytest.mark.browser


def test_a_citizen_answers_at_a_point_on_a_phone(app, survey_round, live_server, phone):
    _, point_id, token = make_point(app, survey_round)
    questionnaire = citizen_questionnaire(app)

    phone.goto(f"{live_server}/p/{token}")
    expect(phone.locator(".masthead")).to_contain_text("Bộ phận Một cửa Sở Tư pháp")
    # Submitting with nothing answered: refused in Vietnamese, nothing stored, the page stays.
    phone.get_by_role("button", name="Gửi phiếu").click()
    expect(phone.get_by_role("alert")).to_contain_text("Chưa gửi được phiếu")

    answer_every_question(phone, questionnaire.questions, "Không có ý kiến thêm")
    phone.get_by_role("button", name="Gửi phiếu").click()
    expect(phone.get_by_role("heading", name="Cảm ơn Ông/Bà đã gửi phiếu")).to_be_visible()

    with app.app_context():
        responses = db.session().scalars(select(Response)).all()
        assert db.session().scalars(select(Submission)).all() == []
    assert [(r.channel, r.collection_point_id) for r in responses] == [("point", point_id)]
