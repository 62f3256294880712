"""axe-core over the respondent's pages and the main staff pages, and the sticky bar at phone size.

axe-core (through axe-playwright-python) checks what a screen reader or a keyboard user meets:
labels, names, contrast, landmarks, the page language. A serious or critical violation fails.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.conftest import STAFF_PASSWORD
from tests.e2e.conftest import answer_every_question
from tests.reports.conftest import answered_round  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

BLOCKING = ("serious", "critical")
_axe = Axe()


def assert_accessible(page, what: str) -> None:
    results = _axe.run(page)
    problems = [v for v in results.response["violations"] if v.get("impact") in BLOCKING]
    described = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in problems)
    assert not problems, f"{what}: {len(problems)} serious or critical axe violations\n{described}"


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_the_respondents_pages_pass_axe_and_the_action_bar_never_covers_an_option(app, survey_round, live_server,
                                                                                   new_page):
    from survey.questionnaire_registry import catalog

    _, tokens = survey_round(per_group=1)
    token = tokens["hdnd"][0]
    phone = new_page({"width": 360, "height": 640}, is_mobile=True, has_touch=True)

    phone.goto(f"{live_server}/r/{token}")
    assert_accessible(phone, "landing page")

    phone.goto(f"{live_server}/r/{token}/section/1")
    assert_accessible(phone, "section page")
    bar = phone.locator(".actions.sticky")
    options = phone.locator("label.option")
    assert options.count() > 10
    for index in range(options.count()):
        option = options.nth(index)
        # As the browser brings an option into view (keyboard focus, "find", a link to a question):
        # to the nearest edge, which is the bottom one when scrolling down.
        option.evaluate("label => label.scrollIntoView({block: 'nearest'})")
        box, covering = option.bounding_box(), bar.bounding_box()
        assert box and covering
        assert not _overlap(box, covering), f"the action bar covers option {index}: {box} under {covering}"
        option.locator("input").focus()
        box, covering = option.bounding_box(), bar.bounding_box()
        assert not _overlap(box, covering), f"the action bar covers focused option {index}"

    phone.goto(f"{live_server}/r/{token}/review")
    assert_accessible(phone, "review page")

    # Answer everything as a respondent would, then the sent page.
    with app.app_context():
        questionnaire = catalog().get("par-hdnd-delegates", "2023.1")
    phone.goto(f"{live_server}/r/{token}/section/1")
    for number, section in enumerate(questionnaire.sections, start=1):
        expect(phone.get_by_role("heading", level=1)).to_have_text(section.title)
        answer_every_question(phone, section.questions, "Không")
        last = number == len(questionnaire.sections)
        phone.get_by_role("button", name="Lưu và xem lại »" if last else "Lưu và tiếp tục »").click()
    expect(phone.get_by_text("đã trả lời đủ các câu bắt buộc")).to_be_visible()
    phone.get_by_role("button", name="Gửi phiếu khảo sát").click()
    expect(phone.locator("#confirmation")).to_be_visible()
    assert_accessible(phone, "sent page")
    phone.context.close()


def test_the_main_staff_pages_pass_axe(app, answered_round, staff, live_server, new_page):  # noqa: F811
    from survey import db
    from survey.assessment.services import start_cycle
    from survey.questionnaire_registry import catalog
    from survey.rounds.models import Round

    round_id = answered_round()
    with app.app_context(), db.unit_of_work() as session:
        start_cycle(session, session.get(Round, round_id), catalog())
    email = staff("province_admin")
    desktop = new_page()

    desktop.goto(f"{live_server}/admin/login")
    assert_accessible(desktop, "sign-in page")
    desktop.get_by_label("E-mail").fill(email)
    desktop.get_by_label("Mật khẩu").fill(STAFF_PASSWORD)
    desktop.get_by_role("button", name="Đăng nhập").click()
    expect(desktop).to_have_url(f"{live_server}/admin/")
    assert_accessible(desktop, "home page")
    for what, path in [
        ("round page", f"/admin/rounds/{round_id}"),
        ("roster list", f"/admin/rounds/{round_id}/respondents"),
        ("campaign page", f"/admin/rounds/{round_id}/mail"),
        ("analysis summary", f"/admin/rounds/{round_id}/analysis"),
        ("self-assessment board", f"/admin/assessment/rounds/{round_id}/board"),
        ("audit log", "/admin/audit"),
    ]:
        reply = desktop.goto(f"{live_server}{path}")
        assert reply.status == 200, (what, reply.status)
        assert_accessible(desktop, what)
    desktop.context.close()
