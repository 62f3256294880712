"""The import engine on messy and hostile files, without a database."""

from __future__ import annotations

import io
import unicodedata
import zipfile

import pytest

from survey.roster import importing
from survey.roster.importing import AgencyRef, GroupRef, ImportRefused, Resolver
from tests.roster.files import HEADER, csv_cp1258, csv_utf8, xlsx

GROUPS = [GroupRef(1, "hdnd", "Đại biểu HĐND tỉnh"), GroupRef(2, "department", "Lãnh đạo sở, ban, ngành"),
          GroupRef(3, "division", "Lãnh đạo cấp phòng thuộc sở, ban, ngành"),
          GroupRef(4, "district", "Lãnh đạo UBND cấp huyện"), GroupRef(5, "citizen", "Người dân, tổ chức")]
AGENCIES = [AgencyRef(10, "SNV", "Sở Nội vụ"), AgencyRef(11, "STP", "Sở Tư pháp"),
            AgencyRef(12, "BATXAT", "UBND huyện Bát Xát"), AgencyRef(13, "HDND", "Văn phòng Đoàn ĐBQH và HĐND tỉnh")]
RESOLVER = Resolver(GROUPS, AGENCIES)


def parse(data: bytes, name: str = "ds.xlsx", **kwargs):
    table = importing.read_table(data, name)
    return importing.parse_rows(table, importing.find_header(table), RESOLVER, **kwargs)


def problems(parsed, kinds=("error", "duplicate", "skipped")):
    """Problems of ``kinds``: most tests are not about the missing-contact warnings."""
    return [(p.row, p.column, p.message) for p in parsed.problems if p.kind in kinds]


def test_messy_workbook_title_rows_merged_agency_blank_rows_any_order_no_diacritics():
    rows = [
        ["Email", "so dien thoai", "Ho va ten", "Chuc vu", "Co quan, don vi", "Nhom doi tuong", "STT"],
        ["an.nguyen@laocai.gov.vn", 912345678, "  Nguyễn   Văn An ", "Giám đốc Sở", "Sở Nội vụ", "Lãnh đạo sở", 1],
        ["HANH@LAOCAI.GOV.VN", "+84 214 3840 123", "Hoàng Thị Hạnh", "Trưởng phòng CCHC", None, "", 2],
        [None] * 7,
        ["lu@laocai.gov.vn", "0987.654.321", "Giàng A Lử", "Chủ tịch UBND huyện", "UBND huyện Bát Xát", "", 3],
    ]
    data = xlsx(rows, title_rows=[["UBND TỈNH LÀO CAI"], ["DANH SÁCH ĐỐI TƯỢNG KHẢO SÁT NĂM 2023"], []],
                merges=["A1:G1", "A2:G2", "E5:E6"])  # "Sở Nội vụ" merged over An and Hạnh
    parsed = parse(data)
    assert problems(parsed) == []
    assert [(r["row"], r["full_name"], r["agency_id"], r["group_id"], r["phone"], r["email_normalised"])
            for r in parsed.rows] == [
        (5, "Nguyễn Văn An", 10, 2, "0912345678", "an.nguyen@laocai.gov.vn"),
        (6, "Hoàng Thị Hạnh", 10, 3, "02143840123", "hanh@laocai.gov.vn"),   # group from "Trưởng phòng"
        (8, "Giàng A Lử", 12, 4, "0987654321", "lu@laocai.gov.vn"),
    ]


