"""Upload -> preview -> confirm through the web pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select, update

from survey import db
from survey.accounts.models import AuditEvent
from survey.respond.links import issue_link
from survey.respond.models import AccessLink
from survey.rounds.models import Agency
from survey.roster.models import Respondent, RosterImport
from tests.conftest import csrf_token_in
from tests.roster.files import HEADER, csv_cp1258, csv_utf8, xlsx

PEOPLE = [
    [1, "Nguyễn Văn An", "Giám đốc Sở", "Sở Nội vụ", "Lãnh đạo sở, ban, ngành", "An.Nguyen@laocai.gov.vn", "0912345678"],
    [2, "Hoàng Thị Hạnh", "Trưởng phòng Cải cách hành chính", "Sở Nội vụ", "", "hanh@laocai.gov.vn", "912000111"],
    [3, "Giàng A Lử", "Phó Chủ tịch UBND huyện", "UBND huyện Bát Xát", "Lãnh đạo UBND cấp huyện", "", "0214 3840 123"],
    [4, "Lò Văn Cường", "Đại biểu HĐND tỉnh", "Văn phòng Đoàn ĐBQH và HĐND tỉnh", "Đại biểu HĐND tỉnh", "cuong@laocai.gov.vn", ""],
]


def upload(client, round_id, data: bytes, name: str = "danh-sach.xlsx", **fields):
    page = client.get(f"/admin/rounds/{round_id}/import")
    assert page.status_code == 200
    form = {"csrf_token": csrf_token_in(page.text), "file": (io.BytesIO(data), name), **fields}
    return client.post(f"/admin/rounds/{round_id}/import", data=form, content_type="multipart/form-data")


def confirm(client, import_id):
    page = client.get(f"/admin/imports/{import_id}")
    return client.post(f"/admin/imports/{import_id}/confirm", data={"csrf_token": csrf_token_in(page.text)})


def import_id_of(reply) -> int:
    assert reply.status_code == 303, reply.text
    return int(reply.headers["Location"].rsplit("/", 1)[1])


def people(app, round_id):
    with app.app_context():
        return db.session().scalars(select(Respondent).where(Respondent.round_id == round_id)
                                    .order_by(Respondent.full_name)).all()


def count(app, model) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


def actions(app) -> list[str]:
    with app.app_context():
        return db.session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def test_upload_preview_confirm_then_reimport_a_corrected_file_updates_instead_of_duplicating(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    imp = import_id_of(upload(client, round_id, xlsx([HEADER, *PEOPLE], title_rows=[["DANH SÁCH"], []])))
    preview = client.get(f"/admin/imports/{imp}")
    assert 'id="count-add">4<' in preview.text and 'id="count-errors">0<' in preview.text
    assert people(app, round_id) == []  # nothing written before confirmation

    reply = confirm(client, imp)
    assert reply.status_code == 303
    listed = people(app, round_id)
    assert [(p.full_name, p.phone, p.email_normalised) for p in listed] == [
        ("Giàng A Lử", "02143840123", None),
        ("Hoàng Thị Hạnh", "0912000111", "hanh@laocai.gov.vn"),
        ("Lò Văn Cường", None, "cuong@laocai.gov.vn"),
        ("Nguyễn Văn An", "0912345678", "an.nguyen@laocai.gov.vn"),
    ]
    assert {p.import_id for p in listed} == {imp}
    assert actions(app)[-2:] == ["roster.upload", "roster.import"]

    corrected = [row[:] for row in PEOPLE]
    corrected[0][5] = "an.nguyen@LAOCAI.gov.vn"      # same e-mail, other case: same person
    corrected[0][2] = "Phó Giám đốc Sở"             # a corrected position
    corrected[2][5] = "lu@laocai.gov.vn"            # a missing e-mail supplied (matched by phone)
    corrected.append([5, "Vàng Thị Mai", "Trưởng phòng Ngân sách", "Sở Tài chính", "", "mai@laocai.gov.vn", ""])
    imp2 = import_id_of(upload(client, round_id, xlsx([HEADER, *corrected]), name="danh-sach-sua.xlsx"))
    preview = client.get(f"/admin/imports/{imp2}")
    # An (position, e-mail spelling) and Lử (e-mail) change; Hạnh and Cường do not; Mai is new.
    assert 'id="count-add">1<' in preview.text and 'id="count-update">2<' in preview.text
    assert 'id="count-unchanged">2<' in preview.text
    assert confirm(client, imp2).status_code == 303
    listed = people(app, round_id)
    assert len(listed) == 5
    an = next(p for p in listed if p.full_name == "Nguyễn Văn An")
    assert (an.position, an.email, an.import_id) == ("Phó Giám đốc Sở", "an.nguyen@laocai.gov.vn", imp2)
    assert next(p for p in listed if p.full_name == "Giàng A Lử").email == "lu@laocai.gov.vn"

    # Confirming twice does nothing more.
    again = confirm(client, imp2)
    assert again.status_code == 409 and len(people(app, round_id)) == 5


def test_a_file_with_errors_cannot_be_confirmed_and_its_problems_are_listed(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    rows = [HEADER, *PEOPLE, [5, "Trần <b>Bình</b>", "Giám đốc Sở", "Sở Nội vụ", "", "an.nguyen@laocai.gov.vn", ""],
            [6, "Lý Thị Sen", "Giám đốc Sở", "Sở Không Có", "", "sen@x.vn", ""]]
    imp = import_id_of(upload(client, round_id, xlsx(rows)))
    preview = client.get(f"/admin/imports/{imp}")
    assert "Họ và tên chứa ký tự không hợp lệ: / &lt; &gt;" in preview.text
    assert "<b>Bình</b>" not in preview.text
    assert "Cơ quan “Sở Không Có” chưa có trong danh mục của tỉnh" in preview.text
    assert "Xác nhận nhập danh sách" not in preview.text
    reply = confirm(client, imp)
    assert reply.status_code == 409 and "còn lỗi hoặc trùng lặp" in reply.text
    assert people(app, round_id) == []


@pytest.mark.parametrize("data, name, message", [
    (b"", "ds.xlsx", "Tệp rỗng"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "danh-sach.xlsx", "Tệp là tài liệu PDF"),
    (xlsx([HEADER]), "ds.xlsx", "Tệp chỉ có dòng tiêu đề"),
    (xlsx([["Họ và tên", "Email", "Email"], ["Nguyễn Văn An", "a@x.vn", "a@x.vn"]]), "ds.xlsx", "xuất hiện nhiều lần"),
])
def test_bad_files_get_a_clear_message_and_write_nothing(app, client, login, roster_round, data, name, message):
    round_id = roster_round()
    login("province_admin")
    reply = upload(client, round_id, data, name)
    assert reply.status_code == 400 and message in reply.text
    assert count(app, RosterImport) == 0 and count(app, Respondent) == 0


def test_a_50_megabyte_file_is_refused_before_it_is_read(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    page = client.get(f"/admin/rounds/{round_id}/import")
    # The multipart body is built here: the test client would spool a 50 MB file to a temporary
    # file it never closes.
    boundary = "----roster-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{csrf_token_in(page.text)}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"lon.csv\"\r\nContent-Type: text/csv\r\n\r\n").encode() + b"0" * (50 * 1024 * 1024) + \
        f"\r\n--{boundary}--\r\n".encode()
    reply = client.post(f"/admin/rounds/{round_id}/import", data=body,
                        content_type=f"multipart/form-data; boundary={boundary}")
    assert reply.status_code == 413 and "Tệp quá lớn; giới hạn dung lượng tệp là 20 MB" in reply.text
    assert count(app, RosterImport) == 0


def test_windows_1258_csv_through_the_web(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    imp = import_id_of(upload(client, round_id, csv_cp1258([HEADER, *PEOPLE]), "danh-sach.csv"))
    assert confirm(client, imp).status_code == 303
    assert "Hoàng Thị Hạnh" in [p.full_name for p in people(app, round_id)]


def test_a_failure_in_the_middle_of_the_write_leaves_the_roster_as_it_was(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    assert confirm(client, import_id_of(upload(client, round_id, xlsx([HEADER, PEOPLE[0]])))).status_code == 303
    changed = [row[:] for row in PEOPLE]
    changed[0][2] = "Phó Giám đốc Sở"  # an update, written first
    imp = import_id_of(upload(client, round_id, xlsx([HEADER, *changed])))
    with app.app_context():
        # The stored batch is damaged after the preview (as a disk or a bug might): the third new
        # row breaks a database constraint after the update and two inserts were sent.
        session = db.session()
        batch = session.get(RosterImport, imp)
        rows = [dict(r) for r in batch.rows]
        rows[3]["full_name"] = "   "
        session.execute(update(RosterImport).where(RosterImport.id == imp).values(rows=rows))
        session.commit()
    reply = confirm(client, imp)
    assert reply.status_code == 409 and "không dòng nào được ghi" in reply.text
    listed = people(app, round_id)
    assert [(p.full_name, p.position) for p in listed] == [("Nguyễn Văn An", "Giám đốc Sở")]
    with app.app_context():
        assert db.session().get(RosterImport, imp).status == "pending"


def test_focal_point_imports_and_sees_only_their_agency(app, client, login, staff, roster_round):
    round_id = roster_round()
    staff("province_admin")
    login("focal_point")  # agency STP (Sở Tư pháp)
    rows = [HEADER, [1, "Phạm Minh Đức", "Giám đốc Sở", "", "", "duc@laocai.gov.vn", ""],
            [2, "Bùi Thu Mai", "Trưởng phòng", "Sở Tư pháp", "", "mai@laocai.gov.vn", ""]]
    imp = import_id_of(upload(client, round_id, xlsx(rows)))
    assert confirm(client, imp).status_code == 303
    with app.app_context():
        session = db.session()
        stp = session.scalar(select(Agency).where(Agency.code == "STP"))
        snv = session.scalar(select(Agency).where(Agency.code == "SNV"))
        assert {p.agency_id for p in session.scalars(select(Respondent))} == {stp.id}
        from survey.roster.people import add_respondent
        from survey.rounds.models import Round
        round_ = session.get(Round, round_id)
        other = add_respondent(session, round_, round_.groups[1], full_name="Người Sở Nội Vụ", agency=snv)
        session.commit()
        other_id = other.id
    assert client.get(f"/admin/respondents/{other_id}/edit").status_code == 404
    listing = client.get(f"/admin/rounds/{round_id}/respondents")
    assert "Phạm Minh Đức" in listing.text and "Người Sở Nội Vụ" not in listing.text
    # Another agency's row is skipped, naming the agency but not the person.
    imp = import_id_of(upload(client, round_id, xlsx([HEADER, [1, "Lê Văn Tâm", "Giám đốc Sở", "Sở Nội vụ", "", "", ""]])))
    preview = client.get(f"/admin/imports/{imp}").text
    assert "Dòng của cơ quan, đơn vị khác (“Sở Nội vụ”): bỏ qua" in preview and "Lê Văn Tâm" not in preview


def test_add_edit_and_remove_a_respondent_removal_after_invitation_needs_confirmation(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    with app.app_context():
        session = db.session()
        snv = session.scalar(select(Agency).where(Agency.code == "SNV"))
        from survey.rounds.models import Round
        department = session.get(Round, round_id).groups[1]
    page = client.get(f"/admin/rounds/{round_id}/respondents/new")
    form = {"csrf_token": csrf_token_in(page.text), "full_name": " Nguyễn  Văn An ", "position": "Giám đốc Sở",
            "email": "AN@laocai.gov.vn", "phone": "+84 912 345 678", "group_id": department.id, "agency_id": snv.id}
    assert client.post(f"/admin/rounds/{round_id}/respondents/new", data=form).status_code == 302
    (person,) = people(app, round_id)
    assert (person.full_name, person.phone, person.email_normalised) == ("Nguyễn Văn An", "0912345678", "an@laocai.gov.vn")
    duplicate = client.post(f"/admin/rounds/{round_id}/respondents/new", data={**form, "full_name": "Người Khác", "phone": ""})
    assert duplicate.status_code == 422 and "đã có trong danh sách" in duplicate.text
    bad = client.post(f"/admin/respondents/{person.id}/edit", data={**form, "phone": "12"})
    assert bad.status_code == 422 and "Số điện thoại không hợp lệ: 12" in bad.text
    assert client.post(f"/admin/respondents/{person.id}/edit", data={**form, "position": "Phó Giám đốc Sở"}).status_code == 302
    assert people(app, round_id)[0].position == "Phó Giám đốc Sở"

    with app.app_context():
        session = db.session()
        issue_link(session, session.get(Respondent, person.id))
        session.commit()
    token = {"csrf_token": form["csrf_token"]}
    refused = client.post(f"/admin/respondents/{person.id}/remove", data=token)
    assert refused.status_code == 409 and "đã được gửi đường dẫn" in refused.text
    assert people(app, round_id)[0].removed_at is None
    assert client.post(f"/admin/respondents/{person.id}/remove", data={**token, "confirm": "yes"}).status_code == 302
    (removed,) = people(app, round_id)  # kept, marked removed
    assert removed.removed_at is not None
    with app.app_context():
        assert db.session().scalar(select(AccessLink.revoked_at).where(AccessLink.respondent_id == person.id)) is not None
    assert actions(app)[-4:] == ["auth.login", "roster.add", "roster.edit", "roster.remove"][-4:] or \
        [a for a in actions(app) if a.startswith("roster.")] == ["roster.add", "roster.edit", "roster.remove"]
    # The same person may be listed again after removal.
    assert client.post(f"/admin/rounds/{round_id}/respondents/new", data=form).status_code == 302


def test_export_in_the_ministry_layout_defuses_formulas_and_is_audited(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    rows = [HEADER, *PEOPLE, [5, "Đinh Văn Năm", "=HYPERLINK(\"http://x\",\"Trưởng phòng\")", "Sở Tư pháp",
                              "Lãnh đạo cấp phòng thuộc sở, ban, ngành", "", ""]]
    # Typed as text, it stays text: an .xlsx text cell without an apostrophe, a CSV value behind one.
    assert confirm(client, import_id_of(upload(client, round_id, csv_utf8(rows), "ds.csv"))).status_code == 303
    reply = client.get(f"/admin/rounds/{round_id}/export.xlsx")
    assert reply.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(reply.data), read_only=True)
    assert workbook.sheetnames == ["Đại biểu HĐND tỉnh", "Lãnh đạo sở, ban, ngành",
                                   "Lãnh đạo cấp phòng thuộc sở", "Lãnh đạo UBND cấp huyện", "Người dân, tổ chức"]
    division = [list(r) for r in workbook["Lãnh đạo cấp phòng thuộc sở"].iter_rows(values_only=True)]
    assert division[3] == ["STT", "Họ và tên", "Chức vụ", "Cơ quan/đơn vị", "Nhóm đối tượng", "Số điện thoại", "Email"]
    assert division[4:] == [  # by agency, then name
        [1, "Hoàng Thị Hạnh", "Trưởng phòng Cải cách hành chính", "Sở Nội vụ",
         "Lãnh đạo cấp phòng thuộc sở, ban, ngành", "0912000111", "hanh@laocai.gov.vn"],
        [2, "Đinh Văn Năm", "=HYPERLINK(\"http://x\",\"Trưởng phòng\")", "Sở Tư pháp",
         "Lãnh đạo cấp phòng thuộc sở, ban, ngành", None, None],
    ]
    cell = openpyxl.load_workbook(io.BytesIO(reply.data))["Lãnh đạo cấp phòng thuộc sở"]["C6"]
    assert cell.data_type == "s"  # a text cell: shown as typed, never run as a formula
    text = client.get(f"/admin/rounds/{round_id}/export.csv").data.decode("utf-8")
    assert text.startswith("\ufeffSTT,Họ và tên,Chức vụ,Cơ quan/đơn vị,Nhóm đối tượng,Số điện thoại,Email\r\n")
    assert text.count("\r\n") == 6 and "'=HYPERLINK" in text
    assert actions(app)[-2:] == ["roster.export", "roster.export"]


def test_dashboard_counts_expected_listed_missing_contacts_and_silent_agencies(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    page = client.get(f"/admin/rounds/{round_id}/quotas")
    with app.app_context():
        session = db.session()
        from survey.rounds.models import Round
        groups = {g.code: g.id for g in session.get(Round, round_id).groups}
        agencies = {a.code: a.id for a in session.scalars(select(Agency))}
    quotas = {"csrf_token": csrf_token_in(page.text),
              f"q_{agencies['SNV']}_{groups['department']}": "3", f"q_{agencies['SNV']}_{groups['division']}": "2",
              f"q_{agencies['SYT']}_{groups['department']}": "3"}
    assert client.post(f"/admin/rounds/{round_id}/quotas", data=quotas).status_code == 302
    assert confirm(client, import_id_of(upload(client, round_id, xlsx([HEADER, *PEOPLE])))).status_code == 303
    board = client.get(f"/admin/rounds/{round_id}/roster").text
    # Expected 3+2+3 = 8; listed 4 (An, Hạnh, Lử, Cường); no e-mail: Lử; no phone: Cường.
    assert 'id="total-expected">8<' in board and 'id="total-listed">4<' in board
    assert 'id="total-no-email">1<' in board and 'id="total-no-phone">1<' in board
    assert "Chưa gửi danh sách (1):</strong>\n  Sở Y tế" in board
    assert "Hạn gửi danh sách về Bộ Nội vụ: 10/12/2023" in board


def test_columns_the_system_cannot_recognise_are_mapped_by_the_user(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    rows = [["Cột 1", "Cột 2", "Cột 3", "Cột 4"],
            ["Nguyễn Văn An", "Sở Nội vụ", "Giám đốc Sở", "an@laocai.gov.vn"]]
    refused = upload(client, round_id, xlsx(rows))
    assert refused.status_code == 400 and "Không tìm thấy dòng tiêu đề" in refused.text
    imp = import_id_of(upload(client, round_id, xlsx(rows), col_full_name="A", col_agency="B", col_position="C",
                              col_email="d"))
    preview = client.get(f"/admin/imports/{imp}")
    # Without a recognised header the first row is data too, and fails as a person.
    assert 'id="count-add">1<' in preview.text and 'id="count-errors">1<' in preview.text
    # Re-mapping on the preview: the e-mail column left out.
    remapped = client.post(f"/admin/imports/{imp}/mapping", data={
        "csrf_token": csrf_token_in(preview.text), "col_full_name": "0", "col_agency": "1", "col_position": "2"})
    assert remapped.status_code == 303
    with app.app_context():
        batch = db.session().get(RosterImport, imp)
        assert batch.mapping == {"full_name": 0, "agency": 1, "position": 2}
        assert [r["email"] for r in batch.rows] == [""]


def test_a_preview_left_for_more_than_a_day_is_refused_then_discarded(app, client, login, roster_round):
    """An abandoned upload keeps people's contacts: after 24 hours it cannot be confirmed, and then goes."""
    round_id = roster_round()
    login("province_admin")
    broken = [HEADER, [1, "Nguyễn Văn An", "Giám đốc Sở", "Sở Nội vụ", "Nhóm không có", "an@laocai.gov.vn", ""]]
    old = import_id_of(upload(client, round_id, xlsx([HEADER, *PEOPLE])))
    with_problems = import_id_of(upload(client, round_id, xlsx(broken), name="loi.xlsx"))
    assert 'Lỗi trong các tệp chưa xác nhận<strong id="open-problems">1</strong>' in client.get(f"/admin/rounds/{round_id}/roster").text

    def age(import_id, hours):
        with app.app_context(), db.unit_of_work() as session:
            imp = session.get(RosterImport, import_id)
            imp.created_at = imp.created_at - timedelta(hours=hours)

    age(old, 25)
    age(with_problems, 25)
    assert "đã quá 24 giờ" in client.get(f"/admin/imports/{old}").text  # said before anyone tries
    refused = confirm(client, old)
    assert "đã quá 24 giờ" in refused.text
    assert people(app, round_id) == []  # nothing was written
    # No longer counted on the dashboard, though not yet discarded.
    assert 'Lỗi trong các tệp chưa xác nhận<strong id="open-problems">0</strong>' in client.get(f"/admin/rounds/{round_id}/roster").text

    result = app.test_cli_runner().invoke(args=["roster", "discard-stale"])
    assert result.exit_code == 0 and "Đã hủy 2 bản xem trước" in result.output
    with app.app_context():
        for import_id in (old, with_problems):
            imp = db.session().get(RosterImport, import_id)
            assert (imp.status, imp.content, imp.rows) == ("discarded", None, [])

    # A fresh upload sweeps as well: a preview aged again is discarded by the next upload.
    expired = import_id_of(upload(client, round_id, xlsx([HEADER, *PEOPLE])))
    age(expired, 25)  # an expired preview can still be thrown away by hand
    page = client.get(f"/admin/imports/{expired}")
    thrown = client.post(f"/admin/imports/{expired}/discard", data={"csrf_token": csrf_token_in(page.text)})
    assert thrown.status_code == 303
    recent = import_id_of(upload(client, round_id, xlsx([HEADER, *PEOPLE])))
    age(recent, 25)
    newest = import_id_of(upload(client, round_id, xlsx([HEADER, *PEOPLE])))
    with app.app_context():
        assert db.session().get(RosterImport, recent).status == "discarded"
        assert db.session().get(RosterImport, expired).status == "discarded"
    assert confirm(client, newest).status_code == 303
