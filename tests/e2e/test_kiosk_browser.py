"""A kiosk on a tablet-sized Chromium: restart, nothing of a citizen's answers behind Back, offline and once."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from survey import db
from survey.collection import services
from survey.collection.models import CollectionPoint
from tests.collection.helpers import citizen_questionnaire, make_point, stored
from tests.e2e.conftest import answer_every_question
from tests.live_server import gunicorn_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def kiosk_server(database_url):
    # One server for the module's tests: each test makes its own round, point and kiosk link.
    with gunicorn_server(database_url, workers=1, extra_env={
            "SURVEY_KIOSK_THANKS_SECONDS": "2", "SURVEY_KIOSK_IDLE_SECONDS": "5"}) as base:
        yield base


def tablet(new_page, **options):
    page = new_page({"width": 1024, "height": 768}, has_touch=True, **options)
    return page.context, page


@pytest.fixture
def kiosk(app, survey_round):
    _, point_id, token = make_point(app, survey_round)
    with app.app_context(), db.unit_of_work() as session:
        point = session.get(CollectionPoint, point_id)
        services.set_kiosk(session, point, True)
        return token, point.kiosk_token


def answer_everything(app, page) -> None:
    answer_every_question(page, citizen_questionnaire(app).questions, "Cán bộ tận tình")


CHOSEN = "form[data-kiosk] input:checked:not([value=''])"  # "(Không trả lời)" is checked on a new form


def nothing_answered(page) -> None:
    expect(page.locator(CHOSEN)).to_have_count(0)
    assert all(value == "" for value in page.locator("form[data-kiosk] textarea").evaluate_all(
        "(areas) => areas.map((a) => a.value)"))


def wait_for(page, condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(200)  # not time.sleep: Playwright runs route handlers only while it is called


def test_the_kiosk_restarts_and_back_shows_nothing_of_the_previous_citizen(app, kiosk, kiosk_server, new_page):
    token, kiosk_token = kiosk
    context, page = tablet(new_page)
    page.goto(f"{kiosk_server}/p/{token}")  # whatever the tablet showed before
    page.goto(f"{kiosk_server}/p/{kiosk_token}/kiosk")
    answer_everything(app, page)
    page.get_by_role("button", name="Gửi phiếu").click()
    expect(page.get_by_role("heading", name="Cảm ơn Ông/Bà đã gửi phiếu")).to_be_visible()
    wait_for(page, lambda: stored(app, channel="kiosk") == 1)
    # The thanks gives way to a new, empty questionnaire by itself.
    expect(page.get_by_role("button", name="Gửi phiếu")).to_be_visible(timeout=5000)
    nothing_answered(page)
    # Back leaves the kiosk (the answers were never a page of their own); Forward is a new form.
    page.go_back()
    expect(page).to_have_url(f"{kiosk_server}/p/{token}")
    page.go_forward()
    expect(page.get_by_role("button", name="Gửi phiếu")).to_be_visible()
    nothing_answered(page)
    # A citizen who walks away half-way: the form clears itself.
    page.locator("label.option").first.click()
    expect(page.locator(CHOSEN)).to_have_count(1)
    expect(page.locator(CHOSEN)).to_have_count(0, timeout=10000)
    context.close()
    assert stored(app, channel="kiosk") == 1


def test_without_javascript_back_after_submit_shows_an_empty_form(app, kiosk, kiosk_server, new_page):
    _, kiosk_token = kiosk
    context, page = tablet(new_page, java_script_enabled=False)
    page.goto(f"{kiosk_server}/p/{kiosk_token}/kiosk")
    answer_everything(app, page)
    page.get_by_role("button", name="Gửi phiếu").click()
    expect(page.get_by_role("heading", name="Cảm ơn Ông/Bà đã gửi phiếu")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("button", name="Gửi phiếu")).to_be_visible()
    nothing_answered(page)
    context.close()
    assert stored(app, channel="kiosk") == 1


def test_an_offline_submission_is_sent_when_the_network_returns_and_stored_once(app, kiosk, kiosk_server, new_page):
    _, kiosk_token = kiosk
    context, page = tablet(new_page)
    address = f"{kiosk_server}/p/{kiosk_token}/kiosk"
    page.goto(address)
    answer_everything(app, page)
    context.set_offline(True)
    page.get_by_role("button", name="Gửi phiếu").click()
    expect(page.get_by_role("heading", name="Cảm ơn Ông/Bà đã gửi phiếu")).to_be_visible()
    expect(page.locator("#kiosk-queue")).to_contain_text("Đang chờ mạng để gửi 1 phiếu")
    time.sleep(1)
    assert stored(app, channel="kiosk") == 0
    context.set_offline(False)
    wait_for(page, lambda: stored(app, channel="kiosk") == 1)
    expect(page.locator("#kiosk-queue")).to_be_hidden()

    # The next citizen's post reaches the server, but its answer is lost on the way back:
    # the page sends it again, and the server stores it once.
    posts = []

    def lose_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.post_data)
        if len(posts) == 1:
            route.fetch()  # the server stores it...
            route.abort("connectionreset")  # ...and the page never hears
        else:
            route.continue_()

    page.route("**/kiosk", lose_first_answer)
    expect(page.get_by_role("button", name="Gửi phiếu")).to_be_visible(timeout=5000)
    answer_everything(app, page)
    page.get_by_role("button", name="Gửi phiếu").click()
    wait_for(page, lambda: len(posts) >= 2)
    expect(page.locator("#kiosk-queue")).to_be_hidden()
    assert posts[0] == posts[1]  # the same submission id, retried
    page.wait_for_timeout(1000)
    assert stored(app, channel="kiosk") == 2
    context.close()
