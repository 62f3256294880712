from __future__ import annotations

import pytest
from sqlalchemy import select, text

from survey import db
from survey.invitations.delivery import SmtpSettings
from survey.invitations.outbox import MailContext
from survey.invitations.worker import Worker, WorkerOptions
from survey.roster.models import Respondent
from tests.invitations.smtp import SmtpServer

SENDER = "Sở Nội vụ tỉnh Lào Cai <khao-sat@snv.laocai.gov.vn>"
CONTEXT = MailContext(sender=SENDER, base_url="http://localhost")
# Fast retries so that outages of a fraction of a second are enough.
FAST = WorkerOptions(rate_per_minute=0, batch_size=10, retry_base=0.05, retry_cap=0.2, poll_interval=0.05,
                     max_attempts=200)


@pytest.fixture
def app(app):
    app.config.update(MAIL_FROM=SENDER)
    return app


@pytest.fixture
def campaign(app, survey_round):
    """Factory: a round with ``per_group`` respondents per group, each with an e-mail r<id>@example.vn."""

    def build(per_group: int = 2, **kwargs) -> int:
        round_id, _tokens = survey_round(per_group=per_group, **kwargs)
        with app.app_context(), db.unit_of_work() as session:
            session.execute(text("UPDATE respondents SET email = 'r' || id || '@example.vn' WHERE round_id = :r"),
                            {"r": round_id})
        return round_id

    return build


def respondent_ids(app, round_id: int) -> list[int]:
    with app.app_context():
        return list(db.session().scalars(select(Respondent.id).where(Respondent.round_id == round_id)
                                         .order_by(Respondent.id)))


@pytest.fixture
def smtp_server():
    servers: list[SmtpServer] = []

    def start(behaviour=None, *, running: bool = True) -> SmtpServer:
        server = SmtpServer(behaviour)
        if running:
            server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def worker_for(app, server: SmtpServer, options: WorkerOptions = FAST, *, timeout: float = 5.0, **kwargs) -> Worker:
    return Worker(app, SmtpSettings("127.0.0.1", server.port, timeout=timeout), options, **kwargs)


def text_part(raw: bytes) -> str:
    """The decoded plain-text part of a complete message (bodies are quoted-printable)."""
    from email import message_from_bytes, policy

    return message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()


def link_token(raw: bytes) -> str:
    return text_part(raw).split("http://localhost/r/", 1)[1][:32]
