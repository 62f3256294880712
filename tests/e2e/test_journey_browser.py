"""A whole 10-section response in Debian's Chromium, with JavaScript on and off (issue 17).

Counts the requests a complete response takes, then walks it again the clumsy way (a
double click on every button, refresh and back on every section) and checks what the
database holds; finally a slow and a failing connection with JavaScript on.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from survey import db
from survey.questionnaire_registry import catalog
from survey.respond.models import Answer, Draft, Response, Submission
from tests.e2e.test_respondent_browser import CHROMIUM, CHROMIUM_ARGS
from tests.respond.forms import first_valid_option

pytestmark = pytest.mark.browser

QUESTIONNAIRE = ("par-department-leaders", "2023.1")
TEXT_ANSWER = "Không có ý kiến thêm"


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def phone_page(browser, *, javascript: bool):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="vi-VN", java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(30_000)  # a loaded machine
    requests = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}") if "/r/" in r.url else None)
    return page, requests


def start(browser, live_server, survey_round, *, javascript: bool, click: str):
    """A phone that opened a new respondent's link and pressed the start button (``click`` or ``dblclick``)."""
    _, tokens = survey_round(per_group=1)
    page, requests = phone_page(browser, javascript=javascript)
    page.goto(f"{live_server}/r/{tokens['department'][0]}")
    getattr(page.get_by_role("link", name="Bắt đầu trả lời"), click)()
    return page, requests


@pytest.fixture
def questionnaire(app):
    with app.app_context():
        found = catalog().get(*QUESTIONNAIRE)
    assert len(found.sections) == 10
    return found


def answer_section(page, section):
    for question in section.questions:
        if question.kind == "text":
            page.locator(f"textarea[name='q_{question.code}']").fill(TEXT_ANSWER)
        else:
            option = next(o for o in question.scale.options if not o.is_missing)
            page.locator(f"fieldset[id='q_{question.code}'] label.option", has_text=option.label).first.click()


def expect_answered(page, section):
    for question in section.questions:
        if question.kind == "text":
            expect(page.locator(f"textarea[name='q_{question.code}']")).to_have_value(TEXT_ANSWER)
        else:
            expect(page.locator(f"input[name='q_{question.code}'][value='{first_valid_option(question)}']")).to_be_checked()


def expect_section(page, section):
    expect(page.get_by_role("heading", level=1)).to_have_text(section.title)


def next_button(number, sections):
    return "Lưu và xem lại »" if number == len(sections) else "Lưu và tiếp tục »"


def through_history(page, step, *, javascript: bool):
    """Back or forward as a respondent does it.

    With JavaScript the history holds the sections' own addresses, loaded afresh.
    Without it, an entry is a save's answer, which the pages forbid keeping
    (no-store: a shared phone keeps no answers): Chromium shows its "confirm
    form resubmission" page, and reloading it posts the save again.
    """
    try:
        step()
    except PlaywrightError as error:
        if javascript or "ERR_CACHE_MISS" not in str(error):
            raise
        # Chromium's own page takes a moment to attach; until then a reload is refused.
        for _ in range(100):
            try:
                page.reload()
                return
            except PlaywrightError as refused:
                if "Not attached to an active page" not in str(refused):
                    raise
                time.sleep(0.1)
        raise AssertionError("Chromium's resubmission page never accepted a reload")


def stored(app, questionnaire):
    """What the database holds after the walk: ledger, responses, drafts and the answer rows."""
    with app.app_context():
        session = db.session()
        responses = session.scalars(select(Response)).all()
        rows = {(a.question_code, a.option_code, a.text_value) for a in session.scalars(select(Answer))}
        return (len(session.scalars(select(Submission)).all()), len(responses),
                len(session.scalars(select(Draft)).all()), rows)


