"""0014_agency_aliases keeps every import, its people's link to it and the agencies, both ways."""

from __future__ import annotations

from sqlalchemy import inspect, text

from survey import migrate
from tests.databases import engine_at, temporary_database

PEOPLE = "SELECT id, full_name, agency_id, import_id FROM respondents ORDER BY id"
IMPORTS = "SELECT id, filename, status, row_count FROM roster_imports ORDER BY id"


def test_0014_adds_aliases_and_decisions_and_loses_nothing(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0013_sign_in_throttles")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                now = "2023-11-01 08:00:00"
                connection.execute(text("INSERT INTO provinces (id, code, name) VALUES (1, 'LCI', 'tỉnh Lào Cai')"))
                connection.execute(text("INSERT INTO agencies (id, province_id, code, name, kind, is_active) "
                                        "VALUES (3, 1, 'HDND', 'Văn phòng HĐND', 'council', TRUE)"))
                connection.execute(text("INSERT INTO rounds (id, province_id, year, title, opens_at, closes_at, "
                                        "created_at) VALUES (1, 1, 2023, 'Đợt 2023', :now, '2023-12-01', :now)"),
                                   {"now": now})
                connection.execute(text(
                    "INSERT INTO round_groups (id, round_id, code, label, position, questionnaire_key, "
                    "questionnaire_version, questionnaire_hash) VALUES (7, 1, 'hdnd', 'Đại biểu', 0, 'k', '2023.1', 'h')"))
                connection.execute(text(
                    "INSERT INTO roster_imports (id, round_id, filename, status, created_at, mapping, rows, problems, "
                    "summary, row_count) VALUES (5, 1, 'ds.xlsx', 'applied', :now, '{}', '[]', '[]', '{}', 2)"),
                    {"now": now})
                connection.execute(text(
                    "INSERT INTO respondents (id, round_id, group_id, agency_id, full_name, created_at, import_id) "
                    "VALUES (1, 1, 7, 3, 'Nguyễn Văn An', :now, 5), (2, 1, 7, 3, 'Lò Văn Cường', :now, 5)"),
                    {"now": now})
                people, imports = connection.execute(text(PEOPLE)).all(), connection.execute(text(IMPORTS)).all()

        migrate.upgrade(url, "0014_agency_aliases")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                assert connection.execute(text(PEOPLE)).all() == people
                assert connection.execute(text(IMPORTS)).all() == imports
                assert connection.execute(text("SELECT decisions FROM roster_imports")).scalar() is None
                connection.execute(text("INSERT INTO agency_aliases (province_id, agency_id, name, folded, created_at) "
                                        "VALUES (1, 3, 'HĐND tỉnh', 'hdnd tinh', :now)"), {"now": now})

        migrate.downgrade(url, "0013_sign_in_throttles")
        with engine_at(url) as engine:
            assert "agency_aliases" not in inspect(engine).get_table_names()
            assert "decisions" not in {c["name"] for c in inspect(engine).get_columns("roster_imports")}
            with engine.connect() as connection:
                assert connection.execute(text(PEOPLE)).all() == people
                assert connection.execute(text(IMPORTS)).all() == imports
