"""Computing a round's results from database counts (read-only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import RoundResult, compare_distributions, compare_scores, compute_round, par_of_round
from analysis.options import AnalysisOptions
from analysis.respondents import answer_cells, index_coefficients, index_contributions
from analysis.results import survey_points_of_round
from analysis.scoring import STATUS_VI
from analysis.sipas_breakdown import SipasBreakdown, response_columns
from analysis.sipas_breakdown import sipas_breakdown as breakdown_of
from questionnaires import Catalog
from survey.assessment.models import AssessmentCycle
from survey.reports import frames
from survey.reports.options import OptionsError
from survey.rounds.models import Round


@dataclass
class Computed:
    result: RoundResult
    frames: frames.RoundFrames
    response_counts: dict[str, int]
    roster_counts: dict[str, int]
    # Figures derived from this computation on demand, kept with it (see sipas_breakdown).
    derived: dict = field(default_factory=dict, compare=False, repr=False)


def compute(session: Session, round_: Round, catalog: Catalog, options: AnalysisOptions | None = None, *,
            reliability: bool = False, progress: Callable[[str], None] | None = None) -> Computed:
    """Every index of the round from database counts (reliability streams responses when asked)."""
    options = options or AnalysisOptions()
    notify = progress or (lambda step: None)
    notify("counts")
    data = frames.round_frames(session, round_, catalog)
    if options.weighting == "group":
        _check_weighting(data)
    wide = frames.responses_wide(session, round_, data.items) if reliability else None
    notify("respondents")
    cells = answer_cells(data.items)
    sizes = data.group_sizes if options.weighting == "group" else None
    coefficients = index_coefficients(data.counts, cells, options, sizes)
    moments = frames.respondent_moments(session, round_, index_contributions(cells, coefficients, options.dont_know))
    previous, previous_note = (_previous_par(session, round_, catalog, options) if data.self_assessment is not None
                               else (None, None))
    result = compute_round(
        data.counts, data.items, data.structure, options, data.provenance,
        responses_wide=wide,
        self_assessment=data.self_assessment,
        group_sizes=data.group_sizes if options.weighting == "group" else None,
        progress=notify,
        sipas_respondents=data.sipas_respondents or None,
        previous=previous[1] if previous else None,
        respondent_moments=moments,
    )
    if previous:
        result.provenance["previous_round"] = {"round_id": previous[0].id, "title": previous[0].title,
                                               "year": previous[0].year}
    if previous_note:
        result.notes.append(previous_note)
    if options.weighting == "group":
        result.notes.append("Gia quyền theo nhóm đối tượng; không thể gia quyền theo cơ quan vì phiếu trả lời "
                            "ẩn danh không gắn với cơ quan.")
    return Computed(result, data, data.response_counts, data.roster_counts)


def survey_points(session: Session, round_: Round, catalog: Catalog, options: AnalysisOptions | None = None):
    """The round's sub-criterion points alone (for pages that add them up, such as the consolidation
    board): the same points as :func:`compute`, without the rest of the analysis."""
    options = options or AnalysisOptions()
    data = frames.round_frames(session, round_, catalog)
    if options.weighting == "group":
        _check_weighting(data)
    return survey_points_of_round(data.counts, data.items, data.structure, options,
                                  group_sizes=data.group_sizes if options.weighting == "group" else None)


def _check_weighting(data: frames.RoundFrames) -> None:
    """Post-stratification needs a roster count for every group that answered, at least its responses."""
    problems = []
    for group, n in data.response_counts.items():
        roster = data.roster_counts[group]
        if n and roster < n:
            problems.append(f"nhóm {group}: {n} phiếu nhưng danh sách chỉ có {roster} người")
    if problems or not any(data.response_counts.values()):
        raise OptionsError("Không thể gia quyền theo nhóm: " + ("; ".join(problems) or "chưa có phiếu trả lời") + ".")


def _previous_par(session: Session, round_: Round, catalog: Catalog, options: AnalysisOptions):
    """((round, PAR score) or None, note or None) of the province's latest earlier round whose
    assessment cycle has points.  A comparison that cannot be made is missing, with the reason; never an error."""
    candidates = session.scalars(
        select(Round).where(Round.province_id == round_.province_id, Round.year < round_.year,
                            Round.id.in_(select(AssessmentCycle.round_id)))
        .order_by(Round.year.desc(), Round.id.desc())
    ).all()
    earlier = next((r for r in candidates if frames.round_par_points(
        session, r, frames.round_structure(frames.round_questionnaires(r, catalog), catalog)) is not None), None)
    if earlier is None:
        return None, None
    data = frames.round_frames(session, earlier, catalog)
    if options.weighting == "group" and not any(data.response_counts.values()):
        # Nothing to weight: without answers the survey points are the same either way.
        options = replace(options, weighting="none")
    elif options.weighting == "group":
        try:
            _check_weighting(data)
        except OptionsError as problem:
            return None, f"Không so sánh với {earlier.title} ({earlier.year}): {problem}"
    return (earlier, par_of_round(data.counts, data.items, data.structure, data.self_assessment, options,
                                  group_sizes=data.group_sizes if options.weighting == "group" else None)), None


def field_breakdown(computed: Computed, field) -> list[dict]:
    """Criterion -> sub-criterion -> question rows of one field, for the drill-down page."""
    result = computed.result
    points, items, freq = result.subcriterion_points, result.item_scores, result.frequencies
    out = []
    for criterion in field.criteria:
        subs = []
        for sub in criterion.subcriteria:
            questions = []
            for item in items[items["subcriterion"] == sub.code].to_dict("records"):
                q = computed.frames.questionnaires[item["group"]].question(item["question"])
                rows = freq[(freq["group"] == item["group"]) & (freq["question"] == item["question"])]
                options = [{**f, "label": (q.scale.option(f["option"]).label if q and q.scale and
                                           q.scale.option(f["option"]) else f["option"])}
                           for f in rows.to_dict("records")]
                questions.append({**item, "text": q.text if q else "", "options": options,
                                  "chartable": not rows["suppressed"].any()})
            subs.append({"model": sub, "rows": points[points["subcriterion"] == sub.code].to_dict("records"),
                         "questions": questions, "comparisons": group_comparisons(computed, sub.code)})
        out.append({"model": criterion, "subcriteria": subs})
    return out


def group_comparisons(computed: Computed, subcriterion: str) -> list[dict]:
    """Do groups answer a question differently?  Chi-square and Kruskal-Wallis, with effect sizes.

    Only groups whose item figures are published take part: a group below k, and a group hidden
    as a complement, stay out (the test's expected counts would describe them).
    """
    result = computed.result
    k = result.options.min_cell
    items = computed.frames.items
    scores = result.item_scores
    here = scores[(scores["subcriterion"] == subcriterion) & (scores["n_responses"] >= k)
                  & ~scores["suppressed"].astype(bool)]
    counts = computed.frames.counts
    out = []
    for question, rows in here.groupby("question", sort=True):
        groups = sorted(set(rows["group"]))
        if len(groups) < 2:
            continue
        c = counts[(counts["question"] == question) & counts["group"].isin(groups)]
        it = items[(items["question"] == question) & items["group"].isin(groups)]
        dist = compare_distributions(c, it, question)
        score = compare_scores(c, it, question)
        out.append({"question": question, "groups": groups, "chi2": dist.chi2, "dof": dist.dof,
                    "p_chi2": dist.p_value, "cramers_v": dist.cramers_v, "min_expected": dist.min_expected,
                    "h": score.h, "p_kw": score.p_value, "epsilon_squared": score.epsilon_squared})
    return out


def unscored_subcriteria(computed: Computed) -> list[dict]:
    """Survey-scored sub-criteria without points, each with the reason (Vietnamese)."""
    points = computed.result.subcriterion_points
    pooled = points[points["is_pooled"].astype(bool) & (points["status"] != "scored")]
    return [{"code": row.subcriterion, "title": row.title, "status": row.status, "reason": STATUS_VI[row.status]}
            for row in pooled.itertuples()]


def sipas_breakdown(session: Session, round_: Round, computed: Computed) -> SipasBreakdown | None:
    """SIPAS by point, agency, procedure, channel and month with the options of ``computed``
    (None when the round has no SIPAS items).

    Computed once per ``computed``: the workbook, the CSV files and the PDF of one export or
    freeze each show it, and they show the same figures (about a second per round otherwise).
    """
    if "sipas_breakdown" not in computed.derived:
        computed.derived["sipas_breakdown"] = _sipas_breakdown(session, round_, computed)
    return computed.derived["sipas_breakdown"]


def _sipas_breakdown(session: Session, round_: Round, computed: Computed) -> SipasBreakdown | None:
    items = computed.frames.items
    if not (items["sipas_element"].notna() | items["sipas_policy"].notna()).any():
        return None
    options = computed.result.options
    columns = response_columns(items, options)
    data = frames.sipas_responses(session, round_, columns)
    weights = computed.result.weights
    option_labels = {(question.code, option.code): option.label
                     for questionnaire in computed.frames.questionnaires.values()
                     for question in questionnaire.questions if question.is_expectation and question.scale is not None
                     for option in question.scale.options}
    return breakdown_of(data.responses, columns, options, items=items, labels=data.labels, option_labels=option_labels,
                        group_weights=dict(zip(weights["group"], weights["weight"])) if weights is not None else None,
                        provenance=computed.result.provenance)
