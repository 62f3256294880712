"""The pages: monitoring counted by hand, correcting a failed address, templates, exports, the dev sink."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select, text

from survey import db
from survey.invitations.models import FAILED, QUEUED, SENT, MailTemplate, OutboxMessage
from survey.invitations.sink import sink_controller
from survey.respond.models import AccessLink, Draft, Submission
from survey.rounds.models import Agency
from survey.timeutil import VIETNAM, utcnow
from tests.conftest import csrf_token_in
from tests.invitations.conftest import link_token, respondent_ids, text_part, worker_for
from tests.invitations.smtp import Behaviour
from tests.invitations.test_worker import invite_all, outbox
from tests.live_server import free_port

SECRET_ANSWER = "câu trả lời bí mật 4711"


def _token_of(server, recipient: str) -> str:
    return link_token(next(m for m in server.received if m.recipient == recipient).content)


def _sheet(content: bytes, name: str) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content), read_only=True)[name].iter_rows(values_only=True))


def _post(client, url: str, page_url: str, **data):
    data["csrf_token"] = csrf_token_in(client.get(page_url).text)
    return client.post(url, data=data)


def staged_round(app, campaign, smtp_server, client):
    """10 people, 2 per group: all invited, 1 refused by the server, 2 opened, 1 draft, 2 submitted."""
    round_id = campaign(per_group=2)
    ids = respondent_ids(app, round_id)
    invite_all(app, round_id)
    refused = f"r{ids[1]}@example.vn"
    server = smtp_server(Behaviour(refuse={refused: "550 5.1.1 Mailbox does not exist"}))
    worker_for(app, server).run(until_idle=True)
    for respondent_id in (ids[2], ids[3]):
        assert client.get(f"/r/{_token_of(server, f'r{respondent_id}@example.vn')}").status_code == 200
    with app.app_context(), db.unit_of_work() as session:
        session.add(Draft(respondent_id=ids[3], answers={"Q1": SECRET_ANSWER}))
        session.add(Submission(respondent_id=ids[4], round_id=round_id, submitted_at=utcnow() - timedelta(days=1)))
        session.add(Submission(respondent_id=ids[5], round_id=round_id, submitted_at=utcnow()))
    return round_id, ids, server


def test_monitoring_counts_each_stage_per_group_and_exports_them(app, client, campaign, smtp_server, login):
    round_id, ids, _server = staged_round(app, campaign, smtp_server, client)
    login("province_admin")
    page = client.get(f"/admin/rounds/{round_id}/monitor")
    assert page.status_code == 200
    assert "Mailbox does not exist" in page.text and "Chưa nộp phiếu (8)" in page.text
    assert SECRET_ANSWER not in page.text

    export = client.get(f"/admin/rounds/{round_id}/monitor.xlsx")
    assert export.status_code == 200
    rows = {row[0]: row[1:] for row in _sheet(export.data, "Theo nhóm")}
    # expected, invited, delivered, failed, opened, started, submitted, rate — by hand from staged_round
    assert rows["Tổng cộng"] == (10, 10, 9, 1, 2, 3, 2, 20.0)
    groups = [row for label, row in rows.items() if label not in ("Nhóm đối tượng", "Tổng cộng")]
    assert groups[0] == (2, 2, 1, 1, 0, 0, 0, 0.0)
    assert groups[1] == (2, 2, 2, 0, 2, 1, 0, 0.0)
    assert groups[2] == (2, 2, 2, 0, 0, 2, 2, 100.0)
    days = _sheet(export.data, "Theo ngày")[1:]
    today = utcnow().astimezone(VIETNAM).date()
    assert [(d.date(), n, c) for d, n, c in days[-2:]] == [(today - timedelta(days=1), 1, 1), (today, 1, 2)]
    call_list = _sheet(export.data, "Chưa nộp")[1:]
    assert len(call_list) == 8
    assert all(SECRET_ANSWER not in " ".join(str(v) for v in row) for sheet in ("Theo nhóm", "Chưa nộp")
               for row in _sheet(export.data, sheet))


def test_opening_is_recorded_once(app, client, campaign, smtp_server):
    round_id = campaign(per_group=1)
    invite_all(app, round_id)
    server = smtp_server()
    worker_for(app, server).run(until_idle=True)
    token = _token_of(server, server.received[0].recipient)
    client.get(f"/r/{token}")
    with app.app_context():
        first = db.session().scalar(select(AccessLink.first_opened_at).where(AccessLink.first_opened_at.is_not(None)))
    assert first is not None
    client.get(f"/r/{token}")
    with app.app_context():
        opened = db.session().scalars(select(AccessLink.first_opened_at).where(AccessLink.first_opened_at.is_not(None))).all()
    assert opened == [first]


def test_a_failed_address_is_corrected_and_resent_in_two_clicks(app, client, campaign, smtp_server, login):
    round_id, ids, _server = staged_round(app, campaign, smtp_server, client)
    login("province_admin")
    url = f"/admin/rounds/{round_id}/monitor"
    reply = _post(client, f"/admin/rounds/{round_id}/respondents/{ids[1]}/resend", url, email="dung.ten@example.vn")
    assert reply.status_code == 302
    with app.app_context():
        session = db.session()
        latest = session.scalars(select(OutboxMessage).where(OutboxMessage.respondent_id == ids[1])
                                 .order_by(OutboxMessage.id.desc())).first()
        assert (latest.recipient, latest.status) == ("dung.ten@example.vn", QUEUED)
        assert session.scalar(text("SELECT email FROM respondents WHERE id = :i"), {"i": ids[1]}) == "dung.ten@example.vn"
    page = client.get(url)
    assert "Địa chỉ gửi lỗi (0)" in page.text and "Đã gửi lại đường dẫn mới" in page.text

    bad = _post(client, f"/admin/rounds/{round_id}/respondents/{ids[0]}/resend", url, email="không-hợp-lệ")
    assert bad.status_code == 422 and "Địa chỉ e-mail không hợp lệ" in bad.text
    with app.app_context():
        assert db.session().scalar(text("SELECT email FROM respondents WHERE id = :i"), {"i": ids[0]}) == f"r{ids[0]}@example.vn"


def test_a_focal_point_watches_only_their_agency(app, client, campaign, login):
    round_id = campaign(per_group=2)
    ids = respondent_ids(app, round_id)
    login("focal_point")  # creates the STP agency of province LCI
    with app.app_context(), db.unit_of_work() as session:
        agency = session.scalar(select(Agency).where(Agency.code == "STP"))
        session.execute(text("UPDATE respondents SET agency_id = :a WHERE id IN (:x, :y)"),
                        {"a": agency.id, "x": ids[0], "y": ids[7]})
    page = client.get(f"/admin/rounds/{round_id}/monitor")
    assert page.status_code == 200 and "Chưa nộp phiếu (2)" in page.text
    assert f"r{ids[0]}@example.vn" in page.text and f"r{ids[1]}@example.vn" not in page.text
    rows = {row[0]: row[1:] for row in _sheet(client.get(f"/admin/rounds/{round_id}/monitor.xlsx").data, "Theo cơ quan")}
    assert rows["Tổng cộng"][0] == 2
    outside = _post(client, f"/admin/rounds/{round_id}/respondents/{ids[1]}/resend", f"/admin/rounds/{round_id}/monitor")
    assert outside.status_code == 404
    assert client.get(f"/admin/rounds/{round_id}/mail").status_code == 403


def test_template_edit_preview_and_use(app, client, campaign, login):
    round_id = campaign(per_group=1)
    login("province_admin")
    url = f"/admin/rounds/{round_id}/mail/template?kind=invitation"
    page = client.get(url)
    assert page.status_code == 200 and "Thư mời tham gia {{ round_title }}" in page.text

    broken = _post(client, url, url, action="save", subject="Mời {{ full_name }}", body_text="Không có đường dẫn",
                   body_html="<p>{{ link }}</p>")
    assert broken.status_code == 422 and "phải chứa đường dẫn riêng" in broken.text
    unknown = _post(client, url, url, action="save", subject="Mời {{ ho_ten }}", body_text="{{ link }}",
                    body_html="<p>{{ link }}</p>")
    assert unknown.status_code == 422 and "biến không tồn tại" in unknown.text
    with app.app_context():
        assert db.session().scalars(select(MailTemplate)).all() == []

    preview = _post(client, url, url, action="preview", subject="Kính mời {{ full_name }}",
                    body_text="Chào {{ full_name }}: {{ link }}", body_html="<p>{{ full_name }} <b>{{ link }}</b></p>")
    assert preview.status_code == 200 and "Kính mời Nguyễn Văn An" in preview.text
    # The HTML part is shown rendered, in a frame that may run nothing, its markup escaped into srcdoc.
    assert ('<iframe class="mail-html" sandbox srcdoc="&lt;p&gt;Nguyễn Văn An &lt;b&gt;' in preview.text)
    saved = _post(client, url, url, action="save", subject="Kính mời {{ full_name }}",
                  body_text="Chào {{ full_name }}: {{ link }}", body_html="<p>{{ full_name }} <b>{{ link }}</b></p>")
    assert saved.status_code == 302
    invite_all(app, round_id)
    with app.app_context():
        message = db.session().scalars(select(OutboxMessage)).first()
        assert message.subject.startswith("Kính mời Người ")
        assert text_part(message.body).startswith("Chào Người")


def _links(app) -> tuple[int, int]:
    """(links issued, links still active) in the database."""
    with app.app_context():
        return (db.session().scalar(text("SELECT count(*) FROM access_links")),
                db.session().scalar(text("SELECT count(*) FROM access_links WHERE revoked_at IS NULL")))


def test_links_for_people_without_email_come_as_one_zip_of_sheet_and_letters(app, client, campaign, login):
    round_id = campaign(per_group=2)
    ids = respondent_ids(app, round_id)
    with app.app_context(), db.unit_of_work() as session:
        session.execute(text("UPDATE respondents SET email = NULL, phone = '0912345678' WHERE id IN (:a, :b, :c)"),
                        {"a": ids[0], "b": ids[4], "c": ids[9]})
    login("province_admin")
    page = f"/admin/rounds/{round_id}/mail"
    before = _links(app)

    # First the question, with the count; nothing issued, no earlier link revoked.
    question = _post(client, f"/admin/rounds/{round_id}/links", page, target="no_email")
    assert question.status_code == 200 and question.mimetype == "text/html"
    assert "Sẽ cấp đường dẫn mới cho 3 người" in question.text
    assert 'name="confirmed" value="3"' in question.text and 'name="target" value="no_email"' in question.text
    assert _links(app) == before

    # A count that no longer matches (the roster moved) is asked again, nothing issued.
    stale = _post(client, f"/admin/rounds/{round_id}/links", page, target="no_email", confirmed="4")
    assert stale.status_code == 409 and "từ 4 thành 3" in stale.text and _links(app) == before

    download = _post(client, f"/admin/rounds/{round_id}/links", page, target="no_email", confirmed="3")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    assert sorted(archive.namelist()) == [f"duong-dan-dot-{round_id}.xlsx", f"thu-moi-dot-{round_id}.pdf"]
    rows = _sheet(archive.read(f"duong-dan-dot-{round_id}.xlsx"), "Đường dẫn")[1:]
    assert len(rows) == 3 and all(row[4] == "0912345678" for row in rows)
    letters = archive.read(f"thu-moi-dot-{round_id}.pdf")
    assert letters.startswith(b"%PDF") and b"/Count 3\n" in letters  # one page per person
    assert letters.count(b"/Subtype /Image") == 3  # a QR code on each
    # One issuance for both documents: three new links, and the sheet's still open the questionnaire
    # (two exports used to revoke each other's links).
    assert _links(app) == (before[0] + 3, before[1])
    for row in rows:
        assert client.get(row[5].replace("http://localhost", "")).status_code == 200
        assert row[5] in row[6]  # the SMS text carries the link


def test_the_development_sink_shows_what_was_sent(app, client, campaign, login, tmp_path):
    app.config["MAIL_SINK_DIR"] = str(tmp_path)
    round_id = campaign(per_group=1)
    invite_all(app, round_id)
    controller = sink_controller(tmp_path, port=free_port())
    controller.start()
    try:
        class Sink:
            port = controller.port
        worker_for(app, Sink).run(until_idle=True)
    finally:
        controller.stop()
    assert len(list(tmp_path.glob("*.eml"))) == 5
    login("system_admin")
    listing = client.get("/admin/mail/sink")
    assert listing.status_code == 200 and listing.text.count("Thư mời tham gia") == 5
    name = sorted(p.name for p in tmp_path.glob("*.eml"))[0]
    message = client.get(f"/admin/mail/sink/{name}")
    assert message.status_code == 200 and "http://localhost/r/" in message.text
    assert client.get("/admin/mail/sink/..%2Fsecret_key").status_code == 404
    app.config["MAIL_SINK_DIR"] = None
    assert client.get("/admin/mail/sink").status_code == 404


def test_the_campaign_page_queues_invitations_for_one_group(app, client, campaign, login):
    round_id = campaign(per_group=2)
    login("province_admin")
    page = f"/admin/rounds/{round_id}/mail"
    assert client.get(page).status_code == 200
    with app.app_context():
        group_id = db.session().scalar(text("SELECT id FROM round_groups WHERE round_id = :r AND code = 'citizen'"),
                                       {"r": round_id})
    question = _post(client, f"/admin/rounds/{round_id}/mail/invite", page, group_id=str(group_id))
    assert question.status_code == 200 and "Sẽ xếp 2 thư mời vào hàng đợi gửi" in question.text
    assert outbox(app) == []
    reply = _post(client, f"/admin/rounds/{round_id}/mail/invite", page, group_id=str(group_id), confirmed="2")
    assert reply.status_code == 302
    assert "Đã xếp 2 thư mời vào hàng đợi gửi." in client.get(page).text
    rows = outbox(app)
    assert len(rows) == 2 and {r.status for r in rows} == {QUEUED}
    with app.app_context():
        actions = db.session().scalars(text("SELECT action FROM audit_events ORDER BY id")).all()
    assert "mail.invite" in actions
    assert SENT != FAILED


def test_the_call_list_acts_on_the_ticked_people_only(app, client, campaign, login):
    round_id = campaign(per_group=2)
    ids = respondent_ids(app, round_id)
    login("province_admin")
    url = f"/admin/rounds/{round_id}/monitor"
    nobody = _post(client, f"/admin/rounds/{round_id}/mail/invite", url, back="monitor", selection="1")
    assert nobody.status_code == 422 and outbox(app) == [] and "Chưa chọn người nào" in nobody.text
    question = _post(client, f"/admin/rounds/{round_id}/mail/invite", url, back="monitor", selection="1",
                     respondent=[str(ids[2]), str(ids[7])])
    assert question.status_code == 200 and "2 người được chọn" in question.text and outbox(app) == []
    for ticked in (ids[2], ids[7]):  # carried to the confirmation
        assert f'name="respondent" value="{ticked}"' in question.text
    ticked = _post(client, f"/admin/rounds/{round_id}/mail/invite", url, back="monitor", selection="1",
                   respondent=[str(ids[2]), str(ids[7])], confirmed="2")
    assert ticked.status_code == 302
    assert sorted(r.respondent_id for r in outbox(app)) == [ids[2], ids[7]]
