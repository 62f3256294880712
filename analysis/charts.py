"""Charts as matplotlib ``Figure`` objects (object API, never pyplot).

Figures are sized for the text width of an A4 page (17 cm) so that, placed in
the PDF report at that width, their text prints at its nominal size.  Text uses
DejaVu Sans, which covers the Vietnamese diacritics; the font is set per figure
through an ``rc_context`` so global matplotlib state is untouched.  Titles and
long labels are wrapped, and a legend sits below the plot, outside the axes, so
that nothing is clipped or covers data.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping
from contextlib import contextmanager

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ._inputs import require_columns

__all__ = ["field_points_chart", "sipas_elements_chart", "sipas_trend_chart", "answer_distribution_chart", "figure_bytes",
           "A4_TEXT_WIDTH_IN", "PARTIAL_MARK"]

_RC = {"font.family": "DejaVu Sans", "font.size": 9, "svg.fonttype": "path", "axes.unicode_minus": True,
       "hatch.linewidth": 0.8}

# 17 cm: the text width of an A4 page with 2 cm margins (the PDF report places figures at this width).
A4_TEXT_WIDTH_IN = 17 / 2.54
TITLE_SIZE = 11
PARTIAL_MARK = "*"

ELEMENT_TITLES = {
    1: "Tiếp cận dịch vụ",
    2: "Thủ tục hành chính",
    3: "Công chức",
    4: "Kết quả",
    5: "Tiếp nhận, xử lý phản ánh, kiến nghị",
}

_POINTS_COLOUR = "#1f5fa0"
_MAX_COLOUR = "#e3e3e3"


@contextmanager
def _style():
    with matplotlib.rc_context(_RC):
        yield


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width=max(width, 8), break_long_words=False)) or str(text)


def _new_figure(height_in: float) -> Figure:
    return Figure(figsize=(A4_TEXT_WIDTH_IN, height_in), layout="constrained")


def _title(fig: Figure, text: str) -> None:
    # A suptitle takes part in the constrained layout (space is reserved for every
    # wrapped line); the wrap width is what fits the figure at the title size.
    chars = int(A4_TEXT_WIDTH_IN * 72 / (TITLE_SIZE * 0.62))
    fig.suptitle(_wrap(text, chars), fontsize=TITLE_SIZE, fontweight="bold")


def _footnote(fig: Figure, lines: list[str]) -> None:
    if lines:
        chars = int(A4_TEXT_WIDTH_IN * 72 / (8 * 0.66))
        fig.supxlabel("\n".join(_wrap(line, chars) for line in lines), fontsize=8, ha="left", x=0.01,
                      style="italic")


def field_points_chart(field_totals: pd.DataFrame, title: str = "Điểm điều tra xã hội học theo lĩnh vực",
                       min_cell: int | None = None) -> Figure:
    """Horizontal bars: each field's survey points as a percentage of that field's maximum.

    Percentages put fields with very different maxima (field 8 carries 16 of the
    32 survey points) on one scale; the points themselves are the bar labels
    ("10.52 / 16"). A field with unscored sub-criteria (``n_unscored`` > 0: too
    few responses, suppressed, or no valid answer; counted as 0 points) is
    hatched and marked with :data:`PARTIAL_MARK`, explained below the chart;
    ``min_cell`` (the threshold k) makes that note name the threshold.

    ``field_totals`` is :func:`analysis.scoring.field_totals` output (the total
    row and fields without survey items are skipped).
    """
    require_columns(field_totals, ["field", "field_title", "survey_points", "survey_max"], "field_totals")
    ft = field_totals
    if "is_total" in ft.columns:
        ft = ft[~ft["is_total"].astype(bool)]
    ft = ft[ft["survey_max"] > 0].iloc[::-1]
    unscored = (ft["n_unscored"] if "n_unscored" in ft.columns else pd.Series(0, index=ft.index)).fillna(0)
    partial = (unscored > 0).to_numpy()
    points = ft["survey_points"].astype(float).fillna(0.0).to_numpy()
    maxima = ft["survey_max"].astype(float).to_numpy()
    percent = 100 * points / maxima
    with _style():
        fig = _new_figure(0.5 * max(len(ft), 1) + 1.9)
        ax = fig.add_subplot()
        y = np.arange(len(ft))
        ax.barh(y, np.full(len(ft), 100.0), color=_MAX_COLOUR, height=0.7)
        ax.barh(y, percent, color=_POINTS_COLOUR, height=0.7,
                       hatch=["//" if p else None for p in partial], edgecolor="white", linewidth=0)
        labels = [f"{p:.2f} / {m:g}{' ' + PARTIAL_MARK if part else ''}" for p, m, part in zip(points, maxima, partial)]
        # Labels at the 100 % end, right of the grey bar: one aligned column of points.
        ax.bar_label(ax.containers[0], labels=labels, padding=4, fontsize=8)
        ax.set_yticks(y, [_wrap(f"{int(f)}. {t}", 38) for f, t in zip(ft["field"], ft["field_title"])], fontsize=8)
        ax.set_xlim(0, 100)
        ax.set_xticks(range(0, 101, 20), [f"{v}%" for v in range(0, 101, 20)])
        ax.set_xlabel("Tỷ lệ so với điểm tối đa của lĩnh vực (nhãn: điểm đạt được / điểm tối đa)")
        ax.spines[["top", "right"]].set_visible(False)
        _title(fig, title)
        if partial.any():
            threshold = f"chưa đủ {min_cell} phiếu" if min_cell else "chưa đủ số phiếu tối thiểu"
            counts = ", ".join(f"lĩnh vực {int(f)}: {int(n)}" for f, n in zip(ft["field"][::-1], unscored[::-1]) if n)
            _footnote(fig, [f"{PARTIAL_MARK} Thanh gạch chéo: điểm chưa đầy đủ. Tiêu chí thành phần {threshold} hoặc chưa "
                            f"có câu trả lời hợp lệ không được công bố và tính 0 điểm ({counts})."])
    return fig


def sipas_elements_chart(elements: pd.DataFrame, title: str = "Chỉ số hài lòng theo yếu tố (SIPAS)",
                         min_cell: int | None = None) -> Figure:
    """Bars of the element indices SI_1..SI_5 with Wilson interval error bars.

    ``elements`` is ``SipasResult.elements``.  A suppressed element (fewer than
    ``min_cell`` respondents) has no bar and is marked :data:`PARTIAL_MARK`
    "ẩn"; an element without any answer is marked "không có câu trả lời".
    """
    require_columns(elements, ["element", "index", "index_low", "index_high"], "elements")
    el = elements.sort_values("element")
    idx = el["index"].to_numpy(dtype=float)
    suppressed = (el["suppressed"].fillna(False).to_numpy(dtype=bool) if "suppressed" in el.columns
                  else np.zeros(len(el), dtype=bool))
    err = np.vstack([idx - el["index_low"].to_numpy(dtype=float), el["index_high"].to_numpy(dtype=float) - idx])
    err = np.nan_to_num(err)
    with _style():
        fig = _new_figure(3.9)
        ax = fig.add_subplot()
        x = np.arange(len(el))
        bars = ax.bar(x, np.nan_to_num(idx), yerr=err, capsize=4, color="#2e8b57", error_kw={"ecolor": "#333333"})
        labels = []
        for v, hidden in zip(idx, suppressed):
            if hidden:
                labels.append(f"{PARTIAL_MARK} ẩn")
            elif np.isnan(v):
                labels.append("không có\ncâu trả lời")
            else:
                labels.append(f"{v:.1f}%")
        # Inside the bar, at its base: the error bar's cap stays clear of the label.
        for xi, v, text in zip(x, idx, labels):
            inside = not np.isnan(v) and v >= 12
            ax.text(xi, 2, text, ha="center", va="bottom", fontsize=8, color="white" if inside else "black",
                    fontweight="bold" if inside else "normal")
        bars.set_label("Chỉ số")
        ax.set_xticks(x, [_wrap(f"{int(e)}. {ELEMENT_TITLES.get(int(e), '')}", 16) for e in el["element"]],
                      fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_ylabel("% hài lòng (Hài lòng + Rất hài lòng)")
        ax.spines[["top", "right"]].set_visible(False)
        _title(fig, title)
        notes = ["Thanh đen: khoảng tin cậy của chỉ số."]
        if suppressed.any():
            threshold = f"dưới {min_cell} phiếu" if min_cell else "dưới ngưỡng số phiếu tối thiểu"
            notes.append(f"{PARTIAL_MARK} Ẩn: yếu tố có {threshold}, không công bố.")
        _footnote(fig, notes)
    return fig


_TREND_LINES = (("SIPAS", "SIPAS", "#2e8b57"), ("service", "Dịch vụ hành chính công", "#1f5fa0"),
                ("policy", "Chính sách công", "#c0622c"))


def sipas_trend_chart(months: pd.DataFrame, title: str = "Chỉ số hài lòng theo tháng (SIPAS)",
                      min_cell: int | None = None) -> Figure:
    """Lines of the SIPAS, service and policy indices per month with their confidence intervals.

    ``months`` is the ``dimension == "month"`` part of ``SipasBreakdown.indices`` (``key`` YYYY-MM,
    ``label``, ``indicator``, ``index``, ``index_low``, ``index_high``, ``suppressed``).  A withheld
    month has no point (the line is broken there) and is marked :data:`PARTIAL_MARK` on the axis.
    """
    require_columns(months, ["key", "label", "indicator", "index", "index_low", "index_high", "suppressed"], "months")
    m = months[months["key"] != ""]
    order = sorted(set(m["key"]))
    labels = dict(zip(m["key"], m["label"]))
    hidden_months = set(m.loc[m["suppressed"].astype(bool) & (m["indicator"] == "SIPAS"), "key"])
    with _style():
        fig = _new_figure(3.9)
        ax = fig.add_subplot()
        x = np.arange(len(order))
        has_policy = (m["indicator"] == "policy").any()
        for code, name, colour in _TREND_LINES:
            rows = m[m["indicator"] == code].set_index("key").reindex(order)
            if rows["index"].isna().all() or (code == "service" and not has_policy):
                continue  # without policy items SIPAS is the service index: one line, not two
            value = rows["index"].to_numpy(dtype=float)
            err = np.nan_to_num(np.vstack([value - rows["index_low"].to_numpy(dtype=float),
                                           rows["index_high"].to_numpy(dtype=float) - value]))
            ax.errorbar(x, value, yerr=err, marker="o", capsize=3, color=colour, label=name,
                        linewidth=2 if code == "SIPAS" else 1.2)
        ax.set_xticks(x, [f"{labels[k]}{' ' + PARTIAL_MARK if k in hidden_months else ''}" for k in order],
                      fontsize=8, rotation=45 if len(order) > 8 else 0)
        ax.set_ylim(0, 100)
        ax.set_ylabel("% hài lòng (Hài lòng + Rất hài lòng)")
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_xlim(-0.5, len(order) - 0.5)
        # Satisfaction indices sit high on the 0-100 axis: the lower left corner is free for the key.
        if ax.get_legend_handles_labels()[0]:  # every month withheld: no line, no key
            ax.legend(loc="lower left", fontsize=8, frameon=False)
        _title(fig, title)
        notes = ["Thanh dọc: khoảng tin cậy của chỉ số (theo người trả lời)."]
        if hidden_months:
            threshold = f"dưới {min_cell} người trả lời" if min_cell else "dưới ngưỡng số phiếu tối thiểu"
            notes.append(f"{PARTIAL_MARK} Tháng bị ẩn ({threshold}, hoặc ẩn bổ sung): không có điểm trên đường.")
        _footnote(fig, notes)
    return fig


def answer_distribution_chart(counts_for_question: pd.DataFrame, option_labels: Mapping | None = None,
                              title: str = "", group_labels: Mapping[str, str] | None = None) -> Figure:
    """Stacked horizontal bars: percentage of each option within each group.

    ``counts_for_question``: ``group, option, n`` of one question; options are
    stacked in their order of first appearance (pass them in scale order).
    ``group_labels`` maps group codes to the round's group names shown on the
    axis (a code without a label is shown as is).
    """
    require_columns(counts_for_question, ["group", "option", "n"], "counts_for_question")
    c = counts_for_question.assign(group=counts_for_question["group"].astype(str),
                                   option=counts_for_question["option"].astype(str))
    if "question" in c.columns and c["question"].nunique() > 1:
        raise ValueError("counts_for_question holds several questions")
    order = list(dict.fromkeys(c["option"]))
    groups = list(dict.fromkeys(c["group"]))
    table = (c.pivot_table(index="group", columns="option", values="n", aggfunc="sum", fill_value=0)
             .reindex(index=groups[::-1], columns=order, fill_value=0))
    totals = table.sum(axis=1).replace(0, np.nan)
    share = table.div(totals, axis=0).fillna(0) * 100
    colours = matplotlib.colormaps["RdYlGn"](np.linspace(0.1, 0.9, max(len(order), 1)))[::-1]
    names = group_labels or {}
    with _style():
        fig = _new_figure(0.5 * max(len(share), 1) + 2.1)
        ax = fig.add_subplot()
        left = np.zeros(len(share))
        y = np.arange(len(share))
        for i, opt in enumerate(order):
            vals = share[opt].to_numpy()
            label = _wrap((option_labels or {}).get(opt, opt), 24)
            bars = ax.barh(y, vals, left=left, color=colours[i], label=label, height=0.7)
            ax.bar_label(bars, labels=[f"{v:.0f}%" if v >= 6 else "" for v in vals], label_type="center",
                         fontsize=8)
            left += vals
        ax.set_yticks(y, [_wrap(names.get(g, g), 30) for g in share.index], fontsize=8)
        ax.set_xlim(0, 100)
        ax.set_xlabel("% câu trả lời của nhóm")
        ax.spines[["top", "right"]].set_visible(False)
        fig.legend(loc="outside lower center", ncols=min(len(order), 5), fontsize=8, frameon=False)
        _title(fig, title or "Phân bố câu trả lời theo nhóm")
    return fig


def figure_bytes(fig: Figure, fmt: str = "png", dpi: int = 150) -> bytes:
    """Render a Figure to PNG or SVG bytes (SVG without a date, so output is stable)."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt must be 'png' or 'svg', got {fmt!r}")
    buf = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else None
    with _style():
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)
    return buf.getvalue()
