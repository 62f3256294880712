"""The province administrator settles an uploaded list on its preview, in a real Chromium:
maps an unknown agency name, decides a conflict, confirms; then ticks people on the list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from survey import db
from survey.rounds.models import Agency
from survey.roster.models import Respondent
from tests.conftest import STAFF_PASSWORD
from tests.roster.conftest import roster_round  # noqa: F401  (fixture)
from tests.roster.files import HEADER, xlsx

pytestmark = pytest.mark.browser


def test_map_an_agency_decide_a_conflict_confirm_and_bulk_remove(app, roster_round, staff, live_server,  # noqa: F811
                                                                 desktop, tmp_path):
    round_id = roster_round()
    email = staff("province_admin")
    first = tmp_path / "so-tu-phap.xlsx"
    first.write_bytes(xlsx([HEADER, [1, "Nguyễn Văn An", "Giám đốc Sở", "Sở Tư pháp", "", "an@laocai.gov.vn", "0912345678"]]))
    second = tmp_path / "tong-hop.xlsx"
    second.write_bytes(xlsx([
        HEADER,
        [1, "Nguyễn Văn An", "Phó Chủ tịch UBND huyện", "UBND huyện Bát Xát", "", "an@laocai.gov.vn", "0912345678"],
        [2, "Lò Văn Cường", "Đại biểu HĐND tỉnh", "HĐND tỉnh Lào Cai", "Đại biểu HĐND tỉnh", "cuong@laocai.gov.vn", "0912000333"],
        [3, "Tổng cộng: 2 người"],
    ]))

    desktop.goto(f"{live_server}/admin/rounds/{round_id}/import")
    desktop.get_by_label("E-mail").fill(email)
    desktop.get_by_label("Mật khẩu").fill(STAFF_PASSWORD)
    desktop.get_by_role("button", name="Đăng nhập").click()
    desktop.get_by_label("Tệp danh sách").set_input_files(str(first))
    desktop.get_by_role("button", name="Tải lên và xem trước").click()
    desktop.get_by_role("button", name="Xác nhận nhập danh sách").click()
    expect(desktop.locator("#total-listed")).to_have_text("1")

    desktop.goto(f"{live_server}/admin/rounds/{round_id}/import")
    desktop.get_by_label("Tệp danh sách").set_input_files(str(second))
    desktop.get_by_role("button", name="Tải lên và xem trước").click()
    expect(desktop.locator("#count-conflicts")).to_have_text("1")
    expect(desktop.locator("#count-skipped")).to_have_text("1")
    expect(desktop.get_by_role("button", name="Xác nhận nhập danh sách")).to_have_count(0)

    desktop.get_by_label("Cơ quan trong danh mục cho “HĐND tỉnh Lào Cai”").select_option(
        label="Văn phòng Đoàn ĐBQH và HĐND tỉnh")
    desktop.get_by_role("button", name="Ghi nhớ và kiểm tra lại").click()
    expect(desktop.get_by_text("Từ nay “HĐND tỉnh Lào Cai” được hiểu là Văn phòng Đoàn ĐBQH và HĐND tỉnh")).to_be_visible()
    expect(desktop.locator("#count-errors")).to_have_text("0")
    expect(desktop.locator("#conflict-2")).to_contain_text("Sở Tư pháp")
    desktop.locator("#conflict-2").get_by_label("Giữ như cũ").check()
    desktop.get_by_role("button", name="Lưu quyết định").click()
    expect(desktop.locator("#count-conflicts")).to_have_text("0")
    desktop.get_by_role("button", name="Xác nhận nhập danh sách").click()
    expect(desktop.get_by_text("Đã nhập danh sách: thêm 1, cập nhật 0, không đổi 1.")).to_be_visible()
    with app.app_context():
        session = db.session()
        placed = dict(session.execute(select(Respondent.full_name, Agency.code)
                                      .join(Agency, Respondent.agency_id == Agency.id)).all())
    assert placed == {"Nguyễn Văn An": "STP", "Lò Văn Cường": "HDND"}

    desktop.goto(f"{live_server}/admin/rounds/{round_id}/respondents")
    expect(desktop.locator("#total")).to_contain_text("Tổng số: 2 người")
    desktop.get_by_label("Chọn Lò Văn Cường").check()
    desktop.get_by_label("Với những người đã chọn").select_option(label="Xóa khỏi danh sách")
    desktop.get_by_role("button", name="Thực hiện").click()
    expect(desktop.get_by_text("Đã xóa 1 người khỏi danh sách")).to_be_visible()
    expect(desktop.locator("#total")).to_contain_text("Tổng số: 1 người")
