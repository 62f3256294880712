"""A session ends for every copy of its cookie; the health check never touches sessions."""

from __future__ import annotations

from tests.accounts.test_sign_in import sign_in
from tests.conftest import STAFF_PASSWORD, csrf_token_in


def copy_of(client, app):
    """A second browser holding a copy of ``client``'s session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def test_signing_out_ends_a_copied_session_cookie(app, client, staff):
    email = staff("analyst")
    sign_in(client, email, STAFF_PASSWORD)
    copied = copy_of(client, app)
    assert copied.get("/admin/").status_code == 200
    csrf = csrf_token_in(client.get("/admin/login").text)
    assert client.post("/admin/logout", data={"csrf_token": csrf}).status_code == 302
    reply = copied.get("/admin/")
    assert reply.status_code == 302 and "/admin/login" in reply.headers["Location"]
    assert sign_in(client, email, STAFF_PASSWORD).status_code == 302  # a new session is a new generation
    assert client.get("/admin/").status_code == 200


def test_the_health_check_neither_reads_nor_refreshes_a_staff_session(client, staff):
    sign_in(client, staff("analyst"), STAFF_PASSWORD)
    with client.session_transaction() as cookie:
        cookie["seen_at"] -= 120  # a staff page would now refresh the idle clock, rewriting the cookie
    assert "Set-Cookie" not in client.get("/healthz").headers
    with client.session_transaction() as cookie:
        cookie["seen_at"] -= 2 * 3600  # expired: a staff page would clear it
    assert "Set-Cookie" not in client.get("/healthz").headers
    assert client.get("/admin/").status_code == 302  # the staff pages still do both