@pytest.mark.parametrize("encode, name", [
    (lambda rows: csv_utf8(rows), "utf8.csv"),
    (lambda rows: csv_utf8(rows, bom=True), "bom.csv"),
    (csv_cp1258, "windows-1258.csv"),
])
def test_csv_in_utf8_with_or_without_bom_and_in_windows_1258(encode, name):
    rows = [HEADER, [1, "Nguyễn Thị Hằng", "Phó Giám đốc Sở", "Sở Tư pháp", "Lãnh đạo sở, ban, ngành",
                     "hang@laocai.gov.vn", "0912 111 222"]]
    parsed = parse(encode(rows), name)
    assert problems(parsed) == []
    (row,) = parsed.rows
    assert row["full_name"] == "Nguyễn Thị Hằng" and unicodedata.is_normalized("NFC", row["full_name"])
    assert (row["agency_id"], row["group_id"], row["phone"]) == (11, 2, "0912111222")


def test_semicolon_separated_csv_from_excel_with_a_vietnamese_locale():
    text = "Họ và tên;Cơ quan;Nhóm\nLò Văn Cường;HDND;Đại biểu HĐND tỉnh\n"
    parsed = parse(text.encode("utf-8"), "ds.csv")
    assert [(r["full_name"], r["agency_id"], r["group_id"]) for r in parsed.rows] == [("Lò Văn Cường", 13, 1)]


def test_every_row_problem_names_its_row_its_column_and_what_is_wrong():
    rows = [HEADER,
            [1, "", "Giám đốc Sở", "Sở Nội vụ", "Lãnh đạo sở", "a@x.vn", ""],
            [2, "Trần <script>x</script>", "Giám đốc Sở", "Sở Nội vụ", "Lãnh đạo sở", "b@x.vn", ""],
            [3, "Vũ Văn Ba", "Giám đốc Sở", "Sở Kế hoạch", "Lãnh đạo sở", "c@x", "12"],
            [4, "Đỗ Văn Bốn", "Phó Giám đốc Sở", "Sở Tư pháp", "Lãnh đạo cấp phòng thuộc sở, ban, ngành", "d@x.vn", ""],
            [5, "Lý Văn Năm", "Chuyên viên", "Sở Tư pháp", "Nhóm không có", "e@x.vn", ""],
            [6, "Mai Văn Sáu", "Chuyên viên", "", "", "f@x.vn", ""]]
    parsed = parse(xlsx(rows))
    assert parsed.rows == []
    assert problems(parsed) == [
        (2, "Họ và tên (B)", "Thiếu họ và tên."),
        (3, "Họ và tên (B)", "Họ và tên chứa ký tự không hợp lệ: / < >"),
        (4, "Email (F)", "E-mail không hợp lệ: c@x"),
        (4, "Số điện thoại (G)", "Số điện thoại không hợp lệ: 12"),
        (4, "Cơ quan/đơn vị (D)", "Cơ quan “Sở Kế hoạch” chưa có trong danh mục của tỉnh."),
        (5, "Nhóm đối tượng (E)", "Chức vụ “Phó Giám đốc Sở” thuộc nhóm “Lãnh đạo sở, ban, ngành”, "
                                  "không phải “Lãnh đạo cấp phòng thuộc sở, ban, ngành”."),
        (6, "Nhóm đối tượng (E)", "Nhóm đối tượng “Nhóm không có” không có trong đợt khảo sát này."),
        (7, "Nhóm đối tượng (E)", "Thiếu nhóm đối tượng (không suy ra được từ chức vụ)."),
        (7, "Cơ quan/đơn vị (D)", "Thiếu cơ quan, đơn vị."),
    ]


