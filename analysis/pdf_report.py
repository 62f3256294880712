"""The analysis report as a PDF a Sở Nội vụ can send to the appraisal council.

Laid out as an administrative report (báo cáo): the national heading (Quốc hiệu
and tiêu ngữ) beside the issuing body, place and date; the summary of results;
the method actually used (options, threshold k, questionnaire and structure
versions, responses against the roster of each group); the charts; the notes
on partial results, every partial figure marked with :data:`PARTIAL_MARK` as on
the pages; an appendix of sub-criterion points; and the signature block.

Everything the reader sees is Vietnamese; the input is an already-computed
:class:`analysis.results.RoundResult` plus what only the caller knows (who
issues the report, the groups' names and roster counts), never a database.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from matplotlib.figure import Figure

from .charts import ELEMENT_TITLES, PARTIAL_MARK, figure_bytes
from .pdf_table import draw_table
from .report import dejavu_font_path
from .results import RoundResult
from .scoring import STATUS_VI

__all__ = ["Issuer", "GroupCount", "write_report_pdf"]

NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

_MARGIN = 20  # mm; 170 mm of text width on A4, the width the charts are drawn for
_FONT = "DejaVu"

DONT_KNOW_VI = {
    "exclude": "câu trả lời \"Không biết / không trả lời\" không được tính là câu trả lời hợp lệ (loại trừ)",
    "zero": "câu trả lời \"Không biết / không trả lời\" được tính là câu trả lời hợp lệ với 0 điểm",
}
POOLING_VI = {
    "equal": "khi nhiều nhóm đối tượng cùng đánh giá một tiêu chí thành phần, các nhóm có trọng số bằng nhau",
    "size": "khi nhiều nhóm đối tượng cùng đánh giá một tiêu chí thành phần, trọng số mỗi nhóm tỷ lệ với "
            "số câu trả lời hợp lệ của nhóm",
}
WEIGHTING_VI = {
    "none": "không gia quyền (mỗi phiếu có trọng số như nhau)",
    "group": "gia quyền hậu phân tầng theo nhóm đối tượng, căn cứ số người trong danh sách của từng nhóm",
}


@dataclass(frozen=True)
class Issuer:
    """Who issues the report, where and when (the left column of the heading and the date line)."""

    authority: str
    place: str
    issued_on: date
    body: str = "SỞ NỘI VỤ"
    body_name: str = "Sở Nội vụ"  # the same body in running text
    number: str = "Số:        /BC-SNV"
    recipient: str = "Hội đồng thẩm định Chỉ số cải cách hành chính tỉnh"
    signer_title: str = "GIÁM ĐỐC"
    signer_name: str = ""

    @classmethod
    def for_province(cls, province_name: str, issued_on: date, **kwargs) -> Issuer:
        """``"tỉnh Lào Cai"`` or ``"Lào Cai"`` -> UBND TỈNH LÀO CAI, place "Lào Cai"."""
        name = province_name.strip()
        match = re.match(r"(?i)^(tỉnh|thành phố)\s+(.+)$", name)
        kind, place = (match.group(1), match.group(2)) if match else ("tỉnh", name)
        return cls(authority=f"UBND {kind.upper()} {place.upper()}", place=place, issued_on=issued_on, **kwargs)


@dataclass(frozen=True)
class GroupCount:
    """A respondent group of the round: its name, submitted responses and people on its roster."""

    code: str
    label: str
    responses: int
    roster: int | None = None


@dataclass
class _Partial:
    """The partial results of a round, worded for the notes section."""

    unscored: list[dict] = field(default_factory=list)
    hidden_groups: list[dict] = field(default_factory=list)
    sipas: list[str] = field(default_factory=list)


def _num(value, digits: int = 2) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):.{digits}f}"


def _pct(value, digits: int = 2) -> str:
    text = _num(value, digits)
    return text if text == "—" else f"{text}%"


def _interval(low, high, digits: int = 2) -> str:
    if low is None or high is None or any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        return "—"
    return f"[{float(low):.{digits}f}; {float(high):.{digits}f}]"


def _date_line(issuer: Issuer) -> str:
    d = issuer.issued_on
    return f"{issuer.place}, ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"


class _Document:
    """fpdf2 with the DejaVu fonts, page numbers and a few report-shaped helpers."""

    def __init__(self, title: str):
        from fpdf import FPDF

        class _PDF(FPDF):
            def footer(self):
                self.set_y(-12)
                self.set_font(_FONT, "", 8)
                self.cell(0, 5, f"Trang {self.page_no()}/{{nb}}", align="C")

        pdf = _PDF(orientation="P", unit="mm", format="A4")
        regular = dejavu_font_path()
        pdf.add_font(_FONT, "", str(regular))
        pdf.add_font(_FONT, "B", str(dejavu_font_path(bold=True)))
        pdf.add_font(_FONT, "I", str(regular.with_name("DejaVuSans-Oblique.ttf")))
        pdf.add_font(_FONT, "BI", str(regular.with_name("DejaVuSans-BoldOblique.ttf")))
        pdf.set_margins(_MARGIN, 15, _MARGIN)
        pdf.set_auto_page_break(auto=True, margin=18)
        pdf.set_title(title)
        pdf.set_lang("vi")
        pdf.add_page()
        self.pdf = pdf

    def text(self, text: str, size: float = 10, style: str = "", align: str = "J", height: float = 5.2) -> None:
        from fpdf.enums import XPos, YPos

        self.pdf.set_font(_FONT, style, size)
        self.pdf.multi_cell(0, height, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str, level: int = 1) -> None:
        self.pdf.ln(2 if level > 1 else 4)
        if self.pdf.will_page_break(20):
            self.pdf.add_page()
        self.text(text, size=11 if level == 1 else 10, style="B", align="L", height=6)
        self.pdf.ln(1)

    def bullet(self, text: str) -> None:
        self.text(f"- {text}")

    def table(self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float],
              align: Sequence[str]) -> None:
        self.pdf.set_font(_FONT, "", 8.5)
        draw_table(self.pdf, headings, rows, widths, align, line_height=4.6, padding=1, heading_fill=(230, 230, 230))
        self.pdf.ln(2)

    def figure(self, caption: str, figure: Figure) -> None:
        width = self.pdf.epw
        height = width * figure.get_figheight() / figure.get_figwidth()
        if self.pdf.will_page_break(height + 8):
            self.pdf.add_page()
        # Charts are drawn A4_TEXT_WIDTH_IN wide, the page's text width: their text prints at its nominal size.
        self.pdf.image(io.BytesIO(figure_bytes(figure, "png", dpi=200)), w=width, h=height)
        self.text(caption, size=9, style="I", align="C")
        self.pdf.ln(2)


def _heading_block(doc: _Document, issuer: Issuer) -> None:
    pdf = doc.pdf
    left_w, right_w = 70, pdf.epw - 70
    top = pdf.get_y()

    def centred(x: float, w: float, y: float, text: str, style: str, size: float, underline: bool = False) -> float:
        pdf.set_font(_FONT, style, size)
        pdf.set_xy(x, y)
        pdf.cell(w, 5, text, align="C")
        if underline:
            tw = pdf.get_string_width(text) * 0.6
            pdf.line(x + (w - tw) / 2, y + 5.6, x + (w + tw) / 2, y + 5.6)
        return y + 5

    x0 = pdf.l_margin
    y = centred(x0, left_w, top, issuer.authority, "", 10)
    y = centred(x0, left_w, y, issuer.body, "B", 10, underline=True)
    centred(x0, left_w, y + 2, issuer.number, "", 10)
    y = centred(x0 + left_w, right_w, top, NATIONAL_NAME, "B", 10)
    y = centred(x0 + left_w, right_w, y, MOTTO, "B", 10.5, underline=True)
    centred(x0 + left_w, right_w, y + 2, _date_line(issuer), "I", 10)
    pdf.set_xy(x0, top + 22)


def _partial(result: RoundResult, labels: Mapping[str, str]) -> _Partial:
    out = _Partial()
    k = result.options.min_cell
    points = result.subcriterion_points
    if len(points):
        pooled = points[points["is_pooled"].astype(bool)]
        for row in pooled.itertuples(index=False):
            if not pd.isna(row.points):
                continue
            n = int(row.n_responses)
            # the status says why: withheld (fewer than k), not measured in this round, no valid answer
            reason = f"chưa đủ {k} phiếu ({n} phiếu)" if row.status == "withheld" else STATUS_VI[row.status]
            out.unscored.append({"code": row.subcriterion, "title": row.title, "field": int(row.field),
                                 "max": float(row.max_points), "reason": reason})
        groups = points[~points["is_pooled"].astype(bool) & points["suppressed"].astype(bool)]
        for code, part in groups.groupby("subcriterion", sort=True):
            shown = pooled.loc[pooled["subcriterion"] == code, "points"]
            if len(shown) and pd.isna(shown.iloc[0]):
                continue  # already listed as unscored
            names = ", ".join(labels.get(g, g) for g in part["group"])
            out.hidden_groups.append({"code": code, "groups": names})
    if result.sipas is not None:
        el = result.sipas.elements
        for row in el.itertuples(index=False):
            if bool(getattr(row, "suppressed", False)):
                out.sipas.append(f"Yếu tố {int(row.element)} ({ELEMENT_TITLES.get(int(row.element), '')}): "
                                 f"chưa đủ {k} phiếu, không công bố; chỉ số dịch vụ tính trên các yếu tố còn lại.")
        missing = sorted(set(range(1, 6)) - set(el["element"].astype(int)))
        for e in missing:
            out.sipas.append(f"Yếu tố {e} ({ELEMENT_TITLES[e]}): chưa có câu trả lời; chỉ số dịch vụ là trung bình "
                             "của các yếu tố còn lại.")
        pol = result.sipas.policies
        if len(pol) and "suppressed" in pol.columns:
            for row in pol[pol["suppressed"].astype(bool)].itertuples(index=False):
                out.sipas.append(f"Chính sách \"{row.policy}\": chưa đủ {k} phiếu, không công bố.")
    return out


def _summary_rows(result: RoundResult) -> list[list[str]]:
    total = result.survey_total
    mark = f" {PARTIAL_MARK}" if total["n_unscored"] else ""
    conf = f"{result.options.confidence:.0%}"
    rows = [[f"Điểm điều tra xã hội học{mark}", f"{_num(total['points'])} / {_num(total['max_points'])}",
             _pct(total['percent']), ""]]
    if result.par is not None:
        p = result.par
        rows.append(["Chỉ số CCHC (tự đánh giá + điều tra xã hội học)", f"{_num(p.total)} / {_num(p.max_total)}",
                     _pct(p.percent), f"Xếp nhóm {p.classification}"])
        if p.source_label:
            rows.append(["Nguồn điểm tự đánh giá", "", "", p.source_label])
        if p.delta is not None:
            rows.append(["Thay đổi so với kỳ trước", f"{p.delta:+.2f} điểm", "", ""])
    if result.sipas is not None:
        s = result.sipas
        rows += [
            ["Chỉ số hài lòng SIPAS", "", _pct(s.sipas), f"KTC {conf}: {_interval(*s.sipas_interval)}"],
            ["Chỉ số hài lòng về dịch vụ", "", _pct(s.service_index),
             f"KTC {conf}: {_interval(*s.service_interval)}"],
            ["Chỉ số hài lòng về chính sách", "", _pct(s.policy_index),
             f"KTC {conf}: {_interval(*s.policy_interval)}"],
        ]
    return rows


def _field_rows(result: RoundResult) -> list[list[str]]:
    rows = []
    for r in result.field_totals.to_dict("records"):
        mark = f" {PARTIAL_MARK}" if r["n_unscored"] else ""
        name = "Tổng cộng" if r["is_total"] else f"{int(r['field'])}. {r['field_title']}"
        rows.append([name, f"{_num(r['survey_points'])}{mark}", _num(r["survey_max"]), _num(r["percent"], 1),
                     str(int(r["n_unscored"]))])
    return rows


def _subcriterion_rows(result: RoundResult) -> list[list[str]]:
    points = result.subcriterion_points
    if not len(points):
        return []
    rows = []
    for r in points[points["is_pooled"].astype(bool)].to_dict("records"):
        partial = pd.isna(r["points"])
        rows.append([r["subcriterion"], r["title"], _num(r["max_points"]),
                     f"{PARTIAL_MARK} chưa có điểm" if partial else _num(r["points"]), str(int(r["n_responses"]))])
    return rows


def write_report_pdf(path, result: RoundResult, issuer: Issuer, groups: Sequence[GroupCount] = (),
                     figures: Mapping[str, Figure] | None = None,
                     title: str = "Kết quả điều tra xã hội học phục vụ xác định Chỉ số cải cách hành chính",
                     breakdown=None) -> None:
    """Write the round's analysis report as an A4 PDF (DejaVu Sans embedded).

    Parameters
    ----------
    path : str or Path
    result : RoundResult
    issuer : Issuer
        Issuing body, place and date of the heading.
    groups : sequence of GroupCount
        The round's respondent groups in display order, with responses and
        roster counts; their labels replace group codes everywhere.
    figures : mapping caption -> Figure
        The charts, numbered "Hình 1", "Hình 2" ... in this order.
    title : str
        The report's subject line, under "BÁO CÁO".
    breakdown : analysis.sipas_breakdown.SipasBreakdown, optional
        SIPAS by channel, month, point, agency and procedure: an appendix, withheld cells as on
        the analysis page.
    """
    if not isinstance(result, RoundResult):
        raise ValueError("result must be a RoundResult")
    if not isinstance(issuer, Issuer):
        raise ValueError("issuer must be an Issuer")
    options = result.options
    k = options.min_cell
    labels = {g.code: g.label for g in groups}
    prov = result.provenance
    round_title = prov.get("round_title") or ""
    partial = _partial(result, labels)

    doc = _Document(f"{title} — {round_title}" if round_title else title)
    pdf = doc.pdf
    _heading_block(doc, issuer)
    doc.text("BÁO CÁO", size=13, style="B", align="C", height=7)
    doc.text(title, size=11, style="B", align="C", height=6)
    if round_title:
        doc.text(f"({round_title})", size=10, align="C")
    pdf.ln(3)
    doc.text(f"Kính gửi: {issuer.recipient}.", size=10.5, align="C")
    pdf.ln(3)
    doc.text(f"{issuer.body_name} báo cáo kết quả điều tra xã hội học"
             f"{' ' + round_title if round_title else ''} như sau:")

    doc.heading("I. TỔNG HỢP KẾT QUẢ")
    doc.heading("1. Các chỉ số chính", level=2)
    doc.table(["Chỉ tiêu", "Điểm", "Tỷ lệ", "Ghi chú"], _summary_rows(result), (72, 32, 22, 44),
              ("LEFT", "RIGHT", "RIGHT", "LEFT"))
    if len(result.field_totals) > 1:
        doc.heading("2. Điểm điều tra xã hội học theo lĩnh vực", level=2)
        doc.table(["Lĩnh vực", "Điểm đạt", "Điểm tối đa", "Tỷ lệ (%)", "TCTP chưa có điểm"], _field_rows(result),
                  (86, 20, 20, 18, 26), ("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"))
    if result.sipas is not None and len(result.sipas.elements):
        doc.heading("3. Chỉ số hài lòng theo yếu tố (SIPAS)", level=2)
        rows = []
        for e in result.sipas.elements.to_dict("records"):
            hidden = bool(e.get("suppressed"))
            rows.append([f"{int(e['element'])}. {ELEMENT_TITLES.get(int(e['element']), '')}",
                         f"{PARTIAL_MARK} ẩn" if hidden else _num(e["index"], 2),
                         "—" if hidden else _interval(e["index_low"], e["index_high"]), str(int(e["n_respondents"]))])
        doc.table(["Yếu tố", "Chỉ số (%)", f"KTC {options.confidence:.0%}", "Số phiếu"], rows, (80, 25, 40, 25),
                  ("LEFT", "RIGHT", "CENTER", "RIGHT"))
    if partial.unscored or partial.hidden_groups or partial.sipas:
        doc.text(f"Dấu {PARTIAL_MARK}: kết quả chưa đầy đủ, xem mục IV.", size=9, style="I")

    doc.heading("II. PHƯƠNG PHÁP")
    doc.heading("1. Đối tượng điều tra và số phiếu thu về", level=2)
    if groups:
        rows = []
        for g in groups:
            rate = _num(100 * g.responses / g.roster, 1) if g.roster else "—"
            rows.append([g.label, "—" if g.roster is None else str(g.roster), str(g.responses), rate])
        total_roster = sum(g.roster or 0 for g in groups)
        total_resp = sum(g.responses for g in groups)
        rows.append(["Tổng cộng", str(total_roster), str(total_resp),
                     _num(100 * total_resp / total_roster, 1) if total_roster else "—"])
        doc.table(["Nhóm đối tượng", "Số người trong danh sách", "Số phiếu đã trả lời", "Tỷ lệ trả lời (%)"], rows,
                  (80, 30, 30, 30), ("LEFT", "RIGHT", "RIGHT", "RIGHT"))
    else:
        doc.text("Không có số liệu danh sách đối tượng.")
    doc.heading("2. Phiếu khảo sát và bộ tiêu chí", level=2)
    for code, q in (prov.get("questionnaires") or {}).items():
        digest = str(q.get("content_hash") or "")[:12]
        doc.bullet(f"{labels.get(code, code)}: phiếu {q.get('key')}, phiên bản {q.get('version')}"
                   f"{f' (mã kiểm tra {digest})' if digest else ''}.")
    structure = prov.get("structure")
    if isinstance(structure, Mapping):
        digest = str(structure.get("content_hash") or "")[:12]
        doc.bullet(f"Bộ tiêu chí: {structure.get('key')}, phiên bản {structure.get('version')}"
                   f"{f' (mã kiểm tra {digest})' if digest else ''}"
                   f"{'; điểm tối đa là số liệu tạm thời, chờ đối chiếu văn bản chính thức' if structure.get('provisional') else ''}.")
    else:
        doc.bullet("Đợt khảo sát không dùng bộ tiêu chí Chỉ số CCHC (chỉ khảo sát SIPAS).")
    doc.heading("3. Cách tính", level=2)
    doc.bullet(f"Điểm trung bình của tiêu chí thành phần (0–1) là trung bình trọng số các phương án trên các câu trả "
               f"lời hợp lệ; {DONT_KNOW_VI[options.dont_know]}.")
    doc.bullet(f"Điểm của tiêu chí thành phần = điểm tối đa × điểm trung bình, làm tròn 2 chữ số thập phân; "
               f"{POOLING_VI[options.pooling]}.")
    doc.bullet(f"Trọng số phiếu: {WEIGHTING_VI[options.weighting]}.")
    doc.bullet(f"Ngưỡng công bố k = {k}: nhóm hoặc tiêu chí có dưới {k} phiếu không được công bố; khi cần, một nhóm "
               f"khác cũng được ẩn để không suy ra được số liệu bị ẩn từ số gộp.")
    if result.sipas is not None:
        doc.bullet("Chỉ số hài lòng của một yếu tố = 100 × (số câu \"Hài lòng\" + \"Rất hài lòng\") / số câu trả lời "
                   "hợp lệ; chỉ số dịch vụ là trung bình 5 yếu tố; SIPAS là trung bình chỉ số dịch vụ và chỉ số chính "
                   "sách.")
    if result.provenance.get("intervals", {}).get("unit") == "respondent":
        doc.bullet(f"Khoảng tin cậy (KTC) {options.confidence:.0%}: tính theo người trả lời (mỗi người trả lời nhiều "
                   f"câu, nên không coi từng câu trả lời là độc lập): phương sai tuyến tính hóa của tỷ số gộp, mỗi "
                   f"người trả lời là một cụm, mỗi nhóm là một tầng, phân phối t; Wilson cho tỷ lệ của một câu hỏi.")
    else:
        doc.bullet(f"Khoảng tin cậy (KTC) {options.confidence:.0%}: phân phối t cho điểm, Wilson cho tỷ lệ, bootstrap "
                   f"({options.bootstrap_samples} lần lấy mẫu lại) cho các chỉ số SIPAS; tính trên từng câu trả lời, "
                   f"nên hẹp hơn thực tế.")

    if figures:
        doc.heading("III. BIỂU ĐỒ")
        for i, (caption, fig) in enumerate(figures.items(), start=1):
            doc.figure(f"Hình {i}. {caption}", fig)

    doc.heading("IV. GHI CHÚ VỀ KẾT QUẢ CHƯA ĐẦY ĐỦ" if figures else "III. GHI CHÚ VỀ KẾT QUẢ CHƯA ĐẦY ĐỦ")
    if not (partial.unscored or partial.hidden_groups or partial.sipas):
        doc.text(f"Mọi tiêu chí thành phần và yếu tố đều có từ {k} phiếu trở lên; kết quả được công bố đầy đủ.")
    if partial.unscored:
        doc.text(f"Các tiêu chí thành phần dưới đây (đánh dấu {PARTIAL_MARK}) chưa có điểm, không được công bố và được tính 0 điểm trong "
                 f"tổng của lĩnh vực; điểm của lĩnh vực và tổng điểm vì vậy chỉ gồm phần đã có:")
        doc.table(["Mã", "Tiêu chí thành phần", "Lĩnh vực", "Điểm tối đa", "Lý do"],
                  [[u["code"], u["title"], str(u["field"]), _num(u["max"]), u["reason"]] for u in partial.unscored],
                  (16, 58, 16, 18, 62), ("LEFT", "LEFT", "CENTER", "RIGHT", "LEFT"))
    if partial.hidden_groups:
        doc.text("Các tiêu chí thành phần dưới đây có điểm gộp, nhưng điểm riêng của một số nhóm đối tượng không được "
                 f"công bố (nhóm dưới {k} phiếu, hoặc ẩn bổ sung để không suy ra được nhóm bị ẩn):")
        for h in partial.hidden_groups:
            doc.bullet(f"{h['code']}: {h['groups']}.")
    if partial.sipas:
        doc.text("Chỉ số hài lòng (SIPAS):")
        for note in partial.sipas:
            doc.bullet(note)
    for note in result.notes:
        doc.bullet(note)

    appendix = _subcriterion_rows(result)
    if appendix:
        doc.heading("PHỤ LỤC. ĐIỂM TIÊU CHÍ THÀNH PHẦN CHẤM BẰNG ĐIỀU TRA XÃ HỘI HỌC")
        doc.table(["Mã", "Tiêu chí thành phần", "Điểm tối đa", "Điểm", "Số phiếu"], appendix, (16, 88, 18, 30, 18),
                  ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"))

    if breakdown is not None:
        _breakdown_appendix(doc, breakdown, "PHỤ LỤC 2" if appendix else "PHỤ LỤC")

    _signature(doc, issuer)
    pdf.output(str(path))


_BREAKDOWN_INDICATORS = ("SIPAS", "service", "policy", "SI_1", "SI_2", "SI_3", "SI_4", "SI_5")


def _breakdown_appendix(doc: _Document, breakdown, number: str) -> None:
    """SIPAS per value of each dimension, and the expectations, as the analysis page shows them.

    The frames come already withheld (``analysis.sipas_breakdown``: below k, and the complements);
    a withheld cell prints "ẩn" and its interval nothing, exactly where the page shows "ẩn".
    """
    from .sipas_breakdown import DIMENSION_TITLES, DIMENSIONS

    k = breakdown.options.min_cell
    doc.heading(f"{number}. CHỈ SỐ HÀI LÒNG (SIPAS) THEO KÊNH, THÁNG, ĐIỂM KHẢO SÁT, CƠ QUAN VÀ THỦ TỤC")
    doc.text(f"Chỉ số (%) và KTC {breakdown.options.confidence:.0%} theo người trả lời. \"ẩn\": dưới {k} người trả "
             f"lời hợp lệ, hoặc ẩn bổ sung để không suy ra được từ số của cả đợt hay của phân tổ khác; \"—\": không "
             f"có câu trả lời hợp lệ.", size=9)

    def cell(row, interval: bool = False) -> str:
        if row is None or bool(row.get("suppressed")):
            return "ẩn" if row is not None else "—"
        return _interval(row["index_low"], row["index_high"], 1) if interval else _num(row["index"], 1)

    for number_, dimension in enumerate(DIMENSIONS, start=1):
        rows = breakdown.rows(dimension, _BREAKDOWN_INDICATORS)
        if not rows:
            continue
        doc.heading(f"{number_}. {DIMENSION_TITLES[dimension]}", level=2)
        doc.table([DIMENSION_TITLES[dimension], "Số người", "SIPAS", "KTC", "Dịch vụ", "Chính sách",
                   "SI_1", "SI_2", "SI_3", "SI_4", "SI_5"],
                  [[r["label"], str(r["n"]), cell(r["cells"]["SIPAS"]), cell(r["cells"]["SIPAS"], True),
                    *(cell(r["cells"][i]) for i in _BREAKDOWN_INDICATORS[1:])] for r in rows],
                  (36, 14, 14, 27, 14, 16, 9.8, 9.8, 9.8, 9.8, 9.8),
                  ("LEFT", "RIGHT", "RIGHT", "CENTER", *("RIGHT",) * 7))
        exp = breakdown.expectations[breakdown.expectations["dimension"] == dimension]
        if len(exp):
            doc.table([DIMENSION_TITLES[dimension], "Câu", "Phương án (kỳ vọng)", "Số người trả lời câu", "Tỷ lệ (%)"],
                      [[e["label"], e["question"], e["option_label"], str(int(e["respondents"])),
                        "ẩn" if e["suppressed"] else _num(e["share"], 1)] for e in exp.to_dict("records")],
                      (50, 14, 64, 24, 18), ("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"))


def _signature(doc: _Document, issuer: Issuer) -> None:
    pdf = doc.pdf
    pdf.ln(6)
    if pdf.will_page_break(40):
        pdf.add_page()
    top = pdf.get_y()
    x0 = pdf.l_margin
    pdf.set_xy(x0, top)
    pdf.set_font(_FONT, "BI", 9)
    pdf.cell(80, 5, "Nơi nhận:")
    pdf.set_font(_FONT, "", 8.5)
    for i, line in enumerate((f"- {issuer.recipient};", "- Lưu: VT."), start=1):
        pdf.set_xy(x0, top + 5 * i)
        pdf.cell(80, 4.5, line)
    right_x, right_w = x0 + 90, pdf.epw - 90
    pdf.set_xy(right_x, top)
    pdf.set_font(_FONT, "B", 10)
    pdf.cell(right_w, 5, issuer.signer_title, align="C")
    if issuer.signer_name:
        pdf.set_xy(right_x, top + 28)
        pdf.cell(right_w, 5, issuer.signer_name, align="C")
