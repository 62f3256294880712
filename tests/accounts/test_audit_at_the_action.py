"""An action records the same audit entry whether a web page or the command line performs it."""

from __future__ import annotations

from sqlalchemy import select, text

from survey import db
from survey.accounts.models import AuditEvent, SignInThrottle
from tests.conftest import STAFF_PASSWORD, csrf_token_in


def entries(app, action: str) -> list[tuple]:
    """What an entry says about the action (not who did it, nor from where)."""
    with app.app_context():
        return [(e.action, e.target, e.round_id, e.province_id, e.details)
                for e in db.session().scalars(select(AuditEvent).where(AuditEvent.action == action)
                                              .order_by(AuditEvent.id))]


def test_creating_an_account_is_audited_alike_on_the_page_and_the_command_line(app, client, login):
    login("system_admin")  # also creates province LCI
    with app.app_context():
        province_id = db.session().scalar(text("SELECT id FROM provinces WHERE code = 'LCI'"))
    before = len(entries(app, "user.create"))
    csrf = csrf_token_in(client.get("/admin/users").text)
    reply = client.post("/admin/users", data={"csrf_token": csrf, "email": "web@laocai.gov.vn", "full_name": "Cán bộ",
                                              "role": "analyst", "province_id": province_id,
                                              "password": STAFF_PASSWORD})
    assert reply.status_code == 303
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "cli@laocai.gov.vn", "--name", "Cán bộ",
                                                "--role", "analyst", "--province", "LCI",
                                                "--password", STAFF_PASSWORD])
    assert result.exit_code == 0, result.output
    web, cli = entries(app, "user.create")[before:]
    assert web[0] == "user.create" and web[1] == "web@laocai.gov.vn"
    assert (web[0], *web[2:]) == (cli[0], *cli[2:]) and cli[1] == "cli@laocai.gov.vn"


def test_a_refused_sign_in_is_kept_for_the_throttle_and_a_refused_form_writes_nothing(app, client, staff):
    email = staff("analyst")
    page = client.get("/admin/login")
    wrong = client.post("/admin/login", data={"csrf_token": csrf_token_in(page.text), "email": email,
                                              "password": "sai-mat-khau-123"})
    # Below 400, so the edge commits the failed attempt that the throttle counts.
    assert wrong.status_code == 200 and "E-mail hoặc mật khẩu không đúng." in wrong.text
    empty = client.post("/admin/login", data={"csrf_token": csrf_token_in(page.text), "email": email, "password": ""})
    assert empty.status_code == 422 and "Vui lòng nhập mật khẩu." in empty.text
    with app.app_context():
        failures = db.session().scalars(select(SignInThrottle.failures).where(SignInThrottle.email == email)).all()
    assert failures == [1]
