"""Asking before mass and irreversible actions, in a real Chromium with JavaScript off (issue 14.8)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select, text

from survey import db
from survey.invitations.models import OutboxMessage
from survey.rounds.models import Round
from tests.conftest import STAFF_PASSWORD
from tests.live_server import gunicorn_server

pytestmark = pytest.mark.browser


@pytest.fixture
def mail_server(database_url):
    """The app under gunicorn with a sender configured (the shared live server has none)."""
    with gunicorn_server(database_url, workers=1, extra_env={"SURVEY_SMTP_FROM": "khao-sat@snv.example.vn"}) as base:
        yield base


@pytest.fixture
def no_script(new_page):
    return new_page(java_script_enabled=False)


def _sign_in(page, base: str, url: str, email: str) -> None:
    page.goto(f"{base}{url}")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mật khẩu").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


def test_opening_a_round_and_inviting_everyone_ask_first(app, survey_round, staff, mail_server, no_script):
    round_id, _tokens = survey_round(per_group=1, opens_in=timedelta(days=3))
    with app.app_context(), db.unit_of_work() as session:
        session.execute(text("UPDATE respondents SET email = 'r' || id || '@example.vn' WHERE round_id = :r"),
                        {"r": round_id})
    email = staff("province_admin")
    page = no_script
    _sign_in(page, mail_server, f"/admin/rounds/{round_id}", email)

    page.get_by_role("link", name="Mở đợt khảo sát ngay…").click()
    expect(page.get_by_role("heading", name="Xác nhận mở đợt khảo sát")).to_be_visible()
    expect(page.get_by_text("5 phiếu khảo sát", exact=False)).to_be_visible()
    page.get_by_role("link", name="Quay lại, chưa mở").click()
    with app.app_context():
        assert db.session().get(Round, round_id).state() == "scheduled"
    page.get_by_role("link", name="Mở đợt khảo sát ngay…").click()
    page.get_by_role("button", name="Xác nhận mở đợt khảo sát, khóa 5 phiếu").click()
    expect(page.get_by_text("Đã mở đợt khảo sát")).to_be_visible()
    with app.app_context():
        assert db.session().get(Round, round_id).state() == "open"

    page.goto(f"{mail_server}/admin/rounds/{round_id}/mail")
    page.locator("form", has=page.get_by_role("button", name="Xem số người sẽ được mời…")).get_by_role(
        "button", name="Xem số người sẽ được mời…").click()
    expect(page.get_by_role("heading", name="Xác nhận gửi thư mời")).to_be_visible()
    expect(page.get_by_text("Sẽ xếp 5 thư mời vào hàng đợi gửi", exact=False)).to_be_visible()
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(OutboxMessage)) == 0
    page.get_by_role("button", name="Xác nhận xếp 5 thư mời").click()
    expect(page.get_by_text("Đã xếp 5 thư mời vào hàng đợi gửi.")).to_be_visible()
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(OutboxMessage)) == 5
