"""How the audit log reads to people: Vietnamese names for action codes and for the details' keys.

The codes themselves stay English and stable (they are what is stored and filtered on); this module
only decides what the page and the CSV show. A code recorded without a name here is shown as is,
so a new action is never hidden; ``tests/accounts/test_audit_log.py`` checks that every code
recorded in ``survey/`` has a name.
"""

from __future__ import annotations

from collections.abc import Mapping

from survey.accounts.models import ROLE_LABELS

AREA_NAMES = {
    "auth": "Đăng nhập",
    "user": "Tài khoản",
    "province": "Tỉnh",
    "audit": "Nhật ký hệ thống",
    "round": "Đợt khảo sát",
    "agency": "Cơ quan, đơn vị",
    "roster": "Danh sách đối tượng",
    "mail": "Thư mời và nhắc nhở",
    "reports": "Kết quả phân tích",
    "assessment": "Tự đánh giá và thẩm định",
    "collection": "Thu phiếu tại điểm",
}

ACTION_NAMES = {
    "auth.login": "Đăng nhập",
    "auth.logout": "Đăng xuất",
    "auth.unlock": "Mở khóa đăng nhập",
    "auth.password_change": "Đổi mật khẩu của mình",
    "auth.password_reset": "Đặt lại mật khẩu (dòng lệnh)",
    "user.create": "Tạo tài khoản",
    "user.deactivate": "Khóa tài khoản",
    "province.create": "Thêm tỉnh",
    "audit.export": "Tải nhật ký hệ thống",
    "round.create": "Tạo đợt khảo sát",
    "round.update": "Sửa đợt khảo sát",
    "round.open": "Mở đợt khảo sát",
    "round.close": "Đóng đợt khảo sát",
    "round.bind_group": "Gán phiếu cho nhóm đối tượng",
    "round.remove_group": "Bỏ nhóm đối tượng",
    "round.quotas": "Sửa chỉ tiêu số người",
    "round.milestone": "Sửa mốc thời gian",
    "agency.add": "Thêm cơ quan, đơn vị",
    "agency.import": "Nhập danh mục cơ quan, đơn vị",
    "agency.alias": "Ghi nhớ tên gọi khác của cơ quan",
    "agency.deactivate": "Ngừng sử dụng cơ quan, đơn vị",
    "roster.upload": "Tải lên tệp danh sách",
    "roster.import_decide": "Quyết định người bị trùng khi nhập",
    "roster.import": "Nhập danh sách đối tượng",
    "roster.import_discard": "Hủy tệp danh sách chưa nhập",
    "roster.add": "Thêm người vào danh sách",
    "roster.edit": "Sửa thông tin người trong danh sách",
    "roster.remove": "Xóa người khỏi danh sách",
    "roster.export": "Xuất danh sách gửi Bộ",
    "mail.settings": "Sửa quy tắc nhắc nhở",
    "mail.invite": "Gửi thư mời",
    "mail.remind": "Gửi thư nhắc",
    "mail.resend": "Gửi lại thư mời",
    "mail.template": "Sửa mẫu thư",
    "mail.template_reset": "Khôi phục mẫu thư mặc định",
    "mail.schedule": "Hẹn giờ gửi thư",
    "mail.schedule_cancel": "Hủy lịch gửi thư",
    "mail.schedule_run": "Chạy lịch gửi thư",
    "mail.digest_schedule": "Hẹn gửi thư tổng hợp cho đầu mối",
    "mail.digest_stop": "Dừng thư tổng hợp cho đầu mối",
    "mail.digest_run": "Gửi thư tổng hợp cho đầu mối",
    "mail.monitor_export": "Xuất bảng theo dõi tiến độ",
    "mail.links_export": "Xuất đường dẫn cá nhân (SMS/Zalo, thư in)",
    "reports.export_xlsx": "Xuất kết quả (Excel)",
    "reports.export_csv": "Xuất kết quả (CSV)",
    "reports.export_sav": "Xuất phiếu ẩn danh (SPSS)",
    "reports.export_pdf": "Xuất báo cáo phân tích (PDF)",
    "reports.export_comments": "Xuất ý kiến tự do (Excel)",
    "reports.self_assessment_import": "Nhập điểm tự đánh giá",
    "reports.freeze": "Chốt kết quả chính thức",
    "reports.frozen_download": "Tải tệp kết quả đã chốt",
    "assessment.official_import": "Nhập kết quả chính thức của Bộ Nội vụ",
    "assessment.remind": "Nhắc cơ quan chưa gửi phần tự đánh giá",
    "assessment.start": "Bắt đầu kỳ tự đánh giá",
    "assessment.assign": "Phân công tự đánh giá",
    "assessment.open": "Mở tự đánh giá",
    "assessment.entry": "Chấm điểm tự đánh giá",
    "assessment.evidence": "Tải lên tài liệu kiểm chứng",
    "assessment.evidence_link": "Gắn tài liệu kiểm chứng",
    "assessment.submit": "Gửi kết quả tự đánh giá",
    "assessment.return": "Trả lại kết quả tự đánh giá",
    "assessment.appraise": "Thẩm định điểm",
    "assessment.comment": "Ý kiến thẩm định",
    "assessment.close": "Kết thúc thẩm định",
    "assessment.export": "Xuất báo cáo tự đánh giá",
    "collection.point_create": "Tạo điểm thu phiếu",
    "collection.point_close": "Đóng điểm thu phiếu",
    "collection.point_reopen": "Mở lại điểm thu phiếu",
    "collection.procedures_import": "Nhập danh mục thủ tục hành chính",
    "collection.purge": "Xóa dữ liệu tạm của điểm thu phiếu",
    "collection.kiosk_on": "Bật chế độ kiosk cho điểm thu phiếu",
    "collection.kiosk_off": "Tắt chế độ kiosk của điểm thu phiếu",
    "collection.paper_batch_create": "Tạo đợt nhập phiếu giấy",
    "collection.paper_resolve": "Đối chiếu phiếu giấy nhập lệch",
    "sample.draw": "Rút mẫu từ sổ hồ sơ",
    "sample.invite": "Mời mẫu từ sổ hồ sơ qua e-mail",
    "sample.sms_export": "Xuất tin nhắn SMS cho mẫu từ sổ hồ sơ",
    "sample.purge": "Xóa liên hệ của mẫu từ sổ hồ sơ",
}

