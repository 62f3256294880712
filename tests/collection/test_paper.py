"""Paper forms: printed, keyed twice by two clerks, differences resolved, stored once through store_response."""

from __future__ import annotations

import re
import subprocess

import pytest
from sqlalchemy import func, select

from survey import db
from survey.accounts.models import AuditEvent
from survey.collection import paper
from survey.collection.models import PaperEntry, PaperForm
from survey.respond.models import Answer, Response
from tests.collection.helpers import answer_rows, make_point, stored
from tests.collection.paper_helpers import batch_of, create_batch, key_form, keyed_form, signed_in
from tests.conftest import csrf_token_in


@pytest.fixture
def desk(app, staff, survey_round):
    """A round with a point, its supervisor (province administrator) and a second clerk (focal point)."""
    round_id, point_id, _ = make_point(app, survey_round)
    supervisor = signed_in(app, staff, "province_admin", "sonoivu@example.vn")
    clerk = signed_in(app, staff, "focal_point", "daumoi@example.vn")
    batch_id = create_batch(app, supervisor, round_id, point_id=point_id)
    return round_id, point_id, batch_id, supervisor, clerk


def paper_answer(app, question: str) -> list[str]:
    with app.app_context():
        return db.session().scalars(select(Answer.option_code).join(Response, Response.id == Answer.response_id)
                                    .where(Response.channel == "paper", Answer.question_code == question)).all()


def test_two_agreeing_passes_store_the_form_once_as_a_paper_response(app, desk):
    round_id, point_id, batch_id, supervisor, clerk = desk
    first = key_form(supervisor, round_id, batch_id, 1, keyed_form(app))
    assert first.status_code == 302 and first.headers["Location"].endswith("entry?next=2")
    assert "lần nhập thứ nhất của phiếu số 1" in supervisor.get(first.headers["Location"]).text
    assert stored(app) == 0  # one pass is not enough

    second = key_form(clerk, round_id, batch_id, 1, keyed_form(app, X1="b a"))  # the same choices, typed otherwise
    assert second.status_code == 302
    assert "hai lần nhập khớp nhau" in clerk.get(second.headers["Location"]).text
    assert stored(app, channel="paper", collection_point_id=point_id, round_id=round_id) == 1
    assert sorted(paper_answer(app, "X1")) == ["A", "B"]

    # Once stored, the form cannot be keyed (nor stored) again, by anyone.
    again = key_form(clerk, round_id, batch_id, 1, keyed_form(app))
    assert again.status_code == 422 and "đã được đối chiếu và ghi nhận" in again.text
    assert stored(app) == 1


def test_the_entry_page_is_keyboard_first_and_keeps_what_was_typed(app, desk):
    # The inputs are plain markup now (survey.collection.fragments), not WTForms calls: the
    # attributes the keyboard script and screen readers rely on must all be there.
    round_id, _, batch_id, supervisor, _ = desk
    page = supervisor.get(f"/admin/rounds/{round_id}/paper/{batch_id}/entry?next=7").text
    assert ('<input aria-invalid="false" autofocus id="form_number" inputmode="numeric" name="form_number" required '
            'size="8" type="text" value="7">') in page
    assert ('<input aria-describedby="h_E1.1" aria-invalid="false" data-codes="1 2 3 4 5 9" data-kind="single" '
            'id="q_E1.1" maxlength="40" name="q_E1.1" size="5" type="text" value="">') in page
    assert 'data-kind="multi" id="q_X1" maxlength="40" name="q_X1" size="5" type="text" value="">' in page
    assert '<span class="help" id="h_E1.1"><b>1</b> ' in page and page.count(" autofocus") == 1

    reply = key_form(supervisor, round_id, batch_id, 8, keyed_form(app, **{"E1.1": '7"><b>', "X1": "AZ"}))
    assert reply.status_code == 422
    # The first question in error has the focus; what was typed is back, escaped; both are marked.
    assert ('<input aria-describedby="h_E1.1" aria-invalid="true" autofocus data-codes="1 2 3 4 5 9" '
            'data-kind="single" id="q_E1.1" maxlength="40" name="q_E1.1" size="5" type="text" '
            'value="7&#34;&gt;&lt;b&gt;">') in reply.text
    assert re.search(r'aria-describedby="h_X1" aria-invalid="true" data-codes="[A-Z ]+" data-kind="multi" id="q_X1"', reply.text)
    assert reply.text.count(" autofocus") == 1 and reply.text.count('class="problem-error"') == 2


