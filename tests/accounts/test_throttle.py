"""Sign-in back-off per (account, client address): nobody can lock a real user out from elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from survey import create_app, db
from survey.accounts.models import AuditEvent, SignInThrottle
from survey.accounts.throttle import FREE_FAILURES, FREE_FAILURES_PER_ADDRESS
from survey.config import ConfigError, from_environment
from survey.timeutil import as_utc
from tests.accounts.test_sign_in import sign_in
from tests.conftest import STAFF_PASSWORD, TEST_SECRET, csrf_token_in, make_test_config

WRONG = "sai-mat-khau-123"


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def throttles(app) -> dict[tuple[str, str], tuple[int, object]]:
    with app.app_context():
        return {(row.email, row.address): (row.failures, row.locked_until and as_utc(row.locked_until))
                for row in db.session().scalars(select(SignInThrottle))}


def turn_the_clock(app, minutes: float) -> None:
    """Move every recorded failure and back-off into the past, as if ``minutes`` had gone by."""
    with app.app_context(), db.unit_of_work() as session:
        for row in session.scalars(select(SignInThrottle)):
            row.last_failure_at = as_utc(row.last_failure_at) - timedelta(minutes=minutes)
            if row.locked_until is not None:
                row.locked_until = as_utc(row.locked_until) - timedelta(minutes=minutes)


def test_thirty_failures_from_one_address_do_not_lock_the_account_elsewhere(app, staff):
    email = staff("analyst")
    attacker = client_at(app, "198.51.100.7")
    for _ in range(FREE_FAILURES_PER_ADDRESS):
        assert sign_in(attacker, email, WRONG).status_code in (200, 429)
    assert sign_in(attacker, email, STAFF_PASSWORD).status_code == 429
    user = client_at(app, "203.0.113.20")
    assert sign_in(user, email, STAFF_PASSWORD).status_code == 302
    assert user.get("/admin/").status_code == 200


def test_one_password_tried_on_many_accounts_backs_off_the_address(app, staff):
    attacker = client_at(app, "198.51.100.7")
    for i in range(FREE_FAILURES_PER_ADDRESS):
        assert sign_in(attacker, f"nguoi{i}@example.vn", WRONG).status_code == 200
    assert sign_in(attacker, "nguoi-khac@example.vn", WRONG).status_code == 429
    assert sign_in(client_at(app, "203.0.113.20"), staff("analyst"), STAFF_PASSWORD).status_code == 302


def test_attempts_refused_during_a_back_off_do_not_extend_it(app, staff):
    email = staff("analyst")
    client = client_at(app, "198.51.100.7")
    for _ in range(FREE_FAILURES):
        assert sign_in(client, email, WRONG).status_code == 200
    before = throttles(app)[(email, "198.51.100.7")]
    assert before[0] == FREE_FAILURES and before[1] is not None
    for _ in range(3):  # refused unchecked, even with the right password
        assert sign_in(client, email, STAFF_PASSWORD).status_code == 429
        assert sign_in(client, email, WRONG).status_code == 429
    assert throttles(app)[(email, "198.51.100.7")] == before
    turn_the_clock(app, 3)  # the next attempt, three minutes on: the back-off has run out
    assert sign_in(client, email, STAFF_PASSWORD).status_code == 302
    assert (email, "198.51.100.7") not in throttles(app)  # a success forgets the failures


def test_each_further_failure_doubles_the_wait(app, staff):
    email = staff("analyst")
    client = client_at(app, "198.51.100.7")
    waits = []
    for _ in range(FREE_FAILURES + 3):
        assert sign_in(client, email, WRONG).status_code == 200
        with app.app_context():
            row = db.session().scalar(select(SignInThrottle).where(SignInThrottle.email == email))
            if row.locked_until is not None:
                waits.append(as_utc(row.locked_until) - as_utc(row.last_failure_at))
        turn_the_clock(app, 60)  # past any back-off, so that every attempt is checked
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]


@pytest.fixture
def app_behind_one_proxy(database_url):
    proxied = create_app(make_test_config(database_url, PROXY_HOPS=1))
    yield proxied
    db.dispose(proxied)


def test_the_client_address_comes_from_x_forwarded_for_only_with_proxy_hops(app, app_behind_one_proxy, staff):
    email = staff("analyst")
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    direct = app.test_client()
    direct.get("/admin/login")
    direct.post("/admin/login", headers=forwarded, data={
        "email": email, "password": WRONG, "csrf_token": csrf_token_in(direct.get("/admin/login").text)})
    assert set(throttles(app)) == {(email, "127.0.0.1"), ("*", "127.0.0.1")}

    proxied = app_behind_one_proxy.test_client()
    page = proxied.get("/admin/login", headers=forwarded)
    proxied.post("/admin/login", headers=forwarded, data={
        "email": email, "password": WRONG, "csrf_token": csrf_token_in(page.text)})
    assert (email, "203.0.113.9") in throttles(app)
    reply = proxied.post("/admin/login", headers=forwarded, data={
        "email": email, "password": STAFF_PASSWORD, "csrf_token": csrf_token_in(page.text)})
    assert reply.status_code == 302
    with app.app_context():
        event = db.session().scalar(select(AuditEvent).where(AuditEvent.action == "auth.login"))
    assert event.ip == "203.0.113.9"


@pytest.mark.parametrize("value", ["-1", "một", "1.5", "99"])
def test_proxy_hops_setting_is_refused_in_one_line(value):
    with pytest.raises(ConfigError, match="SURVEY_PROXY_HOPS must be a whole number") as refused:
        from_environment({"SURVEY_SECRET_KEY": TEST_SECRET, "SURVEY_DATABASE_URL": "sqlite://",
                          "SURVEY_PROXY_HOPS": value})
    assert "\n" not in str(refused.value)


def test_an_administrator_sees_and_clears_the_locks_of_their_province(app, client, staff, login):
    mine = staff("analyst")
    theirs = staff("analyst", province_code="YBA")
    for email in (mine, theirs):
        attacker = client_at(app, "198.51.100.7")
        for _ in range(FREE_FAILURES):
            sign_in(attacker, email, WRONG)
    admin = login("province_admin")
    page = client.get("/admin/sign-in-locks")
    assert page.status_code == 200 and mine in page.text and theirs not in page.text
    with app.app_context():
        ids = {row.email: row.id for row in db.session().scalars(select(SignInThrottle))}
    assert client.post("/admin/sign-in-locks/clear", data={"throttle_id": ids[mine]}).status_code == 400  # no CSRF
    csrf = csrf_token_in(page.text)
    assert client.post("/admin/sign-in-locks/clear",
                       data={"throttle_id": ids[theirs], "csrf_token": csrf}).status_code == 404
    reply = client.post("/admin/sign-in-locks/clear", data={"throttle_id": ids[mine], "csrf_token": csrf})
    assert reply.status_code == 303 and (mine, "198.51.100.7") not in throttles(app)
    assert sign_in(client_at(app, "198.51.100.7"), mine, STAFF_PASSWORD).status_code == 302
    with app.app_context():
        event = db.session().scalar(select(AuditEvent).where(AuditEvent.action == "auth.unlock"))
    assert (event.actor, event.target) == (admin, f"{mine} @ 198.51.100.7")
