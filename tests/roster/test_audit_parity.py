"""One action, two ways in: the web page and the CLI record the same audit entry."""

from __future__ import annotations

import io

from sqlalchemy import select

from survey import db
from survey.accounts.models import AuditEvent
from survey.demo.data import AGENCIES_FILE
from tests.conftest import csrf_token_in


def entries(app, action: str) -> list[tuple]:
    with app.app_context():
        return [(e.action, e.target, e.round_id, e.province_id, e.details)
                for e in db.session().scalars(select(AuditEvent).where(AuditEvent.action == action)
                                              .order_by(AuditEvent.id))]


def test_an_export_from_the_page_and_from_the_cli_is_audited_alike(app, client, login, roster_round, tmp_path):
    round_id = roster_round()
    login("province_admin")
    assert client.get(f"/admin/rounds/{round_id}/export.csv").status_code == 200
    result = app.test_cli_runner().invoke(args=["roster", "export", "--round", str(round_id),
                                                "--out", str(tmp_path / "ds.csv")])
    assert result.exit_code == 0, result.output
    web, cli = entries(app, "roster.export")
    assert web == cli
    assert web[4] == {"format": "csv", "rows": 0}


def test_an_agency_file_from_the_page_and_from_the_cli_is_audited_alike(app, client, login, roster_round, tmp_path):
    roster_round()  # imports the demo agencies: the same file again changes nothing either way
    login("province_admin")
    content = AGENCIES_FILE.read_bytes()
    page = client.get("/admin/agencies")
    reply = client.post("/admin/agencies", data={"csrf_token": csrf_token_in(page.text),
                                                 "file": (io.BytesIO(content), "co-quan.csv")})
    assert reply.status_code == 303, reply.text
    path = tmp_path / "co-quan.csv"
    path.write_bytes(content)
    result = app.test_cli_runner().invoke(args=["rounds", "import-agencies", str(path), "--province", "LCI"])
    assert result.exit_code == 0, result.output
    *_fixture, web, cli = entries(app, "agency.import")
    assert web == cli
    assert web[1] == "tỉnh Lào Cai" and web[4] == {"added": 0, "updated": 0, "file": "co-quan.csv"}
