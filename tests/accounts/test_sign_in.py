from __future__ import annotations

from sqlalchemy import select

from survey import db
from survey.accounts.models import AuditEvent, User
from survey.accounts.throttle import FREE_FAILURES
from tests.conftest import STAFF_PASSWORD, csrf_token_in


def sign_in(client, email, password, next_url=None):
    page = client.get("/admin/login")
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": csrf_token_in(page.text)})


def events(app, action):
    with app.app_context():
        return db.session().scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_sign_in_lists_only_own_province_rounds(app, client, staff, survey_round):
    survey_round(title="Đợt Lào Cai")
    email = staff("province_admin", province_code="YBA")
    reply = sign_in(client, email, STAFF_PASSWORD)
    assert reply.status_code == 302 and reply.headers["Location"] == "/admin/"
    home = client.get("/admin/")
    assert "Chưa có đợt khảo sát nào" in home.text and "Đợt Lào Cai" not in home.text
    assert [e.actor for e in events(app, "auth.login")] == [email]


def test_wrong_password_then_throttled_even_with_the_right_one(app, client, staff):
    email = staff("analyst")
    for _ in range(FREE_FAILURES):
        reply = sign_in(client, email, "sai-mat-khau-123")
        assert "E-mail hoặc mật khẩu không đúng" in reply.text
    reply = sign_in(client, email, STAFF_PASSWORD)
    assert reply.status_code == 429 and "Đăng nhập sai quá nhiều lần" in reply.text
    assert client.get("/admin/").status_code == 302


def test_unknown_account_gets_the_same_message(client, staff):
    staff("analyst")
    assert "E-mail hoặc mật khẩu không đúng" in sign_in(client, "khongco@example.vn", STAFF_PASSWORD).text


def test_next_parameter_cannot_redirect_off_site(client, staff):
    email = staff("analyst")
    reply = sign_in(client, email, STAFF_PASSWORD, next_url="//evil.example/phish")
    assert reply.headers["Location"] == "/admin/"


def test_idle_session_expires(client, staff):
    email = staff("analyst")
    sign_in(client, email, STAFF_PASSWORD)
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as cookie:
        cookie["seen_at"] -= 2 * 3600
    reply = client.get("/admin/")
    assert reply.status_code == 302
    assert "Phiên làm việc đã hết hạn" in client.get(reply.headers["Location"]).text


def test_password_change_ends_other_sessions(app, client, staff):
    from survey.accounts.services import set_password

    email = staff("analyst")
    sign_in(client, email, STAFF_PASSWORD)
    with app.app_context(), db.unit_of_work() as session:
        set_password(session.scalar(select(User).where(User.email == email)), "mat-khau-moi-2024")
    assert client.get("/admin/").status_code == 302


def test_logout_needs_csrf_and_is_audited(app, client, staff):
    email = staff("analyst")
    sign_in(client, email, STAFF_PASSWORD)
    assert client.post("/admin/logout").status_code == 400
    csrf = csrf_token_in(client.get("/admin/login").text)
    assert client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/admin/").status_code == 302
    assert [e.actor for e in events(app, "auth.logout")] == [email]


def test_audit_log_is_scoped_to_the_province_and_exportable(app, client, staff):
    other = staff("analyst", province_code="YBA")
    sign_in(app.test_client(), other, STAFF_PASSWORD)  # an event in another province
    admin = staff("province_admin")
    sign_in(client, admin, STAFF_PASSWORD)
    page = client.get("/admin/audit")
    assert admin in page.text and other not in page.text
    export = client.get("/admin/audit.csv")
    assert export.data.startswith("\ufeff".encode()) and "Người thực hiện" in export.data.decode("utf-8-sig")
    assert admin in export.data.decode() and other not in export.data.decode()
    assert [e.actor for e in events(app, "audit.export")] == [admin]


def test_cli_creates_accounts_and_refuses_bad_input(app):
    runner = app.test_cli_runner()
    with app.app_context(), db.unit_of_work() as session:
        from survey.rounds.services import get_or_create_province
        get_or_create_province(session, "LCI", "tỉnh Lào Cai")
    ok = runner.invoke(args=["users", "create", "--email", "Admin@Example.vn", "--name", "Quản trị",
                             "--role", "province_admin", "--province", "LCI", "--password", "mat-khau-dai-du"])
    assert ok.exit_code == 0, ok.output
    assert "admin@example.vn" in ok.output
    again = runner.invoke(args=["users", "create", "--email", "admin@example.vn", "--name", "X",
                                "--role", "analyst", "--province", "LCI", "--password", "mat-khau-dai-du"])
    assert again.exit_code != 0 and "Đã có tài khoản" in again.output
    short = runner.invoke(args=["users", "create", "--email", "b@example.vn", "--name", "X",
                                "--role", "analyst", "--province", "LCI", "--password", "ngan"])
    assert short.exit_code != 0 and "ít nhất 10 ký tự" in short.output
    focal = runner.invoke(args=["users", "create", "--email", "c@example.vn", "--name", "X",
                                "--role", "focal_point", "--province", "LCI", "--password", "mat-khau-dai-du"])
    assert focal.exit_code != 0 and "phải thuộc một cơ quan" in focal.output
    with app.app_context():
        assert db.session().scalar(select(User.email).where(User.email == "admin@example.vn")) == "admin@example.vn"
        assert db.session().scalars(select(User)).all().__len__() == 1


