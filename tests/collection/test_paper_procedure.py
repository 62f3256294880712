"""Paper forms carry the administrative procedure (mã thủ tục) as a point's responses do."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import func, inspect, select, text

from survey import db, migrate
from survey.collection.models import PaperEntry, PaperForm, Procedure
from survey.rounds.models import Round
from tests.collection.helpers import answer_rows, make_point, stored
from tests.collection.paper_helpers import create_batch, key_form, keyed_form, signed_in
from tests.conftest import csrf_token_in
from tests.databases import engine_at, temporary_database
from tests.test_migrations import seed_one_response


@pytest.fixture
def desk(app, staff, survey_round):
    """A round with a point, two procedures of its province, a supervisor and a second clerk."""
    round_id, point_id, _ = make_point(app, survey_round)
    with app.app_context(), db.unit_of_work() as session:
        province_id = session.get(Round, round_id).province_id
        session.add_all([Procedure(province_id=province_id, code="1.001234.000.00.00.H35",
                                   name="Cấp phiếu lý lịch tư pháp", field="Lý lịch tư pháp"),
                         Procedure(province_id=province_id, code="2.000889", name="Đăng ký khai sinh",
                                   field="Hộ tịch")])
    with app.app_context():
        ids = dict(db.session().execute(select(Procedure.code, Procedure.id)).all())
    supervisor = signed_in(app, staff, "province_admin", "sonoivu@example.vn")
    clerk = signed_in(app, staff, "focal_point", "daumoi@example.vn")
    batch_id = create_batch(app, supervisor, round_id, point_id=point_id)
    return round_id, batch_id, supervisor, clerk, ids


def entries(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(PaperEntry))


def test_the_entry_page_asks_for_the_procedure_and_the_form_stores_it(app, desk):
    round_id, batch_id, supervisor, clerk, ids = desk
    page = supervisor.get(f"/admin/rounds/{round_id}/paper/{batch_id}/entry").text
    assert 'name="procedure"' in page and "Mã thủ tục" in page
    assert '<option value="2.000889">Đăng ký khai sinh</option>' in page  # offered as the clerk types

    assert key_form(supervisor, round_id, batch_id, 1, keyed_form(app), procedure="1.001234.000.00.00.H35"
                    ).status_code == 302
    # The second clerk types the code in lower case: the same procedure, the passes agree.
    assert key_form(clerk, round_id, batch_id, 1, keyed_form(app), procedure=" 1.001234.000.00.00.h35 "
                    ).status_code == 302
    assert stored(app, channel="paper", procedure_id=ids["1.001234.000.00.00.H35"]) == 1

    # A form that names no procedure is stored without one.
    key_form(supervisor, round_id, batch_id, 2, keyed_form(app))
    key_form(clerk, round_id, batch_id, 2, keyed_form(app))
    assert stored(app, channel="paper") == 2 and stored(app, channel="paper", procedure_id=None) == 1


def test_an_unknown_procedure_code_is_refused_in_vietnamese_and_nothing_is_stored(app, desk):
    round_id, batch_id, supervisor, clerk, _ = desk
    reply = key_form(supervisor, round_id, batch_id, 3, keyed_form(app, **{"E1.1": "7"}), procedure="9.999")
    assert reply.status_code == 422
    # Both problems at once, the procedure's and the question's; what was typed stays to be corrected.
    assert "Mã thủ tục “9.999” không có trong danh mục thủ tục hành chính của tỉnh" in reply.text
    assert "Câu E1.1 không có phương án “7”" in reply.text and 'value="9.999"' in reply.text
    alone = key_form(supervisor, round_id, batch_id, 3, keyed_form(app), procedure="9.999")
    assert alone.status_code == 422 and "không có trong danh mục thủ tục" in alone.text
    assert entries(app) == 0 and stored(app) == 0 and answer_rows(app) == 0

    # A code of another province's list is unknown here too.
    with app.app_context(), db.unit_of_work() as session:
        from survey.rounds.services import get_or_create_province

        other = get_or_create_province(session, "YBA", "tỉnh Yên Bái")
        session.add(Procedure(province_id=other.id, code="3.000111", name="Thủ tục của tỉnh khác"))
    elsewhere = key_form(supervisor, round_id, batch_id, 3, keyed_form(app), procedure="3.000111")
    assert elsewhere.status_code == 422 and entries(app) == 0 and stored(app) == 0


def test_passes_naming_different_procedures_wait_for_the_supervisor(app, desk):
    round_id, batch_id, supervisor, clerk, ids = desk
    key_form(supervisor, round_id, batch_id, 4, keyed_form(app), procedure="2.000889")
    reply = key_form(clerk, round_id, batch_id, 4, keyed_form(app), procedure="1.001234.000.00.00.H35")
    assert reply.status_code == 302 and stored(app) == 0
    batch_page = supervisor.get(f"/admin/rounds/{round_id}/paper/{batch_id}").text
    assert "<tr><td>4</td><td>1</td>" in batch_page  # one difference: the procedure

    url = f"/admin/rounds/{round_id}/paper/{batch_id}/forms/4"
    page = supervisor.get(url)
    assert page.status_code == 200 and "ở mã thủ tục" in page.text
    assert "2.000889" in page.text and "1.001234.000.00.00.H35" in page.text and 'name="q_E1.1"' not in page.text
    token = csrf_token_in(page.text)
    for bad, message in (("9.999", "không có trong danh mục thủ tục"), ("", "nhập mã thủ tục đọc trên phiếu")):
        refused = supervisor.post(url, data={"csrf_token": token, "procedure": bad})
        assert refused.status_code == 422 and message in refused.text
    assert stored(app) == 0

    assert supervisor.post(url, data={"csrf_token": token, "procedure": "2.000889"}).status_code == 302
    assert stored(app, channel="paper", procedure_id=ids["2.000889"]) == 1
    with app.app_context():
        form = db.session().scalars(select(PaperForm)).one()
        mismatches = dict(db.session().execute(select(PaperEntry.pass_number, PaperEntry.mismatches)).all())
    assert form.differences == 1 and mismatches == {1: 0, 2: 1}  # the second clerk misread the code


def test_the_supervisor_can_say_the_paper_names_no_procedure(app, desk):
    round_id, batch_id, supervisor, clerk, _ = desk
    key_form(supervisor, round_id, batch_id, 5, keyed_form(app, **{"E1.1": "4"}), procedure="2.000889")
    key_form(clerk, round_id, batch_id, 5, keyed_form(app, **{"E1.1": "5"}))
    url = f"/admin/rounds/{round_id}/paper/{batch_id}/forms/5"
    page = supervisor.get(url)
    assert "ở 1 câu và ở mã thủ tục" in page.text
    reply = supervisor.post(url, data={"csrf_token": csrf_token_in(page.text), "procedure": "-", "q_E1.1": "5"})
    assert reply.status_code == 302
    assert stored(app, channel="paper", procedure_id=None) == 1
    with app.app_context():
        assert db.session().scalars(select(PaperForm.differences)).one() == 2


def pdf_text(reply, tmp_path) -> str:
    assert reply.status_code == 200 and reply.mimetype == "application/pdf"
    path = tmp_path / "form.pdf"
    path.write_bytes(reply.data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_the_printed_citizen_form_carries_the_procedure(app, desk, tmp_path):
    round_id, _, supervisor, _, _ = desk
    base = f"/admin/rounds/{round_id}/paper/print.pdf"
    blank = pdf_text(supervisor.get(f"{base}?from=7&count=1"), tmp_path)
    assert "Thủ tục hành chính Ông/Bà vừa thực hiện" in blank and "Mã thủ tục:" in blank
    printed = pdf_text(supervisor.get(f"{base}?from=8&count=1&procedure=2.000889"), tmp_path)
    assert "Mã thủ tục: 2.000889 — Đăng ký khai sinh" in printed
    leaders = pdf_text(supervisor.get(f"{base}?q=par-hdnd-delegates@2023.1&procedure=2.000889"), tmp_path)
    assert "Mã thủ tục" not in leaders  # officials' forms name no procedure
    unknown = supervisor.get(f"{base}?procedure=9.999")
    assert unknown.status_code == 422
    assert "Mã thủ tục “9.999” không có trong danh mục thủ tục hành chính của tỉnh; phiếu chưa được in." in unknown.text


def test_0020_adds_the_keyed_procedure_and_keeps_every_pass(backend, tmp_path):
    passes = "SELECT id, batch_id, form_number, pass_number, clerk_id, answers, seconds, mismatches FROM paper_entries"
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, "0020_points_upload")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                seed_one_response(connection, answers=2)
                connection.execute(text(
                    "INSERT INTO users (id, email, full_name, password_hash, role, province_id, is_active, "
                    "session_version, created_at) VALUES (1, 'a@x.vn', 'A', 'h', 'province_admin', 1, TRUE, 1, "
                    "'2023-01-01')"))
                connection.execute(text(
                    "INSERT INTO paper_batches (id, round_id, group_id, collected_on, team, created_at) VALUES "
                    "(1, 1, 7, '2023-11-20', '', '2023-11-20 08:00:00')"))
                connection.execute(text(
                    "INSERT INTO paper_entries (batch_id, form_number, pass_number, clerk_id, answers, seconds, "
                    "entered_at) VALUES (1, 12, 1, 1, '{\"E1.1\": [\"4\"]}', 30, '2023-11-20 09:00:00')"))
                before = connection.execute(text(passes)).all()

        migrate.upgrade(url, "0021_paper_procedure")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert connection.execute(text(passes)).all() == before
                assert connection.execute(text("SELECT procedure_id FROM paper_entries")).all() == [(None,)]

        migrate.downgrade(url, "0020_points_upload")
        with engine_at(url) as engine:
            with engine.connect() as connection:
                assert connection.execute(text(passes)).all() == before
            assert "procedure_id" not in {c["name"] for c in inspect(engine).get_columns("paper_entries")}
