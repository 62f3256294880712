"""Frozen results: a round's official computation kept byte for byte, compared, never replaced."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from analysis.options import AnalysisOptions
from survey import db, migrate
from survey.accounts.models import AuditEvent
from survey.questionnaire_registry import catalog
from survey.reports import freezing
from survey.reports.models import FrozenFile, FrozenResult
from survey.rounds.models import Round
from tests.conftest import csrf_token_in
from tests.databases import engine_at, temporary_database
from tests.reports.conftest import insert_responses

NAME = "Kết quả gửi Hội đồng thẩm định 12/2026"
KINDS = ["xlsx", "csv", "sav", "pdf"]
# One more HĐND delegate answering A (5 points): 1.5.1 by HĐND goes from 14 / 5 / 5 = 0.56 to 19 / 6 / 5 = 0.633333.
ONE_MORE = {"hdnd": [{"Q1.01": ["A"]}]}


def _audit(app, action):
    with app.app_context(), db.unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def _frozen(app):
    with app.app_context(), db.unit_of_work(write=False) as session:
        return [(f.id, f.name, f.figures, f.figures_sha256, f.content_sha256,
                 {file.kind: (file.sha256, session.scalar(select(FrozenFile.content).where(FrozenFile.id == file.id)))
                  for file in f.files})
                for f in session.scalars(select(FrozenResult).order_by(FrozenResult.id))]


def _freeze_by_service(app, round_id, name=NAME):
    with app.app_context(), db.unit_of_work() as session:
        return freezing.freeze(session, session.get(Round, round_id), catalog(), AnalysisOptions(min_cell=2), name,
                               reliability=False).id


def _freeze_on_the_page(client, round_id, name=NAME, query="?min_cell=2"):
    page = client.get(f"/admin/rounds/{round_id}/analysis/frozen{query}")
    assert page.status_code == 200
    return client.post(f"/admin/rounds/{round_id}/analysis/frozen",
                       data={"csrf_token": csrf_token_in(page.text), "name": name, "dont_know": "exclude",
                             "pooling": "equal", "weighting": "none", "min_cell": "2"})


def test_freeze_keeps_figures_and_files_which_download_byte_for_byte(app, client, answered_round, login):
    round_id = answered_round()
    login("province_admin")
    reply = _freeze_on_the_page(client, round_id)
    assert reply.status_code == 302, reply.text
    [(frozen_id, name, figures, figures_sha256, content_sha256, files)] = _frozen(app)
    assert name == NAME and sorted(files) == sorted(KINDS)

    # The figures are the CLI's JSON for the same options, and hash to what was recorded.
    stored = json.loads(figures)
    assert stored["options"]["min_cell"] == 2 and stored["responses"]["hdnd"] == 6
    assert stored["provenance"]["structure"]["key"] == "par-province"
    pooled = [r for r in stored["subcriterion_points"] if r["subcriterion"] == "1.5.1" and r["is_pooled"]][0]
    assert pooled["score"] == pytest.approx((0.56 + 0.8 + 0.5) / 3)
    assert stored["reliability"] is not None
    assert hashlib.sha256(figures.encode()).hexdigest() == figures_sha256
    manifest = {"figures_sha256": figures_sha256, "reliability": True,
                "files": {k: {"filename": f"dot-{round_id}-{n}", "sha256": files[k][0]} for k, n in
                          zip(KINDS, ["ket-qua.xlsx", "ket-qua-csv.zip", "phieu-an-danh.sav", "bao-cao.pdf"])}}
    canonical = json.dumps(manifest, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(canonical.encode()).hexdigest() == content_sha256

    detail = client.get(f"/admin/rounds/{round_id}/analysis/frozen/{frozen_id}")
    assert detail.status_code == 200 and content_sha256 in detail.text and 'id="unchanged"' in detail.text
    for kind in KINDS:
        got = client.get(f"/admin/rounds/{round_id}/analysis/frozen/{frozen_id}/{kind}")
        assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
        assert got.data == files[kind][1]
        assert hashlib.sha256(got.data).hexdigest() == files[kind][0]
    # A new export of today is a new file (the PDF carries its issue date); the frozen one stays.
    assert client.get(f"/admin/rounds/{round_id}/analysis/frozen/{frozen_id}/docx").status_code == 404

    assert _audit(app, "reports.freeze") == 1 and _audit(app, "reports.frozen_download") == 4
    assert _audit(app, "reports.export_pdf") == 0  # the freeze is one audited action, not four exports


def test_same_name_is_refused_and_nothing_is_written(app, client, answered_round, login):
    round_id = answered_round()
    login("province_admin")
    assert _freeze_on_the_page(client, round_id).status_code == 302
    again = _freeze_on_the_page(client, round_id, name=f"  {NAME} ")
    assert again.status_code == 422 and "đã có kết quả chính thức tên" in again.text
    empty = _freeze_on_the_page(client, round_id, name="   ")
    assert empty.status_code == 422 and "Vui lòng đặt tên" in empty.text
    assert len(_frozen(app)) == 1 and _audit(app, "reports.freeze") == 1
    # Another name freezes alongside; both stay listed.
    assert _freeze_on_the_page(client, round_id, name="Kết quả gửi Bộ Nội vụ").status_code == 302
    listing = client.get(f"/admin/rounds/{round_id}/analysis/frozen")
    assert NAME in listing.text and "Kết quả gửi Bộ Nội vụ" in listing.text


def test_the_database_refuses_a_second_freeze_of_the_same_name(app, answered_round):
    round_id = answered_round()
    _freeze_by_service(app, round_id)
    with pytest.raises(IntegrityError), app.app_context(), db.unit_of_work() as session:
        session.add(FrozenResult(round_id=round_id, name=NAME, options={}, reliability=False, provenance={},
                                 figures="{}", figures_sha256="0" * 64, content_sha256="0" * 64, frozen_by="x"))
        session.flush()


def test_analysts_read_but_cannot_freeze_and_nothing_edits_or_deletes(app, client, answered_round, login):
    round_id = answered_round()
    frozen_id = _freeze_by_service(app, round_id)
    login("analyst")
    listing = client.get(f"/admin/rounds/{round_id}/analysis/frozen")
    assert listing.status_code == 200 and NAME in listing.text and "Khóa kết quả" not in listing.text
    refused = client.post(f"/admin/rounds/{round_id}/analysis/frozen",
                          data={"csrf_token": csrf_token_in(listing.text), "name": "Khác", "min_cell": "2"})
    assert refused.status_code == 403
    assert client.get(f"/admin/rounds/{round_id}/analysis/frozen/{frozen_id}/pdf").status_code == 200
    url = f"/admin/rounds/{round_id}/analysis/frozen/{frozen_id}"
    for method in (client.post, client.put, client.delete, client.patch):
        assert method(url, data={"csrf_token": csrf_token_in(listing.text), "name": "Sửa"}).status_code == 405
    assert len(_frozen(app)) == 1 and _frozen(app)[0][1] == NAME
    assert _audit(app, "reports.frozen_download") == 1


def test_another_province_neither_sees_nor_downloads_it(app, client, answered_round, login):
    round_id = answered_round()
    url = f"/admin/rounds/{round_id}/analysis/frozen/{_freeze_by_service(app, round_id)}"
    login("province_admin", province_code="YBI")
    assert client.get(url).status_code == 404 and client.get(f"{url}/pdf").status_code == 404
    assert client.get(f"/admin/rounds/{round_id}/analysis/frozen").status_code == 404


def test_a_recomputation_that_differs_is_flagged_old_to_new_and_the_frozen_result_stays(app, client, answered_round,
                                                                                         login):
    round_id = answered_round()
    login("province_admin")
    _freeze_on_the_page(client, round_id)
    [(frozen_id, _, figures, _, content_sha256, files)] = _frozen(app)
    same = client.get(f"/admin/rounds/{round_id}/analysis?min_cell=2")
    assert NAME in same.text and "Trùng khớp với kết quả tính ở trang này" in same.text
    other = client.get(f"/admin/rounds/{round_id}/analysis?min_cell=3")
    assert "Khóa với tùy chọn khác với trang này" in other.text

    with app.app_context(), db.unit_of_work() as session:
        insert_responses(session, session.get(Round, round_id), ONE_MORE)
    summary = client.get(f"/admin/rounds/{round_id}/analysis?min_cell=2")
    assert summary.status_code == 200 and "số liệu thay đổi" in summary.text
    assert "Trùng khớp" not in summary.text
    detail = client.get(f"/admin/rounds/{round_id}/analysis/frozen/{frozen_id}")
    assert "<code>responses.hdnd</code></td><td>6</td><td>7</td>" in detail.text
    row = "subcriterion_points[field=1, criterion=1.5, subcriterion=1.5.1, group=hdnd, is_pooled=False].score"
    assert f"<code>{row}</code></td><td>0.56</td><td>0.633333</td>" in detail.text
    # The frozen result is the same as before, files and all.
    [(_, _, figures_after, _, content_after, files_after)] = _frozen(app)
    assert (figures_after, content_after, files_after) == (figures, content_sha256, files)


def test_differences_name_rows_by_their_keys_and_ignore_the_round_title():
    old = {"provenance": {"round_title": "Đợt 1", "structure": {"content_hash": "a"}},
           "rows": [{"group": "hdnd", "score": 0.56, "n": 6}, {"group": "citizen", "score": None, "n": 2}],
           "sipas": {"sipas_interval": [10.0, 20.0]}, "x": float("nan")}
    new = {"provenance": {"round_title": "Đợt 1 (đổi tên)", "structure": {"content_hash": "b"}},
           "rows": [{"group": "citizen", "score": None, "n": 2}, {"group": "hdnd", "score": 0.6, "n": 7},
                    {"group": "division", "score": 0.5, "n": 5}],
           "sipas": {"sipas_interval": [10.0, 20.0 + 1e-15]}, "x": float("nan")}
    changes = [(c.path, c.old, c.new) for c in freezing.differences(old, new)]
    assert changes == [
        ("provenance.structure.content_hash", "a", "b"),
        ("rows[group=hdnd].score", 0.56, 0.6),
        ("rows[group=hdnd].n", 6, 7),
        ("rows[group=division].score", None, 0.5),
        ("rows[group=division].n", None, 5),
    ]


def test_cli_freezes_through_the_same_service_and_refuses_the_same_name(app, answered_round):
    round_id = answered_round()
    runner = app.test_cli_runner()
    args = ["analysis", "freeze", "--round", str(round_id), "--min-cell", "2", "--name", NAME]
    reply = runner.invoke(args=args)
    assert reply.exit_code == 0, reply.output
    [(_, name, figures, _, content_sha256, files)] = _frozen(app)
    assert name == NAME and content_sha256 in reply.stdout and "ghi báo cáo PDF" in reply.stderr
    # The stored figures are the `compute --json` output, in canonical spelling, less the SIPAS
    # breakdown, which a freeze keeps in its files (workbook, CSV, PDF).
    printed = json.loads(runner.invoke(
        args=["analysis", "compute", "--round", str(round_id), "--min-cell", "2", "--json"]).stdout)
    assert "sipas_breakdown" in printed
    printed.pop("sipas_breakdown")
    assert freezing.canonical_json(printed) == figures
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "đã có kết quả chính thức tên" in again.stderr
    assert len(_frozen(app)) == 1 and _audit(app, "reports.freeze") == 1
    with app.app_context(), db.unit_of_work(write=False) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reports.freeze")).one()
        assert event.actor == "hệ thống" and event.details["content_sha256"] == content_sha256
        assert event.details["files"] == {k: v[0] for k, v in files.items()}


def test_0016_adds_the_frozen_tables_and_drops_them_keeping_the_rest(backend, tmp_path):
    previous = "0015_agency_digests"
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, previous)
        with engine_at(url) as engine, engine.begin() as connection:
            connection.execute(text("INSERT INTO provinces (id, code, name) VALUES (1, 'LCI', 'Lào Cai')"))
            connection.execute(text(
                "INSERT INTO rounds (id, province_id, year, title, opens_at, closes_at, created_at) "
                "VALUES (1, 1, 2023, 'Đợt 2023', '2023-11-01 08:00:00', '2023-12-01 17:00:00', '2023-11-01 08:00:00')"))
        migrate.upgrade(url, "0016_frozen_results")
        frozen = ("INSERT INTO frozen_results (id, round_id, name, options, reliability, provenance, figures, "
                  "figures_sha256, content_sha256, frozen_at, frozen_by) VALUES ({id}, 1, '{name}', '{{}}', "
                  "true, '{{}}', '{{}}', 'a', 'b', '2026-12-01 08:00:00', 'x')")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                connection.execute(text(frozen.format(id=1, name=NAME)))
                connection.execute(text("INSERT INTO frozen_result_files (frozen_result_id, kind, filename, mimetype, "
                                        "size, sha256, content) VALUES (1, 'pdf', 'a.pdf', 'application/pdf', 3, 'c', "
                                        ":content)"), {"content": b"\x00\xffP"})
                assert connection.execute(text("SELECT content FROM frozen_result_files")).scalar() == b"\x00\xffP"
            for duplicate in (frozen.format(id=2, name=NAME), frozen.format(id=3, name="")):
                with engine.connect() as connection, pytest.raises(IntegrityError):
                    connection.execute(text(duplicate))
        migrate.downgrade(url, previous)
        with engine_at(url) as engine, engine.connect() as connection:
            assert connection.execute(text("SELECT title FROM rounds")).scalar() == "Đợt 2023"
            tables = set(engine.dialect.get_table_names(connection))
            assert not tables & {"frozen_results", "frozen_result_files"}
