"""Digests to agencies' focal points (issue 14.12b), end to end: the page, the worker, a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from survey import db
from survey.invitations.models import DIGEST, STOP_CLOSED, STOP_COMPLETE, DigestSchedule, OutboxMessage
from survey.respond.models import Draft, Submission
from survey.rounds.models import Agency, Round
from survey.timeutil import VIETNAM, as_utc, utcnow
from tests.invitations.conftest import respondent_ids, text_part, worker_for
from tests.invitations.test_pages import _post

SECRET_ANSWER = "ý kiến riêng 5821"


def _agency_round(app, campaign, staff) -> tuple[int, list[int]]:
    """10 people: 5 of STP (1 submitted, 1 with a draft), 5 of SNV (all submitted); one focal point each."""
    stp = staff("focal_point", agency_code="STP", email="daumoi.stp@example.vn")
    staff("focal_point", agency_code="SNV", email="daumoi.snv@example.vn")
    assert stp
    round_id = campaign(per_group=2)
    ids = respondent_ids(app, round_id)
    with app.app_context(), db.unit_of_work() as session:
        agencies = dict(session.execute(select(Agency.code, Agency.id)).all())
        for index, respondent_id in enumerate(ids):
            session.execute(text("UPDATE respondents SET agency_id = :a, position = 'Chuyên viên' WHERE id = :i"),
                            {"a": agencies["STP" if index < 5 else "SNV"], "i": respondent_id})
        for respondent_id in [ids[0], *ids[5:]]:
            session.add(Submission(respondent_id=respondent_id, round_id=round_id, submitted_at=utcnow()))
        session.add(Draft(respondent_id=ids[1], answers={"Q1": SECRET_ANSWER}))
    return round_id, ids


def _make_due(app, round_id: int) -> None:
    with app.app_context(), db.unit_of_work() as session:
        session.get(DigestSchedule, round_id).next_run_at = utcnow() - timedelta(seconds=1)


def test_each_focal_point_gets_their_agency_digest_until_the_round_closes(app, client, campaign, staff, login,
                                                                          smtp_server):
    round_id, ids = _agency_round(app, campaign, staff)
    login("province_admin")
    page = f"/admin/rounds/{round_id}/mail"
    first_at = (utcnow() + timedelta(hours=1)).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
    reply = _post(client, f"/admin/rounds/{round_id}/mail/digest", page, first_at=first_at, interval_days="3")
    assert reply.status_code == 302
    assert "sau đó mỗi 3 ngày" in client.get(page).text

    server = smtp_server()
    worker_for(app, server).run(until_idle=True)
    assert server.received == []  # not due yet

    _make_due(app, round_id)
    started = utcnow()
    worker_for(app, server).run(until_idle=True)
    # SNV's people all submitted: only STP's focal point hears, and only about STP.
    assert [m.recipient for m in server.received] == ["daumoi.stp@example.vn"]
    message = server.received[0].message
    assert "1/5 đã nộp phiếu" in message["Subject"]
    body = text_part(server.received[0].content)
    assert "Đã nộp phiếu: 1/5 người (20%)" in body
    with app.app_context():
        names = dict(db.session().execute(text("SELECT id, full_name FROM respondents")).all())
    for pending in ids[1:5]:
        assert f"- {names[pending]}, Chuyên viên" in body
    for other in [ids[0], *ids[5:]]:
        assert names[other] not in body  # neither who submitted nor another agency's people
    assert SECRET_ANSWER not in body and "/r/" not in body  # never an answer, never a personal link
    assert f"http://localhost/admin/rounds/{round_id}/monitor" in body
    with app.app_context():
        row = db.session().get(DigestSchedule, round_id)
        assert row.last_enqueued == 1 and row.stopped_at is None
        assert as_utc(row.next_run_at) > started + timedelta(days=2)  # the next one in three days
        digest = db.session().scalar(select(OutboxMessage).where(OutboxMessage.kind == DIGEST))
        assert digest.respondent_id is None and digest.body is None  # erased once delivered
        runs = db.session().scalars(text("SELECT action FROM audit_events WHERE action = 'mail.digest_run'")).all()
    assert len(runs) == 1

    # The round closes: the next run stops the digests and sends nothing.
    with app.app_context(), db.unit_of_work() as session:
        session.get(Round, round_id).closes_at = utcnow() - timedelta(seconds=1)
    _make_due(app, round_id)
    worker_for(app, server).run(until_idle=True)
    assert len(server.received) == 1
    with app.app_context():
        row = db.session().get(DigestSchedule, round_id)
        assert row.stop_reason == STOP_CLOSED and row.last_enqueued == 0
    assert "đợt khảo sát đã đóng" in client.get(page).text


def test_the_digests_stop_when_everyone_has_answered(app, client, campaign, staff, login, smtp_server):
    round_id, ids = _agency_round(app, campaign, staff)
    login("province_admin")
    page = f"/admin/rounds/{round_id}/mail"
    first_at = (utcnow() + timedelta(hours=1)).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
    assert _post(client, f"/admin/rounds/{round_id}/mail/digest", page, first_at=first_at,
                 interval_days="1").status_code == 302
    with app.app_context(), db.unit_of_work() as session:
        session.execute(text("DELETE FROM drafts"))
        for respondent_id in ids[1:5]:
            session.add(Submission(respondent_id=respondent_id, round_id=round_id, submitted_at=utcnow()))
    _make_due(app, round_id)
    server = smtp_server()
    worker_for(app, server).run(until_idle=True)
    assert server.received == []
    with app.app_context():
        assert db.session().get(DigestSchedule, round_id).stop_reason == STOP_COMPLETE
    assert "mọi người đã nộp phiếu" in client.get(page).text


def test_an_administrator_stops_the_digests_and_a_focal_point_cannot_schedule_them(app, client, campaign, staff,
                                                                                   login, smtp_server):
    round_id, _ids = _agency_round(app, campaign, staff)
    login("province_admin")
    page = f"/admin/rounds/{round_id}/mail"
    first_at = (utcnow() + timedelta(hours=1)).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
    past = (utcnow() - timedelta(hours=1)).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")
    refused = _post(client, f"/admin/rounds/{round_id}/mail/digest", page, first_at=past, interval_days="3")
    assert refused.status_code == 422 and "phải ở tương lai" in refused.text
    assert _post(client, f"/admin/rounds/{round_id}/mail/digest", page, first_at=first_at,
                 interval_days="3").status_code == 302
    assert _post(client, f"/admin/rounds/{round_id}/mail/digest/stop", page).status_code == 302
    assert "quản trị viên đã dừng" in client.get(page).text
    _make_due(app, round_id)
    server = smtp_server()
    worker_for(app, server).run(until_idle=True)
    assert server.received == []

    login("focal_point", email="daumoi2.stp@example.vn")
    for url in ("digest", "digest/stop"):
        denied = _post(client, f"/admin/rounds/{round_id}/mail/{url}", f"/admin/rounds/{round_id}/monitor",
                       first_at=first_at, interval_days="1")
        assert denied.status_code == 403
