"""Statistics of the PAR Index sociological survey and of SIPAS (pure library).

This package never imports the web application, the database layer or the
questionnaire loader: it receives pandas frames and returns frames, numbers,
dataclasses and matplotlib ``Figure`` objects.

Input frames (built by the one place that turns database rows into frames)
------------------------------------------------------------------------
``counts``
    ``group`` (str, respondent-group code), ``question`` (str), ``option`` (str),
    ``n`` (int >= 0): one row per (group, question, option), from a SQL GROUP BY.
    Optional ``agency`` (counts are then summed over agencies) and ``n_weighted``
    (post-stratified counts, see :mod:`analysis.weighting`).
``items``
    ``group, question, option, weight`` (float in [0, 1] or NaN), ``is_missing``
    (bool, "don't know / no answer"), ``subcriterion`` (str or NA), ``sipas_element``
    (Int 1..5 or NA), ``sipas_policy`` (str or NA), ``is_expectation`` (bool):
    one row per option of each question of each group's questionnaire.
``structure``
    ``field`` (int 1..8), ``field_title, criterion, subcriterion, title``,
    ``max_points`` (float), ``survey_scored`` (bool): the index structure.
``responses_wide`` (reliability only)
    index = response id, columns = question codes, values = item weight, NaN for
    don't know / missing; optional ``group`` column.  May be an iterable of such
    frames (chunks).
``group_sizes`` (optional, post-stratification)
    ``group``, optional ``agency``, ``population`` (roster count), ``respondents``.

Every result carries the :class:`~analysis.options.AnalysisOptions` used and a
``provenance`` dict supplied by the caller (questionnaire / structure keys,
versions, content hashes).
"""

from .compare import compare_distributions, compare_scores
from .options import AnalysisOptions
from .par import ParScore, par_score, read_self_assessment
from .reliability import cronbach_alpha, reliability_by_scale
from .results import RoundResult, compute_round, par_of_round
from .scoring import field_totals, item_scores, subcriterion_points
from .sipas import SipasResult, sample_size, satisfaction
from .suppression import suppress_small_cells
from .uncertainty import bootstrap_interval, mean_interval, wilson_interval
from .weighting import apply_weights, poststratification_weights

__all__ = [
    "AnalysisOptions",
    "ParScore",
    "RoundResult",
    "SipasResult",
    "apply_weights",
    "bootstrap_interval",
    "compare_distributions",
    "compare_scores",
    "compute_round",
    "cronbach_alpha",
    "field_totals",
    "item_scores",
    "mean_interval",
    "par_of_round",
    "par_score",
    "poststratification_weights",
    "read_self_assessment",
    "reliability_by_scale",
    "sample_size",
    "satisfaction",
    "subcriterion_points",
    "suppress_small_cells",
    "wilson_interval",
]
