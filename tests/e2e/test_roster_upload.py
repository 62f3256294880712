"""An administrator uploads a list, reads the preview and confirms it, in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from survey import db
from survey.roster.models import Respondent
from tests.conftest import STAFF_PASSWORD
from tests.roster.conftest import roster_round  # noqa: F401  (fixture)
from tests.roster.files import HEADER, xlsx

pytestmark = pytest.mark.browser


def test_upload_preview_confirm(app, roster_round, staff, live_server, desktop, tmp_path):  # noqa: F811
    round_id = roster_round()
    email = staff("province_admin")
    path = tmp_path / "danh-sach-so-noi-vu.xlsx"
    path.write_bytes(xlsx([
        HEADER,
        [1, "Nguyễn Văn An", "Giám đốc Sở", "Sở Nội vụ", "Lãnh đạo sở, ban, ngành", "an@laocai.gov.vn", "0912345678"],
        [2, "Hoàng Thị Hạnh", "Trưởng phòng", "Sở Nội vụ", "", "hanh@laocai.gov.vn", "912 000 111"],
    ], title_rows=[["DANH SÁCH ĐỐI TƯỢNG KHẢO SÁT"], []]))

    desktop.goto(f"{live_server}/admin/rounds/{round_id}/import")
    desktop.get_by_label("E-mail").fill(email)
    desktop.get_by_label("Mật khẩu").fill(STAFF_PASSWORD)
    desktop.get_by_role("button", name="Đăng nhập").click()
    expect(desktop.get_by_role("heading", name="Nhập danh sách từ tệp")).to_be_visible()

    desktop.get_by_label("Tệp danh sách").set_input_files(str(path))
    desktop.get_by_role("button", name="Tải lên và xem trước").click()
    expect(desktop.get_by_role("heading", name="Xem trước: danh-sach-so-noi-vu.xlsx")).to_be_visible()
    expect(desktop.locator("#count-add")).to_have_text("2")
    expect(desktop.locator("#count-errors")).to_have_text("0")
    expect(desktop.get_by_text("Dòng tiêu đề: dòng 3; 2 dòng dữ liệu.")).to_be_visible()
    with app.app_context():
        assert db.session().scalars(select(Respondent)).all() == []  # the preview wrote nothing

    desktop.get_by_role("button", name="Xác nhận nhập danh sách").click()
    expect(desktop.get_by_text("Đã nhập danh sách: thêm 2, cập nhật 0, không đổi 0.")).to_be_visible()
    expect(desktop.locator("#total-listed")).to_have_text("2")
    with app.app_context():
        listed = db.session().scalars(select(Respondent).order_by(Respondent.full_name)).all()
        assert [(p.full_name, p.phone) for p in listed] == [("Hoàng Thị Hạnh", "0912000111"),
                                                           ("Nguyễn Văn An", "0912345678")]
