"""The system administrator manages provinces and accounts; a province administrator only their province's staff."""

from __future__ import annotations

from sqlalchemy import select

from survey import db
from survey.accounts.models import AuditEvent, User
from survey.rounds.models import Agency, Province
from tests.conftest import STAFF_PASSWORD, csrf_token_in


def test_system_administrator_adds_a_province_creates_and_deactivates_an_account(app, client, login, staff):
    login("system_admin")
    page = client.get("/admin/provinces")
    csrf = csrf_token_in(page.text)
    assert client.post("/admin/provinces", data={"csrf_token": csrf, "code": "yba", "name": "tỉnh Yên Bái"}).status_code == 303
    again = client.post("/admin/provinces", data={"csrf_token": csrf, "code": "YBA", "name": "Yên Bái"})
    assert again.status_code == 422 and "Đã có tỉnh mã YBA." in again.text
    with app.app_context():
        province_id = db.session().scalar(select(Province.id).where(Province.code == "YBA"))
    form = {"csrf_token": csrf, "email": "Admin@YenBai.gov.vn", "full_name": "Quản trị Yên Bái",
            "role": "province_admin", "province_id": province_id, "password": "mot-mat-khau-dai"}
    assert client.post("/admin/users", data=form).status_code == 303
    short = client.post("/admin/users", data={**form, "email": "b@yenbai.gov.vn", "password": "ngan"})
    assert short.status_code == 422 and "Mật khẩu phải có ít nhất 10 ký tự." in short.text
    with app.app_context():
        user = db.session().scalar(select(User).where(User.email == "admin@yenbai.gov.vn"))
        assert (user.role, user.province_id, user.is_active) == ("province_admin", province_id, True)
    assert client.post("/admin/users/deactivate", data={"csrf_token": csrf, "user_id": user.id}).status_code == 303
    with app.app_context():
        session = db.session()
        assert session.get(User, user.id).is_active is False
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(
            ["province.create", "user.create", "user.deactivate"]), AuditEvent.user_id.is_not(None))  # by the admin
            .order_by(AuditEvent.id)).all() == \
            ["province.create", "user.create", "user.deactivate"]
    # The deactivated account can no longer sign in.
    client.post("/admin/logout", data={"csrf_token": csrf})
    page = client.get("/admin/login")
    reply = client.post("/admin/login", data={"csrf_token": csrf_token_in(page.text), "email": "admin@yenbai.gov.vn",
                                              "password": "mot-mat-khau-dai"})
    assert reply.status_code == 200 and "E-mail hoặc mật khẩu không đúng." in reply.text


def test_province_administrator_creates_focal_points_of_their_province_only(app, client, login, staff):
    staff("analyst", province_code="YBA", email="phantich@yenbai.gov.vn")  # another province's account
    login("province_admin")
    page = client.get("/admin/users")
    assert "phantich@yenbai.gov.vn" not in page.text
    csrf = csrf_token_in(page.text)
    with app.app_context():
        session = db.session()
        stp = session.scalar(select(Agency).join(Province).where(Province.code == "LCI", Agency.code == "STP"))
        other = session.scalar(select(User).where(User.email == "phantich@yenbai.gov.vn"))
        yba = session.scalar(select(Province.id).where(Province.code == "YBA"))
    form = {"csrf_token": csrf, "email": "daumoi@laocai.gov.vn", "full_name": "Đầu mối Sở Tư pháp",
            "role": "focal_point", "agency_id": stp.id, "province_id": yba, "password": STAFF_PASSWORD}
    assert client.post("/admin/users", data=form).status_code == 303
    with app.app_context():
        created = db.session().scalar(select(User).where(User.email == "daumoi@laocai.gov.vn"))
        assert created.agency_id == stp.id and created.province.code == "LCI"  # the posted province is ignored
    refused = client.post("/admin/users", data={**form, "email": "x@laocai.gov.vn", "role": "system_admin"})
    assert refused.status_code == 422 and "Bạn không được tạo tài khoản với vai trò này." in refused.text
    assert client.post("/admin/users/deactivate", data={"csrf_token": csrf, "user_id": other.id}).status_code == 404
    assert client.get("/admin/provinces").status_code == 403


def test_agencies_page_adds_imports_and_deactivates(app, client, login):
    login("province_admin")
    page = client.get("/admin/agencies")
    csrf = csrf_token_in(page.text)
    reply = client.post("/admin/agencies", data={"csrf_token": csrf, "code": "SYT", "name": "Sở Y tế", "kind": "department"})
    assert reply.status_code == 303
    bad = client.post("/admin/agencies", data={"csrf_token": csrf, "code": "X", "name": "Xã", "kind": "village"})
    assert bad.status_code == 400 and "loại cơ quan “village” không hợp lệ" in bad.text
    with app.app_context():
        agency = db.session().scalar(select(Agency).where(Agency.code == "SYT"))
    assert client.post("/admin/agencies", data={"csrf_token": csrf, "action": "deactivate",
                                                "agency_id": agency.id}).status_code == 303
    with app.app_context():
        assert db.session().get(Agency, agency.id).is_active is False
