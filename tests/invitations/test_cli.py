"""`survey mail …` commands, and the worker running a due schedule."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from survey import db
from survey.invitations import campaigns, schedules
from survey.invitations.models import REMINDER, SENT, MailSchedule
from survey.rounds.models import Round
from survey.timeutil import utcnow
from tests.accounts.test_audit_at_the_action import entries
from tests.conftest import csrf_token_in
from tests.invitations.conftest import CONTEXT, worker_for
from tests.invitations.test_worker import outbox


def test_invite_status_and_run_from_the_command_line(app, campaign, smtp_server):
    round_id = campaign(per_group=1)
    server = smtp_server()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_SECURITY="none", MAIL_RATE=0)
    runner = app.test_cli_runner()
    invited = runner.invoke(args=["mail", "invite", str(round_id)])
    assert invited.exit_code == 0 and "Đã xếp 5 thư mời vào hàng đợi gửi." in invited.output
    assert "Đang chờ gửi   5" in runner.invoke(args=["mail", "status", str(round_id)]).output
    sent = runner.invoke(args=["mail", "run", "--until-idle", "--poll", "0.05"])
    assert sent.exit_code == 0, sent.output
    assert "Đã gửi 5, thử lại sau 0, lỗi 0." in sent.output
    assert len(server.received) == 5
    assert "Đã gửi         5" in runner.invoke(args=["mail", "status", str(round_id)]).output
    unknown = runner.invoke(args=["mail", "remind", "999999"])
    assert unknown.exit_code != 0 and "Không có đợt khảo sát mã 999999" in unknown.output


def test_the_worker_runs_a_due_reminder_schedule_and_sends_it(app, campaign, smtp_server):
    round_id = campaign(per_group=1)
    with app.app_context(), db.unit_of_work() as session:
        round_ = session.get(Round, round_id)
        campaigns.invite(session, round_, CONTEXT)
        session.execute(text("UPDATE outbox_messages SET status = 'sent', sent_at = :t, created_at = :t, body = NULL"),
                        {"t": utcnow() - timedelta(days=8)})
        schedule = schedules.schedule(session, round_, REMINDER, utcnow() + timedelta(minutes=5))
        session.execute(text("UPDATE mail_schedules SET run_at = :t"), {"t": utcnow() - timedelta(minutes=1)})
        schedule_id = schedule.id
    server = smtp_server()
    stats = worker_for(app, server).run(until_idle=True)
    assert stats.schedules == 1 and stats.sent == 5
    assert all(r.status == SENT for r in outbox(app)) and len(outbox(app)) == 10
    assert {m.message.get("Subject").split(" (")[0] for m in server.received} == {
        "Nhắc trả lời phiếu Đợt thử nghiệm"}
    with app.app_context():
        row = db.session().get(MailSchedule, schedule_id)
        assert row.enqueued == 5 and row.done_at is not None
        # The run is audited once, as the schedule's run: the reminders it queued are not logged again.
        assert db.session().scalars(select(text("action")).select_from(text("audit_events"))
                                    .where(text("action LIKE 'mail.%'"))).all() == [
            "mail.invite", "mail.schedule", "mail.schedule_run"]


def test_inviting_is_audited_alike_on_the_page_and_the_command_line(app, client, login, campaign):
    first, second = campaign(per_group=1), campaign(per_group=1, title="Đợt thứ hai")
    login("province_admin")
    page = f"/admin/rounds/{first}/mail"
    reply = client.post(f"{page}/invite", data={"csrf_token": csrf_token_in(client.get(page).text),
                                                "confirmed": "5"})  # the count the confirmation page showed
    assert reply.status_code == 302
    assert app.test_cli_runner().invoke(args=["mail", "invite", str(second)]).exit_code == 0
    web, cli = entries(app, "mail.invite")
    assert web[2] == first and cli[2] == second
    assert (web[0], web[1], web[3], web[4]) == (cli[0], cli[1], cli[3], cli[4])
    assert web[4] == {"enqueued": 5, "skipped": {}, "selected": 0}
