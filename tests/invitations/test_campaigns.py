"""Who gets an invitation or a reminder, and when: the rules, checked on the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from survey import db
from survey.invitations import campaigns, schedules
from survey.invitations.models import FAILED, INVITATION, REMINDER, MailSchedule, OutboxMessage
from survey.invitations.outbox import MailError
from survey.respond.links import find_active_link
from survey.respond.models import AccessLink, Submission
from survey.rounds.models import Round
from survey.roster.models import Respondent
from survey.timeutil import utcnow
from tests.invitations.conftest import CONTEXT, link_token, respondent_ids


def _round(session, round_id):
    return session.get(Round, round_id)


def _messages(session, kind=None):
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return session.scalars(query).all()


def _submit(session, respondent_id, round_id):
    session.add(Submission(respondent_id=respondent_id, round_id=round_id))
    session.flush()


def test_invitations_skip_the_submitted_those_without_email_and_the_already_invited(app, campaign):
    round_id = campaign(per_group=2)
    ids = respondent_ids(app, round_id)
    with app.app_context(), db.unit_of_work() as session:
        _submit(session, ids[0], round_id)
        session.get(Respondent, ids[1]).email = None
        session.get(Respondent, ids[2]).email = "không phải địa chỉ"
        outcome = campaigns.invite(session, _round(session, round_id), CONTEXT)
        assert outcome.enqueued == 7
        assert outcome.skipped == {"submitted": 1, "no_email": 1, "bad_email": 1}
        again = campaigns.invite(session, _round(session, round_id), CONTEXT)
        assert again.enqueued == 0 and again.skipped["already_invited"] == 7
        forced = campaigns.invite(session, _round(session, round_id), CONTEXT, respondent_ids=ids[3:5],
                                 include_invited=True)
        assert forced.enqueued == 2
        assert len(_messages(session)) == 9
        assert len({m.message_id for m in _messages(session)}) == 9


def test_an_invitation_carries_a_working_link_and_revokes_the_previous_one(app, survey_round, campaign):
    round_id = campaign(per_group=1)
    with app.app_context(), db.unit_of_work() as session:
        respondent = session.scalars(select(Respondent).where(Respondent.round_id == round_id)).first()
        before = session.scalars(select(AccessLink).where(AccessLink.respondent_id == respondent.id)).all()
        assert len(before) == 1 and before[0].revoked_at is None  # the fixture's link
        campaigns.invite(session, _round(session, round_id), CONTEXT, respondent_ids=[respondent.id])
        token = link_token(_messages(session)[0].body)
        assert find_active_link(session, token).respondent_id == respondent.id
        links = session.scalars(select(AccessLink).where(AccessLink.respondent_id == respondent.id)).all()
        assert sum(1 for link in links if link.revoked_at is None) == 1


def test_group_and_agency_targets_belong_to_the_round(app, campaign, survey_round):
    round_id = campaign(per_group=1)
    other_id, _ = survey_round(per_group=1, title="Đợt khác")
    with app.app_context(), db.unit_of_work() as session:
        foreign_group = _round(session, other_id).groups[0].id
        with pytest.raises(MailError, match="Nhóm đối tượng không thuộc"):
            campaigns.invite(session, _round(session, round_id), CONTEXT, group_id=foreign_group)
        assert _messages(session) == []
        own_group = _round(session, round_id).groups[1]
        outcome = campaigns.invite(session, _round(session, round_id), CONTEXT, group_id=own_group.id)
        assert outcome.enqueued == 1
        assert session.get(Respondent, _messages(session)[0].respondent_id).group_id == own_group.id


def _date_messages(session, moment) -> None:
    session.execute(text("UPDATE outbox_messages SET created_at = :t"), {"t": moment})


def test_reminders_go_to_invited_non_respondents_at_most_n_times_d_days_apart(app, campaign):
    round_id = campaign(per_group=1)  # 5 respondents
    ids = respondent_ids(app, round_id)
    with app.app_context(), db.unit_of_work() as session:
        round_ = _round(session, round_id)
        campaigns.update_settings(session, round_, reminder_max=2, reminder_interval_days=3)
        campaigns.invite(session, round_, CONTEXT, respondent_ids=ids[:4])  # ids[4] never invited
        _submit(session, ids[0], round_id)

        now = utcnow()
        first = campaigns.remind(session, round_, CONTEXT, now=now)
        assert first.enqueued == 0 and first.skipped == {"submitted": 1, "not_invited": 1, "too_recent": 3}

        _date_messages(session, now - timedelta(days=3))  # exactly three days ago: due
        second = campaigns.remind(session, round_, CONTEXT, now=now)
        assert second.enqueued == 3
        assert campaigns.remind(session, round_, CONTEXT, now=now).skipped["too_recent"] == 3

        _date_messages(session, now - timedelta(days=2, hours=23))
        assert campaigns.remind(session, round_, CONTEXT, now=now).skipped["too_recent"] == 3
        _date_messages(session, now - timedelta(days=4))
        assert campaigns.remind(session, round_, CONTEXT, now=now).enqueued == 3
        _date_messages(session, now - timedelta(days=30))
        capped = campaigns.remind(session, round_, CONTEXT, now=now)
        assert capped.enqueued == 0 and capped.skipped["cap"] == 3
        reminders = _messages(session, REMINDER)
        assert len(reminders) == 6 and {m.respondent_id for m in reminders} == set(ids[1:4])
        assert reminders[0].subject.startswith("Nhắc trả lời phiếu")


def test_no_mail_once_the_round_has_closed_and_no_reminders_before_it_opens(app, campaign):
    closed = campaign(per_group=1, opens_in=timedelta(days=-10), closes_in=timedelta(days=-1), title="Đã đóng")
    later = campaign(per_group=1, opens_in=timedelta(days=2), closes_in=timedelta(days=30), title="Sắp mở")
    with app.app_context(), db.unit_of_work() as session:
        with pytest.raises(MailError, match="đã kết thúc"):
            campaigns.invite(session, _round(session, closed), CONTEXT)
        with pytest.raises(MailError, match="chưa mở"):
            campaigns.remind(session, _round(session, later), CONTEXT)
        # Invitations may go out before the opening (the page then says when it opens).
        assert campaigns.invite(session, _round(session, later), CONTEXT).enqueued == 5


def test_settings_outside_their_range_are_refused(app, campaign):
    round_id = campaign(per_group=1)
    with app.app_context(), db.unit_of_work() as session:
        with pytest.raises(MailError, match="từ 0 đến 20"):
            campaigns.update_settings(session, _round(session, round_id), reminder_max=21, reminder_interval_days=7)
        with pytest.raises(MailError, match="từ 1 đến 60"):
            campaigns.update_settings(session, _round(session, round_id), reminder_max=3, reminder_interval_days=0)


def test_a_due_schedule_runs_once(app, campaign):
    round_id = campaign(per_group=1)
    with app.app_context(), db.unit_of_work() as session:
        round_ = _round(session, round_id)
        group = round_.groups[0]
        row = schedules.schedule(session, round_, INVITATION, utcnow() + timedelta(hours=1), group_id=group.id)
        assert schedules.run_due_schedule(session, CONTEXT) is None  # not yet due
        done = schedules.run_due_schedule(session, CONTEXT, now=utcnow() + timedelta(hours=2))
        assert done.id == row.id and done.enqueued == 1 and done.done_at is not None
        assert schedules.run_due_schedule(session, CONTEXT, now=utcnow() + timedelta(hours=3)) is None
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        with pytest.raises(MailError, match="ở tương lai"):
            schedules.schedule(session, round_, REMINDER, utcnow() - timedelta(minutes=1))
        assert session.scalar(select(func.count()).select_from(MailSchedule)) == 1


def test_resend_corrects_the_address_and_a_failed_person_counts_as_not_invited(app, campaign):
    round_id = campaign(per_group=1)
    ids = respondent_ids(app, round_id)
    with app.app_context(), db.unit_of_work() as session:
        round_ = _round(session, round_id)
        campaigns.invite(session, round_, CONTEXT)
        failed = _messages(session)[0]
        failed.status, failed.body, failed.last_error = FAILED, None, "550 5.1.1 No such user"
        session.flush()
        assert campaigns.invite(session, round_, CONTEXT).enqueued == 1  # only the failed one
        respondent = session.get(Respondent, ids[0])
        with pytest.raises(MailError, match="không hợp lệ"):
            campaigns.resend(session, round_, respondent, CONTEXT, new_email="sai@")
        assert respondent.email == f"r{ids[0]}@example.vn"
        message = campaigns.resend(session, round_, respondent, CONTEXT, new_email=" Dung.Dia.Chi@Example.vn ")
        assert respondent.email == "Dung.Dia.Chi@example.vn" == message.recipient


def test_no_reminder_to_an_address_that_just_failed(app, campaign):
    round_id = campaign(per_group=1)
    with app.app_context(), db.unit_of_work() as session:
        round_ = _round(session, round_id)
        campaigns.invite(session, round_, CONTEXT)
        session.execute(text("UPDATE outbox_messages SET created_at = :t"), {"t": utcnow() - timedelta(days=30)})
        failed = _messages(session)[0]
        session.execute(text("UPDATE outbox_messages SET status = 'failed', body = NULL WHERE id = :i"), {"i": failed.id})
        outcome = campaigns.remind(session, round_, CONTEXT)
        assert outcome.enqueued == 4 and outcome.skipped == {"last_failed": 1}
        assert failed.respondent_id not in {m.respondent_id for m in _messages(session, REMINDER)}
