"""0020: the retired points upload's rows become each round's appraised version, both ways, on both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from survey import migrate
from tests.databases import engine_at, temporary_database

STRUCTURE = ("par-province", "2023.1")
UPLOAD = ("INSERT INTO self_assessments (round_id, subcriterion, points, structure_key, structure_version, "
          "source_filename, imported_at) VALUES (:round, :code, :points, 'par-province', '2023.1', :file, "
          "'2024-01-14 09:30:00')")
CYCLE = ("INSERT INTO assessment_cycles (id, round_id, structure_key, structure_version, structure_hash, rules_hash, "
         "due_on, created_at) VALUES (:id, :round, 'par-province', '2023.1', 'h', 'r', '2024-01-05', "
         "'2023-12-01 00:00:00')")
OLD_ROWS = "SELECT round_id, subcriterion, points, source_filename FROM self_assessments ORDER BY round_id, subcriterion"


def _seed(connection) -> None:
    """Round 1: points, no cycle. Round 2: points and a cycle whose council closed its own version.
    Round 3: points and a cycle started on the platform (one assignment, one entry), not closed."""
    connection.execute(text("INSERT INTO provinces (id, code, name) VALUES (1, 'LCI', 'tỉnh Lào Cai')"))
    connection.execute(text("INSERT INTO agencies (id, province_id, code, name, kind) "
                            "VALUES (5, 1, 'SNV', 'Sở Nội vụ', 'department')"))
    for round_id, year in ((1, 2023), (2, 2022), (3, 2021)):
        connection.execute(text(
            "INSERT INTO rounds (id, province_id, year, title, opens_at, closes_at, created_at) VALUES "
            "(:id, 1, :year, :title, '2023-11-01 08:00:00', '2023-12-01 17:00:00', '2023-11-01 08:00:00')"),
            {"id": round_id, "year": year, "title": f"Đợt {year}"})
    connection.execute(text(UPLOAD), [
        {"round": 1, "code": "1.1.1", "points": 0.5, "file": "diem-2023.xlsx"},
        {"round": 1, "code": "1.1.2", "points": 0.75, "file": "diem-2023.xlsx"},
        {"round": 2, "code": "1.1.1", "points": 0.25, "file": "diem-2022.csv"},
        {"round": 3, "code": "1.1.1", "points": 0.4, "file": "diem-2021.csv"},
    ])
    connection.execute(text(CYCLE), [{"id": 20, "round": 2}, {"id": 30, "round": 3}])
    connection.execute(text(
        "INSERT INTO assessment_frozen_versions (cycle_id, name, frozen_at, frozen_by, rows) VALUES "
        "(20, 'Hội đồng chốt 2022', '2023-01-15 10:00:00', 'chair@x.vn', '[]')"))
    connection.execute(text("INSERT INTO assessment_assignments (cycle_id, subcriterion, agency_id) "
                            "VALUES (30, '1.1.1', 5)"))
    connection.execute(text("INSERT INTO assessment_entries (cycle_id, subcriterion, points, explanation, updated_at) "
                            "VALUES (30, '1.1.1', 0.5, '', '2021-12-20 00:00:00')"))


def _versions(connection) -> dict:
    rows = connection.execute(text(
        "SELECT c.round_id, v.name, v.frozen_by, v.rows, v.origin_note FROM assessment_frozen_versions v "
        "JOIN assessment_cycles c ON c.id = v.cycle_id ORDER BY c.round_id")).all()
    return {r[0]: {"name": r[1], "by": r[2], "rows": r[3] if isinstance(r[3], list) else json.loads(r[3]),
                   "note": r[4]} for r in rows}


def test_0020_moves_uploaded_points_into_the_cycle_and_back(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0018_assessment_results")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                _seed(connection)
                before = connection.execute(text(OLD_ROWS)).all()

        migrate.upgrade(url, "0020_points_upload")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert connection.execute(text(OLD_ROWS)).all() == before  # the old table is kept as it was
                versions = _versions(connection)
                cycle = connection.execute(text(
                    "SELECT structure_key, structure_version, structure_hash, due_on FROM assessment_cycles "
                    "WHERE round_id = 1")).one()
        # Round 1 got a cycle pinned like start_cycle pins one (the structure file's own content hash),
        # due on the default plan's 5 January of the next year.
        from questionnaires import DEFAULT_ROOT, load_catalog
        structure = load_catalog(DEFAULT_ROOT).structure(*STRUCTURE)
        assert tuple(cycle[:3]) == (*STRUCTURE, structure.content_hash)
        assert str(cycle[3]) == "2024-01-05"
        one = versions[1]
        assert one["name"] == "Điểm đã thẩm định nhập từ tệp diem-2023.xlsx"
        assert "diem-2023.xlsx" in one["note"] and "14/01/2024" in one["note"] and "2 tiêu chí" in one["note"]
        by_code = {r["code"]: r for r in one["rows"]}
        assert len(by_code) == 88
        assert (by_code["1.1.1"]["appraised"], by_code["1.1.1"]["self_points"]) == (0.5, 0.5)
        assert by_code["1.1.2"]["appraised"] == 0.75 and by_code["1.1.2"]["max_points"] == 1.0
        assert by_code["1.2.1"]["appraised"] is None and by_code["1.5.1"]["survey_scored"] is True
        # Round 2's council version stands untouched; its upload stays in self_assessments only.
        assert versions[2] == {"name": "Hội đồng chốt 2022", "by": "chair@x.vn", "rows": [], "note": None}
        # Round 3's existing cycle got the version, with its entry as the self-assessed points and its agency.
        three = {r["code"]: r for r in versions[3]["rows"]}
        assert (three["1.1.1"]["self_points"], three["1.1.1"]["appraised"], three["1.1.1"]["agency"]) == (
            0.5, 0.4, "Sở Nội vụ")

        migrate.downgrade(url, "0018_assessment_results")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert connection.execute(text(OLD_ROWS)).all() == before
                assert connection.execute(text(
                    "SELECT round_id FROM assessment_cycles ORDER BY round_id")).scalars().all() == [2, 3]
                assert connection.execute(text(
                    "SELECT cycle_id, name FROM assessment_frozen_versions")).all() == [(20, "Hội đồng chốt 2022")]


def test_0020_downgrade_refuses_to_drop_the_ministry_results_imported_since(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0018_assessment_results")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                _seed(connection)
        migrate.upgrade(url, "0020_points_upload")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                cycle = connection.execute(text("SELECT id FROM assessment_cycles WHERE round_id = 1")).scalar()
                connection.execute(text(
                    "INSERT INTO assessment_official_results (cycle_id, subcriterion, points, source_filename, "
                    "imported_at, imported_by) VALUES (:cycle, '1.1.1', 0.25, 'bo.xlsx', '2024-06-01', 'a@x.vn')"),
                    {"cycle": cycle})
        with pytest.raises(RuntimeError, match=r"rounds \[1\]"):
            migrate.downgrade(url, "0018_assessment_results")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM assessment_official_results")).scalar() == 1
