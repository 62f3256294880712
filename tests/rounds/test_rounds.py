"""Round administration: creation with the plan's milestones, bindings frozen once open, quotas, CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from survey import db
from survey.accounts.models import AuditEvent
from survey.questionnaire_registry import catalog
from survey.respond.links import issue_link
from survey.rounds import services
from survey.rounds.models import Province, Round, RoundMilestone
from survey.rounds.services import GroupBinding, RoundError
from survey.roster.people import add_respondent
from survey.timeutil import as_utc, utcnow
from tests.conftest import csrf_token_in


def create_form(client, **overrides):
    page = client.get("/admin/rounds/new")
    assert page.status_code == 200
    with client.application.app_context():
        province = db.session().scalar(select(Province).where(Province.code == "LCI"))
    form = {"csrf_token": csrf_token_in(page.text), "province_id": province.id, "year": "2023",
            "title": "Khảo sát CCHC 2023", "opens_at": "2023-12-01T08:00", "closes_at": "2023-12-25T17:00",
            "version_par-department-leaders": "2023.1", "version_par-hdnd-delegates": "2023.1"}
    form.update(overrides)
    return form


def test_an_administrator_creates_a_round_with_the_2023_plan_as_milestones(app, client, login):
    login("province_admin")
    reply = client.post("/admin/rounds/new", data=create_form(client))
    assert reply.status_code == 302
    with app.app_context():
        round_ = db.session().scalar(select(Round))
        assert (round_.year, round_.ministry_deadline) == (2023, date(2023, 12, 10))
        # Groups in the catalogue's key order: department leaders, then HĐND delegates.
        assert [g.code for g in round_.groups] == ["department", "hdnd"]
        assert [(m.starts_on, m.due_on) for m in round_.milestones] == [
            (None, date(2023, 12, 10)), (date(2023, 12, 1), date(2023, 12, 25)), (None, date(2024, 1, 5)),
            (None, date(2024, 1, 15)), (None, date(2024, 1, 20))]
        # 08:00 in Hà Nội is 01:00 UTC.
        assert as_utc(round_.opens_at) == datetime(2023, 12, 1, 1, 0, tzinfo=UTC)
        assert db.session().scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == "round.create"
    page = client.get(f"/admin/rounds/{round_.id}")
    # The 2023 plan is long past: every milestone not marked done is late.
    assert page.text.count('class="milestone-late"') == 5
    assert "đã quá hạn" in page.text


def test_a_round_with_bad_dates_or_a_taken_title_writes_nothing(app, client, login):
    login("province_admin")
    reply = client.post("/admin/rounds/new", data=create_form(client, closes_at="2023-11-01T00:00"))
    assert reply.status_code == 400 and "Thời điểm đóng phải sau thời điểm mở." in reply.text
    assert client.post("/admin/rounds/new", data=create_form(client)).status_code == 302
    again = client.post("/admin/rounds/new", data=create_form(client))
    assert again.status_code == 400 and "Đã có đợt khảo sát cùng năm và cùng tên." in again.text
    with app.app_context():
        assert len(db.session().scalars(select(Round)).all()) == 1


def test_the_round_page_shows_what_changed_since_last_years_questionnaire(app, client, login, survey_round):
    round_id, _ = survey_round(per_group=0, opens_in=timedelta(days=5), closes_in=timedelta(days=30))
    login("province_admin")
    page = client.get(f"/admin/rounds/{round_id}")
    csrf = csrf_token_in(page.text)
    reply = client.post(f"/admin/rounds/{round_id}/groups", data={
        "csrf_token": csrf, "questionnaire_key": "par-department-leaders", "questionnaire_version": "2025.1"})
    assert reply.status_code == 302
    page = client.get(f"/admin/rounds/{round_id}")
    with app.app_context():
        cat = catalog()
        from questionnaires import diff_questionnaires
        diff = diff_questionnaires(cat.get("par-department-leaders", "2023.1"), cat.get("par-department-leaders", "2025.1"))
    assert not diff.is_empty
    assert (f"thêm {len(diff.added)}, bỏ {len(diff.removed)}, sửa {len(diff.changed)} câu") in page.text
    with app.app_context():
        department = next(g for g in db.session().get(Round, round_id).groups if g.code == "department")
        assert (department.questionnaire_version, department.questionnaire_hash) == \
            ("2025.1", catalog().get("par-department-leaders", "2025.1").content_hash)


def test_bindings_cannot_change_once_a_link_is_issued_or_the_round_has_opened(app, survey_round):
    round_id, _ = survey_round(per_group=0, opens_in=timedelta(days=5), closes_in=timedelta(days=30))
    with app.app_context():
        session = db.session()
        round_ = session.get(Round, round_id)
        change = GroupBinding("par-department-leaders", "2025.1")
        assert not services.bindings_locked(session, round_)
        # Opening is allowed from a scheduled round; afterwards nothing about the groups may change.
        opened = as_utc(round_.opens_at) + timedelta(seconds=1)
        assert services.bindings_locked(session, round_, now=opened)
        with pytest.raises(RoundError, match="không thể thay đổi phiếu"):
            services.bind_group(session, catalog(), round_, change, now=opened)
        person = add_respondent(session, round_, round_.groups[0], full_name="Nguyễn Văn An")
        issue_link(session, person)
        assert services.bindings_locked(session, round_)
        with pytest.raises(RoundError, match="không thể thay đổi phiếu"):
            services.bind_group(session, catalog(), round_, change)
        with pytest.raises(RoundError, match="không thể thay đổi các nhóm"):
            services.remove_group(session, round_, round_.groups[-1])


def test_opening_and_closing_set_the_window_and_freeze_bindings_on_the_web(app, client, login, survey_round):
    round_id, _ = survey_round(per_group=0, opens_in=timedelta(days=5), closes_in=timedelta(days=30))
    login("province_admin")
    csrf = csrf_token_in(client.get(f"/admin/rounds/{round_id}").text)
    assert client.post(f"/admin/rounds/{round_id}/close", data={"csrf_token": csrf}).status_code == 400
    unconfirmed = client.post(f"/admin/rounds/{round_id}/open", data={"csrf_token": csrf})
    assert unconfirmed.status_code == 400 and "trang xác nhận" in unconfirmed.text
    with app.app_context():
        assert db.session().get(Round, round_id).state() == "scheduled"
    assert client.post(f"/admin/rounds/{round_id}/open", data={"csrf_token": csrf, "confirmed": "1"}).status_code == 302
    with app.app_context():
        assert db.session().get(Round, round_id).state() == "open"
    refused = client.post(f"/admin/rounds/{round_id}/groups", data={
        "csrf_token": csrf, "questionnaire_key": "par-department-leaders", "questionnaire_version": "2025.1"})
    assert refused.status_code == 400 and "không thể thay đổi phiếu" in refused.text
    with app.app_context():
        department = next(g for g in db.session().get(Round, round_id).groups if g.code == "department")
        assert department.questionnaire_version == "2023.1"
    assert client.post(f"/admin/rounds/{round_id}/close", data={"csrf_token": csrf}).status_code == 302
    with app.app_context():
        assert db.session().get(Round, round_id).state() == "closed"
        assert [a for a in db.session().scalars(select(AuditEvent.action)) if a.startswith("round.")] == \
            ["round.create", "round.open", "round.close"]


def test_milestones_are_editable_and_late_ones_are_flagged(app, client, login, survey_round):
    round_id, _ = survey_round(per_group=0)
    login("province_admin")
    with app.app_context():
        first = db.session().scalars(select(RoundMilestone).where(RoundMilestone.round_id == round_id)
                                     .order_by(RoundMilestone.position)).first()
    csrf = csrf_token_in(client.get(f"/admin/rounds/{round_id}").text)
    today = utcnow().date()
    form = {"csrf_token": csrf, "milestone_id": first.id, "label": "Gửi danh sách về Bộ", "starts_on": "",
            "due_on": (today + timedelta(days=3)).isoformat(), "done_on": ""}
    assert client.post(f"/admin/rounds/{round_id}/milestones", data=form).status_code == 302
    page = client.get(f"/admin/rounds/{round_id}").text
    assert page.count('class="milestone-late"') == 4 and page.count('class="milestone-current"') == 1
    bad = client.post(f"/admin/rounds/{round_id}/milestones", data={**form, "starts_on": (today + timedelta(days=9)).isoformat()})
    assert bad.status_code == 400 and "Ngày bắt đầu phải trước hạn hoàn thành." in bad.text
    done = {**form, "done_on": today.isoformat()}
    assert client.post(f"/admin/rounds/{round_id}/milestones", data=done).status_code == 302
    assert client.get(f"/admin/rounds/{round_id}").text.count('class="milestone-done"') == 1


def test_milestone_status_by_hand():
    m = RoundMilestone(label="x", starts_on=date(2023, 12, 1), due_on=date(2023, 12, 25))
    assert [m.status(date(2023, 11, 30)), m.status(date(2023, 12, 1)), m.status(date(2023, 12, 25)),
            m.status(date(2023, 12, 26))] == ["upcoming", "current", "current", "late"]
    m.done_on = date(2023, 12, 27)
    assert m.status(date(2024, 1, 1)) == "done"


def test_cli_creates_binds_opens_and_closes_a_round(app, staff):
    staff("province_admin")  # creates province LCI
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rounds", "create", "--province", "LCI", "--year", "2025", "--title", "Khảo sát 2025",
                                 "--opens", (utcnow().date() + timedelta(days=3)).isoformat(),
                                 "--closes", (utcnow().date() + timedelta(days=40)).isoformat(),
                                 "--group", "par-commune-leaders:2025.1"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        round_id = db.session().scalar(select(Round.id))
    result = runner.invoke(args=["rounds", "bind", str(round_id), "par-department-leaders", "2025.1"])
    assert result.exit_code == 0 and "par-department-leaders 2023.1 -> par-department-leaders 2025.1" in result.output
    assert runner.invoke(args=["rounds", "open", str(round_id)]).exit_code == 0
    refused = runner.invoke(args=["rounds", "bind", str(round_id), "par-department-leaders", "2023.1"])
    assert refused.exit_code == 1 and "không thể thay đổi phiếu" in refused.output
    assert runner.invoke(args=["rounds", "close", str(round_id)]).exit_code == 0
    listing = runner.invoke(args=["rounds", "list"])
    assert "closed" in listing.output and "commune=par-commune-leaders@2025.1" in listing.output


def test_editing_the_round_moves_the_ministry_deadline_and_is_audited(app, client, login, survey_round):
    round_id, _ = survey_round(per_group=0, opens_in=timedelta(days=5), closes_in=timedelta(days=30))
    login("province_admin")
    page = client.get(f"/admin/rounds/{round_id}")
    deadline = utcnow().date() + timedelta(days=12)
    form = {"csrf_token": csrf_token_in(page.text), "title": "Đợt đã sửa", "year": "2023",
            "opens_at": "2030-01-01T08:00", "closes_at": "2030-02-01T08:00", "ministry_deadline": deadline.isoformat()}
    assert client.post(f"/admin/rounds/{round_id}/edit", data=form).status_code == 302
    page = client.get(f"/admin/rounds/{round_id}").text
    # The countdown is in Vietnam days; UTC "today" may be a day behind.
    assert "còn 12 ngày" in page or "còn 11 ngày" in page
    bad = client.post(f"/admin/rounds/{round_id}/edit", data={**form, "closes_at": "2029-01-01T08:00", "title": "X"})
    assert bad.status_code == 400 and "Thời điểm đóng phải sau thời điểm mở." in bad.text
    with app.app_context():
        session = db.session()
        round_ = session.get(Round, round_id)
        assert (round_.title, round_.ministry_deadline) == ("Đợt đã sửa", deadline)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "round.update"))
        assert event.details == {"changed": ["title", "opens_at", "closes_at", "ministry_deadline"]}