def test_the_same_clerk_cannot_key_a_form_twice(app, desk):
    round_id, _, batch_id, supervisor, _ = desk
    assert key_form(supervisor, round_id, batch_id, 5, keyed_form(app)).status_code == 302
    twice = key_form(supervisor, round_id, batch_id, 5, keyed_form(app))
    assert twice.status_code == 422
    assert "Ông/Bà đã nhập phiếu số 5 của lô này" in twice.text and "cán bộ khác" in twice.text
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(PaperEntry)) == 1
    assert stored(app) == 0


def test_an_option_the_question_does_not_have_is_refused_plainly(app, desk):
    round_id, _, batch_id, supervisor, _ = desk
    reply = key_form(supervisor, round_id, batch_id, 2, keyed_form(app, **{"E1.1": "7", "X1": "AZ"}))
    assert reply.status_code == 422
    assert "Câu E1.1 không có phương án “7”" in reply.text and "các mã của câu này: 1, 2, 3, 4, 5, 9" in reply.text
    assert "Câu X1 không có phương án “Z”" in reply.text
    assert 'value="7"' in reply.text  # what was typed stays, to be corrected
    for bad_number in ("", "abc", "0"):
        refused = key_form(supervisor, round_id, batch_id, bad_number, keyed_form(app))
        assert refused.status_code == 422 and "Số phiếu" in refused.text
    too_many = key_form(supervisor, round_id, batch_id, 3, keyed_form(app, X1="ABCD"))
    assert too_many.status_code == 422 and "tối đa 3" in too_many.text
    blank = key_form(supervisor, round_id, batch_id, 4, {})
    assert blank.status_code == 422 and "chưa có câu trả lời nào" in blank.text
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(PaperEntry)) == 0
    assert stored(app) == 0 and answer_rows(app) == 0


def test_a_disagreement_waits_for_the_supervisor_who_stores_the_paper_reading(app, desk):
    round_id, _, batch_id, supervisor, clerk = desk
    key_form(supervisor, round_id, batch_id, 3, keyed_form(app, **{"E1.1": "4", "P1": ""}))
    reply = key_form(clerk, round_id, batch_id, 3, keyed_form(app, **{"E1.1": "5", "P1": ""}))
    assert reply.status_code == 302
    assert "khác lần nhập thứ nhất" in clerk.get(reply.headers["Location"]).text
    assert stored(app) == 0

    batch_page = supervisor.get(f"/admin/rounds/{round_id}/paper/{batch_id}").text
    assert "Đối chiếu phiếu số 3" in batch_page
    url = f"/admin/rounds/{round_id}/paper/{batch_id}/forms/3"
    assert clerk.get(url).status_code == 403  # the focal point keys; only the supervisor resolves
    page = supervisor.get(url)
    assert page.status_code == 200 and "E1.1" in page.text and 'name="q_E1.2"' not in page.text
    token = csrf_token_in(page.text)
    for bad, message in (("8", "không có phương án “8”"), ("", "nhập mã đọc trên phiếu giấy")):
        refused = supervisor.post(url, data={"csrf_token": token, "q_E1.1": bad})
        assert refused.status_code == 422 and message in refused.text
    assert stored(app) == 0

    done = supervisor.post(url, data={"csrf_token": token, "q_E1.1": "5"})
    assert done.status_code == 302 and stored(app, channel="paper") == 1
    assert paper_answer(app, "E1.1") == ["5"]
    assert supervisor.post(url, data={"csrf_token": token, "q_E1.1": "5"}).status_code == 404  # never twice
    assert stored(app) == 1
    with app.app_context():
        form = db.session().scalars(select(PaperForm)).one()
        mismatches = dict(db.session().execute(select(PaperEntry.pass_number, PaperEntry.mismatches)).all())
        actions = db.session().scalars(select(AuditEvent.action)).all()
    assert form.differences == 1 and form.reconciled_by_id is not None
    assert mismatches == {1: 1, 2: 0}  # the first clerk misread E1.1
    assert "collection.paper_resolve" in actions and "collection.paper_batch_create" in actions

    stats = supervisor.get(f"/admin/rounds/{round_id}/paper").text
    assert "Tỷ lệ phiếu có chỗ khác nhau" in stats and "100,0 %" in stats


