"""Milestones follow the round's year and deadline, unless edited by hand or done."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

from survey import db, migrate
from survey.questionnaire_registry import catalog
from survey.rounds import services
from survey.rounds.models import Round
from survey.timeutil import utcnow
from tests.databases import engine_at, temporary_database


def test_a_new_year_or_deadline_moves_the_milestones_not_edited_by_hand(app):
    with app.app_context(), db.unit_of_work() as session:
        province = services.get_or_create_province(session, "LCI", "tỉnh Lào Cai")
        now = utcnow()
        round_ = services.create_round(session, catalog(), province=province, year=2024, title="Khảo sát",
                                       opens_at=now, closes_at=now + timedelta(days=30), bindings=[])
        listed, assessed, reported, appraised, sent = round_.milestones
        services.save_milestone(session, round_, assessed, label=assessed.label, starts_on=date(2024, 11, 20),
                                due_on=assessed.due_on, done_on=None)
        services.save_milestone(session, round_, reported, label=reported.label, starts_on=None,
                                due_on=reported.due_on, done_on=date(2024, 12, 30))
        services.save_milestone(session, round_, appraised, label="Thẩm định (đổi tên)", starts_on=None,
                                due_on=appraised.due_on, done_on=None)
        settings = {"title": round_.title, "opens_at": round_.opens_at, "closes_at": round_.closes_at}

        # The deadline field left as it was: it moves with the year, and so do the plan's dates.
        services.update_round(session, round_, **settings, year=2026, ministry_deadline=date(2024, 12, 10))
        assert round_.ministry_deadline == date(2026, 12, 10)
        assert [(m.starts_on, m.due_on) for m in round_.milestones] == [
            (None, date(2026, 12, 10)),
            (date(2024, 11, 20), date(2024, 12, 25)),  # dates edited by hand stay
            (None, date(2025, 1, 5)),  # done stays
            (None, date(2027, 1, 15)),  # a new label alone does not fix the dates
            (None, date(2027, 1, 20)),
        ]
        services.update_round(session, round_, **settings, year=2026, ministry_deadline=date(2026, 12, 15))
        assert [m.due_on for m in (listed, appraised, sent)] == [date(2026, 12, 15), date(2027, 1, 20),
                                                                  date(2027, 1, 25)]
        assert assessed.due_on == date(2024, 12, 25)
        added = services.save_milestone(session, round_, None, label="Họp rà soát", starts_on=None,
                                        due_on=date(2026, 11, 1), done_on=None)
        services.update_round(session, round_, **settings, year=2027, ministry_deadline=date(2026, 12, 15))
        assert added.due_on == date(2026, 11, 1) and listed.due_on == date(2027, 12, 15)
        assert session.get(Round, round_.id).ministry_deadline == date(2027, 12, 15)


def test_0010_adds_the_flag_and_keeps_every_milestone_both_ways(backend, tmp_path):
    rows = "SELECT id, round_id, position, label, due_on FROM round_milestones ORDER BY id"
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0007_answer_counts")
        with engine_at(url) as engine, engine.begin() as connection:
            connection.execute(text("INSERT INTO provinces (id, code, name) VALUES (1, 'LCI', 'tỉnh Lào Cai')"))
            connection.execute(text(
                "INSERT INTO rounds (id, province_id, year, title, opens_at, closes_at, created_at) "
                "VALUES (1, 1, 2023, 'Đợt 2023', '2023-11-01 08:00:00', '2023-12-01 17:00:00', '2023-11-01 08:00:00')"))
            connection.execute(text("INSERT INTO round_milestones (id, round_id, position, label, due_on) "
                                    "VALUES (1, 1, 0, 'Gửi danh sách', '2023-12-10')"))
            before = connection.execute(text(rows)).all()
        migrate.upgrade(url, "0010_milestone_fixed")
        with engine_at(url) as engine, engine.connect() as connection:
            assert connection.execute(text(rows)).all() == before
            assert connection.execute(text("SELECT is_fixed FROM round_milestones")).scalar() in (False, 0)
        migrate.downgrade(url, "0007_answer_counts")
        with engine_at(url) as engine, engine.connect() as connection:
            assert connection.execute(text(rows)).all() == before
