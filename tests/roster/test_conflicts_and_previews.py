"""Issue 14 (roster) and 13.4: conflicts decided on the preview, footer rows, missing contacts,
unknown agencies, pending previews, focal points' province-wide files; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re

import openpyxl
from sqlalchemy import select

from survey import db
from survey.rounds.models import Agency, AgencyAlias
from survey.roster.models import Respondent
from tests.conftest import csrf_token_in
from tests.roster.files import HEADER, xlsx
from tests.roster.test_roster_web import confirm, import_id_of, people, upload

DIRECTOR = [1, "Nguyễn Văn An", "Giám đốc Sở", "Sở Tư pháp", "Lãnh đạo sở, ban, ngành", "an@laocai.gov.vn", "0912345678"]
QUYNH = [2, "Ngô Thị Quỳnh", "Phó Giám đốc Sở", "Sở Tư pháp", "Lãnh đạo sở, ban, ngành", "quynh@laocai.gov.vn", "0912000222"]


def seed(client, round_id, rows):
    assert confirm(client, import_id_of(upload(client, round_id, xlsx([HEADER, *rows])))).status_code == 303


def post_on_preview(client, imp, path, data):
    page = client.get(f"/admin/imports/{imp}")
    return client.post(f"/admin/imports/{imp}/{path}", data={"csrf_token": csrf_token_in(page.text), **data})


def placed(app, round_id) -> list[tuple]:
    with app.app_context():
        return db.session().execute(select(Respondent.full_name, Agency.code, Respondent.position)
                                    .join(Agency, Respondent.agency_id == Agency.id)
                                    .where(Respondent.round_id == round_id).order_by(Respondent.id)).all()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_someone_listed_in_another_agency_is_a_conflict_the_administrator_decides(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    seed(client, round_id, [DIRECTOR])
    # A district's list names the department's director (same e-mail and phone).
    moved = [1, "Nguyễn Văn An", "Phó Chủ tịch UBND huyện", "UBND huyện Bát Xát", "", "an@laocai.gov.vn", "0912345678"]
    imp = import_id_of(upload(client, round_id, xlsx([HEADER, moved]), name="bat-xat.xlsx"))
    page = client.get(f"/admin/imports/{imp}").text
    assert 'id="count-update">0<' in page and 'id="count-conflicts">1<' in page
    row = text_of(page.split('id="conflict-2"')[1].split("</tr>")[0])
    assert "e-mail và số điện thoại" in row and "Sở Tư pháp" in row and "UBND huyện Bát Xát" in row
    # Not confirmable until decided; nothing moved.
    assert confirm(client, imp).status_code == 409
    assert placed(app, round_id) == [("Nguyễn Văn An", "STP", "Giám đốc Sở")]

    assert post_on_preview(client, imp, "decisions", {"choice_2": "keep"}).status_code == 303
    assert confirm(client, imp).status_code == 303
    assert placed(app, round_id) == [("Nguyễn Văn An", "STP", "Giám đốc Sở")]

    # The same file again, and this time the administrator takes the new entry.
    imp = import_id_of(upload(client, round_id, xlsx([HEADER, moved]), name="bat-xat.xlsx"))
    assert post_on_preview(client, imp, "decisions", {"choice_2": "take"}).status_code == 303
    assert confirm(client, imp).status_code == 303
    assert placed(app, round_id) == [("Nguyễn Văn An", "BATXAT", "Phó Chủ tịch UBND huyện")]


def test_a_focal_point_never_moves_nor_learns_of_another_agencys_people(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    seed(client, round_id, [DIRECTOR, QUYNH])
    client.get("/admin/logout")
    login("focal_point", agency_code="SNV")  # the Department of Home Affairs
    # Their file names two contacts already listed by the Department of Justice, one row matching both.
    rows = [HEADER, [1, "Lê Thị Hoa", "Giám đốc Sở", "", "", "an@laocai.gov.vn", "0912000222"],
            [2, "Phan Văn Bình", "Phó Giám đốc Sở", "", "", "quynh@laocai.gov.vn", ""],
            [3, "Đỗ Văn Cường", "Trưởng phòng", "", "", "cuong@laocai.gov.vn", "0913000333"]]
    imp = import_id_of(upload(client, round_id, xlsx(rows)))
    page = client.get(f"/admin/imports/{imp}").text
    for secret in ("Nguyễn Văn An", "Ngô Thị Quỳnh", "Sở Tư pháp", "không thuộc cơ quan nào"):
        assert secret not in page
    assert "Lê Thị Hoa (dòng 2)" in page and "Phan Văn Bình (dòng 3)" in page
    assert page.count("đã có trong danh sách của một cơ quan, đơn vị khác; Sở Nội vụ (quản trị viên cấp tỉnh) "
                      "có thể giải quyết") == 2
    assert "Dòng này được bỏ qua; không ai bị chuyển" in page  # Phan Văn Bình: skipped, not blocking
    assert 'id="count-errors">0<' in page and 'id="count-duplicates">1<' in page  # Lê Thị Hoa matches two people


def test_a_focal_point_imports_only_their_agencys_rows_of_a_province_wide_file(app, client, login, roster_round):
    round_id = roster_round()
    login("focal_point", agency_code="STP")
    rows = [HEADER, DIRECTOR, [2, "Hoàng Thị Hạnh", "Giám đốc Sở", "Sở Nội vụ", "", "hanh@laocai.gov.vn", "0912000111"],
            [3, "Giàng A Lử", "Phó Chủ tịch UBND huyện", "UBND huyện Bát Xát", "", "lu@laocai.gov.vn", "0912000333"],
            [4, "<b>Sai</b>", "Giám đốc Sở", "Sở Y tế", "", "", ""]]
    imp = import_id_of(upload(client, round_id, xlsx(rows), name="toan-tinh.xlsx"))
    page = client.get(f"/admin/imports/{imp}").text
    assert 'id="count-add">1<' in page and 'id="count-skipped">3<' in page and 'id="count-errors">0<' in page
    for other in ("Hoàng Thị Hạnh", "Giàng A Lử", "Sai"):
        assert other not in page
    assert "Dòng của cơ quan, đơn vị khác (“UBND huyện Bát Xát”): bỏ qua" in page
    assert confirm(client, imp).status_code == 303
    assert [p.full_name for p in people(app, round_id)] == ["Nguyễn Văn An"]


def test_totals_signatures_and_notes_after_the_list_are_skipped_and_listed(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    rows = [HEADER, DIRECTOR, QUYNH, ["Tổng cộng: 24 người"], ["", "Cộng", "", "", "", "", "2"], ["", "24"],
            [], ["", "Người lập biểu", "", "", "Thủ trưởng đơn vị"], ["", "Trần Văn Lập", "", "", "Lê Văn Trưởng"],
            ["Ghi chú: danh sách gửi kèm công văn số 12/SNV"]]
    imp = import_id_of(upload(client, round_id, xlsx(rows)))
    page = client.get(f"/admin/imports/{imp}").text
    assert 'id="count-add">2<' in page and 'id="count-errors">0<' in page and 'id="count-skipped">6<' in page
    assert "Bỏ qua dòng tổng cộng, chữ ký hoặc ghi chú ở cuối danh sách: “Tổng cộng: 24 người”." in page
    assert "“Người lập biểu Thủ trưởng đơn vị”" in page
    assert confirm(client, imp).status_code == 303
    assert {p.full_name for p in people(app, round_id)} == {"Ngô Thị Quỳnh", "Nguyễn Văn An"}


def test_a_missing_email_is_a_warning_and_counted_on_the_dashboard(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    rows = [HEADER, DIRECTOR, [2, "Ngô Thị Quỳnh", "Phó Giám đốc Sở", "Sở Tư pháp", "", "", "0912000222"],
            [3, "Lý Văn Sen", "Trưởng phòng", "Sở Tư pháp", "", "", "0912000444"]]
    imp = import_id_of(upload(client, round_id, xlsx(rows)))
    page = client.get(f"/admin/imports/{imp}").text
    assert 'id="count-warnings">2<' in page and 'id="count-errors">0<' in page
    assert "2 dòng (3, 4)" in page and "Thiếu e-mail: dòng vẫn được nhập" in page
    assert confirm(client, imp).status_code == 303
    assert 'id="total-no-email">2<' in client.get(f"/admin/rounds/{round_id}/roster").text


def test_unknown_agencies_are_grouped_suggested_and_mapped_to_a_remembered_alias(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    council = [[n, f"Đại biểu Số {chr(64 + n)}", "Đại biểu HĐND tỉnh", "HĐND tỉnh Lào Cai", "Đại biểu HĐND tỉnh",
                f"db{n}@laocai.gov.vn", f"09120005{n:02d}"] for n in range(1, 4)]
    typo = [4, "Trần Văn Ba", "Giám đốc Sở", "Sở Tài chánh", "", "ba@laocai.gov.vn", "0912000666"]
    imp = import_id_of(upload(client, round_id, xlsx([HEADER, *council, typo])))
    page = client.get(f"/admin/imports/{imp}").text
    assert "3 dòng (2, 3, 4)" in page and page.count("HĐND tỉnh Lào Cai” chưa có trong danh mục") == 1
    assert "Cơ quan “Sở Tài chánh” chưa có trong danh mục của tỉnh (gần nhất: “Sở Tài chính”)." in page
    with app.app_context():
        hdnd, stc = (db.session().scalar(select(Agency).where(Agency.code == c)) for c in ("HDND", "STC"))
        hdnd_id, stc_id = hdnd.id, stc.id
    # The closest agency is preselected in the mapping form.
    assert re.search(rf'<option value="{stc_id}" selected>Sở Tài chính</option>', page)

    reply = post_on_preview(client, imp, "agencies", {"name": "HĐND tỉnh Lào Cai", "action": "map",
                                                      "agency_id": hdnd_id})
    assert reply.status_code == 303
    reply = post_on_preview(client, imp, "agencies", {"name": "Sở Tài chánh", "action": "add", "code": "STC2",
                                                      "kind": "department"})
    assert reply.status_code == 303
    page = client.get(f"/admin/imports/{imp}").text
    assert 'id="count-add">4<' in page and 'id="count-errors">0<' in page
    assert confirm(client, imp).status_code == 303
    with app.app_context():
        session = db.session()
        assert [(a.name, a.agency.code) for a in session.scalars(select(AgencyAlias))] == [("HĐND tỉnh Lào Cai", "HDND")]
        assert session.scalar(select(Agency).where(Agency.code == "STC2")).name == "Sở Tài chánh"
    # Remembered: the next file with the same name reads without a problem.
    more = [[5, "Đại biểu Năm", "Đại biểu HĐND tỉnh", "HĐND TỈNH LÀO CAI", "Đại biểu HĐND tỉnh", "db5@laocai.gov.vn", ""]]
    imp = import_id_of(upload(client, round_id, xlsx([HEADER, *more])))
    assert 'id="count-errors">0<' in client.get(f"/admin/imports/{imp}").text


def test_the_agencies_import_accepts_kinds_as_the_pages_show_them(app, client, login):
    login("province_admin")
    page = client.get("/admin/agencies")
    data = "mã,tên,loại\nXA1,UBND xã Tả Phìn,Cấp xã\nHUYEN1,UBND huyện Mới,Cấp huyện\nSO1,Sở Mới,\"Sở, ban, ngành\"\n"
    reply = client.post("/admin/agencies", data={"csrf_token": csrf_token_in(page.text),
                                                 "file": (io.BytesIO(data.encode()), "co-quan.csv")},
                        content_type="multipart/form-data")
    assert reply.status_code == 303, reply.text
    with app.app_context():
        kinds = dict(db.session().execute(select(Agency.code, Agency.kind).where(Agency.code.in_(["XA1", "HUYEN1", "SO1"]))).all())
    assert kinds == {"XA1": "commune", "HUYEN1": "district", "SO1": "department"}


def test_pending_previews_are_listed_with_owner_and_age_and_can_be_discarded(app, client, login, roster_round):
    round_id = roster_round()
    email = login("province_admin")
    imp = import_id_of(upload(client, round_id, xlsx([HEADER, [1, "Nguyễn Văn An", "Giám đốc Sở", "Sở Không Có", "", "", ""]]),
                              name="bo-do.xlsx"))
    page = client.get(f"/admin/rounds/{round_id}/imports")
    assert page.status_code == 200
    row = text_of(page.text.split(f'id="import-{imp}"')[1].split("</tr>")[0])
    assert "bo-do.xlsx" in row and email in row and "0 phút" in row and "Toàn tỉnh" in row
    assert 'id="pending-count">1<' in client.get(f"/admin/rounds/{round_id}/roster").text
    reply = client.post(f"/admin/imports/{imp}/discard", data={"csrf_token": csrf_token_in(page.text), "back": "imports"})
    assert reply.status_code == 303 and reply.headers["Location"].endswith(f"/admin/rounds/{round_id}/imports")
    assert "bo-do.xlsx" not in client.get(f"/admin/rounds/{round_id}/imports").text


def test_the_ministry_workbook_is_sorted_by_agency_then_position_with_a_frozen_header(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    seed(client, round_id, [
        [1, "Trần Văn Phó", "Phó Giám đốc Sở", "Sở Tư pháp", "Lãnh đạo sở, ban, ngành", "pho@laocai.gov.vn", "0912000001"],
        [2, "An Văn Giám", "Giám đốc Sở", "Sở Tư pháp", "Lãnh đạo sở, ban, ngành", "giam@laocai.gov.vn", "0912000002"],
        [3, "Bùi Thị Nội", "Giám đốc Sở", "Sở Nội vụ", "Lãnh đạo sở, ban, ngành", "-noi@laocai.gov.vn", "0912000003"],
    ])
    reply = client.get(f"/admin/rounds/{round_id}/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(reply.data))["Lãnh đạo sở, ban, ngành"]
    header_row = next(r for r in range(1, 10) if sheet.cell(r, 1).value == "STT")
    assert sheet.freeze_panes == f"A{header_row + 1}"
    assert sheet.column_dimensions["B"].width >= 20 and sheet.column_dimensions["D"].width >= 30
    listed = [[c.value for c in row] for row in sheet.iter_rows(min_row=header_row + 1)]
    assert [(r[1], r[3]) for r in listed] == [("Bùi Thị Nội", "Sở Nội vụ"), ("An Văn Giám", "Sở Tư pháp"),
                                              ("Trần Văn Phó", "Sở Tư pháp")]
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert all(c.data_type == "s" and not c.value.startswith("'") for c in cells)


def test_the_respondent_list_has_a_total_pages_sorting_statuses_and_bulk_removal(app, client, login, roster_round):
    from survey.respond.links import issue_link

    round_id = roster_round()
    login("province_admin")
    rows = [[n, f"Người Số {chr(65 + n // 26)}{chr(65 + n % 26)}", "Chuyên viên", "Sở Tư pháp", "Lãnh đạo cấp phòng",
             f"p{n}@laocai.gov.vn", f"0912{n:06d}"] for n in range(1, 56)]
    seed(client, round_id, rows)
    page = client.get(f"/admin/rounds/{round_id}/respondents").text
    assert "Tổng số: <strong>55</strong> người · trang 1/2" in page
    assert re.search(r'<a href="[^"]*page=2[^"]*">2</a>', page)
    ordered = client.get(f"/admin/rounds/{round_id}/respondents?sort=name&dir=desc").text
    names = re.findall(r"<td>(Người Số \w\w)</td>", ordered)
    assert names[0] == "Người Số CD" and names == sorted(names, reverse=True) and len(names) == 50
    assert all(label in page for label in ("Đã mời", "Đã mở phiếu", "Đã bắt đầu", "Đã nộp"))
    with app.app_context():
        session = db.session()
        first, second = session.scalars(select(Respondent).order_by(Respondent.id).limit(2)).all()
        issue_link(session, first)
        session.commit()
        ids = [first.id, second.id]
    invited_page = client.get(f"/admin/rounds/{round_id}/respondents?sort=created").text
    assert invited_page.count('class="status-opened">✓') == 0

    token = csrf_token_in(page)
    refused = client.post(f"/admin/rounds/{round_id}/respondents/bulk",
                          data={"csrf_token": token, "action": "remove", "respondent": ids})
    assert refused.status_code == 422 and "1 người trong số đã chọn đã được gửi đường dẫn" in refused.text
    assert len(people(app, round_id)) == 55 and all(p.removed_at is None for p in people(app, round_id))
    done = client.post(f"/admin/rounds/{round_id}/respondents/bulk",
                       data={"csrf_token": token, "action": "remove", "respondent": ids, "confirm": "yes"})
    assert done.status_code == 303
    assert "Tổng số: <strong>53</strong> người" in client.get(f"/admin/rounds/{round_id}/respondents").text


def test_a_focal_point_cannot_tick_another_agencys_people_nor_invite(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    seed(client, round_id, [DIRECTOR, [2, "Hoàng Thị Hạnh", "Giám đốc Sở", "Sở Nội vụ", "", "hanh@laocai.gov.vn", ""]])
    with app.app_context():
        ids = dict(db.session().execute(select(Respondent.full_name, Respondent.id)).all())
    client.get("/admin/logout")
    login("focal_point", agency_code="STP")
    page = client.get(f"/admin/rounds/{round_id}/respondents").text
    assert "Gửi thư mời" not in page and "Hoàng Thị Hạnh" not in page
    token = csrf_token_in(page)
    other = client.post(f"/admin/rounds/{round_id}/respondents/bulk",
                        data={"csrf_token": token, "action": "remove", "respondent": [ids["Hoàng Thị Hạnh"]]})
    assert other.status_code == 404
    invite = client.post(f"/admin/rounds/{round_id}/respondents/bulk",
                         data={"csrf_token": token, "action": "invite", "respondent": [ids["Nguyễn Văn An"]]})
    assert invite.status_code == 403


def test_the_round_page_is_the_hub_with_state_and_next_milestone(app, client, login, roster_round):
    round_id = roster_round()
    login("province_admin")
    page = client.get(f"/admin/rounds/{round_id}").text
    hub = page.split('id="hub"')[1].split("</section>")[0]
    for path in ("roster", "mail", "monitor", "analysis", "points"):
        assert f'href="/admin/rounds/{round_id}/{path}"' in hub
    assert f'href="/admin/assessment/rounds/{round_id}"' in hub
    assert 'id="hub-state">Chưa mở<' in hub and "Việc tiếp theo:" in hub
    client.get("/admin/logout")
    login("analyst")
    hub = client.get(f"/admin/rounds/{round_id}").text.split('id="hub"')[1].split("</section>")[0]
    assert f'href="/admin/rounds/{round_id}/analysis"' in hub and "/mail" not in hub and "/roster" not in hub
    assert "/points" not in hub


def test_the_command_line_keeps_a_conflicting_preview_for_the_page_and_moves_nobody(app, client, login, roster_round,
                                                                                   tmp_path):
    round_id = roster_round()
    login("province_admin")
    seed(client, round_id, [DIRECTOR])
    moved = [1, "Nguyễn Văn An", "Phó Chủ tịch UBND huyện", "UBND huyện Bát Xát", "", "an@laocai.gov.vn", "0912345678"]
    path = tmp_path / "bat-xat.xlsx"
    path.write_bytes(xlsx([HEADER, moved]))
    result = app.test_cli_runner().invoke(args=["roster", "import", str(path), "--round", str(round_id), "--yes"])
    assert result.exit_code == 1
    address = re.search(r"/admin/imports/\d+", result.output).group(0)
    assert placed(app, round_id) == [("Nguyễn Văn An", "STP", "Giám đốc Sở")]
    # The page the command names exists and asks for the decision.
    page = client.get(address)
    assert page.status_code == 200 and 'id="count-conflicts">1<' in page.text