# Keys that details use across actions; a key not listed (a sub-criterion code, say) is shown as is.
DETAIL_LABELS = {
    "role": "vai trò",
    "failures": "số lần sai",
    "groups": "nhóm đối tượng",
    "group": "nhóm đối tượng",
    "changed": "đã sửa",
    "questionnaire": "phiếu",
    "version": "phiên bản",
    "cells": "số ô chỉ tiêu",
    "due_on": "hạn",
    "done_on": "hoàn thành ngày",
    "added": "thêm mới",
    "updated": "cập nhật",
    "unchanged": "không đổi",
    "file": "tệp",
    "code": "mã",
    "name": "tên",
    "import": "lần nhập số",
    "stale": "quá hạn 24 giờ",
    "decided": "số người đã quyết định",
    "take": "lấy theo tệp mới",
    "header_row": "dòng tiêu đề",
    "titles": "tiêu đề",
    "add": "sẽ thêm",
    "update": "sẽ cập nhật",
    "conflicts": "xung đột",
    "error": "dòng lỗi",
    "errors": "dòng lỗi",
    "duplicate": "dòng trùng",
    "duplicates": "dòng trùng",
    "warning": "dòng cần lưu ý",
    "skipped": "dòng bỏ qua",
    "respondent": "mã người",
    "format": "định dạng",
    "rows": "số dòng",
    "reminder_max": "số lần nhắc tối đa",
    "interval_days": "số ngày giữa hai lần nhắc",
    "enqueued": "thư đưa vào hàng đợi",
    "selected": "số người đã chọn",
    "old_email": "e-mail cũ",
    "new_email": "e-mail mới",
    "run_at": "giờ gửi",
    "group_id": "mã nhóm",
    "agency_id": "mã cơ quan",
    "schedule": "lịch số",
    "target": "đối tượng",
    "links": "số đường dẫn",
    "options": "tùy chọn phân tích",
    "dont_know": "câu “không biết”",
    "pooling": "gộp nhóm",
    "weighting": "trọng số",
    "min_cell": "ngưỡng k",
    "confidence": "độ tin cậy",
    "bootstrap_samples": "số lần lấy mẫu lại",
    "seed": "hạt giống ngẫu nhiên",
    "unmatched_agencies": "cơ quan chưa khớp",
    "points": "điểm",
    "from": "từ",
    "to": "thành",
    "reason": "lý do",
    "document_id": "mã tài liệu",
    "sha256": "SHA-256",
    "codes": "tiêu chí",
    "late": "nộp muộn",
    "comment": "ý kiến",
    "version_id": "mã phiên bản chốt",
    "point_id": "mã điểm",
    "quota": "chỉ tiêu",
    "quota_policy": "cách tính chỉ tiêu",
    "asks_dossier": "hỏi mã hồ sơ",
    "problems": "số lỗi",
    "sample_id": "mẫu số",
    "population": "số hồ sơ (N)",
    "size": "cỡ mẫu (n)",
    "size_source": "cách tính cỡ mẫu",
    "margin": "sai số e",
    "strata": "số tầng",
    "register_sha256": "mã kiểm tra sổ hồ sơ",
    "email_shared": "e-mail trùng",
    "members": "số hồ sơ đã xóa liên hệ",
    "first_at": "lần gửi đầu",
    "comments": "số ý kiến",
    "stopped": "lý do dừng",
}

