"""Double entry in Chromium, keyboard only: two clerks disagree, the supervisor reads the paper and resolves."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from survey import db
from survey.accounts.models import User
from survey.collection import paper
from survey.respond.models import Answer, Response
from survey.rounds.models import Round
from tests.collection.helpers import CITIZENS, citizen_questionnaire, make_point
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser


def desk_page(new_page, address: str, email: str):
    """A clerk's own browser, signed in, at ``address``."""
    page = new_page()
    page.goto(address)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mật khẩu").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(address)
    return page


def key_with_keyboard(page, number: int, codes: dict[str, str], procedure: str = "") -> None:
    """Form number, the procedure, then Tab from question to question typing codes, then Enter: no mouse."""
    expect(page.locator("#form_number")).to_be_focused()
    page.keyboard.type(str(number))
    page.keyboard.press("Tab")
    expect(page.locator("#procedure")).to_be_focused()
    page.keyboard.type(procedure)
    for code in codes.values():
        page.keyboard.press("Tab")
        if code:
            page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_two_clerks_disagree_and_the_supervisor_resolves_against_the_paper(app, staff, survey_round, live_server,
                                                                           new_page):
    base = live_server
    round_id, point_id, _ = make_point(app, survey_round)
    staff("province_admin", email="sonoivu@example.vn")
    staff("focal_point", email="daumoi@example.vn")
    with app.app_context(), db.unit_of_work() as session:
        round_ = session.get(Round, round_id)
        group = next(g for g in round_.groups if g.questionnaire_key == CITIZENS)
        supervisor = session.scalars(select(User).where(User.email == "sonoivu@example.vn")).one()
        batch_id = paper.create_batch(session, round_, group, point=None, collected_on=date(2023, 11, 20),
                                      team="Tổ 1", user=supervisor).id
    questionnaire = citizen_questionnaire(app)
    codes = {}
    for q in questionnaire.questions:
        if q.kind == "text":
            codes[q.code] = "Phục vụ tốt"
        elif q.kind == "multi":
            codes[q.code] = "ab"
        else:
            codes[q.code] = next(o.code for o in q.scale.options if not o.is_missing)
    entry = f"{base}/admin/rounds/{round_id}/paper/{batch_id}/entry"

    first = desk_page(new_page, entry, "sonoivu@example.vn")
    key_with_keyboard(first, 1, {**codes, "E1.1": "4"})
    expect(first.get_by_role("status")).to_contain_text("lần nhập thứ nhất của phiếu số 1")
    expect(first.locator("#form_number")).to_have_value("2")  # ready for the next form

    second = desk_page(new_page, entry, "daumoi@example.vn")
    key_with_keyboard(second, 1, {**codes, "E1.1": "7"})  # no such option: refused, nothing stored
    expect(second.get_by_role("alert")).to_contain_text("Câu E1.1 không có phương án “7”")
    expect(second.locator("[id='q_E1.1']")).to_be_focused()
    second.keyboard.type("5")  # typed over the refused code
    second.keyboard.press("Enter")
    expect(second.get_by_role("status")).to_contain_text("khác lần nhập thứ nhất")
    with app.app_context():
        assert db.session().scalars(select(Response)).all() == []

    first.goto(f"{base}/admin/rounds/{round_id}/paper/{batch_id}")
    first.get_by_role("link", name="Đối chiếu phiếu số 1").click()
    expect(first.locator("#differences")).to_contain_text("E1.1")
    expect(first.locator("#differences tbody tr")).to_have_count(1)
    expect(first.locator("[id='q_E1.1']")).to_be_focused()
    first.keyboard.type("5")  # what the paper says
    first.keyboard.press("Enter")
    expect(first.get_by_role("status")).to_contain_text("Phiếu số 1 đã được đối chiếu và ghi nhận")

    with app.app_context():
        responses = db.session().scalars(select(Response)).all()
        e11 = db.session().scalars(select(Answer.option_code).where(Answer.question_code == "E1.1")).all()
    assert [(r.channel, r.collection_point_id) for r in responses] == [("paper", None)]
    assert e11 == ["5"]
    first.goto(f"{base}/admin/rounds/{round_id}/paper")
    expect(first.locator("#clerks")).to_contain_text("100,0 %")
