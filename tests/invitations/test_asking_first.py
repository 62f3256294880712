"""Mass and irreversible actions ask first and say how many (issue 14.8); openings count within the window (14.9)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from survey import db
from survey.respond.models import AccessLink
from survey.rounds.models import Round
from survey.timeutil import utcnow
from tests.invitations.conftest import respondent_ids
from tests.invitations.test_pages import _post, _sheet
from tests.invitations.test_worker import outbox


def test_inviting_everyone_says_how_many_and_waits_for_the_count(app, client, campaign, login):
    round_id = campaign(per_group=2)
    ids = respondent_ids(app, round_id)
    with app.app_context(), db.unit_of_work() as session:
        session.execute(text("UPDATE respondents SET email = NULL WHERE id = :i"), {"i": ids[0]})
        links_before = session.scalar(text("SELECT count(*) FROM access_links WHERE revoked_at IS NULL"))
    login("province_admin")
    page = f"/admin/rounds/{round_id}/mail"
    question = _post(client, f"/admin/rounds/{round_id}/mail/invite", page)
    assert question.status_code == 200
    assert "cả đợt khảo sát" in question.text and "Sẽ xếp 9 thư mời" in question.text
    assert "Bỏ qua 1 người: không có e-mail" in question.text
    assert "Xác nhận xếp 9 thư mời" in question.text
    with app.app_context():
        # Asking wrote nothing: no message, no link revoked, no audit entry.
        assert outbox(app) == []
        assert db.session().scalar(text("SELECT count(*) FROM access_links WHERE revoked_at IS NULL")) == links_before
        assert db.session().scalar(text("SELECT count(*) FROM audit_events WHERE action = 'mail.invite'")) == 0

    stale = _post(client, f"/admin/rounds/{round_id}/mail/invite", page, confirmed="10")
    assert stale.status_code == 409 and "từ 10 thành 9" in stale.text and outbox(app) == []

    done = _post(client, f"/admin/rounds/{round_id}/mail/invite", page, confirmed="9")
    assert done.status_code == 302 and len(outbox(app)) == 9

    # Nobody left to invite: the page says so and offers nothing to confirm.
    again = _post(client, f"/admin/rounds/{round_id}/mail/invite", page)
    assert again.status_code == 200 and "Không có ai để thực hiện" in again.text
    assert 'name="confirmed"' not in again.text


def test_reminders_ask_first_too(app, client, campaign, login):
    from tests.invitations.test_worker import invite_all

    round_id = campaign(per_group=1)
    invite_all(app, round_id)
    with app.app_context(), db.unit_of_work() as session:
        session.execute(text("UPDATE outbox_messages SET created_at = :t"), {"t": utcnow() - timedelta(days=8)})
    login("province_admin")
    page = f"/admin/rounds/{round_id}/mail"
    question = _post(client, f"/admin/rounds/{round_id}/mail/remind", page)
    assert question.status_code == 200 and "Sẽ xếp 5 thư nhắc" in question.text
    assert len(outbox(app)) == 5
    assert _post(client, f"/admin/rounds/{round_id}/mail/remind", page, confirmed="5").status_code == 302
    assert len(outbox(app)) == 10


def test_opening_the_round_asks_first_with_what_it_locks(app, client, campaign, login):
    round_id = campaign(per_group=1, opens_in=timedelta(days=2))
    login("province_admin")
    round_page = client.get(f"/admin/rounds/{round_id}")
    confirm_url = f"/admin/rounds/{round_id}/open/confirm"
    # The round page no longer opens at one click: it links to the question.
    assert f'href="{confirm_url}"' in round_page.text
    assert f'action="/admin/rounds/{round_id}/open"' not in round_page.text
    question = client.get(confirm_url)
    assert question.status_code == 200
    assert "5 phiếu khảo sát" in question.text and "không thể hoàn tác" in question.text
    assert "5 người" in question.text
    with app.app_context():
        assert db.session().get(Round, round_id).state() == "scheduled"  # asking changed nothing
    assert 'name="confirmed" value="1"' in question.text
    # Without the confirmation page's field, nothing opens.
    assert _post(client, f"/admin/rounds/{round_id}/open", confirm_url).status_code == 400
    opened = _post(client, f"/admin/rounds/{round_id}/open", confirm_url, confirmed="1")
    assert opened.status_code == 302
    with app.app_context():
        assert db.session().get(Round, round_id).state() == "open"
    # Once open, the question is not asked again.
    assert client.get(confirm_url).status_code == 302


def test_opened_counts_only_visits_inside_the_window(app, client, survey_round, login):
    round_id, tokens = survey_round(per_group=1, opens_in=timedelta(days=1))
    early, late = tokens["department"][0], tokens["division"][0]
    # Before the opening the link shows the "not open yet" page; that is no opening.
    assert client.get(f"/r/{early}").status_code in (200, 403)
    with app.app_context(), db.unit_of_work() as session:
        assert session.scalar(select(AccessLink.first_opened_at).where(AccessLink.first_opened_at.is_not(None))) is None
        session.get(Round, round_id).opens_at = utcnow() - timedelta(minutes=1)
    assert client.get(f"/r/{early}").status_code == 200  # opened within the window now
    # A visit recorded before the opening by an earlier version is not counted either.
    with app.app_context(), db.unit_of_work() as session:
        session.execute(text("UPDATE access_links SET first_opened_at = :t WHERE respondent_id = "
                             "(SELECT id FROM respondents WHERE full_name = 'Người division 0' AND round_id = :r)"),
                        {"t": utcnow() - timedelta(hours=2), "r": round_id})
    assert late
    login("province_admin")
    export = client.get(f"/admin/rounds/{round_id}/monitor.xlsx")
    totals = {row[0]: row[1:] for row in _sheet(export.data, "Theo nhóm")}
    # expected, invited, delivered, failed, opened, started, submitted, rate
    assert totals["Tổng cộng"][4] == 1
    page = client.get(f"/admin/rounds/{round_id}/monitor")
    assert page.status_code == 200