def test_every_link_on_the_home_page_opens_for_each_role(app, client, survey_round, login):
    """No role is shown a link that answers 403."""
    import re

    from survey.accounts.models import ROLES

    survey_round()
    for role in ROLES:
        with client.session_transaction() as cookie:
            cookie.clear()
        login(role, email=f"home.{role}@example.vn")
        home = client.get("/admin/")
        assert home.status_code == 200
        links = set(re.findall(r'href="(/admin/[^"]*)"', home.text))
        assert links, role
        for link in links:
            assert client.get(link).status_code == 200, f"{role}: {link}"


def change_password(client, current, new, confirm=None):
    page = client.get("/admin/password")
    return client.post("/admin/password", data={"current": current, "new": new, "confirm": new if confirm is None else confirm,
                                                "csrf_token": csrf_token_in(page.text)})


def test_a_user_changes_their_own_password_and_their_other_browsers_are_signed_out(app, client, staff):
    email = staff("focal_point")
    other_browser = app.test_client()
    sign_in(client, email, STAFF_PASSWORD)
    sign_in(other_browser, email, STAFF_PASSWORD)
    assert "Đổi mật khẩu" in client.get("/admin/").text
    reply = change_password(client, STAFF_PASSWORD, "mat-khau-moi-2024")
    assert reply.status_code == 303
    assert client.get("/admin/").status_code == 200  # this browser stays signed in
    assert other_browser.get("/admin/").status_code == 302
    assert [e.actor for e in events(app, "auth.password_change")] == [email]
    client.post("/admin/logout", data={"csrf_token": csrf_token_in(client.get("/admin/").text)})
    assert sign_in(client, email, STAFF_PASSWORD).status_code == 200  # the old one is refused
    assert sign_in(client, email, "mat-khau-moi-2024").status_code == 302


def test_a_refused_password_change_says_why_and_changes_nothing(app, client, staff):
    email = staff("analyst")
    sign_in(client, email, STAFF_PASSWORD)
    refusals = {
        ("sai-mat-khau-hien-tai", "mat-khau-moi-2024", None): "Mật khẩu hiện tại không đúng.",
        (STAFF_PASSWORD, "ngan", None): "Mật khẩu phải có ít nhất 10 ký tự.",
        (STAFF_PASSWORD, "mat-khau-moi-2024", "mat-khau-khac-2024"): "Hai lần nhập mật khẩu mới không khớp nhau.",
        (STAFF_PASSWORD, STAFF_PASSWORD, None): "Mật khẩu mới phải khác mật khẩu hiện tại.",
    }
    for (current, new, confirm), message in refusals.items():
        reply = change_password(client, current, new, confirm)
        assert reply.status_code == 422 and message in reply.text, message
    assert client.get("/admin/").status_code == 200
    assert events(app, "auth.password_change") == []
    no_token = client.post("/admin/password", data={"current": STAFF_PASSWORD, "new": "mat-khau-moi-2024",
                                                    "confirm": "mat-khau-moi-2024"})
    assert no_token.status_code == 400  # the CSRF refusal, as on every staff form
    assert events(app, "auth.password_change") == []


def test_the_password_page_needs_a_signed_in_user(client):
    assert client.get("/admin/password").status_code == 302


def test_an_operator_resets_a_forgotten_password_from_the_command_line(app, client, staff):
    email = staff("analyst")
    sign_in(client, email, STAFF_PASSWORD)
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["users", "set-password", "--email", "khongco@example.vn", "--password", "mat-khau-moi-2024"])
    assert unknown.exit_code != 0 and "Không có tài khoản khongco@example.vn" in unknown.output
    short = runner.invoke(args=["users", "set-password", "--email", email, "--password", "ngan"])
    assert short.exit_code != 0 and "ít nhất 10 ký tự" in short.output
    assert client.get("/admin/").status_code == 200  # nothing changed yet
    done = runner.invoke(args=["users", "set-password", "--email", email.upper(), "--password", "mat-khau-moi-2024"])
    assert done.exit_code == 0, done.output
    assert client.get("/admin/").status_code == 302  # the sessions ended
    assert [e.target for e in events(app, "auth.password_reset")] == [email]
    assert sign_in(client, email, "mat-khau-moi-2024").status_code == 302
