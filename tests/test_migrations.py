"""Migrations: empty -> head -> base on both databases, and the models match head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from survey import migrate
from survey.db import Base
from tests.databases import engine_at, temporary_database


def test_upgrade_to_head_then_downgrade_to_base(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "head")
        with engine_at(url) as engine:
            tables = set(inspect(engine).get_table_names())
            assert {t.name for t in Base.metadata.sorted_tables} <= tables
            with engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"render_as_batch": True})
                assert compare_metadata(context, Base.metadata) == [], "models differ from the migrations"

        migrate.downgrade(url, "base")
        with engine_at(url) as engine:
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


def test_0006_keeps_every_answer_when_it_drops_their_group_key(backend, tmp_path):
    """On SQLite the upgrade copies ``answers`` into a new table: nothing may be lost, both ways."""
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0005_reports")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                seed_one_response(connection, answers=44)
                before = connection.execute(text(ANSWERS)).all()
        assert len(before) == 44

        for step, group_key in ((lambda: migrate.upgrade(url, "0006_answer_group_copy"), False),
                                (lambda: migrate.downgrade(url, "0005_reports"), True)):
            step()
            with engine_at(url) as engine:
                with engine.connect() as connection:
                    assert connection.execute(text(ANSWERS)).all() == before
                keys = {tuple(fk["constrained_columns"]) for fk in inspect(engine).get_foreign_keys("answers")}
                assert ("response_id",) in keys  # the cascade from the response stays
                assert (("group_id",) in keys) is group_key


def test_0007_counts_the_existing_answers_and_keeps_them(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0006_answer_group_copy")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                seed_one_response(connection, answers=3)  # r1: Q00 text, Q01 A, Q02 A
                connection.execute(text(
                    "INSERT INTO responses (id, round_id, group_id, questionnaire_key, questionnaire_version, "
                    "submitted_week) VALUES ('r2', 1, 7, 'par-department-leaders', '2023.1', '2023-10-30')"))
                connection.execute(text(  # r2: Q01 A and B (multiple choice), Q02 C
                    "INSERT INTO answers (response_id, group_id, question_code, option_code) VALUES "
                    "('r2', 7, 'Q01', 'A'), ('r2', 7, 'Q01', 'B'), ('r2', 7, 'Q02', 'C')"))
                before = connection.execute(text(ANSWERS)).all()

        migrate.upgrade(url, "0007_answer_counts")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                counted = connection.execute(text(
                    "SELECT group_id, slot, question_code, option_code, n FROM answer_counts")).all()
                assert connection.execute(text(ANSWERS)).all() == before
            indexes = {i["name"] for i in inspect(engine).get_indexes("answers")}
        assert sorted(counted) == [(7, 0, "Q01", "", 1), (7, 0, "Q01", "A", 2), (7, 0, "Q01", "B", 1),
                                   (7, 0, "Q02", "A", 1), (7, 0, "Q02", "C", 1)]
        assert "ix_answers_group_response" in indexes and "ix_answers_group_question_option" not in indexes

        migrate.downgrade(url, "0006_answer_group_copy")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert connection.execute(text(ANSWERS)).all() == before
            assert "answer_counts" not in inspect(engine).get_table_names()
            assert "ix_answers_group_question_option" in {i["name"] for i in inspect(engine).get_indexes("answers")}


ANSWERS = "SELECT response_id, group_id, question_code, option_code, text_value FROM answers ORDER BY id"


def seed_one_response(connection, *, answers: int) -> None:
    """A province, round, group and one response with its answers, in plain SQL of revision 0005."""
    now, later = "2023-11-01 08:00:00", "2023-12-01 17:00:00"
    connection.execute(text("INSERT INTO provinces (id, code, name) VALUES (1, 'LCI', 'tỉnh Lào Cai')"))
    connection.execute(text(
        "INSERT INTO rounds (id, province_id, year, title, opens_at, closes_at, created_at) "
        "VALUES (1, 1, 2023, 'Đợt 2023', :now, :later, :now)"), {"now": now, "later": later})
    connection.execute(text(
        "INSERT INTO round_groups (id, round_id, code, label, position, questionnaire_key, questionnaire_version, "
        "questionnaire_hash) VALUES (7, 1, 'department', 'Lãnh đạo sở', 0, 'par-department-leaders', '2023.1', 'h')"))
    connection.execute(text(
        "INSERT INTO responses (id, round_id, group_id, questionnaire_key, questionnaire_version, submitted_week) "
        "VALUES ('r1', 1, 7, 'par-department-leaders', '2023.1', '2023-10-30')"))
    connection.execute(text(
        "INSERT INTO answers (response_id, group_id, question_code, option_code, text_value) "
        "VALUES ('r1', 7, :question, :option, :text)"),
        [{"question": f"Q{i:02d}", "option": None if i == 0 else "A", "text": "Ý kiến" if i == 0 else None}
         for i in range(answers)])


def test_0009_lets_council_roles_sign_up_and_keeps_existing_users_and_their_audit(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0007_answer_counts")
        user = ("INSERT INTO users (id, email, full_name, password_hash, role, province_id, is_active, "
                "session_version, created_at) VALUES ({id}, '{id}@x.vn', 'A', 'h', '{role}', 1, TRUE, 1, "
                "'2023-01-01')")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO provinces (id, code, name) VALUES (1, 'LCI', 'Lào Cai')"))
                connection.execute(text(user.format(id=1, role="analyst")))
                connection.execute(text("INSERT INTO audit_events (occurred_at, user_id, actor, action, details) "
                                        "VALUES ('2023-01-01', 1, 'a', 'x', '{}')"))
        migrate.upgrade(url, "0009_assessment")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                connection.execute(text(user.format(id=2, role="council_member")))
                assert connection.execute(text("SELECT user_id FROM audit_events")).scalar() == 1
        with pytest.raises(RuntimeError, match="appraisal council role"):
            migrate.downgrade(url, "0007_answer_counts")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM users WHERE id = 2"))
        migrate.downgrade(url, "0007_answer_counts")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 1
                with pytest.raises(IntegrityError):
                    connection.execute(text(user.format(id=3, role="council_member")))


def test_0023_stamps_the_provinces_that_have_procedures_and_keeps_them(backend, tmp_path):
    """Every province with procedures gets a stamp of its own; the others none; nothing is lost either way."""
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0022_ledger_consumes_draft")
        with engine_at(url) as engine, engine.begin() as connection:
            connection.execute(text("INSERT INTO provinces (id, code, name) VALUES "
                                    "(1, 'LCA', 'Lào Cai'), (2, 'HGI', 'Hà Giang'), (3, 'YBA', 'Yên Bái')"))
            connection.execute(text("INSERT INTO procedures (province_id, code, name, field, agency_name) VALUES "
                                    "(1, '1.001', 'Khai sinh', 'Hộ tịch', ''), "
                                    "(2, '1.001', 'Khai sinh', 'Hộ tịch', '')"))
        migrate.upgrade(url, "0023_procedure_list_stamp")
        with engine_at(url) as engine, engine.connect() as connection:
            stamps = dict(connection.execute(text("SELECT id, procedure_list_stamp FROM provinces")).all())
            assert stamps[3] is None and len({stamps[1], stamps[2]}) == 2 and all(len(stamps[p]) == 32 for p in (1, 2))
            assert connection.execute(text("SELECT count(*) FROM procedures")).scalar_one() == 2
        migrate.downgrade(url, "0022_ledger_consumes_draft")
        with engine_at(url) as engine, engine.connect() as connection:
            assert "procedure_list_stamp" not in {c["name"] for c in inspect(engine).get_columns("provinces")}
            assert connection.execute(text("SELECT count(*) FROM procedures")).scalar_one() == 2
            assert connection.execute(text("SELECT count(*) FROM provinces")).scalar_one() == 3