def expected_rows(questionnaire):
    return {(q.code, None, TEXT_ANSWER) if q.kind == "text" else (q.code, first_valid_option(q), None)
            for q in questionnaire.questions}


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_a_complete_response_takes_thirteen_requests(app, survey_round, live_server, browser, questionnaire,
                                                      javascript):
    page, requests = start(browser, live_server, survey_round, javascript=javascript, click="click")
    sections = questionnaire.sections
    for number, section in enumerate(sections, start=1):
        expect_section(page, section)
        answer_section(page, section)
        page.get_by_role("button", name=next_button(number, sections)).click()
    expect(page.get_by_text("đã trả lời đủ các câu bắt buộc")).to_be_visible()
    page.get_by_role("button", name="Gửi phiếu khảo sát").click()
    expect(page.locator("#confirmation")).to_contain_text("Cảm ơn Ông/Bà đã hoàn thành phiếu khảo sát")

    # Landing, first section, ten saves each answered with the next page, the submission.
    assert len(requests) == 13, requests
    assert stored(app, questionnaire) == (1, 1, 0, expected_rows(questionnaire))
    page.context.close()


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_double_clicks_refresh_and_back_lose_nothing_and_store_once(app, survey_round, live_server, browser,
                                                                    questionnaire, javascript):
    page, _requests = start(browser, live_server, survey_round, javascript=javascript, click="dblclick")
    sections = questionnaire.sections
    for number, section in enumerate(sections, start=1):
        expect_section(page, section)
        answer_section(page, section)
        page.get_by_role("button", name="Lưu", exact=True).dblclick()
        expect(page.locator(".card.saved")).to_contain_text("Đã lưu câu trả lời")
        page.reload()  # without JavaScript, the save is posted again: the same answers, nothing more
        expect_section(page, section)
        expect_answered(page, section)
        page.get_by_role("button", name=next_button(number, sections)).dblclick()
        if number < len(sections):
            expect_section(page, sections[number])
        else:
            expect(page.get_by_role("heading", name="Xem lại và gửi phiếu")).to_be_visible()
        through_history(page, page.go_back, javascript=javascript)
        expect_section(page, section)
        expect_answered(page, section)
        through_history(page, page.go_forward, javascript=javascript)
        if number < len(sections):
            expect_section(page, sections[number])
    expect(page.get_by_text("đã trả lời đủ các câu bắt buộc")).to_be_visible()
    page.get_by_role("button", name="Gửi phiếu khảo sát").dblclick()
    expect(page.locator("#confirmation")).to_contain_text("Cảm ơn Ông/Bà đã hoàn thành phiếu khảo sát")
    page.reload()
    expect(page.locator("#confirmation")).to_contain_text(re.compile("hoàn thành phiếu khảo sát"))
    through_history(page, page.go_back, javascript=javascript)
    expect(page.locator("#confirmation")).to_contain_text(re.compile("hoàn thành phiếu khảo sát"))

    assert stored(app, questionnaire) == (1, 1, 0, expected_rows(questionnaire))
    page.context.close()


def test_a_slow_save_shows_itself_and_a_failed_one_keeps_the_answers(app, survey_round, live_server, browser,
                                                                     questionnaire):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    page, _requests = phone_page(browser, javascript=True)
    page.goto(f"{live_server}/r/{token}/section/1")
    first, second = questionnaire.sections[0], questionnaire.sections[1]
    answer_section(page, first)

    # The connection drops: the page says so, keeps what was typed, and the button works again.
    page.route("**/section/1", lambda route: route.abort() if route.request.method == "POST" else route.continue_())
    page.get_by_role("button", name="Lưu và tiếp tục »").click()
    expect(page.locator(".autosave-status")).to_contain_text("Chưa lưu được")
    expect_section(page, first)
    expect_answered(page, first)
    with app.app_context():
        assert db.session().scalars(select(Draft)).all() == []
    page.unroute("**/section/1")

    # A slow connection: the save is shown under way and the buttons wait for it.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 3000, "downloadThroughput": -1, "uploadThroughput": -1})
    page.get_by_role("button", name="Lưu và tiếp tục »").click()
    expect(page.locator(".autosave-status")).to_contain_text("Đang lưu")
    expect(page.get_by_role("button", name="Lưu và tiếp tục »")).to_be_disabled()
    expect_section(page, second)
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    # The address is the section shown, so a refresh loads it instead of posting again.
    assert page.url.endswith(f"/r/{token}/section/2")
    page.reload()
    expect_section(page, second)
    with app.app_context():
        draft = db.session().scalars(select(Draft)).one()
    assert {code for code in draft.answers} == {q.code for q in first.questions}
    page.context.close()
