"""Samples from the dossier register: import checks, the size and allocation, the seeded draw,
invitations by e-mail (received by a real SMTP server) and SMS export, the purge at the close, roles."""

from __future__ import annotations

import csv
import hashlib
import io
import random
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select, update

from survey import db
from survey.accounts.models import AuditEvent
from survey.collection.models import Procedure
from survey.invitations.models import OutboxMessage
from survey.respond import links, services as respond
from survey.respond.models import Response
from survey.rounds.agencies import get_or_create_agency
from survey.rounds.models import Round
from survey.roster.models import Respondent
from survey.samples import sampling
from survey.samples.models import DossierSample, SampleMember
from survey.timeutil import VIETNAM, as_utc, utcnow
from tests.conftest import csrf_token_in
from tests.invitations.conftest import SENDER, link_token, smtp_server, text_part, worker_for  # noqa: F401
from tests.respond.test_counts import complete

HEADER = ["STT", "Mã hồ sơ", "Mã thủ tục", "Cơ quan giải quyết", "Ngày trả kết quả", "Số điện thoại", "Email"]
RETURNED = (date.today() - timedelta(days=20)).strftime("%d/%m/%Y")


@pytest.fixture
def app(app):
    app.config.update(MAIL_FROM=SENDER)
    return app


@pytest.fixture
def sampling_round(app, survey_round):
    """An open round with no one listed, the agencies SNV and STP, and the procedures 1.001, 2.002, 3.003."""
    round_id, _ = survey_round(per_group=0)
    with app.app_context(), db.unit_of_work() as session:
        province = session.get(Round, round_id).province
        for code, name in (("SNV", "Sở Nội vụ"), ("STP", "Sở Tư pháp")):
            get_or_create_agency(session, province, code, name, "department")
        for code in ("1.001", "2.002", "3.003"):
            session.add(Procedure(province_id=province.id, code=code, name=f"Thủ tục {code}"))
    return round_id


def dossier(i: int, procedure: str, agency: str, *, email: bool = True) -> list:
    return [i, f"H35.{i:05d}", procedure, agency, RETURNED, f"09{i:08d}", f"dan{i}@example.vn" if email else ""]


