"""Migration 0012 keeps every response and answer both ways; existing responses become "email"."""

from __future__ import annotations

from sqlalchemy import inspect, text

from survey import migrate
from tests.databases import engine_at, temporary_database
from tests.test_migrations import ANSWERS, seed_one_response

RESPONSES = "SELECT id, round_id, group_id, questionnaire_key, questionnaire_version, submitted_week FROM responses"


def test_0012_labels_existing_responses_email_and_loses_nothing(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0007_answer_counts")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                seed_one_response(connection, answers=5)
                before = connection.execute(text(ANSWERS)).all(), connection.execute(text(RESPONSES)).all()

        migrate.upgrade(url, "0012_collection")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert (connection.execute(text(ANSWERS)).all(), connection.execute(text(RESPONSES)).all()) == before
                assert connection.execute(text(
                    "SELECT channel, collection_point_id, procedure_id FROM responses")).all() == [("email", None, None)]
            assert {"collection_points", "procedures", "dossier_digests", "point_arrivals"} <= set(
                inspect(engine).get_table_names())

        migrate.downgrade(url, "0007_answer_counts")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert (connection.execute(text(ANSWERS)).all(), connection.execute(text(RESPONSES)).all()) == before
            assert "channel" not in {c["name"] for c in inspect(engine).get_columns("responses")}
            assert "collection_points" not in inspect(engine).get_table_names()


POINTS = "SELECT id, round_id, group_id, name, token, quota, closed_at FROM collection_points"
ARRIVALS = "SELECT id, point_id, window_start FROM point_arrivals"


def test_0017_adds_paper_and_kiosk_and_keeps_points_arrivals_and_responses(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0012_collection")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                seed_one_response(connection, answers=3)
                connection.execute(text(
                    "INSERT INTO collection_points (id, round_id, group_id, name, place, token, quota_policy, "
                    "asks_dossier, created_at) VALUES (3, 1, 7, 'Một cửa', '', 'abcdefghjk', 'accept', FALSE, "
                    "'2023-11-01 08:00:00')"))
                connection.execute(text("INSERT INTO point_arrivals (point_id, window_start) "
                                        "VALUES (3, '2023-11-01 08:00:00')"))
                tables = (ANSWERS, RESPONSES, POINTS, ARRIVALS,
                          "SELECT id, channel, collection_point_id FROM responses")
                before = [connection.execute(text(sql)).all() for sql in tables]

        migrate.upgrade(url, "0017_paper_kiosk")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert [connection.execute(text(sql)).all() for sql in tables] == before
                assert connection.execute(text("SELECT kiosk_token FROM collection_points")).all() == [(None,)]
            assert {"paper_batches", "paper_entries", "paper_forms", "kiosk_receipts"} <= set(
                inspect(engine).get_table_names())

        migrate.downgrade(url, "0012_collection")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert [connection.execute(text(sql)).all() for sql in tables] == before
            assert "kiosk_token" not in {c["name"] for c in inspect(engine).get_columns("collection_points")}
            assert "paper_entries" not in inspect(engine).get_table_names()
