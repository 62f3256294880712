"""The `survey` command line: questionnaires and demo."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from survey import db
from survey.respond.models import AccessLink
from survey.roster.models import Respondent


def test_questionnaires_list_shows_every_version(app):
    from survey.questionnaire_registry import catalog

    result = app.test_cli_runner().invoke(args=["questionnaires", "list"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        versions = [(q.key, q.version) for q in catalog().questionnaires.values()]
    for key, version in versions:
        assert re.search(rf"^{re.escape(key)}\s+{re.escape(version)}\s", result.output, re.M), key
    assert "100 điểm, 32 điểm điều tra XHH" in result.output


def test_questionnaires_diff_names_added_removed_and_changed_questions(app):
    from questionnaires import diff_questionnaires
    from survey.questionnaire_registry import catalog

    result = app.test_cli_runner().invoke(args=["questionnaires", "diff", "par-department-leaders", "2023.1", "2025.1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        cat = catalog()
        diff = diff_questionnaires(cat.get("par-department-leaders", "2023.1"), cat.get("par-department-leaders", "2025.1"))
    assert diff.added and diff.removed and diff.changed
    for code in diff.added + diff.removed + [code for code, _ in diff.changed]:
        assert code in result.output
    missing = app.test_cli_runner().invoke(args=["questionnaires", "diff", "par-department-leaders", "2023.1", "1999.1"])
    assert missing.exit_code != 0 and "Không có phiếu" in missing.output


def test_questionnaires_check_passes_for_an_untouched_catalog(app, survey_round):
    survey_round()
    result = app.test_cli_runner().invoke(args=["questionnaires", "check"])
    assert result.exit_code == 0 and "Tất cả phiếu hợp lệ" in result.output


def test_demo_prints_working_links_and_reissues_them(app, client):
    app.config["ENV_MODE"] = "development"
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    links = re.findall(r"http://localhost(/r/[A-Za-z0-9_-]{32})", first.output)
    with app.app_context():
        people = db.session().scalar(select(func.count()).select_from(Respondent))
    assert len(links) == people == 15
    assert client.get(links[0]).status_code == 200

    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    again = re.findall(r"http://localhost(/r/[A-Za-z0-9_-]{32})", second.output)
    assert len(again) == 15 and not set(again) & set(links)
    assert client.get(links[0]).status_code == 404  # the earlier link was revoked
    assert client.get(again[0]).status_code == 200
    # One collection point, the same on every run, whose page and kiosk open without signing in.
    points = {re.search(r"http://localhost(/p/\S+) *$", line).group(1)
              for output in (first.output, second.output) for line in output.splitlines() if "/p/" in line}
    assert len(points) == 2 and {p.endswith("/kiosk") for p in points} == {True, False}
    assert {p: client.get(p).status_code for p in points} == {p: 200 for p in points}
    with app.app_context():
        active = db.session().scalar(select(func.count()).select_from(AccessLink).where(AccessLink.revoked_at.is_(None)))
        people_after = db.session().scalar(select(func.count()).select_from(Respondent))
    assert active == 15 and people_after == 15


def test_demo_plan_follows_todays_calendar(app):
    from survey.rounds.models import Round
    from survey.timeutil import utcnow

    app.config["ENV_MODE"] = "development"
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        round_ = db.session().scalars(select(Round)).one()
        today = utcnow().date()
        assert today <= round_.ministry_deadline <= today.replace(year=today.year + 1)
        assert round_.ministry_deadline.month == 12 and round_.ministry_deadline.day == 10
        # The plan's first milestone is the list to the Ministry, due on that same deadline,
        # and the later ones follow it within the same cycle (by 20 January of the next year).
        dues = [m.due_on for m in sorted(round_.milestones, key=lambda m: m.position)]
        assert dues[0] == round_.ministry_deadline
        assert dues[-1] == round_.ministry_deadline.replace(year=round_.ministry_deadline.year + 1, month=1, day=20)


def test_demo_refuses_to_run_outside_development(app):
    from survey.accounts.models import User

    assert app.config["ENV_MODE"] == "production"
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0
    assert "SURVEY_ENV=development" in result.output
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(User)) == 0
        assert db.session().scalar(select(func.count()).select_from(Respondent)) == 0


def test_users_create_offers_every_role_including_the_appraisal_council(app, staff):
    staff("province_admin")  # creates province LCI
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "chutich@laocai.gov.vn",
                                                "--name", "Chủ tịch Hội đồng", "--role", "council_chair",
                                                "--province", "LCI", "--password", "mat-khau-du-dai-2026"])
    assert result.exit_code == 0, result.output
    assert "Chủ tịch Hội đồng thẩm định" in result.output
