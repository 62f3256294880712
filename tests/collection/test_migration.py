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