def register_csv(rows: list[list], header: list[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["SỔ THEO DÕI HỒ SƠ ĐÃ TRẢ KẾT QUẢ"])  # a title above the header
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# 400 dossiers in four strata of 79, 45, 153 and 123 (listed in stratum order: SNV before STP).
STRATA = [("SNV", "1.001", 79), ("SNV", "3.003", 45), ("STP", "1.001", 153), ("STP", "2.002", 123)]


def four_hundred() -> list[list]:
    rows, i = [], 0
    for agency, procedure, count in STRATA:
        for _ in range(count):
            i += 1
            rows.append(dossier(i, procedure, agency, email=i % 2 == 0))
    return rows


def page_token(client, round_id: int) -> str:
    return csrf_token_in(client.get(f"/admin/rounds/{round_id}/samples").text)


def upload(client, round_id: int, content: bytes, *, seed: str = "", size: str = "", name: str = "so-ho-so.csv"):
    return client.post(f"/admin/rounds/{round_id}/samples", content_type="multipart/form-data", data={
        "csrf_token": page_token(client, round_id), "file": (io.BytesIO(content), name), "margin": "0.05",
        "seed": seed, "size": size})


def drawn_codes(app, sample_id: int) -> set[str]:
    with app.app_context():
        return set(db.session().scalars(select(SampleMember.dossier_code).where(SampleMember.sample_id == sample_id)))


def latest_sample(app) -> DossierSample:
    with app.app_context():
        return db.session().scalars(select(DossierSample).order_by(DossierSample.id.desc())).first()


def count(app, model) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


# --- the size rule, the allocation and the draw, by hand --------------------------------------

def test_the_size_rule_pinned_by_hand():
    assert sampling.size_by_rule(400) == 200  # 400 / (1 + 400 * 0.0025) = 200 exactly
    assert sampling.size_by_rule(1000) == 286  # 1000 / 3.5 = 285.71, rounded up
    assert sampling.size_by_rule(50) == 45  # 50 / 1.125 = 44.44
    assert sampling.size_by_rule(1) == 1
    assert sampling.size_by_rule(400, 0.1) == 80  # 400 / 5


def test_proportional_allocation_by_largest_remainder_pinned_by_hand():
    # n = 200 of N = 400: quotas 39.5, 22.5, 76.5, 61.5 -> floors 39, 22, 76, 61 (198); the two units
    # left go to the equal remainders in stratum order: the first two strata.
    populations = {(a, p): n for a, p, n in STRATA}
    assert list(sampling.allocate(populations, 200).values()) == [40, 23, 76, 61]
    # n = 4 of N = 10 over 5, 3, 2: quotas 2.0, 1.2, 0.8 -> floors 2, 1, 0; the unit left goes to 0.8.
    assert sampling.allocate({"a": 5, "b": 3, "c": 2}, 4) == {"a": 2, "b": 1, "c": 1}
    # A stratum is never given more than it holds, and the sizes add up.
    assert sampling.allocate({"a": 1, "b": 1, "c": 1}, 3) == {"a": 1, "b": 1, "c": 1}
    with pytest.raises(ValueError):
        sampling.allocate({"a": 2}, 3)


def test_the_draw_takes_the_smallest_keys_of_sha256_seed_and_code():
    codes = [f"H35.{i:05d}" for i in range(1, 21)]
    by_key = sorted(codes, key=lambda c: hashlib.sha256(f"777:{c}".encode()).hexdigest())
    drawn = sampling.draw({"s": codes}, {"s": 5}, "777")
    assert drawn["s"] == by_key[:5]
    shuffled = codes[:]
    random.Random(1).shuffle(shuffled)
    assert sampling.draw({"s": shuffled}, {"s": 5}, "777") == drawn  # the file's order does not matter
    assert sampling.draw({"s": codes}, {"s": 5}, "778") != drawn


# --- the page: import checks ------------------------------------------------------------------

def test_a_register_with_problems_is_refused_row_by_row_and_nothing_is_written(app, client, login, sampling_round):
    login("province_admin")
    rows = [dossier(1, "1.001", "STP"), dossier(2, "1.001", "Sở Tư pháp"),
            [3, "H35.00003", "1.001", "STP", "31/02/2024", "0900000003", ""],  # no such day
            [4, "H35.00001", "1.001", "STP", RETURNED, "0900000004", ""],  # the code of row 3 (file row 3)
            [5, "H35.00005", "9.999", "STP", RETURNED, "0900000005", ""],  # unknown procedure
            [6, "H35.00006", "1.001", "Sở Không Có", RETURNED, "0900000006", ""],  # unknown agency
            [7, "H35.00007", "1.001", "STP", RETURNED, "12345", ""],  # not a phone number
            [8, "H35.00008", "1.001", "STP", RETURNED, "", ""]]  # no way to reach them
    reply = upload(client, sampling_round, register_csv(rows))
    assert reply.status_code == 422
    page = reply.text
    assert "chưa rút mẫu, không có gì được ghi" in page
    assert "Dòng 5, cột E (Ngày trả kết quả): ngày “31/02/2024” không hợp lệ" in page
    assert "Dòng 6, cột B (Mã hồ sơ): mã hồ sơ H35.00001 trùng với dòng 3." in page
    assert "mã thủ tục “9.999” không có trong danh mục thủ tục hành chính của tỉnh (dòng 7)" in page
    assert "cơ quan “Sở Không Có” không có trong danh mục cơ quan" in page
    assert "Dòng 9, cột F (Số điện thoại): Số điện thoại không hợp lệ: 12345." in page
    assert "Dòng 10, cột F (Số điện thoại): thiếu cả số điện thoại và e-mail" in page
    assert (count(app, DossierSample), count(app, SampleMember), count(app, Respondent)) == (0, 0, 0)


def test_a_register_without_a_column_is_refused_naming_it(app, client, login, sampling_round):
    login("province_admin")
    header = [h for h in HEADER if h != "Ngày trả kết quả"]
    reply = upload(client, sampling_round, register_csv([[1, "H35.00001", "1.001", "STP", "0900000001", ""]], header))
    assert reply.status_code == 422
    assert "Tệp thiếu cột: Ngày trả kết quả (dòng tiêu đề là dòng 2)." in reply.text
    assert count(app, DossierSample) == 0


def test_a_workbook_with_date_cells_and_numbers_for_phones_is_read(app, client, login, sampling_round):
    """As the portal exports it: dates as date cells, phone numbers as numbers that lost their 0."""
    login("province_admin")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    day = date.today() - timedelta(days=3)
    for i in range(1, 5):
        sheet.append([i, f"H35.{i:05d}", "2.002", "Sở Nội vụ", datetime(day.year, day.month, day.day, 15, 30),
                      900000000 + i, None])
    content = io.BytesIO()
    workbook.save(content)
    assert upload(client, sampling_round, content.getvalue(), name="so-ho-so.xlsx", size="2").status_code == 302
    sample = latest_sample(app)
    assert (sample.population, sample.size, sample.period_from, sample.period_to) == (4, 2, day, day)
    with app.app_context():
        phones = db.session().scalars(select(Respondent.phone)).all()
    assert len(phones) == 2 and set(phones) <= {f"090000000{i}" for i in range(1, 5)}


def test_a_size_above_the_register_is_refused(app, client, login, sampling_round):
    login("province_admin")
    reply = upload(client, sampling_round, register_csv([dossier(1, "1.001", "STP"), dossier(2, "1.001", "STP")]),
                   size="3")
    assert reply.status_code == 422
    assert "Cỡ mẫu 3 lớn hơn số hồ sơ trong sổ (2)." in reply.text
    assert (count(app, DossierSample), count(app, Respondent)) == (0, 0)


# --- the page: the draw -------------------------------------------------------------------------

def test_four_hundred_dossiers_give_two_hundred_allocated_by_stratum_and_the_page_shows_it(
        app, client, login, sampling_round):
    login("province_admin")
    reply = upload(client, sampling_round, register_csv(four_hundred()), seed="20231130")
    assert reply.status_code == 302, reply.text
    sample = latest_sample(app)
    assert (sample.population, sample.size, sample.size_source, sample.seed) == (400, 200, "rule", "20231130")
    assert [(s["agency"], s["procedure"], s["population"], s["drawn"]) for s in sample.strata] == [
        ("SNV", "1.001", 79, 40), ("SNV", "3.003", 45, 23), ("STP", "1.001", 153, 76), ("STP", "2.002", 123, 61)]
    with app.app_context():
        session = db.session()
        per_stratum = dict(session.execute(select(SampleMember.stratum, func.count()).group_by(SampleMember.stratum)).all())
        people = session.scalars(select(Respondent)).all()
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "sample.draw")).one()
    assert per_stratum == {0: 40, 1: 23, 2: 76, 3: 61}
    assert len(people) == 200 and {(p.full_name, p.agency_id, p.response_channel) for p in people} == {
        ("Ông/Bà", None, "sample")}
    assert event.details["seed"] == "20231130" and event.details["size"] == 200
    page = client.get(reply.headers["Location"]).text
    assert '<code id="seed">20231130</code>' in page and sample.register_sha256 in page
    assert "<td>Sở Nội vụ (SNV)</td><td>3.003</td><td>45</td><td>23</td>" in page


