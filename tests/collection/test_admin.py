"""Administrators' pages for collection points: define, print, close, import procedures, see bursts."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from survey import db
from survey.accounts.models import AuditEvent
from survey.collection import services
from survey.collection.models import CollectionPoint, DossierDigest, PointArrival, Procedure
from survey.rounds.models import Round
from survey.timeutil import utcnow
from tests.conftest import csrf_token_in
from tests.collection.helpers import CITIZENS, make_point


def test_an_administrator_defines_a_point_and_prints_its_poster(app, client, login, survey_round):
    round_id, _ = survey_round(per_group=0)
    login("province_admin")
    page = client.get(f"/admin/rounds/{round_id}/points")
    assert page.status_code == 200 and "Chưa có điểm khảo sát nào" in page.text
    with app.app_context():
        group_id = next(g.id for g in db.session().get(Round, round_id).groups if g.questionnaire_key == CITIZENS)
    form = {"csrf_token": csrf_token_in(page.text), "name": "Bộ phận Một cửa UBND xã Tả Van", "place": "Thôn Tả Van",
            "group_id": group_id, "quota": "", "quota_policy": "accept"}
    assert client.post(f"/admin/rounds/{round_id}/points", data={**form, "name": ""}).status_code == 422
    assert client.post(f"/admin/rounds/{round_id}/points", data={**form, "quota": "0"}).status_code == 422
    reply = client.post(f"/admin/rounds/{round_id}/points", data=form)
    assert reply.status_code == 302
    with app.app_context():
        point = db.session().scalars(select(CollectionPoint)).one()
        actions = db.session().scalars(select(AuditEvent.action)).all()
    assert point.name == "Bộ phận Một cửa UBND xã Tả Van" and len(point.token) == 10
    assert "collection.point_create" in actions
    listing = client.get(f"/admin/rounds/{round_id}/points").text
    assert f"http://localhost/p/{point.token}" in listing

    for printout in ("poster", "card"):
        pdf = client.get(f"/admin/rounds/{round_id}/points/{point.id}/{printout}.pdf")
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")

    page = client.get(f"/admin/rounds/{round_id}/points")
    closed = client.post(f"/admin/rounds/{round_id}/points/{point.id}/close",
                         data={"csrf_token": csrf_token_in(page.text), "closed": "1"})
    assert closed.status_code == 302
    assert client.get(f"/p/{point.token}").status_code == 403


def test_other_provinces_and_roles_do_not_reach_the_points(app, client, login, survey_round):
    round_id, point_id, _ = make_point(app, survey_round)
    login("focal_point")
    assert client.get(f"/admin/rounds/{round_id}/points").status_code == 403
    assert client.get(f"/admin/rounds/{round_id}/points/{point_id}/poster.pdf").status_code == 403


def test_procedures_are_imported_from_a_spreadsheet(app, client, login, survey_round):
    round_id, _ = survey_round(per_group=0)
    login("province_admin")
    page = client.get(f"/admin/rounds/{round_id}/procedures")
    csv = ("DANH MỤC THỦ TỤC HÀNH CHÍNH\n"
           "Mã thủ tục,Tên thủ tục,Lĩnh vực,Cơ quan thực hiện\n"
           "1.001234,Cấp phiếu lý lịch tư pháp,Lý lịch tư pháp,Sở Tư pháp\n"
           "2.000001,Đăng ký khai sinh,Hộ tịch,UBND cấp xã\n"
           ",Thiếu mã,Hộ tịch,UBND cấp xã\n").encode()
    reply = client.post(f"/admin/rounds/{round_id}/procedures", content_type="multipart/form-data", data={
        "csrf_token": csrf_token_in(page.text), "file": (io.BytesIO(csv), "thu-tuc.csv")})
    assert reply.status_code == 200, reply.text
    assert "Đã thêm 2, cập nhật 0" in reply.text and "Dòng 5: thiếu mã hoặc tên thủ tục" in reply.text
    refused = client.post(f"/admin/rounds/{round_id}/procedures", content_type="multipart/form-data", data={
        "csrf_token": csrf_token_in(page.text), "file": (io.BytesIO(b"a,b\n1,2\n"), "sai.csv")})
    assert refused.status_code == 422 and "Mã thủ tục" in refused.text
    with app.app_context():
        assert sorted(db.session().scalars(select(Procedure.code))) == ["1.001234", "2.000001"]


def test_bursts_are_flagged_not_dropped_and_purged_with_the_round(app, client, login, survey_round):
    round_id, point_id, _ = make_point(app, survey_round)
    window = services.arrival_window(utcnow())
    with app.app_context(), db.unit_of_work() as session:
        session.add_all([PointArrival(point_id=point_id, window_start=window) for _ in range(25)])
        session.add(DossierDigest(round_id=round_id, digest="a" * 64))
    login("province_admin")
    page = client.get(f"/admin/rounds/{round_id}/points")
    assert "Số phiếu tăng đột biến" in page.text and "25 phiếu" in page.text

    with app.app_context(), db.unit_of_work() as session:
        assert services.purge_closed_rounds(session) == {}  # the round is still open: kept
        session.get(Round, round_id).closes_at = utcnow() - timedelta(minutes=1)
        session.flush()
        assert services.purge_closed_rounds(session) == {round_id: 26}
    with app.app_context():
        assert db.session().scalars(select(PointArrival)).all() == []
        assert db.session().scalars(select(DossierDigest)).all() == []


def test_the_purge_command_reports_what_it_deleted(app, survey_round):
    round_id, _, _ = make_point(app, survey_round, opens_in=timedelta(days=-5), closes_in=timedelta(days=-1))
    with app.app_context(), db.unit_of_work() as session:
        session.add(DossierDigest(round_id=round_id, digest="b" * 64))
    result = app.test_cli_runner().invoke(args=["collection", "purge"])
    assert result.exit_code == 0 and f"round {round_id}: 1 rows deleted" in result.output
    assert app.test_cli_runner().invoke(args=["collection", "purge"]).output.strip() == "Nothing to purge."
