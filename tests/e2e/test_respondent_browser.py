"""A respondent answers a whole questionnaire on a phone-sized Chromium (Debian's, via Playwright)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sqlalchemy import select

from survey import db
from survey.questionnaire_registry import catalog
from survey.respond.models import Response, Submission
from tests.e2e.conftest import answer_every_question

pytestmark = pytest.mark.browser

def test_answer_save_reload_and_submit_on_a_phone(app, survey_round, live_server, phone):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    with app.app_context():
        questionnaire = catalog().get("par-department-leaders", "2023.1")

    # A fake clock, so that the autosave's pause can be skipped rather than waited for.
    phone.clock.install()
    phone.goto(f"{live_server}/r/{token}")
    # The start button is on the first screen with the essentials; the full introduction is folded.
    expect(phone.get_by_role("link", name="Bắt đầu trả lời")).to_be_in_viewport()
    expect(phone.locator("#essentials")).to_contain_text("Ẩn danh")
    expect(phone.get_by_role("heading", name="Cam kết ẩn danh")).to_be_hidden()
    phone.get_by_text("Giới thiệu đầy đủ").click()
    expect(phone.get_by_role("heading", name="Cam kết ẩn danh")).to_be_visible()
    phone.get_by_role("link", name="Bắt đầu trả lời").click()

    for number, section in enumerate(questionnaire.sections, start=1):
        expect(phone.get_by_role("heading", level=1)).to_have_text(section.title)
        answer_every_question(phone, section.questions, "Không có ý kiến thêm")
        if number == 1:
            # Answers left alone for a while are saved in the background, all in one request:
            # a reload (same link, no form post) keeps them.
            phone.clock.run_for(31_000)
            expect(phone.locator(".autosave-status")).to_contain_text("Đã tự động lưu")
            phone.reload()
            first = section.questions[0]
            expect(phone.locator(f"input[name='q_{first.code}']:checked")).to_have_count(1)
            # The quick links are relative to the page's address (they are cached without the token).
            quick = phone.get_by_role("navigation", name="Chuyển nhanh")
            second = questionnaire.sections[1].title
            quick.get_by_role("link", name=f"2. {second}").click()
            expect(phone.get_by_role("heading", level=1)).to_have_text(second)
            phone.get_by_role("navigation", name="Chuyển nhanh").get_by_role("link", name="Xem lại và gửi phiếu").click()
            expect(phone.get_by_role("heading", name="Xem lại và gửi phiếu")).to_be_visible()
            phone.goto(f"{live_server}/r/{token}/section/1")
            expect(phone.locator(f"input[name='q_{first.code}']:checked")).to_have_count(1)
        last = number == len(questionnaire.sections)
        phone.get_by_role("button", name="Lưu và xem lại »" if last else "Lưu và tiếp tục »").click()

    expect(phone.get_by_text("đã trả lời đủ các câu bắt buộc")).to_be_visible()
    phone.get_by_role("button", name="Gửi phiếu khảo sát").click()
    expect(phone.locator("#confirmation")).to_contain_text("Cảm ơn Ông/Bà đã hoàn thành phiếu khảo sát")
    phone.goto(f"{live_server}/r/{token}")
    expect(phone.locator("#confirmation")).to_contain_text(re.compile("đã hoàn thành phiếu khảo sát này"))

    with app.app_context():
        session = db.session()
        assert len(session.scalars(select(Submission)).all()) == 1
        assert len(session.scalars(select(Response)).all()) == 1
