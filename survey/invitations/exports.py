"""Spreadsheets and printable letters: the monitoring export and links for people without e-mail.

Links are issued when exported (tokens are never stored), so exporting a
person's link replaces the one they had. That is why the spreadsheet for
SMS/Zalo and the printed letters come out of one export, as one zip drawn
from the same links: two separate exports would revoke each other's links.
Every workbook goes through ``survey.spreadsheets`` so that a name typed as
``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import segno
from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.invitations import monitoring
from survey.accounts.models import User
from survey.accounts.services import record
from survey.invitations.campaigns import check_target, respondents_query
from survey.invitations.outbox import MailContext, MailError, normalised_email
from survey.respond import links
from survey.respond.models import Submission
from survey.roster.models import Respondent
from survey.rounds.models import Agency, Round
from survey.spreadsheets import SheetSpec, write_xlsx
from survey.timeutil import format_local, utcnow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP = "application/zip"


def _sheet(title: str, header: list[str], rows) -> SheetSpec:
    return SheetSpec(title, header=header, rows=rows, widths=[max(12, min(48, len(name) + 4)) for name in header])


def monitoring_workbook(session: Session, round_: Round, *, agency_id: int | None = None,
                        actor: User | None = None) -> bytes:
    """The progress of a round (or of one agency) as a workbook, with the call list of non-respondents."""
    record(session, "mail.monitor_export", round_id=round_.id, province_id=round_.province_id, actor=actor,
           details={"agency_id": agency_id} if agency_id is not None else None)
    view = monitoring.overview(session, round_, agency_id=agency_id)
    header = ["", *(monitoring.STAGE_LABELS[s] for s in ("expected", *monitoring.STAGES)), "Tỷ lệ nộp (%)"]

    def tally_rows(tallies):
        for t in [*tallies, view.total]:
            yield [t.label, t.expected, *(t.counts[s] for s in monitoring.STAGES),
                   round(t.rate, 1) if t.rate is not None else None]

    days = monitoring.submissions_per_day(session, round_, agency_id=agency_id)
    people = monitoring.non_respondents(session, round_, agency_id=agency_id)
    return write_xlsx([
        _sheet("Theo nhóm", ["Nhóm đối tượng", *header[1:]], tally_rows(view.by_group)),
        _sheet("Theo cơ quan", ["Cơ quan, đơn vị", *header[1:]], tally_rows(view.by_agency)),
        _sheet("Theo ngày", ["Ngày", "Số phiếu nộp", "Lũy kế"], ((d.day, d.count, d.cumulative) for d in days)),
        _sheet("Chưa nộp", ["Họ và tên", "Chức vụ", "Nhóm", "Cơ quan, đơn vị", "Điện thoại", "E-mail",
                            "Thư gần nhất", "Lỗi gửi", "Đã mở phiếu", "Đã bắt đầu"],
               ((p.full_name, p.position or "", p.group, p.agency, p.phone or "", p.email or "", p.status_label,
                 p.last_error or "", "có" if p.opened else "", "có" if p.started else "") for p in people)),
    ])


# --- links for people without e-mail ------------------------------------------------------

TARGETS = {
    "no_email": "Người chưa nộp không có e-mail hợp lệ",
    "failed": "Người chưa nộp có thư gửi lỗi",
    "pending": "Mọi người chưa nộp",
}


@dataclass(frozen=True)
class IssuedLink:
    full_name: str
    position: str
    group: str
    agency: str
    phone: str
    link: str


def links_chosen(session: Session, round_: Round, *, target: str, group_id: int | None = None,
                 agency_id: int | None = None) -> list[Respondent]:
    """Who a links export would reach: the chosen people who have not submitted (nothing issued yet)."""
    if target not in TARGETS:
        raise MailError("Lựa chọn xuất đường dẫn không hợp lệ.")
    check_target(session, round_, group_id, agency_id)
    failed_ids = {p.id for p in monitoring.non_respondents(session, round_, only_failed=True)} if target == "failed" else set()
    submitted = set(session.scalars(select(Submission.respondent_id).where(Submission.round_id == round_.id)))
    return [
        respondent for respondent in session.scalars(respondents_query(round_, group_id=group_id, agency_id=agency_id))
        if respondent.id not in submitted
        and not (target == "no_email" and normalised_email(respondent.email) is not None)
        and not (target == "failed" and respondent.id not in failed_ids)
    ]


def issue_links(session: Session, round_: Round, context: MailContext, chosen: list[Respondent]) -> list[IssuedLink]:
    """New links (replacing the old ones) for ``chosen``."""
    groups = {g.id: g.label for g in round_.groups}
    agencies = dict(session.execute(select(Agency.id, Agency.name).where(Agency.province_id == round_.province_id)).all())
    tokens = links.issue_links(session, [respondent.id for respondent in chosen])
    return [
        IssuedLink(respondent.full_name, respondent.position or "", groups.get(respondent.group_id, ""),
                   agencies.get(respondent.agency_id, ""), respondent.phone or "",
                   f"{context.base_url}/r/{tokens[respondent.id]}")
        for respondent in chosen
    ]


class CountChanged(MailError):
    """The people chosen are not as many as the administrator confirmed; nothing was issued."""

    def __init__(self, confirmed: int, now: int):
        super().__init__(f"Số người thay đổi từ {confirmed} thành {now} kể từ khi xác nhận; hãy xác nhận lại.")
        self.now = now


def export_links(session: Session, round_: Round, context: MailContext, *, target: str, confirmed: int,
                 group_id: int | None = None, agency_id: int | None = None, actor: User | None = None) -> bytes:
    """Issue new links for the chosen people: a zip of the SMS/Zalo spreadsheet and the letters, same links.

    ``confirmed`` is the number of people the administrator was shown and agreed to; if the
    roster moved meanwhile, nothing is issued (links would be revoked for people not counted).
    """
    chosen = links_chosen(session, round_, target=target, group_id=group_id, agency_id=agency_id)
    if not chosen:
        raise MailError("Không có ai phù hợp với lựa chọn này; chưa cấp đường dẫn nào.")
    if len(chosen) != confirmed:
        raise CountChanged(confirmed, len(chosen))
    issued = issue_links(session, round_, context, chosen)
    record(session, "mail.links_export", round_id=round_.id, province_id=round_.province_id, actor=actor,
           details={"target": target, "group_id": group_id, "agency_id": agency_id, "links": len(issued)})
    return links_zip(round_, issued)


def links_zip(round_: Round, issued: list[IssuedLink]) -> bytes:
    buffer = io.BytesIO()
    stamp = utcnow().timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in ((f"duong-dan-dot-{round_.id}.xlsx", links_workbook(round_, issued)),
                              (f"thu-moi-dot-{round_.id}.pdf", letters_pdf(round_, issued))):
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def sms_text(round_: Round, link: str) -> str:
    return (f"Sở Nội vụ {round_.province.name} mời Ông/Bà trả lời phiếu {round_.title} "
            f"trước {format_local(round_.closes_at)} tại: {link}")


def links_workbook(round_: Round, links: list[IssuedLink]) -> bytes:
    return write_xlsx([_sheet("Đường dẫn", ["Họ và tên", "Chức vụ", "Nhóm", "Cơ quan, đơn vị", "Điện thoại",
                                            "Đường dẫn", "Nội dung tin nhắn (SMS, Zalo)"],
                              ((l.full_name, l.position, l.group, l.agency, l.phone, l.link, sms_text(round_, l.link))
                               for l in links))])


def _font(bold: bool = False) -> str:
    # DejaVu Sans ships with matplotlib (a dependency) and covers Vietnamese diacritics.
    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"))


def letters_pdf(round_: Round, links: list[IssuedLink]) -> bytes:
    """One A4 letter per person, with the link printed and as a QR code."""
    pdf = FPDF(format="A4")
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("DejaVu", "", _font())
    pdf.add_font("DejaVu", "B", _font(bold=True))
    pdf.set_title(f"Thư mời — {round_.title}")
    province = round_.province.name
    for item in links:
        pdf.add_page()
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 6, f"SỞ NỘI VỤ {province.upper()}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(8)
        pdf.set_font("DejaVu", "B", 15)
        pdf.multi_cell(0, 8, "THƯ MỜI THAM GIA KHẢO SÁT", align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 11)
        pdf.multi_cell(0, 6, round_.title, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(8)
        pdf.set_font("DejaVu", "", 12)
        who = item.full_name + (f", {item.position}" if item.position else "") + (f" — {item.agency}" if item.agency else "")
        pdf.multi_cell(0, 7, f"Kính gửi: {who}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.multi_cell(0, 7, (
            f"Sở Nội vụ {province} trân trọng mời Ông/Bà tham gia {round_.title}, phục vụ việc xác định "
            "Chỉ số cải cách hành chính (PAR Index) do Bộ Nội vụ chủ trì. Xin Ông/Bà quét mã QR dưới đây bằng "
            "điện thoại, hoặc nhập đường dẫn vào trình duyệt, để trả lời phiếu."), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        qr = io.BytesIO()
        segno.make(item.link, error="m").save(qr, kind="png", scale=10, border=2)
        qr.seek(0)
        pdf.image(qr, x=(pdf.w - 60) / 2, w=60, h=60)
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(0, 6, item.link, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.set_font("DejaVu", "", 12)
        pdf.multi_cell(0, 7, (
            f"Hạn trả lời: {format_local(round_.closes_at)}. Phiếu được xử lý ẩn danh: câu trả lời được lưu tách "
            "biệt với danh tính người trả lời và chỉ được tổng hợp theo nhóm. Đường dẫn này dành riêng cho Ông/Bà; "
            "xin không chuyển cho người khác."), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(8)
        pdf.multi_cell(0, 7, f"Trân trọng,\nSở Nội vụ {province}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