def test_duplicates_within_the_file_case_insensitive_email_phone_and_name_in_agency_across_groups():
    rows = [HEADER,
            [1, "Nguyễn Văn An", "Giám đốc Sở", "Sở Nội vụ", "Lãnh đạo sở", "An.Nguyen@laocai.gov.vn", "0912345678"],
            [2, "Nguyễn Văn Án", "Trưởng phòng", "Sở Nội vụ", "", "an.nguyen@LAOCAI.gov.vn", ""],
            [3, "Trần Văn Ba", "Trưởng phòng", "Sở Tư pháp", "", "", "+84 912 345 678"],
            [4, "nguyễn  văn an", "Đại biểu HĐND", "Sở Nội vụ", "Đại biểu HĐND tỉnh", "", ""]]
    parsed = parse(xlsx(rows))
    assert [r["row"] for r in parsed.rows] == [2]
    assert [(p.row, p.kind, p.message) for p in parsed.problems if p.kind != "warning"] == [
        (3, "duplicate", "Nguyễn Văn Án (dòng 3) trùng e-mail với Nguyễn Văn An (dòng 2): cùng một người ở hai nhóm "
                         "“Lãnh đạo sở, ban, ngành” và “Lãnh đạo cấp phòng thuộc sở, ban, ngành”; hãy giữ một dòng."),
        (4, "duplicate", "Trần Văn Ba (dòng 4) trùng số điện thoại với Nguyễn Văn An (dòng 2): cùng một người ở hai "
                         "nhóm “Lãnh đạo sở, ban, ngành” và “Lãnh đạo cấp phòng thuộc sở, ban, ngành”; hãy giữ một dòng."),
        (5, "duplicate", "nguyễn văn an (dòng 5) trùng họ tên và cơ quan với Nguyễn Văn An (dòng 2): cùng một người ở "
                         "hai nhóm “Lãnh đạo sở, ban, ngành” và “Đại biểu HĐND tỉnh”; hãy giữ một dòng."),
    ]


def test_formula_cells_are_never_evaluated_and_hyperlinks_read_as_their_text():
    def edit(sheet):
        sheet["B3"] = "=CONCATENATE(\"Nguyễn\",\" An\")"   # no cached value: reads as empty
        sheet["F2"].hyperlink = "mailto:an@laocai.gov.vn"
    rows = [HEADER, [1, "Nguyễn Văn An", "Giám đốc Sở", "Sở Nội vụ", "", "an@laocai.gov.vn", ""],
            [2, "placeholder", "Giám đốc Sở", "Sở Tư pháp", "", "b@laocai.gov.vn", ""]]
    parsed = parse(xlsx(rows, edit=edit))
    assert [r["email"] for r in parsed.rows] == ["an@laocai.gov.vn"]
    assert problems(parsed) == [(3, "Họ và tên (B)", "Thiếu họ và tên.")]


def test_a_formula_typed_as_text_in_a_csv_is_refused_as_a_name():
    data = csv_utf8([HEADER, [1, "=cmd|' /C calc'!A0", "Giám đốc Sở", "Sở Nội vụ", "", "", ""]])
    parsed = parse(data, "ds.csv")
    assert parsed.rows == [] and parsed.problems[0].message.startswith("Họ và tên chứa ký tự không hợp lệ")


def test_a_focal_point_imports_into_their_agency_only():
    rows = [HEADER, [1, "Nguyễn Văn An", "Giám đốc Sở", "", "", "", ""],
            [2, "Trần Văn Ba", "Phó Giám đốc Sở", "Sở Nội vụ", "", "", ""]]
    parsed = parse(xlsx(rows), forced_agency=AGENCIES[1])
    assert [(r["full_name"], r["agency_id"]) for r in parsed.rows] == [("Nguyễn Văn An", 11)]
    # Another agency's row is skipped unread: its person is not named back to this focal point.
    assert [(p.row, p.kind, p.message) for p in parsed.problems if p.kind != "warning"] == [
        (3, "skipped", "Dòng của cơ quan, đơn vị khác (“Sở Nội vụ”): bỏ qua, bạn chỉ nhập người của Sở Tư pháp.")]


# --- files that are refused as a whole ----------------------------------------------------------

def refused(data: bytes, name: str = "ds.xlsx") -> str:
    with pytest.raises(ImportRefused) as caught:
        parse(data, name)
    return str(caught.value)


def test_empty_file():
    assert refused(b"", "ds.csv") == "Tệp rỗng, không có dữ liệu."
    assert refused(b" \r\n", "ds.xlsx") == "Tệp rỗng, không có dữ liệu."


