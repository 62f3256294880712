"""The round's figures, never drawing a cell that the tables hide."""

from __future__ import annotations

from matplotlib.figure import Figure

from analysis.charts import answer_distribution_chart, field_points_chart, sipas_elements_chart, sipas_trend_chart
from analysis.sipas_breakdown import SipasBreakdown
from survey.reports.computation import Computed


def chart(computed: Computed, name: str, question: str | None = None, group: str | None = None) -> Figure | None:
    """A figure of the round, or None when it does not exist (unknown name, or a suppressed cell)."""
    result = computed.result
    if name == "fields" and computed.frames.structure_model is not None:
        return field_points_chart(result.field_totals, min_cell=result.options.min_cell)
    if name == "sipas":
        if result.sipas is None:
            return None
        return sipas_elements_chart(result.sipas.elements, min_cell=result.options.min_cell)
    if name == "question" and question and group:
        freq = result.frequencies
        rows = freq[(freq["group"] == group) & (freq["question"] == question)]
        if rows.empty or rows["suppressed"].any():
            return None  # a chart of a small cell would publish what the table hides
        q = computed.frames.questionnaires[group].question(question)
        labels = {o.code: o.label for o in q.scale.options} if q and q.scale else {}
        return answer_distribution_chart(rows[["group", "option", "n"]], labels,
                                         title=f"{question}. {q.text}" if q else question,
                                         group_labels=computed.frames.group_labels)
    return None


def report_figures(computed: Computed) -> dict[str, Figure]:
    """The figures of the PDF report, by title."""
    figures = {"Điểm theo lĩnh vực": chart(computed, "fields"), "Chỉ số hài lòng SIPAS": chart(computed, "sipas")}
    return {title: figure for title, figure in figures.items() if figure is not None}


def sipas_trend(breakdown: SipasBreakdown | None) -> Figure | None:
    """The monthly SIPAS trend, or None when the round has no SIPAS answers."""
    if breakdown is None:
        return None
    months = breakdown.indices[breakdown.indices["dimension"] == "month"]
    if months.empty:
        return None
    return sipas_trend_chart(months, min_cell=breakdown.options.min_cell)