def test_the_same_seed_and_register_give_the_same_sample_whatever_the_row_order(app, client, login, sampling_round):
    login("province_admin")
    rows = [dossier(i, ("1.001", "2.002")[i % 2], ("SNV", "STP")[i % 3 == 0]) for i in range(1, 41)]
    assert upload(client, sampling_round, register_csv(rows), seed="4242", size="10").status_code == 302
    first = latest_sample(app)
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    assert upload(client, sampling_round, register_csv(shuffled), seed="4242", size="10").status_code == 302
    again = latest_sample(app)
    assert again.id != first.id and again.register_sha256 == first.register_sha256
    assert drawn_codes(app, again.id) == drawn_codes(app, first.id) and len(drawn_codes(app, first.id)) == 10
    assert upload(client, sampling_round, register_csv(rows), seed="4243", size="10").status_code == 302
    assert drawn_codes(app, latest_sample(app).id) != drawn_codes(app, first.id)


# --- inviting: e-mails through the outbox and the worker, SMS export ---------------------------

def draw_twelve(app, client, login, round_id) -> DossierSample:
    """Twelve dossiers, all drawn; even numbers have an e-mail, odd ones only a phone."""
    login("province_admin")
    rows = [dossier(i, "1.001", "STP", email=i % 2 == 0) for i in range(1, 13)]
    assert upload(client, round_id, register_csv(rows), size="12").status_code == 302
    return latest_sample(app)


