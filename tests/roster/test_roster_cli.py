"""`survey roster import/export`, `survey rounds import-agencies`, the demo agencies, and the 0003 data migration."""

from __future__ import annotations

from datetime import UTC, date, datetime

import openpyxl
from sqlalchemy import select, text

from survey import db, migrate
from survey.accounts.models import AuditEvent
from survey.rounds.models import Agency
from survey.roster.models import Respondent
from tests.databases import engine_at, temporary_database
from tests.roster.files import HEADER, xlsx

ROWS = [HEADER,
        [1, "Nguyễn Văn An", "Giám đốc Sở", "Sở Nội vụ", "", "an@laocai.gov.vn", "0912345678"],
        [2, "Vàng Thị Mai", "Trưởng phòng", "Sở Tài chính", "", "", "0912000222"]]


def test_import_previews_refuses_problems_then_applies_and_export_writes_the_ministry_file(app, roster_round, tmp_path):
    round_id = roster_round()
    runner = app.test_cli_runner()
    bad = tmp_path / "loi.xlsx"
    bad.write_bytes(xlsx([*ROWS, [3, "Lý <i>Sen</i>", "Giám đốc Sở", "Sở Y tế", "", "", ""]]))
    result = runner.invoke(args=["roster", "import", str(bad), "--round", str(round_id), "--yes"])
    assert result.exit_code == 1
    assert "dòng 4, Họ và tên (B): Họ và tên chứa ký tự không hợp lệ: / < >\n" in result.output
    assert "không có gì được ghi" in result.output

    good = tmp_path / "ds.xlsx"
    good.write_bytes(xlsx(ROWS))
    result = runner.invoke(args=["roster", "import", str(good), "--round", str(round_id), "--yes"])
    assert result.exit_code == 0, result.output
    assert "thêm 2, cập nhật 0, không đổi 0, lỗi 0, trùng 0" in result.output
    again = runner.invoke(args=["roster", "import", str(good), "--round", str(round_id), "--yes"])
    assert "thêm 0, cập nhật 0, không đổi 2" in again.output
    with app.app_context():
        assert len(db.session().scalars(select(Respondent)).all()) == 2

    out = tmp_path / "gui-bo.xlsx"
    result = runner.invoke(args=["roster", "export", "--round", str(round_id), "--out", str(out)])
    assert result.exit_code == 0 and "Đã xuất 2 người" in result.output
    workbook = openpyxl.load_workbook(out, read_only=True)
    rows = [r for name in workbook.sheetnames for r in workbook[name].iter_rows(min_row=5, values_only=True)]
    assert sorted(r[1] for r in rows) == ["Nguyễn Văn An", "Vàng Thị Mai"]
    with app.app_context():
        # The refused file wrote nothing, not even its audit entry.
        assert [a for a in db.session().scalars(select(AuditEvent.action)) if a.startswith("roster.")] == \
            ["roster.upload", "roster.import", "roster.upload", "roster.import", "roster.export"]


def test_focal_point_style_import_with_agency_and_the_agency_import(app, roster_round, tmp_path):
    round_id = roster_round()
    runner = app.test_cli_runner()
    path = tmp_path / "ds.csv"
    path.write_text("Họ và tên,Chức vụ\nPhạm Minh Đức,Giám đốc Sở\n", encoding="utf-8")
    result = runner.invoke(args=["roster", "import", str(path), "--round", str(round_id), "--agency", "STP", "--yes"])
    assert result.exit_code == 0, result.output
    agencies = tmp_path / "agencies.csv"
    agencies.write_text("Mã,Tên,Loại\nSTP,Sở Tư pháp tỉnh Lào Cai,department\nXA1,UBND xã Bản Vược,commune\n", encoding="utf-8")
    result = runner.invoke(args=["rounds", "import-agencies", str(agencies), "--province", "LCI"])
    assert result.exit_code == 0 and "Đã thêm 1 và cập nhật 1" in result.output
    with app.app_context():
        session = db.session()
        (person,) = session.scalars(select(Respondent)).all()
        assert person.agency.code == "STP" and person.agency.name == "Sở Tư pháp tỉnh Lào Cai"
        assert session.scalar(select(Agency.kind).where(Agency.code == "XA1")) == "commune"


def test_the_demo_ships_lao_cai_2023_agencies_and_gives_respondents_contacts(app):
    app.config["ENV_MODE"] = "development"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        session = db.session()
        kinds = {}
        for agency in session.scalars(select(Agency)):
            kinds.setdefault(agency.kind, []).append(agency.name)
        assert sorted(kinds["district"]) == sorted([
            "UBND thành phố Lào Cai", "UBND thị xã Sa Pa", "UBND huyện Bát Xát", "UBND huyện Mường Khương",
            "UBND huyện Si Ma Cai", "UBND huyện Bắc Hà", "UBND huyện Bảo Thắng", "UBND huyện Bảo Yên",
            "UBND huyện Văn Bàn"])
        assert kinds["council"] == ["Văn phòng Đoàn ĐBQH và HĐND tỉnh"]
        people = session.scalars(select(Respondent).order_by(Respondent.id)).all()
        assert (people[0].full_name, people[0].email, people[0].phone) == \
            ("Nguyễn Văn An", "nguyen.van.an@demo.example.vn", "0912000001")
        assert len({p.email_normalised for p in people}) == len(people)


def test_migration_0003_backfills_existing_rounds_and_keeps_every_respondent(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0002_accounts")
        with engine_at(url) as engine:
            with engine.begin() as c:
                c.execute(text("INSERT INTO provinces (id, code, name) VALUES (1, 'LCI', 'Lào Cai')"))
                c.execute(text("INSERT INTO rounds (id, province_id, year, title, opens_at, closes_at, created_at) "
                               "VALUES (1, 1, 2024, 'Đợt cũ', :o, :c, :o)"),
                          {"o": datetime(2024, 12, 1, tzinfo=UTC), "c": datetime(2024, 12, 30, tzinfo=UTC)})
                c.execute(text("INSERT INTO round_groups (id, round_id, code, label, position, questionnaire_key, "
                               "questionnaire_version, questionnaire_hash) VALUES (1, 1, 'hdnd', 'HĐND', 0, 'k', 'v', 'h')"))
                for i, email in enumerate(["An@X.vn", "an@x.vn", None], start=1):
                    c.execute(text("INSERT INTO respondents (id, round_id, group_id, full_name, email, created_at) "
                                   "VALUES (:i, 1, 1, :n, :e, :t)"),
                              {"i": i, "n": f"Người {i}", "e": email, "t": datetime(2024, 11, 1, tzinfo=UTC)})
        migrate.upgrade(url, "0003_roster")
        with engine_at(url) as engine:
            with engine.connect() as c:
                assert c.execute(text("SELECT id, email, email_normalised FROM respondents ORDER BY id")).all() == [
                    (1, "An@X.vn", "an@x.vn"), (2, "an@x.vn", None), (3, None, None)]
                assert c.execute(text("SELECT ministry_deadline FROM rounds")).scalar() in (date(2024, 12, 10), "2024-12-10")
                assert [tuple(r) for r in c.execute(text("SELECT position, due_on FROM round_milestones ORDER BY position"))] \
                    in ([(0, date(2024, 12, 10)), (1, date(2024, 12, 25)), (2, date(2025, 1, 5)), (3, date(2025, 1, 15)),
                         (4, date(2025, 1, 20))],
                        [(0, "2024-12-10"), (1, "2024-12-25"), (2, "2025-01-05"), (3, "2025-01-15"), (4, "2025-01-20")])
        migrate.downgrade(url, "0002_accounts")
