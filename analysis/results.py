"""The result of one survey round and the convenience pipeline that computes it."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._inputs import check_counts, check_items, check_structure
from .options import AnalysisOptions
from .par import ParScore, par_of_points
from .reliability import reliability_by_scale
from .respondents import METHOD as RESPONDENT_METHOD
from .respondents import cell_variances, group_weights, index_variances, ratio_intervals
from .scoring import points_of_subcriteria, score_answers, scores_of_items, totals_of_fields
from .sipas import SipasResult, satisfaction_of
from .sipas_points import RULE as SIPAS_RULE
from .sipas_points import sipas_links, sipas_subcriterion_points
from .suppression import hide_complements, suppress_small_cells
from .weighting import apply_weights, poststratification_weights

__all__ = ["RoundResult", "compute_round", "frequencies", "par_of_round", "survey_points_of_round"]


@dataclass
class RoundResult:
    """Everything computed for one round, with the options and provenance used."""

    item_scores: pd.DataFrame
    subcriterion_points: pd.DataFrame
    field_totals: pd.DataFrame
    survey_total: dict
    frequencies: pd.DataFrame
    options: AnalysisOptions
    provenance: dict = field(default_factory=dict)
    sipas: SipasResult | None = None
    par: ParScore | None = None
    reliability: pd.DataFrame | None = None
    weights: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        """JSON-serialisable dict (NaN/NA -> None, frames -> lists of records)."""
        out = {
            "options": self.options.as_dict(),
            "provenance": _plain(self.provenance),
            "survey_total": _plain(self.survey_total),
            "field_totals": _records(self.field_totals),
            "subcriterion_points": _records(self.subcriterion_points),
            "item_scores": _records(self.item_scores),
            "frequencies": _records(self.frequencies),
            "reliability": _records(self.reliability) if self.reliability is not None else None,
            "weights": _records(self.weights) if self.weights is not None else None,
            "notes": list(self.notes),
            "sipas": None,
            "par": None,
        }
        if self.sipas is not None:
            s = self.sipas
            out["sipas"] = {
                "sipas": _plain(s.sipas),
                "sipas_interval": _plain(list(s.sipas_interval)),
                "service_index": _plain(s.service_index),
                "service_interval": _plain(list(s.service_interval)),
                "policy_index": _plain(s.policy_index),
                "policy_interval": _plain(list(s.policy_interval)),
                "elements": _records(s.elements),
                "policies": _records(s.policies),
                "questions": _records(s.questions),
                "expectations": _records(s.expectations),
                "notes": list(s.notes),
            }
        if self.par is not None:
            p = self.par
            out["par"] = {
                "total": p.total,
                "max_total": p.max_total,
                "percent": _plain(p.percent),
                "classification": p.classification,
                "fields": _records(p.fields),
                "subcriteria": _records(p.subcriteria),
                "missing_self_assessment": p.missing_self_assessment,
                "missing_survey": p.missing_survey,
                "delta": p.delta,
                "delta_fields": _records(p.delta_fields) if p.delta_fields is not None else None,
            }
        return out


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def frequencies(counts: pd.DataFrame, items: pd.DataFrame, options: AnalysisOptions | None = None) -> pd.DataFrame:
    """Answer frequencies per (group, question, option) with the share within the question.

    ``pct = 100 * n / n_responses`` with ``n_responses`` all answers of the group
    to the question (don't know included).  Every option of the questionnaire is
    listed (0 when nobody chose it).  A (group, question) with fewer than
    ``options.min_cell`` responses has ``n`` and ``pct`` blanked.
    """
    options = options or AnalysisOptions()
    return _frequencies(check_counts(counts, weighted=False), check_items(items), options)


def _frequencies(c: pd.DataFrame, it: pd.DataFrame, options: AnalysisOptions, respondents=None) -> pd.DataFrame:
    keys = ["group", "question", "option"]
    out = it[keys + ["weight", "is_missing", "subcriterion"]].merge(c[keys + ["n"]], on=keys, how="outer")
    out["n"] = out["n"].fillna(0.0)
    out["n_responses"] = out.groupby(["group", "question"])["n"].transform("sum")
    if isinstance(respondents, Mapping) and respondents:
        # Multiple choice: a share of the people who answered, not of the choices made.
        known = out["question"].map(dict(respondents))
        out["n_responses"] = known.fillna(out["n_responses"]).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pct"] = np.where(out["n_responses"] > 0, 100 * out["n"] / out["n_responses"], np.nan)
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    return suppress_small_cells(out, "n_responses", options.min_cell, columns=["n", "pct"])


def _hide_derivable(freq: pd.DataFrame, scores: pd.DataFrame, points: pd.DataFrame, it: pd.DataFrame,
                    k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hide every (group, question) from which a hidden cell could be solved.

    A group's sub-criterion score is the mean over its answers to the
    sub-criterion's questions, so a group row withheld by complementary
    suppression would follow from that group's item frequencies or item
    scores: they are hidden with it.  The SIPAS tables publish each satisfaction
    and expectation question pooled over the groups, so a question's pooled
    counts minus the visible groups' would give a single hidden group's: the
    group frequencies of such a question get their own complement.  Likewise a
    shown group row with a single hidden question.  An item score is hidden
    when its frequencies are.
    """
    cells = freq.groupby(["group", "question"], sort=True).agg(
        n_responses=("n_responses", "first"), hidden=("suppressed", "all")).reset_index()
    meta = it.groupby(["group", "question"], sort=True).agg(
        subcriterion=("subcriterion", "first"), sipas_element=("sipas_element", "first"),
        sipas_policy=("sipas_policy", "first"), is_expectation=("is_expectation", "any")).reset_index()
    cells = cells.merge(meta, on=["group", "question"], how="left")
    rows = points[~points["is_pooled"].astype(bool) & points["suppressed"].astype(bool)]
    withheld = set(zip(rows["group"], rows["subcriterion"]))
    hide = cells["hidden"].to_numpy(dtype=bool) | np.array(
        [(g, sub) in withheld for g, sub in zip(cells["group"], cells["subcriterion"])], dtype=bool)
    pooled_q = cells["sipas_element"].notna() | cells["sipas_policy"].notna() | cells["is_expectation"].astype(bool)
    questions = cells["question"].to_numpy()
    n = cells["n_responses"].to_numpy(dtype=float)
    relations = [(questions == q) & (n > 0) for q in pd.unique(questions[pooled_q.to_numpy()])]
    # A shown group row is an equation in its questions' answers: an optional question answered by
    # fewer than k inside it would be the row minus its sibling questions.
    shown = points[~points["is_pooled"].astype(bool) & ~points["suppressed"].astype(bool)]
    groups, subs = cells["group"].to_numpy(), cells["subcriterion"].to_numpy()
    relations += [(groups == g) & (subs == sub) & (n > 0) for g, sub in zip(shown["group"], shown["subcriterion"])]
    hide = hide_complements(n, hide, relations)
    hidden = set(zip(cells.loc[hide, "group"], cells.loc[hide, "question"]))

    def flagged(frame: pd.DataFrame) -> pd.DataFrame:
        flag = np.array([key in hidden for key in zip(frame["group"], frame["question"])], dtype=bool)
        return frame.assign(suppressed=frame["suppressed"].to_numpy(dtype=bool) | flag)

    freq = suppress_small_cells(flagged(freq), "n_responses", k, columns=["n", "pct"])
    attrs = dict(scores.attrs)
    scores = suppress_small_cells(flagged(scores), "n_responses", k)
    scores.attrs = attrs
    return freq, scores


def _flag_hidden_scales(reliability: pd.DataFrame, scores: pd.DataFrame, it: pd.DataFrame,
                        st: pd.DataFrame) -> pd.DataFrame:
    """Mark the alpha of a group on a scale as suppressed when any item of it that the group answered is hidden.

    Alpha describes the group's answers to those items; where they are withheld
    (below k, or as the complement of another hidden cell), so is alpha: the
    rule of the item tables, not only the threshold on complete responses.  A
    row without a group (one pooled questionnaire) counts every group's items.
    """
    # Items nobody in the group answered are not in its scale (and hide nothing).
    hidden = scores.loc[scores["suppressed"].astype(bool) & (scores["n_responses"] > 0), ["group", "question"]]
    by_group = hidden.groupby("group")["question"].agg(set).to_dict()
    anywhere = set(hidden["question"])
    scales = _scales(it, st)
    flag = [bool(set(scales.get(scale, ())) & (anywhere if group is None or pd.isna(group)
                                               else by_group.get(group, set())))
            for scale, group in zip(reliability["scale"], reliability["group"])]
    previous = reliability["suppressed"].to_numpy(dtype=bool) if "suppressed" in reliability else False
    return reliability.assign(suppressed=np.asarray(flag, dtype=bool) | previous)


def _scales(it: pd.DataFrame, st: pd.DataFrame) -> dict[str, list[str]]:
    scales: dict[str, list[str]] = {}
    q = it[it["subcriterion"].notna() & it["weight"].notna() & ~it["is_expectation"]]
    q = q.merge(st[["subcriterion", "field"]], on="subcriterion", how="inner")
    for f, part in q.groupby("field", sort=True):
        scales[f"field {int(f)}"] = sorted(set(part["question"]))
    e = it[it["sipas_element"].notna() & ~it["is_expectation"]]
    for el, part in e.groupby("sipas_element", sort=True):
        scales[f"SI_{int(el)}"] = sorted(set(part["question"]))
    return scales


class _Checked:
    """The inputs of one round, each checked once, with post-stratification applied."""

    def __init__(self, counts, items, structure, options, group_sizes, notes: list[str],
                 notify: Callable[[str], None]):
        if not isinstance(options, AnalysisOptions):
            raise ValueError("options must be an AnalysisOptions")
        self.weights = None
        if options.weighting == "group":
            if group_sizes is None:
                raise ValueError("options.weighting='group' needs group_sizes")
            notify("weights")
            self.weights = poststratification_weights(group_sizes)
            counts = apply_weights(counts, self.weights)
        elif group_sizes is not None:
            notes.append("group_sizes given but options.weighting='none': no post-stratification applied")
        self.counts = check_counts(counts, weighted=options.weighting == "group")
        self.items = check_items(items)
        self.structure = check_structure(structure)
        self.options = options

    def sipas(self, respondents, provenance: dict, respondent_level=None) -> SipasResult | None:
        if not (self.items["sipas_element"].notna() | self.items["sipas_policy"].notna()).any():
            return None
        return satisfaction_of(self.counts, self.items, self.options, respondents=respondents,
                               provenance=provenance, respondent_level=respondent_level)


def par_of_round(
    counts: pd.DataFrame,
    items: pd.DataFrame,
    structure: pd.DataFrame,
    self_assessment: pd.DataFrame,
    options: AnalysisOptions | None = None,
    group_sizes: pd.DataFrame | None = None,
) -> ParScore:
    """The PAR score of a round alone (e.g. an earlier round, for the delta): no frequencies,
    SIPAS or reliability are computed.  Equal to ``compute_round(...).par``."""
    options = options or AnalysisOptions()
    x = _Checked(counts, items, structure, options, group_sizes, [], lambda step: None)
    return par_of_points(_survey_points(x, options), self_assessment, x.structure)


def survey_points_of_round(
    counts: pd.DataFrame,
    items: pd.DataFrame,
    structure: pd.DataFrame,
    options: AnalysisOptions | None = None,
    group_sizes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The sub-criterion points alone, equal to ``compute_round(...).subcriterion_points`` but for
    their intervals: for a page that shows points, not the analysis (no frequencies, SIPAS intervals
    or reliability are computed)."""
    options = options or AnalysisOptions()
    x = _Checked(counts, items, structure, options, group_sizes, [], lambda step: None)
    return _survey_points(x, options)


def _survey_points(x: _Checked, options: AnalysisOptions) -> pd.DataFrame:
    points = points_of_subcriteria(score_answers(x.counts, x.items, options), x.structure, options)
    if sipas_links(x.structure):
        points = sipas_subcriterion_points(points, x.structure, x.sipas(None, {}), options)
    return points


def compute_round(
    counts: pd.DataFrame,
    items: pd.DataFrame,
    structure: pd.DataFrame,
    options: AnalysisOptions | None = None,
    provenance: dict | None = None,
    responses_wide=None,
    self_assessment: pd.DataFrame | None = None,
    group_sizes: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
    previous: ParScore | None = None,
    sipas_respondents=None,
    respondent_moments: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> RoundResult:
    """Run every analysis of a round.

    Steps (each announced through ``progress(step_name)``): ``weights`` (only
    with options.weighting="group", needs ``group_sizes``), ``items``,
    ``sipas`` (when items carry SIPAS metadata; it scores the sub-criteria the
    structure links to a SIPAS index), ``subcriteria``, ``fields``,
    ``frequencies``, ``par`` (when ``self_assessment`` is given), ``reliability``
    (when ``responses_wide`` is given: alpha per field and per SIPAS element,
    per group when the frames have a ``group`` column).  The inputs are checked
    once and the answers scored once for every step.

    ``respondent_moments`` (cell moments, index moments; see
    :mod:`analysis.respondents`) gives the sub-criterion and SIPAS intervals at
    the level of the respondent.  Without it they are over answers, too narrow,
    and the notes say so.
    """
    options = options or AnalysisOptions()
    provenance = dict(provenance or {})
    notify = progress or (lambda step: None)
    notes: list[str] = []
    x = _Checked(counts, items, structure, options, group_sizes, notes, notify)
    answers = score_answers(x.counts, x.items, options)

    notify("items")
    scores = scores_of_items(answers, options)
    cell_intervals = sipas_level = None
    if respondent_moments is not None:
        moments, index_moments = respondent_moments
        cell_intervals = cell_variances(moments, options)
        pooled_cells = ratio_intervals(moments, options, ["cell"], group_weights(x.counts))
        sipas_level = (pooled_cells, index_variances(index_moments))
        provenance["intervals"] = {"unit": "respondent", "method": RESPONDENT_METHOD}
    else:
        provenance["intervals"] = {"unit": "answer"}
        notes.append("intervals of sub-criteria and SIPAS indices are over answers (no respondent-level moments "
                     "given): too narrow")
    sipas = None
    if (x.items["sipas_element"].notna() | x.items["sipas_policy"].notna()).any():
        notify("sipas")
        sipas = x.sipas(sipas_respondents, provenance, sipas_level)
    notify("subcriteria")
    points = points_of_subcriteria(answers, x.structure, options, cell_intervals=cell_intervals)
    links = sipas_links(x.structure)
    if links:
        points = sipas_subcriterion_points(points, x.structure, sipas, options)
        provenance["sipas_to_par"] = {"rule": SIPAS_RULE, "links": links}
    notify("fields")
    totals = totals_of_fields(points, x.structure)
    total_row = totals[totals["is_total"]].iloc[0]
    survey_total = {
        "points": float(total_row["survey_points"]),
        "points_raw": float(total_row["survey_points_raw"]),
        "max_points": float(total_row["survey_max"]),
        "percent": _plain(float(total_row["percent"])),
        "n_unscored": int(total_row["n_unscored"]),
    }
    notify("frequencies")
    freq = _frequencies(x.counts, x.items, options, sipas_respondents)
    freq, scores = _hide_derivable(freq, scores, points, x.items, options.min_cell)

    par = None
    if self_assessment is not None:
        notify("par")
        par = par_of_points(points, self_assessment, x.structure, previous=previous, provenance=provenance)

    reliability = None
    if responses_wide is not None:
        notify("reliability")
        chunks = iter([responses_wide] if isinstance(responses_wide, pd.DataFrame) else responses_wide)
        head = next(chunks, None)
        if head is not None:
            # A group column means one questionnaire per group: alpha per (scale, group).
            group_col = "group" if "group" in head.columns else None
            reliability = reliability_by_scale(
                itertools.chain([head], chunks), _scales(x.items, x.structure), options.confidence, group_col
            )
            # alpha of a handful of responses describes those few people: the threshold of every
            # other table, applied here once so that pages, files and JSON show the same thing.
            reliability = suppress_small_cells(_flag_hidden_scales(reliability, scores, x.items, x.structure),
                                               "n", options.min_cell, keep=["n_items"])
    return RoundResult(
        item_scores=scores,
        subcriterion_points=points,
        field_totals=totals,
        survey_total=survey_total,
        frequencies=freq,
        options=options,
        provenance=provenance,
        sipas=sipas,
        par=par,
        reliability=reliability,
        weights=x.weights,
        notes=notes,
    )