def test_sampled_citizens_receive_the_e_mail_and_answer_with_the_sample_channel(
        app, client, login, sampling_round, smtp_server):
    sample = draw_twelve(app, client, login, sampling_round)
    page = client.get(f"/admin/rounds/{sampling_round}/samples/{sample.id}").text
    assert "Sẽ xếp 6 thư mời vào hàng đợi gửi." in page
    stale = client.post(f"/admin/rounds/{sampling_round}/samples/{sample.id}/invite",
                        data={"csrf_token": csrf_token_in(page), "confirmed": "5"})
    assert stale.status_code == 409 and count(app, OutboxMessage) == 0
    sent = client.post(f"/admin/rounds/{sampling_round}/samples/{sample.id}/invite",
                       data={"csrf_token": csrf_token_in(page), "confirmed": "6"})
    assert sent.status_code == 302
    server = smtp_server()
    stats = worker_for(app, server).run(until_idle=True)
    assert (stats.sent, stats.failed) == (6, 0)
    assert sorted(m.recipient for m in server.received) == sorted(f"dan{i}@example.vn" for i in range(2, 13, 2))
    message = server.received[0].message
    assert message["Subject"].startswith("Mời Ông/Bà đánh giá sự hài lòng")
    assert "chọn ngẫu nhiên từ sổ theo dõi hồ sơ" in text_part(server.received[0].content)
    # Invited once: the page now offers nobody, and a second post queues nothing.
    page = client.get(f"/admin/rounds/{sampling_round}/samples/{sample.id}").text
    assert "Sẽ xếp 0 thư mời" in page and "Bỏ qua 6 người: không có e-mail" in page

    token = link_token(server.received[0].content)
    with app.app_context():
        questionnaire = respond.open_link(db.session(), token).questionnaire
    with app.app_context(), db.unit_of_work() as session:
        respond.save_answers(session, respond.open_link(session, token), complete(questionnaire, {}))
    with app.test_request_context():
        assert respond.submit(db.connection(), respond.open_link(db.connection(), token)).submitted
        db.connection().commit()
    with app.app_context():
        assert db.session().scalars(select(Response.channel)).all() == ["sample"]
        assert db.session().scalar(select(AuditEvent.details).where(AuditEvent.action == "sample.invite"))[
            "enqueued"] == 6


def sms_post(client, round_id, sample_id, target, fmt, confirmed):
    page = client.get(f"/admin/rounds/{round_id}/samples/{sample_id}").text
    return client.post(f"/admin/rounds/{round_id}/samples/{sample_id}/sms", data={
        "csrf_token": csrf_token_in(page), "target": target, "fmt": fmt, "confirmed": str(confirmed)})


def test_the_sms_export_holds_each_phone_with_a_short_message_and_a_working_link(app, client, login, sampling_round):
    sample = draw_twelve(app, client, login, sampling_round)
    assert sms_post(client, sampling_round, sample.id, "no_email", "csv", 5).status_code == 409  # six, not five
    reply = sms_post(client, sampling_round, sample.id, "no_email", "csv", 6)
    assert reply.status_code == 200 and reply.headers["Content-Disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert rows[0] == ["Số điện thoại", "Nội dung tin nhắn"]
    assert sorted(r[0] for r in rows[1:]) == [f"09{i:08d}" for i in range(1, 13, 2)]  # those without an e-mail
    deadline = latest_round_deadline(app, sampling_round)
    for _phone, text in rows[1:]:
        link = text.rsplit(" ", 1)[1]
        assert text == (f"So Noi vu tinh Lao Cai moi Ong/Ba danh gia viec giai quyet ho so TTHC (an danh), "
                        f"han {deadline}: {link}")
        assert link.startswith("http://localhost/r/") and len(text) - len(link) <= 97
        with app.app_context():
            assert links.find_active_link(db.session(), text.rsplit("/r/", 1)[1]) is not None
    # Everyone not yet answered, as a workbook: twelve phones, each link new.
    reply = sms_post(client, sampling_round, sample.id, "pending", "xlsx", 12)
    assert reply.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(reply.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("Số điện thoại", "Nội dung tin nhắn") and len(values) == 13
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(links.AccessLink).where(
            links.AccessLink.revoked_at.is_(None))) == 12
        assert db.session().scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "sample.sms_export")) == 2


