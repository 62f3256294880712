"""Issue 3 benchmark: importing a 50,000-row roster .xlsx.

Beside the time openpyxl alone takes to read the same file (read-only, values only, the way the
import reads it), measures the time from file bytes to a stored preview (parse, validate, find
duplicates, plan against the roster, store the batch) and the time to confirm it, on SQLite and
PostgreSQL. Target: preview within 2x the raw read.
"""

from __future__ import annotations

import io
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import openpyxl
from sqlalchemy import func, select

from survey import create_app, db, migrate
from survey.demo.data import AGENCIES_FILE
from survey.questionnaire_registry import catalog
from survey.rounds.agencies import agency_rows_from_file, import_agencies
from survey.rounds.services import GroupBinding, create_round, get_or_create_province
from survey.roster import imports
from survey.roster.models import Respondent
from survey.timeutil import utcnow
from tests.databases import temporary_database

ROWS = 50_000
HEADER = ["STT", "Họ và tên", "Chức vụ", "Cơ quan/đơn vị", "Nhóm đối tượng", "Email", "Số điện thoại"]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ", "Lò", "Giàng", "Sần"]
MIDDLE = ["Văn", "Thị", "Minh", "Thu", "Quốc", "A"]
GIVEN = ["An", "Bình", "Cường", "Dung", "Hạnh", "Khánh", "Lan", "Mai", "Nam", "Oanh", "Phúc", "Quỳnh"]
POSITIONS = [("Giám đốc Sở", "Lãnh đạo sở, ban, ngành"), ("Trưởng phòng", "Lãnh đạo cấp phòng thuộc sở, ban, ngành"),
             ("Đại biểu HĐND tỉnh", "Đại biểu HĐND tỉnh"), ("Phó Chủ tịch UBND huyện", "Lãnh đạo UBND cấp huyện")]


def build_workbook(agencies: list[str]) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Danh sách")
    sheet.append(["DANH SÁCH ĐỐI TƯỢNG KHẢO SÁT (dữ liệu đo hiệu năng)"])
    sheet.append([])
    sheet.append(HEADER)
    for i in range(ROWS):
        name = f"{SURNAMES[i % 10]} {MIDDLE[(i // 10) % 6]} {GIVEN[(i // 60) % 12]} {chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}"
        position, group = POSITIONS[i % 4]
        sheet.append([i + 1, name.replace("AA", "Anh"), position, agencies[i % len(agencies)], group,
                      f"nguoi{i}@laocai.gov.vn", f"09{i:08d}"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def raw_read(data: bytes) -> float:
    started = time.perf_counter()
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    assert rows == ROWS + 3
    return time.perf_counter() - started


def run(backend: str, data_for) -> None:
    with tempfile.TemporaryDirectory() as tmp, temporary_database(backend, Path(tmp)) as url:
        migrate.upgrade(url)
        app = create_app({"SECRET_KEY": "bench-secret-key-0123456789abcdef0123", "DATABASE_URL": url,
                          "BASE_URL": "http://127.0.0.1", "ENV_MODE": "production"})
        with app.app_context():
            with db.unit_of_work() as session:
                province = get_or_create_province(session, "LCI", "tỉnh Lào Cai")
                rows = agency_rows_from_file(AGENCIES_FILE.read_bytes(), "agencies.csv")
                import_agencies(session, province, rows)
                now = utcnow()
                round_ = create_round(session, catalog(), province=province, year=2023, title="Đo hiệu năng",
                                      opens_at=now + timedelta(days=5), closes_at=now + timedelta(days=30),
                                      bindings=[GroupBinding(k, "2023.1") for k in (
                                          "par-hdnd-delegates", "par-department-leaders", "par-division-leaders",
                                          "par-district-leaders")])
                round_id = round_.id
            data = data_for([r["name"] for r in rows])
            raw = raw_read(data)
            with db.unit_of_work() as session:
                round_ = session.get(type(round_), round_id)
                started = time.perf_counter()
                imp = imports.start_import(session, round_, filename="bench.xlsx", content=data, user=None)
                preview = time.perf_counter() - started
                assert imp.summary["add"] == ROWS and not imp.problems, imp.problems[:3]
                import_id = imp.id
            with db.unit_of_work() as session:
                started = time.perf_counter()
                imports.confirm_import(session, session.get(type(imp), import_id))
                session.flush()
            confirm = time.perf_counter() - started  # includes the commit
            with db.unit_of_work() as session:
                assert session.scalar(select(func.count()).select_from(Respondent)) == ROWS
                started = time.perf_counter()
                again = imports.start_import(session, session.get(type(round_), round_id), filename="bench.xlsx",
                                              content=data, user=None)
                reimport = time.perf_counter() - started
                assert again.summary["unchanged"] == ROWS
        db.dispose(app)
        print(f"{backend:10}  {len(data) / 1e6:5.1f} MB  openpyxl read {raw:6.2f} s  preview {preview:6.2f} s "
              f"(ratio {preview / raw:4.2f}x)  confirm {confirm:6.2f} s  re-import preview {reimport:6.2f} s "
              f"(ratio {reimport / raw:4.2f}x)", flush=True)


def main() -> None:
    cache: dict[str, bytes] = {}

    def data_for(agencies: list[str]) -> bytes:
        if "x" not in cache:
            cache["x"] = build_workbook(agencies)
        return cache["x"]

    print(f"{ROWS} rows x {len(HEADER)} columns, with a title row above the header")
    for backend in ("sqlite", "postgresql"):
        run(backend, data_for)
