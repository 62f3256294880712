"""A citizen answers at a collection point: stored through store_response, anonymous, refused plainly."""

from __future__ import annotations

import gzip
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bench.statement_count import Counter, install_in_app
from survey import db
from survey.collection.models import CollectionPoint, DossierDigest, PointArrival, Procedure
from survey.respond.models import Response
from survey.timeutil import utcnow
from tests.collection.helpers import answer_rows, answers_form, form_token_of, ledger_rows, make_point, stored


@pytest.fixture
def point(app, survey_round):
    return make_point(app, survey_round)


def test_a_citizen_answers_anonymously_at_a_point(app, client, point):
    round_id, point_id, token = point
    page = client.get(f"/p/{token}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "Bộ phận Một cửa Sở Tư pháp" in page.text
    # No staff session under /p/; the only cookie is the device cookie, scoped to this point.
    cookies = page.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith("thiet_bi=") and f"Path=/p/{token}" in cookies[0]
    assert {"HttpOnly", "SameSite=Strict", "Max-Age=3600"} <= {part.strip() for part in cookies[0].split(";")}

    reply = client.post(f"/p/{token}", data=answers_form(app, form_token_of(page.text)))
    assert reply.status_code == 302 and reply.headers["Location"].endswith(f"/p/{token}/cam-on")
    assert "Cảm ơn" in client.get(reply.headers["Location"]).text

    with app.app_context():
        response = db.session().scalars(select(Response)).one()
        assert (response.channel, response.collection_point_id, response.procedure_id) == ("point", point_id, None)
        assert response.round_id == round_id
        arrivals = db.session().scalars(select(PointArrival)).all()
    assert len(arrivals) == 1 and arrivals[0].point_id == point_id
    assert ledger_rows(app) == 0  # no person behind it, no ledger entry
    assert answer_rows(app) > 0


# A point without quota, dossier number or kiosk receipt: one read, then one write. On PostgreSQL the
# write is one statement that commits on its own (response, answers, counts and arrival); SQLite
# runs its driver's statements in the writer queue (BEGIN IMMEDIATE, four inserts, COMMIT).
STATEMENTS_PER_SUBMISSION = {"postgresql": 2, "sqlite": 7}


def test_a_submission_at_a_point_without_guards_is_one_read_and_one_write(app, client, point, backend):
    _, point_id, token = point
    counter = Counter()
    install_in_app(app, counter)
    data = answers_form(app, form_token_of(client.get(f"/p/{token}").text))
    before = counter.total
    reply = client.post(f"/p/{token}", data=data)
    assert reply.status_code == 302
    assert counter.total - before == STATEMENTS_PER_SUBMISSION[backend]
    # Everything the submission writes is there, the arrival with it.
    assert stored(app) == 1 and answer_rows(app) > 0
    with app.app_context():
        assert [a.point_id for a in db.session().scalars(select(PointArrival))] == [point_id]


def test_a_wrong_option_stores_nothing_and_says_why(app, client, point):
    _, _, token = point
    page = client.get(f"/p/{token}")
    data = answers_form(app, form_token_of(page.text))
    first = next(k for k in data if k.startswith("q_") and isinstance(data[k], list))
    data[first] = ["ZZ"]
    reply = client.post(f"/p/{token}", data=data)
    assert reply.status_code == 422
    assert "lựa chọn không hợp lệ" in reply.text and "Chưa có câu trả lời nào được ghi" in reply.text
    assert stored(app) == 0 and answer_rows(app) == 0


def test_a_form_without_the_points_token_is_refused(app, client, point):
    _, _, token = point
    reply = client.post(f"/p/{token}", data=answers_form(app, "0" * 64))
    assert reply.status_code == 400 and stored(app) == 0


@pytest.mark.parametrize("state", ["closed_point", "scheduled", "closed_round"])
def test_closed_points_and_rounds_say_so_and_store_nothing(app, client, survey_round, state):
    if state == "scheduled":
        _, point_id, token = make_point(app, survey_round, opens_in=timedelta(days=2))
        expected = "chưa mở"
    elif state == "closed_round":
        _, point_id, token = make_point(app, survey_round, opens_in=timedelta(days=-5), closes_in=timedelta(days=-1))
        expected = "đã kết thúc"
    else:
        _, point_id, token = make_point(app, survey_round)
        with app.app_context(), db.unit_of_work() as session:
            from survey.collection.services import set_point_closed

            set_point_closed(session, session.get(CollectionPoint, point_id), True)
        expected = "ngừng nhận"
    page = client.get(f"/p/{token}")
    assert page.status_code == 403 and expected in page.text
    from survey.respond.form_tokens import form_token

    with app.test_request_context():
        data = answers_form(app, form_token(token))
    assert client.post(f"/p/{token}", data=data).status_code == 403
    assert stored(app) == 0


def test_an_unknown_point_is_not_found(client, point):
    assert client.get("/p/abcdefghij").status_code == 404
    assert client.get("/p/short").status_code == 404


def test_the_procedure_is_recorded_and_an_unknown_one_refused(app, client, point):
    round_id, point_id, token = point
    with app.app_context(), db.unit_of_work() as session:
        from survey.rounds.models import Round

        province_id = session.get(Round, round_id).province_id
        session.add(Procedure(province_id=province_id, code="1.001234", name="Cấp phiếu lý lịch tư pháp",
                              field="Lý lịch tư pháp", agency_name="Sở Tư pháp"))
        session.flush()
        procedure_id = session.scalars(select(Procedure.id)).one()
    page = client.get(f"/p/{token}")
    assert "Cấp phiếu lý lịch tư pháp" in page.text
    refused = client.post(f"/p/{token}", data=answers_form(app, form_token_of(page.text), procedure="9.999"))
    assert refused.status_code == 422 and "không có trong danh mục" in refused.text and stored(app) == 0
    reply = client.post(f"/p/{token}", data=answers_form(app, form_token_of(page.text), procedure="1.001234"))
    assert reply.status_code == 302
    assert stored(app, procedure_id=procedure_id, collection_point_id=point_id) == 1


def test_the_cached_procedure_list_follows_the_table_and_a_refused_form_keeps_the_choice(app, client, point):
    # The list's markup is rendered once per list (survey.collection.fragments): a procedure renamed,
    # added or in another field must show at once, and a refused form shows the citizen's choice.
    _, _, token = point
    with app.app_context(), db.unit_of_work() as session:
        from survey.rounds.models import Round

        province_id = session.scalars(select(Round.province_id)).one()
        session.add(Procedure(province_id=province_id, code="1.001234", name="Cấp phiếu lý lịch tư pháp",
                              field="Lý lịch tư pháp"))
    first = client.get(f"/p/{token}").text
    assert first.count("<option value=") == 2 and "Cấp phiếu lý lịch tư pháp" in first
    assert client.get(f"/p/{token}").text == first  # served from the cache, the same markup
    with app.app_context(), db.unit_of_work() as session:
        session.scalars(select(Procedure)).one().name = "Cấp Phiếu lý lịch tư pháp số 1"
        session.add(Procedure(province_id=province_id, code="2.000889", name="Đăng ký khai sinh", field="Hộ tịch"))
    page = client.get(f"/p/{token}").text
    assert "Cấp Phiếu lý lịch tư pháp số 1" in page and "Cấp phiếu lý lịch tư pháp<" not in page
    assert '<optgroup label="Hộ tịch">' in page and '<option value="2.000889">Đăng ký khai sinh</option>' in page
    assert page.index('<optgroup label="Hộ tịch">') < page.index('<optgroup label="Lý lịch tư pháp">')
    assert " selected" not in page

    data = answers_form(app, form_token_of(page), procedure="2.000889")
    first_question = next(k for k in data if k.startswith("q_") and isinstance(data[k], list))
    data[first_question] = ["ZZ"]
    refused = client.post(f"/p/{token}", data=data)
    assert refused.status_code == 422 and stored(app) == 0
    assert '<option value="2.000889" selected>Đăng ký khai sinh</option>' in refused.text
    assert '<option value="1.001234">Cấp Phiếu lý lịch tư pháp số 1</option>' in refused.text
    # The next empty page is the cached one again, with nothing chosen.
    assert " selected" not in client.get(f"/p/{token}").text


def test_the_blank_page_is_sent_compressed_when_accepted_and_never_stale(app, client, point):
    # The blank form is rendered and compressed once per point (survey.collection.views._blank_page).
    _, point_id, token = point
    plain = client.get(f"/p/{token}")
    packed = client.get(f"/p/{token}", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert plain.headers.get("Content-Encoding") is None and packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in plain.headers["Vary"] and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) * 4 < len(plain.data)
    assert packed.headers["Cache-Control"] == "no-store"
    with app.app_context(), db.unit_of_work() as session:
        session.get(CollectionPoint, point_id).name = "Bộ phận một cửa xã Tả Van"
    renamed = gzip.decompress(client.get(f"/p/{token}", headers={"Accept-Encoding": "gzip"}).data).decode()
    assert "Bộ phận một cửa xã Tả Van" in renamed
    with app.app_context(), db.unit_of_work() as session:
        session.get(CollectionPoint, point_id).closed_at = utcnow()
    assert client.get(f"/p/{token}", headers={"Accept-Encoding": "gzip"}).status_code == 403


def test_any_write_to_the_procedures_restamps_the_list_the_page_reads(app, client, point):
    # The page reads the province's stamp, not the list (migration 0023): the database's triggers
    # replace it on every insert, update and delete, whoever writes, here plain SQL.
    from survey.rounds.models import Province, Round

    _, _, token = point
    with app.app_context(), db.unit_of_work() as session:
        province_id = session.scalars(select(Round.province_id)).one()

    def stamp():
        with app.app_context(), db.unit_of_work() as session:
            return session.get(Province, province_id).procedure_list_stamp

    def write(sql):
        with app.app_context(), db.unit_of_work() as session:
            session.execute(text(sql), {"province": province_id})

    assert stamp() is None  # never had a procedure: nothing to read
    empty = client.get(f"/p/{token}")
    assert empty.status_code == 200 and "lý lịch tư pháp" not in empty.text
    write("INSERT INTO procedures (province_id, code, name, field, agency_name) "
          "VALUES (:province, '1.001234', 'Cấp phiếu lý lịch tư pháp', 'Lý lịch tư pháp', '')")
    inserted = stamp()
    assert inserted is not None and "Cấp phiếu lý lịch tư pháp" in client.get(f"/p/{token}").text
    write("UPDATE procedures SET name = 'Cấp Phiếu lý lịch tư pháp số 2' WHERE province_id = :province")
    updated = stamp()
    assert updated not in (None, inserted) and "Cấp Phiếu lý lịch tư pháp số 2" in client.get(f"/p/{token}").text
    write("DELETE FROM procedures WHERE province_id = :province")
    assert stamp() not in (None, inserted, updated)
    assert "lý lịch tư pháp" not in client.get(f"/p/{token}").text


def test_a_name_holding_the_lists_separator_is_still_offered(app, client, point):
    # The page reads the list as one text with \x1f between fields (survey.collection.services);
    # a name holding one (never through the import) makes it read the rows themselves.
    _, _, token = point
    with app.app_context(), db.unit_of_work() as session:
        from survey.rounds.models import Round

        province_id = session.scalars(select(Round.province_id)).one()
        session.add_all([Procedure(province_id=province_id, code="1.000001", name="Thủ tục\x1fmột", field="A"),
                         Procedure(province_id=province_id, code="1.000002", name="Thủ tục hai", field="A")])
    page = client.get(f"/p/{token}").text
    assert '<option value="1.000001">Thủ tục\x1fmột</option>' in page
    assert '<option value="1.000002">Thủ tục hai</option>' in page


def test_one_response_per_dossier_keeps_only_a_keyed_hash(app, client, survey_round):
    round_id, _, token = make_point(app, survey_round, asks_dossier=True)
    form = form_token_of(client.get(f"/p/{token}").text)
    for malformed in ("", "ab", "hồ sơ số 1", "X" * 41):
        reply = client.post(f"/p/{token}", data=answers_form(app, form, dossier=malformed))
        assert reply.status_code == 422 and "Mã hồ sơ không hợp lệ" in reply.text
    assert stored(app) == 0

    assert client.post(f"/p/{token}", data=answers_form(app, form, dossier="000.00.12.H35-231120-0001")).status_code == 302
    again = client.post(f"/p/{token}", data=answers_form(app, form, dossier=" 000.00.12.h35-231120-0001 "))
    assert again.status_code == 409 and "đã được đánh giá" in again.text
    assert stored(app) == 1
    with app.app_context():
        digests = db.session().scalars(select(DossierDigest)).all()
    assert len(digests) == 1 and digests[0].round_id == round_id
    assert "H35" not in digests[0].digest and len(digests[0].digest) == 64


@pytest.mark.parametrize("policy", ["accept", "refuse"])
def test_a_quota_is_reached_as_configured(app, client, survey_round, policy):
    _, point_id, token = make_point(app, survey_round, quota=2, quota_policy=policy)
    form = form_token_of(client.get(f"/p/{token}").text)
    first = client.post(f"/p/{token}", data=answers_form(app, form))
    assert "full" not in first.headers["Location"]
    second = client.post(f"/p/{token}", data=answers_form(app, form))
    assert second.headers["Location"].endswith("cam-on?full=1")
    assert "đã nhận đủ số phiếu dự kiến" in client.get(second.headers["Location"]).text
    third = client.post(f"/p/{token}", data=answers_form(app, form))
    if policy == "accept":
        assert third.status_code == 302 and stored(app, collection_point_id=point_id) == 3
    else:
        assert third.status_code == 409 and "đủ số phiếu dự kiến nên không nhận thêm" in third.text
        assert stored(app, collection_point_id=point_id) == 2