def test_a_blank_on_the_paper_is_resolved_with_a_dash(app, desk):
    round_id, _, batch_id, supervisor, clerk = desk
    key_form(supervisor, round_id, batch_id, 9, keyed_form(app, P1="1"))
    key_form(clerk, round_id, batch_id, 9, keyed_form(app, P1=""))
    url = f"/admin/rounds/{round_id}/paper/{batch_id}/forms/9"
    token = csrf_token_in(supervisor.get(url).text)
    assert supervisor.post(url, data={"csrf_token": token, "q_P1": "-"}).status_code == 302
    assert stored(app) == 1 and paper_answer(app, "P1") == []


def test_a_reconciled_form_is_never_stored_twice_even_by_the_service(app, desk):
    round_id, _, batch_id, supervisor, clerk = desk
    key_form(supervisor, round_id, batch_id, 4, keyed_form(app))
    key_form(clerk, round_id, batch_id, 4, keyed_form(app))
    assert stored(app) == 1
    batch = batch_of(app, batch_id)
    with app.app_context():
        session = db.session()
        batch = session.merge(batch)
        with pytest.raises(paper.PaperError):
            paper.disagreement(session, batch, 4)
        with pytest.raises(Exception):  # the unique reconciliation row refuses a second store
            paper._store(session, batch, paper.questionnaire_of(batch), 4, {"E1.1": ["4"]}, None, [],
                         supervisor=None)
        session.rollback()
    assert stored(app) == 1


def test_staff_without_the_role_or_the_province_do_not_reach_the_paper_pages(app, staff, desk):
    round_id, _, batch_id, _, clerk = desk
    page = clerk.get(f"/admin/rounds/{round_id}/paper")
    assert page.status_code == 200 and "Thêm lô phiếu" not in page.text  # a focal point keys, does not create
    assert clerk.post(f"/admin/rounds/{round_id}/paper/batches", data={}).status_code in (400, 403)
    analyst = signed_in(app, staff, "analyst", "phantich@example.vn")
    assert analyst.get(f"/admin/rounds/{round_id}/paper/{batch_id}/entry").status_code == 403
    elsewhere = signed_in(app, staff, "province_admin", "khac@example.vn", province_code="YBA")
    assert elsewhere.get(f"/admin/rounds/{round_id}/paper/{batch_id}/entry").status_code == 404


def test_any_questionnaire_version_prints_with_form_numbers_and_option_codes(app, desk, tmp_path):
    round_id, _, _, supervisor, clerk = desk
    reply = supervisor.get(f"/admin/rounds/{round_id}/paper/print.pdf?from=41&count=2")
    assert reply.status_code == 200 and reply.mimetype == "application/pdf"
    path = tmp_path / "form.pdf"
    path.write_bytes(reply.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Số phiếu: 000041" in text and "Số phiếu: 000042" in text
    assert "Rất hài lòng" in text and "E1.1." in text and "Không biết / không trả lời" in text
    leaders = supervisor.get(f"/admin/rounds/{round_id}/paper/print.pdf?q=par-hdnd-delegates@2023.1")
    assert leaders.status_code == 200 and leaders.data.startswith(b"%PDF")
    assert supervisor.get(f"/admin/rounds/{round_id}/paper/print.pdf?q=nothing@1").status_code == 404
    assert supervisor.get(f"/admin/rounds/{round_id}/paper/print.pdf?count=501").status_code == 400
    assert clerk.get(f"/admin/rounds/{round_id}/paper/print.pdf").status_code == 403