def test_pdf_renamed_xlsx():
    assert "PDF" in refused(b"%PDF-1.7\n1 0 obj <<>> endobj\n", "danh-sach.xlsx")


def test_not_a_workbook_and_a_broken_zip():
    assert refused(b"hello, this is text", "ds.xlsx") == "Tệp có đuôi .xlsx nhưng không phải bảng tính Excel hợp lệ."
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not excel")
    assert refused(buffer.getvalue()).startswith("Không đọc được tệp .xlsx")


def test_file_over_the_limit():
    message = refused(b"x" * (importing.LIMITS.file_bytes + 1), "ds.csv")
    assert message.startswith("Tệp quá lớn") and "20 MB" in message


def test_ten_thousand_columns():
    def edit(sheet):
        sheet.cell(row=2, column=10_000, value="x")
    message = refused(xlsx([HEADER, [1, "Nguyễn Văn An", "", "Sở Nội vụ"]], edit=edit))
    assert message == "Dòng 2 có dữ liệu ở cột NTP; giới hạn số cột là 200 (đến cột GR). Vui lòng xóa các cột thừa."


def test_duplicate_headers():
    message = refused(xlsx([["Họ và tên", "Email", "Cơ quan", "E-mail"], ["Nguyễn Văn An", "a@x.vn", "SNV", "b@x.vn"]]))
    assert message == "Dòng tiêu đề 1: cột “Email” xuất hiện nhiều lần (B, D). Vui lòng giữ một cột."


def test_header_only():
    assert refused(xlsx([HEADER])) == "Tệp chỉ có dòng tiêu đề, không có người nào trong danh sách."
    assert refused(csv_utf8([HEADER, [], []]), "ds.csv") == \
        "Tệp chỉ có dòng tiêu đề, không có người nào trong danh sách."


def test_no_recognisable_header_asks_for_a_manual_mapping_which_then_works():
    rows = [["A", "B", "C"], ["Nguyễn Văn An", "Sở Nội vụ", "Giám đốc Sở"]]
    assert refused(xlsx(rows)).startswith("Không tìm thấy dòng tiêu đề")
    table = importing.read_table(xlsx(rows), "ds.xlsx")
    header = importing.find_header(table, {"full_name": 0, "agency": 1, "position": 2})
    parsed = importing.parse_rows(table, header, RESOLVER)
    # Without a header row every row is data: the letters row fails, the person is read.
    assert [(r["full_name"], r["agency_id"], r["group_id"]) for r in parsed.rows] == [("Nguyễn Văn An", 10, 2)]


# --- plan against the roster ---------------------------------------------------------------------

def existing(id_, name, agency, group, email=None, phone=None, position=None):
    return {"id": id_, "full_name": name, "agency_id": agency, "group_id": group, "email": email,
            "email_normalised": email.lower() if email else None, "phone": phone, "position": position}


def test_plan_matches_by_email_then_phone_then_name_and_agency():
    roster = [existing(1, "Nguyễn Văn An", 10, 2, "An@x.vn", None, "Giám đốc Sở"),
              existing(2, "Trần Văn Ba", 11, 2, None, "0912000111", "Giám đốc Sở"),
              existing(3, "Lò Thị Cúc", 12, 4, None, None, "Chủ tịch UBND huyện")]
    rows = [
        {"row": 2, "full_name": "Nguyễn Văn An", "position": "Giám đốc Sở", "agency_id": 10, "group_id": 2,
         "email": "An@x.vn", "email_normalised": "an@x.vn", "phone": ""},                       # unchanged
        {"row": 3, "full_name": "Trần Văn Ba", "position": "Phó Giám đốc Sở", "agency_id": 11, "group_id": 2,
         "email": "ba@x.vn", "email_normalised": "ba@x.vn", "phone": "0912000111"},             # update by phone
        {"row": 4, "full_name": "lò thị cúc", "position": None, "agency_id": 12, "group_id": 4,
         "email": "", "email_normalised": "", "phone": "0977000111"},                            # update by name
        {"row": 5, "full_name": "Mới Văn Tư", "position": None, "agency_id": 12, "group_id": 4,
         "email": "", "email_normalised": "", "phone": ""},                                      # add
    ]
    plan = importing.plan_rows(rows, roster, agency_names={10: "Sở Nội vụ"})
    assert [r["row"] for r in plan.unchanged] == [2]
    assert [(r["id"], r["changes"]) for r in plan.update] == [(2, ["position", "email"]),
                                                              (3, ["full_name", "phone"])]
    assert [r["row"] for r in plan.add] == [5] and plan.problems == []


