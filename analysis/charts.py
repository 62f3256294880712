"""Charts as matplotlib ``Figure`` objects (object API, never pyplot).

Text uses DejaVu Sans, which covers the Vietnamese diacritics; the font is set
per figure through an ``rc_context`` so global matplotlib state is untouched.
"""

from __future__ import annotations

import io
from contextlib import contextmanager

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ._inputs import require_columns

__all__ = ["field_points_chart", "sipas_elements_chart", "answer_distribution_chart", "figure_bytes"]

_RC = {"font.family": "DejaVu Sans", "svg.fonttype": "path", "axes.unicode_minus": True}

ELEMENT_TITLES = {
    1: "Tiếp cận dịch vụ",
    2: "Thủ tục hành chính",
    3: "Công chức",
    4: "Kết quả",
    5: "Tiếp nhận, xử lý phản ánh, kiến nghị",
}


@contextmanager
def _style():
    with matplotlib.rc_context(_RC):
        yield


def field_points_chart(field_totals: pd.DataFrame, title: str = "Điểm điều tra xã hội học theo lĩnh vực") -> Figure:
    """Horizontal bars: survey points of each field over its maximum.

    ``field_totals`` is :func:`analysis.scoring.field_totals` output (the total
    row and fields without survey items are skipped).
    """
    require_columns(field_totals, ["field", "field_title", "survey_points", "survey_max"], "field_totals")
    ft = field_totals
    if "is_total" in ft.columns:
        ft = ft[~ft["is_total"].astype(bool)]
    ft = ft[ft["survey_max"] > 0].iloc[::-1]
    with _style():
        fig = Figure(figsize=(8, 0.6 * max(len(ft), 1) + 1.5), layout="constrained")
        ax = fig.add_subplot()
        labels = [f"{int(f)}. {t}" for f, t in zip(ft["field"], ft["field_title"])]
        y = np.arange(len(ft))
        ax.barh(y, ft["survey_max"], color="#d9d9d9", label="Điểm tối đa")
        ax.barh(y, ft["survey_points"].fillna(0), color="#1f77b4", height=0.5, label="Điểm đạt được")
        for yi, p, m in zip(y, ft["survey_points"], ft["survey_max"]):
            ax.text(m, yi, f" {p:.2f} / {m:g}", va="center", fontsize=8)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlabel("Điểm")
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=8)
        ax.set_xlim(0, float(ft["survey_max"].max()) * 1.25 if len(ft) else 1)
    return fig


def sipas_elements_chart(elements: pd.DataFrame, title: str = "Chỉ số hài lòng theo yếu tố (SIPAS)") -> Figure:
    """Bars of the element indices SI_1..SI_5 with Wilson interval error bars.

    ``elements`` is ``SipasResult.elements``; suppressed elements are shown empty.
    """
    require_columns(elements, ["element", "index", "index_low", "index_high"], "elements")
    el = elements.sort_values("element")
    idx = el["index"].to_numpy(dtype=float)
    err = np.vstack([idx - el["index_low"].to_numpy(dtype=float), el["index_high"].to_numpy(dtype=float) - idx])
    err = np.nan_to_num(err)
    with _style():
        fig = Figure(figsize=(8, 4.5), layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(el))
        ax.bar(x, np.nan_to_num(idx), yerr=err, capsize=4, color="#2ca02c")
        for xi, v in zip(x, idx):
            ax.text(xi, 2, "—" if np.isnan(v) else f"{v:.2f}%", ha="center", fontsize=8, color="white" if not np.isnan(v) else "black")
        labels = [f"SI_{int(e)}\n{ELEMENT_TITLES.get(int(e), '')}" for e in el["element"]]
        ax.set_xticks(x, labels, fontsize=7)
        ax.set_ylim(0, 100)
        ax.set_ylabel("% hài lòng")
        ax.set_title(title)
    return fig


def answer_distribution_chart(counts_for_question: pd.DataFrame, option_labels: dict | None = None, title: str = "") -> Figure:
    """Stacked horizontal bars: percentage of each option within each group.

    ``counts_for_question``: ``group, option, n`` of one question; options are
    stacked in their order of first appearance (pass them in scale order).
    """
    require_columns(counts_for_question, ["group", "option", "n"], "counts_for_question")
    c = counts_for_question.assign(group=counts_for_question["group"].astype(str), option=counts_for_question["option"].astype(str))
    if "question" in c.columns and c["question"].nunique() > 1:
        raise ValueError("counts_for_question holds several questions")
    order = list(dict.fromkeys(c["option"]))
    table = c.pivot_table(index="group", columns="option", values="n", aggfunc="sum", fill_value=0).reindex(columns=order, fill_value=0)
    totals = table.sum(axis=1).replace(0, np.nan)
    share = table.div(totals, axis=0).fillna(0) * 100
    colours = matplotlib.colormaps["RdYlGn"](np.linspace(0.1, 0.9, max(len(order), 1)))[::-1]
    with _style():
        fig = Figure(figsize=(8, 0.5 * max(len(share), 1) + 2), layout="constrained")
        ax = fig.add_subplot()
        left = np.zeros(len(share))
        y = np.arange(len(share))
        for i, opt in enumerate(order):
            vals = share[opt].to_numpy()
            label = (option_labels or {}).get(opt, opt)
            ax.barh(y, vals, left=left, color=colours[i], label=label)
            for yi, l, v in zip(y, left, vals):
                if v >= 6:
                    ax.text(l + v / 2, yi, f"{v:.0f}%", ha="center", va="center", fontsize=7)
            left += vals
        ax.set_yticks(y, list(share.index), fontsize=8)
        ax.set_xlim(0, 100)
        ax.set_xlabel("% câu trả lời")
        ax.set_title(title or "Phân bố câu trả lời theo nhóm")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=min(len(order), 5), fontsize=7)
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