def latest_round_deadline(app, round_id) -> str:
    with app.app_context():
        return as_utc(db.session().get(Round, round_id).closes_at).astimezone(VIETNAM).strftime("%d/%m/%Y")


# --- the close --------------------------------------------------------------------------------

def test_closing_the_round_and_the_purge_delete_phones_e_mails_and_dossier_codes(
        app, client, login, sampling_round, smtp_server):
    sample = draw_twelve(app, client, login, sampling_round)
    page = client.get(f"/admin/rounds/{sampling_round}/samples/{sample.id}").text
    client.post(f"/admin/rounds/{sampling_round}/samples/{sample.id}/invite",
                data={"csrf_token": csrf_token_in(page), "confirmed": "6"})
    worker_for(app, smtp_server()).run(until_idle=True)
    with app.app_context(), db.unit_of_work() as session:
        session.get(Round, sampling_round).closes_at = utcnow() - timedelta(minutes=1)
    refused = sms_post(client, sampling_round, sample.id, "no_email", "csv", 6)
    assert refused.status_code == 422 and "Đợt khảo sát đã kết thúc" in refused.text
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(links.AccessLink)) == 6  # the e-mails' only

    result = app.test_cli_runner().invoke(args=["collection", "purge"])
    assert result.exit_code == 0, result.output
    assert f"round {sampling_round}: 12 rows deleted" in result.output
    with app.app_context():
        session = db.session()
        people = session.scalars(select(Respondent)).all()
        assert len(people) == 12 and all((p.email, p.email_normalised, p.phone) == (None, None, None) for p in people)
        assert session.scalar(select(func.count()).select_from(SampleMember)) == 0
        assert {(m.recipient, m.body) for m in session.scalars(select(OutboxMessage))} == {("", None)}
        kept = session.get(DossierSample, sample.id)
        assert kept.purged_at is not None
        assert [(s["population"], s["drawn"], s["invited"], s["submitted"]) for s in kept.strata] == [(12, 12, 6, 0)]
        assert session.scalar(select(AuditEvent.details).where(AuditEvent.action == "sample.purge"))["members"] == 12
    page = client.get(f"/admin/rounds/{sampling_round}/samples/{sample.id}").text
    assert 'id="purged"' in page and "dan2@example.vn" not in page
    # A second run finds nothing more to delete.
    assert "Nothing to purge." in app.test_cli_runner().invoke(args=["collection", "purge"]).output


# --- roles --------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["focal_point", "analyst"])
def test_focal_points_and_analysts_cannot_reach_the_samples(app, client, login, sampling_round, role):
    login(role)
    assert client.get(f"/admin/rounds/{sampling_round}/samples").status_code == 403
    page = client.get("/admin/").text
    reply = client.post(f"/admin/rounds/{sampling_round}/samples", content_type="multipart/form-data", data={
        "csrf_token": csrf_token_in(page), "file": (io.BytesIO(register_csv([dossier(1, "1.001", "STP")])), "a.csv"),
        "margin": "0.05"})
    assert reply.status_code == 403 and count(app, DossierSample) == 0


def test_a_respondent_without_a_staff_session_is_sent_to_sign_in(app, client, sampling_round):
    reply = client.get(f"/admin/rounds/{sampling_round}/samples")
    assert reply.status_code == 302 and "/admin/login" in reply.headers["Location"]
