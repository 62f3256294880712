"""GET /healthz: "ok" while the database answers, 503 when it does not, and nothing else."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey import create_app, db
from survey.accounts.models import AuditEvent
from tests.conftest import make_test_config


def test_healthz_says_ok_without_session_or_audit(app, client):
    reply = client.get("/healthz")
    assert (reply.status_code, reply.text, reply.mimetype) == (200, "ok", "text/plain")
    assert "Set-Cookie" not in reply.headers
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize("url", ["postgresql+psycopg://postgres@127.0.0.1:1/survey",
                                 "sqlite:////nonexistent-directory/survey.db"])
def test_healthz_is_503_when_the_database_is_unreachable(url, caplog):
    app = create_app(make_test_config(url))
    try:
        reply = app.test_client().get("/healthz")
    finally:
        db.dispose(app)
    assert (reply.status_code, reply.text) == (503, "unavailable")
    assert "the database did not answer" in caplog.text


def test_healthz_is_503_on_a_database_without_the_schema(tmp_path):
    app = create_app(make_test_config(f"sqlite:///{tmp_path / 'empty.db'}"))
    try:
        assert app.test_client().get("/healthz").status_code == 503
    finally:
        db.dispose(app)