def test_plan_refuses_a_row_that_matches_two_people_or_someone_of_another_agency_for_a_focal_point():
    roster = [existing(1, "Nguyễn Văn An", 10, 2, "an@x.vn"), existing(2, "Trần Văn Ba", 11, 2, None, "0912000111")]
    row = {"row": 7, "full_name": "Nguyễn Văn An", "position": None, "agency_id": 11, "group_id": 2,
           "email": "an@x.vn", "email_normalised": "an@x.vn", "phone": "0912000111"}
    plan = importing.plan_rows([row], roster, agency_names={10: "Sở Nội vụ", 11: "Sở Tư pháp"})
    assert [p.message for p in plan.problems] == [
        "Nguyễn Văn An (dòng 7): e-mail, số điện thoại hoặc họ tên trùng với hai người khác nhau đã có trong danh "
        "sách: Nguyễn Văn An (Sở Nội vụ) và Trần Văn Ba (Sở Tư pháp)."]
    # A focal point of Sở Tư pháp sees their own person named, never the other agency's.
    plan = importing.plan_rows([row], roster, agency_names={10: "Sở Nội vụ", 11: "Sở Tư pháp"}, own_agency_id=11)
    assert [(p.kind, p.message) for p in plan.problems] == [(
        "duplicate", "Nguyễn Văn An (dòng 7): e-mail, số điện thoại hoặc họ tên trùng với hai người khác nhau đã có "
        "trong danh sách: Trần Văn Ba (Sở Tư pháp) và một người đã có trong danh sách của một cơ quan, đơn vị khác; "
        "Sở Nội vụ (quản trị viên cấp tỉnh) có thể giải quyết.")]
    row = {**row, "phone": ""}
    plan = importing.plan_rows([row], roster, agency_names={10: "Sở Nội vụ", 11: "Sở Tư pháp"}, own_agency_id=11)
    assert [(p.kind, p.message) for p in plan.problems] == [(
        "skipped", "Nguyễn Văn An (dòng 7): e-mail đã có trong danh sách của một cơ quan, đơn vị khác; Sở Nội vụ "
        "(quản trị viên cấp tỉnh) có thể giải quyết. Dòng này được bỏ qua; không ai bị chuyển khỏi cơ quan của họ.")]
    assert plan.add == plan.update == plan.conflicts == []


def test_footer_rows_are_recognised_even_when_numbered():
    rows = [HEADER, [1, "Nguyễn Văn An", "Giám đốc Sở", "Sở Nội vụ", "", "an@laocai.gov.vn", "0912345678"],
            [2, "Tổng cộng: 1 người"], [3, "Công Văn Bình", "Trưởng phòng", "Sở Nội vụ", "", "binh@laocai.gov.vn", ""]]
    parsed = parse(xlsx(rows))
    assert problems(parsed, ("skipped",)) == [
        (3, "", "Bỏ qua dòng tổng cộng, chữ ký hoặc ghi chú ở cuối danh sách: “2 Tổng cộng: 1 người”.")]
    # A person whose name starts like "Cộng" is still a person.
    assert [r["full_name"] for r in parsed.rows] == ["Nguyễn Văn An", "Công Văn Bình"]
