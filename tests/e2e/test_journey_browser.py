"""A whole 10-section response in Debian's Chromium, with JavaScript on and off (issue 17).

Counts the requests a complete response takes, then walks it again the clumsy way (a
double click on every button, refresh and back on every section) and checks what the
database holds; finally a slow and a failing connection with JavaScript on.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from sqlalchemy import select

from survey import db
from survey.questionnaire_registry import catalog
from survey.respond.models import Answer, Draft, Response, Submission
from tests.respond.forms import first_valid_option

pytestmark = pytest.mark.browser

QUESTIONNAIRE = ("par-department-leaders", "2023.1")
TEXT_ANSWER = "Không có ý kiến thêm"


@pytest.fixture
def browser(browser):
    """The session's Chromium (tests/e2e/conftest.py; a second Playwright in the same process is
    refused); the contexts this test opened are closed when it ends."""
    yield browser
    for context in list(browser.contexts):
        context.close()


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


def through_history(page, step, expected):
    """Back or forward (``step``) as a respondent does it, until the page ``expected`` waits for is ready.

    Waits on what the page shows, never for a time: with JavaScript a step in
    the history may first be a change of address in the same document, which
    the script answers by loading the address afresh; the page is ready once
    its heading is the expected one and that document has loaded (its
    deferred script set up), so that the next click goes through the script.
    """
    step(wait_until="commit")
    expected()
    page.wait_for_load_state("load")


def answered_by_the_server(page) -> list[str]:
    """The respondent's pages from here on that the server answered, as Chromium's network log reports them.

    A page the back or forward button takes from the browser's own cache is
    reported too, marked as such: it is left out.
    """
    answered = []
    cdp = page.context.new_cdp_session(page)
    cdp.on("Network.responseReceived", lambda event: answered.append(event["response"]["url"])
           if "/r/" in event["response"]["url"] and not event["response"].get("fromDiskCache") else None)
    cdp.send("Network.enable")
    return answered


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
    page.wait_for_load_state("load")
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
            shown_next = lambda: expect_section(page, sections[number])  # noqa: E731
        else:
            shown_next = lambda: expect(page.get_by_role("heading", name="Xem lại và gửi phiếu")).to_be_visible()  # noqa: E731
        shown_next()
        page.wait_for_load_state("load")
        answered = answered_by_the_server(page)
        through_history(page, page.go_back, lambda: (expect_section(page, section), expect_answered(page, section)))
        through_history(page, page.go_forward, shown_next)
        if not javascript:
            # The save's answers are kept by the browser for its history: back and forward show
            # them without a request, not Chromium's "Confirm Form Resubmission".
            assert answered == [], answered
    expect(page.get_by_text("đã trả lời đủ các câu bắt buộc")).to_be_visible()
    page.get_by_role("button", name="Gửi phiếu khảo sát").dblclick()
    expect(page.locator("#confirmation")).to_contain_text("Cảm ơn Ông/Bà đã hoàn thành phiếu khảo sát")
    page.reload()
    expect(page.locator("#confirmation")).to_contain_text(re.compile("hoàn thành phiếu khảo sát"))
    if javascript:
        through_history(page, page.go_back, lambda: expect(page.locator("#confirmation")).to_contain_text(
            re.compile("hoàn thành phiếu khảo sát")))
    else:
        # The confirmation emptied the browser's cache of the survey's pages: back finds no
        # page with answers on it to show (a shared phone keeps none once the response is sent).
        with pytest.raises(PlaywrightError, match="ERR_CACHE_MISS"):
            page.go_back()

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