# Values that are themselves codes: field names (in "changed"), roles, option values, export targets.
VALUE_LABELS = {
    "title": "tên đợt", "year": "năm", "opens_at": "giờ mở", "closes_at": "giờ đóng",
    "ministry_deadline": "hạn gửi Bộ",
    "full_name": "họ tên", "position": "chức vụ", "email": "e-mail", "phone": "số điện thoại",
    "group_id": "nhóm đối tượng", "agency_id": "cơ quan",
    "exclude": "loại ra", "zero": "tính 0 điểm", "equal": "như nhau", "size": "theo cỡ nhóm",
    "none": "không", "no_email": "chưa có e-mail hợp lệ", "failed": "thư gửi lỗi", "pending": "mọi người chưa nộp",
    **ROLE_LABELS,
}


def action_name(code: str) -> str:
    """The Vietnamese name of an action code; an unknown code is shown as is rather than hidden."""
    return ACTION_NAMES.get(code, code)


def area_of(code: str) -> str:
    return code.split(".", 1)[0]


# Only these keys hold codes; free text (a reason, a comment, a name) is never translated.
_CODED_KEYS = {"changed", "role", "dont_know", "pooling", "weighting", "target"}


def _value(value: object, coded: bool = False) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, Mapping):
        return "; ".join(f"{_key(k)}: {_value(v, str(k) in _CODED_KEYS)}" for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return ", ".join(_value(v, coded) for v in value) or "—"
    if isinstance(value, str):
        return VALUE_LABELS.get(value, value) if coded else value
    return str(value)


def _key(key: object) -> str:
    return DETAIL_LABELS.get(str(key), str(key))


def describe_details(details: Mapping | None) -> str:
    """Details as "key: value" in Vietnamese words, separated by semicolons; lists joined by commas."""
    if not details:
        return ""
    if not isinstance(details, Mapping):  # written by hand or by an older version
        return _value(details)
    parts = []
    for key, value in details.items():
        if isinstance(value, Mapping) and value:
            parts.append(f"{_key(key)} ({_value(value)})")
        else:
            parts.append(f"{_key(key)}: {_value(value, str(key) in _CODED_KEYS)}")
    return "; ".join(parts)
