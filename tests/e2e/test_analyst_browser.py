"""An analyst signs in, changes the cell threshold, drills into a field and downloads the workbook, in Chromium."""

from __future__ import annotations

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.conftest import STAFF_PASSWORD
from tests.reports.conftest import answered_round  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_analyst_reads_results_and_downloads_the_workbook(app, answered_round, staff, live_server,  # noqa: F811
                                                          desktop, tmp_path):
    round_id = answered_round()
    email = staff("analyst")
    desktop.goto(f"{live_server}/admin/rounds/{round_id}/analysis")
    desktop.get_by_label("E-mail").fill(email)
    desktop.get_by_label("Mật khẩu").fill(STAFF_PASSWORD)
    desktop.get_by_role("button", name="Đăng nhập").click()
    expect(desktop.get_by_role("heading", name="Kết quả điều tra xã hội học")).to_be_visible()
    # Default k = 5: most sub-criteria are withheld, and the page says so.
    expect(desktop.locator("#unscored-note")).to_be_visible()

    # The options form recomputes with k = 2 (a GET form: the choice stays in the address).
    desktop.get_by_label("Ngưỡng ẩn ô nhỏ (k)").fill("2")
    desktop.get_by_role("button", name="Tính lại").click()
    expect(desktop).to_have_url(f"{live_server}/admin/rounds/{round_id}/analysis?"
                                "dont_know=exclude&pooling=equal&weighting=none&hidden_groups=exclude&min_cell=2")
    chart = desktop.get_by_alt_text("Biểu đồ điểm theo lĩnh vực")
    # The PNG was served and decoded. The chart is a request of its own, which computes the round
    # again: on the loaded 2-core machine it has taken more than expect's 5 s, so it is waited for.
    desktop.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle(),
                              timeout=30_000)
    expect(chart).to_be_visible()

    # Drill down into field 1: the hand-computed sub-criterion scores of tests/reports/conftest.py.
    desktop.get_by_role("link", name="1.", exact=False).first.click()
    expect(desktop.get_by_role("heading", name="Lĩnh vực 1.", exact=False)).to_be_visible()
    expect(desktop.get_by_text("0.560").first).to_be_visible()  # HĐND delegates: 2.8 / 5
    expect(desktop.get_by_text("0.800").first).to_be_visible()  # department leaders: 8 / 10
    desktop.get_by_role("link", name="← Tổng hợp").click()

    with desktop.expect_download() as download:
        desktop.get_by_role("link", name="Bảng tính .xlsx").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    book = openpyxl.load_workbook(saved)
    options = {name: value for section, name, value in book["Phương pháp"].iter_rows(values_only=True)
               if section == "Tùy chọn phân tích"}
    assert str(options["min_cell"]) == "2"  # the workbook records the threshold chosen on the page
