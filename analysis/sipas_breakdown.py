"""SIPAS indices by collection point, agency, procedure, channel and month (issue 16, item 6).

Input: one row per response (no response id) with its attributes and, per SIPAS
cell, how many of its answers are valid (``x:<cell>``) and satisfied
(``y:<cell>``), plus one 0/1 column per expectation option (``e:<question>:<option>``)
and the number of its satisfaction answers of any kind (``any``).  The columns
are those of :func:`response_columns`; ``survey/reports/frames.py`` sums them per
response in the database.

Per value of a dimension (a point, an agency, ...) the indices are those of
:mod:`analysis.sipas` computed on that value's responses only: SI_e and PI_p are
item-pooled ratios, the service index the mean of the elements answered there,
the policy index the mean of the policy groups, SIPAS their mean.  Intervals
are taken over respondents exactly as for the whole round
(:mod:`analysis.respondents`: element and policy ratios by linearised variance,
the three indices from each respondent's linearised contribution, Student t);
expectation shares are shares of respondents with a Wilson interval.

Disclosure: a figure backed by fewer than ``min_cell`` respondents (those with a
valid answer on the figure's items) is withheld.  Every dimension adds up to the
round, which is published, and dimensions overlap (an agency is the sum of its
procedures; the responses without a point may be exactly the e-mail and SMS
ones): for each base figure (an element, a policy group, an expectation
question) and each pair of dimensions, the values linked by common respondents
form an equation, and :func:`analysis.suppression.hide_complements` withholds a
second value wherever one equation would have a single withheld value.  The
service, policy and SIPAS indices are means of the base figures, so each is
withheld wherever one of its elements (policy groups) is.

Channel comparison: Kruskal-Wallis across the published channels of each
respondent's share of satisfied answers (an element's items, all element items
for the service index, all policy items for the policy index), with epsilon
squared as :mod:`analysis.compare` does for groups; unweighted.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ._inputs import require_columns
from .options import AnalysisOptions
from .respondents import MOMENT_COLUMNS, answer_cells, index_variances, ratio_intervals
from .sipas import _t_bounds
from .suppression import hide_complements
from .uncertainty import wilson_interval

__all__ = ["DIMENSIONS", "DIMENSION_TITLES", "SipasBreakdown", "response_columns", "sipas_breakdown",
           "month_of_week", "RULES"]

#: The breakdowns, in the order the pages show them.
DIMENSIONS = ("channel", "month", "point", "agency", "procedure")
DIMENSION_TITLES = {"channel": "Kênh thu thập", "month": "Tháng", "point": "Điểm khảo sát",
                    "agency": "Cơ quan giải quyết", "procedure": "Thủ tục hành chính"}
#: What a response without the attribute is shown as (key "").
NONE_LABELS = {"channel": "Không rõ kênh", "month": "Không rõ tháng", "point": "Không qua điểm khảo sát",
               "agency": "Không rõ cơ quan (không chọn thủ tục)", "procedure": "Không chọn thủ tục"}
INDICATOR_TITLES = {"SIPAS": "SIPAS", "service": "Chỉ số hài lòng về dịch vụ", "policy": "Chỉ số hài lòng về chính sách",
                    "SI_1": "SI_1 Tiếp cận dịch vụ", "SI_2": "SI_2 Thủ tục hành chính", "SI_3": "SI_3 Công chức",
                    "SI_4": "SI_4 Kết quả", "SI_5": "SI_5 Tiếp nhận, xử lý phản ánh, kiến nghị"}
ANY_COLUMN = "any"

#: The rules, in Vietnamese, for the methodology sheet and page.
RULES = [
    ("month", "Tháng của phiếu: phiếu chỉ lưu tuần nộp (ngày thứ Hai), không lưu ngày giờ; tuần được tính vào "
              "tháng chứa ngày thứ Năm của tuần (tháng có phần lớn số ngày của tuần, như tuần ISO)."),
    ("agency", "Cơ quan: cơ quan thực hiện của thủ tục người dân chọn (danh mục thủ tục của tỉnh); phiếu không "
               "chọn thủ tục thuộc dòng \"Không rõ cơ quan\"."),
    ("intervals", "Khoảng tin cậy theo người trả lời, như chỉ số của cả đợt: tỷ số gộp câu hỏi với phương sai "
                  "tuyến tính hóa (mỗi người trả lời là một cụm), phân phối Student t; tỷ lệ kỳ vọng: Wilson."),
    ("suppression", "Ẩn ô nhỏ: số liệu có dưới k người trả lời hợp lệ bị ẩn; mỗi phân tổ cộng lại bằng cả đợt và "
                    "các phân tổ chồng lên nhau (cơ quan gồm các thủ tục...), nên khi một phương trình chỉ còn một ô "
                    "ẩn, một ô khác cũng bị ẩn; chỉ số dịch vụ, chính sách, SIPAS bị ẩn khi một yếu tố của nó bị ẩn."),
    ("channels", "So sánh kênh: kiểm định Kruskal-Wallis trên tỷ lệ câu trả lời hài lòng của từng người, giữa các "
                 "kênh được công bố (từ k người trở lên), kèm ε²; không gia quyền. Chênh lệch giữa kênh có thể do "
                 "hình thức khảo sát (mode effect) hoặc do người trả lời khác nhau."),
]


def month_of_week(weeks: pd.Series) -> pd.Series:
    """``YYYY-MM`` of each week (given by its Monday): the month holding the week's Thursday."""
    thursday = pd.to_datetime(weeks) + pd.Timedelta(days=3)
    return thursday.dt.strftime("%Y-%m").fillna("")


def _sipas_cells(items: pd.DataFrame) -> pd.DataFrame:
    cells = answer_cells(items)
    return cells[cells["cell"].astype(str).str.match(r"^(SI_|PI:)")]


def response_columns(items: pd.DataFrame, options: AnalysisOptions) -> pd.DataFrame:
    """``group, question, option, column, value``: each answer of that option adds ``value`` to its
    response's ``column``.  Only non-zero values are listed (a response without any is 0 there)."""
    cells = _sipas_cells(items)
    counted = np.where(cells["is_missing"] & (options.dont_know == "exclude"), 0.0, 1.0)
    keys = cells[["group", "question", "option"]]
    parts = [keys.assign(column="x:" + cells["cell"], value=counted),
             keys.assign(column="y:" + cells["cell"], value=cells["value"].astype(float)),
             keys.assign(column=ANY_COLUMN, value=1.0)]
    exp = items[items["is_expectation"].astype(bool)]
    parts.append(exp[["group", "question", "option"]].assign(
        column="e:" + exp["question"].astype(str) + ":" + exp["option"].astype(str), value=1.0))
    out = pd.concat(parts, ignore_index=True)
    return out[out["value"] != 0].reset_index(drop=True)


@dataclass
class SipasBreakdown:
    """SIPAS by dimension: ``indices`` and ``expectations`` (long, one row per dimension value and
    indicator / option) and ``channel_tests``; percentages 0..100."""

    indices: pd.DataFrame
    expectations: pd.DataFrame
    channel_tests: pd.DataFrame
    options: AnalysisOptions
    provenance: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        """JSON-ready (NaN -> None): withheld figures are already None, as the page shows "ẩn"."""
        from .results import _records

        return {"min_cell": self.options.min_cell, "confidence": self.options.confidence,
                "indices": _records(self.indices), "expectations": _records(self.expectations),
                "channel_tests": _records(self.channel_tests), "notes": list(self.notes)}

    def rows(self, dimension: str, indicators=("SIPAS", "service", "policy", "SI_1", "SI_2", "SI_3", "SI_4", "SI_5")
             ) -> list[dict]:
        """One dict per value of ``dimension``: key, label, n and {indicator: row} (for the pages)."""
        part = self.indices[self.indices["dimension"] == dimension]
        out = []
        for (key, label), rows in part.groupby(["key", "label"], sort=False):
            by = {r["indicator"]: r for r in rows.to_dict("records")}
            n = int(rows["n_respondents"].max()) if len(rows) else 0
            out.append({"key": key, "label": label, "n": n, "cells": {i: by.get(i) for i in indicators}})
        return out


def _cells_of(columns: pd.DataFrame) -> list[str]:
    found = {c[2:] for c in columns["column"] if c.startswith("x:")}
    return sorted(c for c in found if c.startswith("SI_")) + sorted(c for c in found if c.startswith("PI:"))


def _expectation_options(columns: pd.DataFrame, items: pd.DataFrame | None) -> pd.DataFrame:
    exp = columns[columns["column"].str.startswith("e:")].drop_duplicates("column")
    out = pd.DataFrame({"column": exp["column"], "question": exp["question"].astype(str),
                        "option": exp["option"].astype(str)})
    missing = set()
    if items is not None:
        m = items[items["is_missing"].astype(bool)]
        missing = set(zip(m["question"].astype(str), m["option"].astype(str)))
    out["is_missing"] = [(q, o) in missing for q, o in zip(out["question"], out["option"])]
    return out.sort_values(["question", "option"]).reset_index(drop=True)


def sipas_breakdown(responses: pd.DataFrame, columns: pd.DataFrame, options: AnalysisOptions | None = None, *,
                    items: pd.DataFrame | None = None, labels: dict[str, dict[str, str]] | None = None,
                    option_labels: dict[tuple[str, str], str] | None = None, group_weights: dict[str, float] | None = None, provenance: dict | None = None) -> SipasBreakdown:
    """SIPAS indices, expectation shares and the channel comparison per value of each dimension.

    Parameters
    ----------
    responses : DataFrame
        ``group`` and the :data:`DIMENSIONS` (str keys, "" or NA for none) and the columns named in
        ``columns`` (missing ones count 0); one row per response.
    columns : DataFrame
        :func:`response_columns` of the round's items under the same ``options``.
    items : DataFrame, optional
        The round's items: don't-know options of expectation questions count in the question's
        respondents but get no share of their own.
    labels : {dimension: {key: label}}, optional
    option_labels : {(question, option): label}, optional
        The expectation options' texts, shown beside their codes (``option_label``; the code where
        none is given).
    group_weights : {group: weight}, optional
        Post-stratification weight per group (``options.weighting="group"``), as for the round.
    """
    options = options or AnalysisOptions()
    require_columns(responses, ["group", *DIMENSIONS], "responses")
    r = responses.copy()
    for name in ("group", *DIMENSIONS):
        r[name] = r[name].astype(object).where(r[name].notna(), "").astype(str)
    for name in set(columns["column"]) | {ANY_COLUMN}:
        r[name] = r[name].astype(float) if name in r.columns else 0.0
    cells = _cells_of(columns)
    weights = r["group"].map(group_weights).fillna(1.0).to_numpy(dtype=float) if group_weights else np.ones(len(r))
    labels = labels or {}

    def label(dimension: str, key: str) -> str:
        if key == "":
            return NONE_LABELS[dimension]
        if dimension == "month" and key not in labels.get("month", {}):
            return f"{key[5:7]}/{key[:4]}"
        return labels.get(dimension, {}).get(key, key)

    x = r[[f"x:{c}" for c in cells]].to_numpy(dtype=float).reshape(len(r), len(cells))
    y = r[[f"y:{c}" for c in cells]].to_numpy(dtype=float).reshape(len(r), len(cells))
    # Products per response once: every dimension then needs one GROUP BY of these sums.
    products = np.concatenate([(x > 0).astype(float), x, y, x * x, x * y, y * y], axis=1)
    index_parts, expectation_parts = [], []
    for dimension in DIMENSIONS:
        keys = r[dimension]
        ratios = _ratios(products, keys, r["group"], cells, options, group_weights)
        index_parts.append(_indices(r, keys, weights, x, y, cells, ratios, options).assign(dimension=dimension))
        expectation_parts.append(_expectations(r, keys, _expectation_options(columns, items), options)
                                 .assign(dimension=dimension))
    indices = pd.concat(index_parts, ignore_index=True)
    expectations = pd.concat(expectation_parts, ignore_index=True)
    for frame in (indices, expectations):
        frame["label"] = [label(d, k) for d, k in zip(frame["dimension"], frame["key"])]
    indices, expectations = _suppress(r, x, cells, indices, expectations, options.min_cell)
    indices = _order(indices, ["dimension", "key", "indicator", "label", "index", "index_low", "index_high",
                               "n_respondents", "suppressed"], cells)
    option_labels = option_labels or {}
    expectations = expectations.assign(option_label=[
        option_labels.get((q, o), o) for q, o in zip(expectations["question"], expectations["option"])])
    expectations = expectations[["dimension", "key", "label", "question", "option", "option_label", "n", "respondents",
                                 "share", "share_low", "share_high", "suppressed"]]
    tests = _channel_tests(r, cells, indices, options.min_cell)
    notes = []
    if group_weights:
        notes.append("Chỉ số theo phân tổ gia quyền theo nhóm như cả đợt; kiểm định so sánh kênh không gia quyền.")
    return SipasBreakdown(indices=indices, expectations=expectations, channel_tests=tests, options=options,
                          provenance={**dict(provenance or {}), "breakdown": dict(RULES)}, notes=notes)


def _ratios(products: np.ndarray, keys: pd.Series, groups: pd.Series, cells: list[str], options: AnalysisOptions,
            group_weights) -> pd.DataFrame:
    """``key, cell, ratio, respondents, low, high`` of every element and policy group per key."""
    g = pd.DataFrame(products).groupby([keys.to_numpy(), groups.to_numpy()], sort=True).sum()
    size = len(cells)
    stacked = g.to_numpy().reshape(len(g), 6, size).transpose(0, 2, 1).reshape(len(g) * size, 6)
    m, sx, sy, sxx, sxy, syy = stacked.T
    # x already counts don't know or not, per the options: both moment variants hold the same sums.
    moments = pd.DataFrame({"key": np.repeat(g.index.get_level_values(0).to_numpy(), size),
                            "group": np.repeat(g.index.get_level_values(1).to_numpy(), size),
                            "cell": np.tile(np.array(cells, dtype=object), len(g)),
                            "m0": m, "m1": m, "sx0": sx, "sx1": sx, "sy": sy, "sx0x0": sxx, "sx1x1": sxx,
                            "sx0y": sxy, "sx1y": sxy, "syy": syy})
    return ratio_intervals(moments[moments["m0"] > 0], options, ["key", "cell"], group_weights)


def _indices(r: pd.DataFrame, keys: pd.Series, weights: np.ndarray, x: np.ndarray, y: np.ndarray, cells: list[str],
             ratios: pd.DataFrame, options: AnalysisOptions) -> pd.DataFrame:
    """Element / policy rows from ``ratios``, and the service, policy and SIPAS indices per key with their
    respondent-level intervals (each respondent's linearised contribution, as analysis.respondents)."""
    out = pd.DataFrame({"key": ratios["key"], "indicator": ratios["cell"], "index": 100 * ratios["ratio"],
                        "index_low": 100 * np.clip(ratios["low"].astype(float), 0, 1),
                        "index_high": 100 * np.clip(ratios["high"].astype(float), 0, 1),
                        "n_respondents": ratios["respondents"].astype(int)})
    codes, uniques = pd.factorize(keys, sort=True)
    # Weighted totals X_c and ratios R_c per key: what each respondent's contribution is measured against.
    wx = pd.DataFrame(weights[:, None] * x).groupby(codes).sum().to_numpy()
    wy = pd.DataFrame(weights[:, None] * y).groupby(codes).sum().to_numpy()
    is_el = np.array([c.startswith("SI_") for c in cells], dtype=bool)
    answered = wx > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(answered, wy / wx, np.nan)
        n_el = (answered & is_el).sum(axis=1, keepdims=True)
        n_pol = (answered & ~is_el).sum(axis=1, keepdims=True)
        coef = np.where(answered, np.where(is_el, 100.0 / n_el, 100.0 / n_pol), 0.0)
        term = np.where(answered[codes], coef[codes] * (y - np.nan_to_num(ratio)[codes] * x) / wx[codes], 0.0)
    has = x > 0
    per = pd.DataFrame({"key": codes, "group": r["group"].to_numpy(), "m": (r[ANY_COLUMN] > 0).astype(float),
                        "u": weights * term[:, is_el].sum(axis=1), "v": weights * term[:, ~is_el].sum(axis=1),
                        "el": has[:, is_el].any(axis=1).astype(int), "pol": has[:, ~is_el].any(axis=1).astype(int)})
    per = per[per["m"] > 0]
    per = per.assign(su=per["u"], suu=per["u"] ** 2, sv=per["v"], svv=per["v"] ** 2, suv=per["u"] * per["v"])
    moments = per.groupby(["key", "group"], sort=True)[["m", "su", "suu", "sv", "svv", "suv", "el", "pol"]].sum()
    # The service (policy) index: the mean of the elements (policy groups) answered under the key.
    with np.errstate(divide="ignore", invalid="ignore"):
        service = (np.where(answered & is_el, ratio, 0.0).sum(axis=1, keepdims=True) / n_el).ravel()
        policy = (np.where(answered & ~is_el, ratio, 0.0).sum(axis=1, keepdims=True) / n_pol).ravel()
    rows = []
    for code, m in moments.groupby(level="key", sort=True):
        variances = index_variances(m.reset_index())
        s, p = 100 * service[code], 100 * policy[code]
        if math.isnan(p):
            overall, overall_var = s, variances["service"]
        elif math.isnan(s):
            overall, overall_var = p, variances["policy"]
        else:
            overall, overall_var = (s + p) / 2, variances["mean"]
        for name, value, variance, n in (("service", s, variances["service"], m["el"].sum()),
                                         ("policy", p, variances["policy"], m["pol"].sum()),
                                         ("SIPAS", overall, overall_var, m["m"].sum())):
            if not math.isnan(value):
                low, high = _t_bounds(value, variance, variances["df"], options.confidence)
                rows.append((uniques[code], name, value, low, high, int(n)))
    return pd.concat([out, pd.DataFrame(rows, columns=out.columns)], ignore_index=True)


def _expectations(r: pd.DataFrame, keys: pd.Series, options_of: pd.DataFrame, options: AnalysisOptions
                  ) -> pd.DataFrame:
    cols = ["key", "question", "option", "n", "respondents", "share", "share_low", "share_high", "is_missing"]
    parts = []
    for question, opts in options_of.groupby("question", sort=True):
        chosen = r[list(opts["column"])]
        answered = (chosen.sum(axis=1) > 0).astype(int)
        per_key = chosen.groupby(keys).sum()
        respondents = answered.groupby(keys).sum()
        for column, option, missing in zip(opts["column"], opts["option"], opts["is_missing"]):
            n = per_key[column].to_numpy(dtype=float)
            m = respondents.reindex(per_key.index).to_numpy(dtype=float)
            low, high = wilson_interval(n, m, options.confidence)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(m > 0, 100 * n / m, np.nan)
            parts.append(pd.DataFrame({"key": per_key.index, "question": question, "option": option, "n": n.astype(int),
                                       "respondents": m.astype(int), "share": share, "share_low": 100 * low,
                                       "share_high": 100 * high, "is_missing": missing}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out = out[out["respondents"] > 0]
    return out[~out["is_missing"].astype(bool)].drop(columns="is_missing").reset_index(drop=True)


def _relations(positions: np.ndarray, has: np.ndarray, size: int) -> list[np.ndarray]:
    """The equations linking the values that hold respondents with ``has``: for each dimension, all its
    values (they add up to the published round); for each pair of dimensions, each set of values
    connected by common respondents (e.g. an agency and its procedures).

    ``positions``: per response (rows) and dimension (columns), the value's place among the ``size`` rows."""
    combos = np.unique(positions[has], axis=0)
    out = []
    for j in range(positions.shape[1]):
        mask = np.zeros(size, dtype=bool)
        mask[combos[:, j]] = True
        out.append(mask)
    for a, b in itertools.combinations(range(positions.shape[1]), 2):
        pairs = np.unique(combos[:, [a, b]], axis=0)
        if not len(pairs):
            continue
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(size, size))
        _, component = connected_components(graph, directed=False)
        nodes = np.unique(pairs)
        for label in np.unique(component[nodes]):
            members = np.zeros(size, dtype=bool)
            members[nodes[component[nodes] == label]] = True
            out.append(members)
    return out


def _suppress(r: pd.DataFrame, x: np.ndarray, cells: list[str], indices: pd.DataFrame, expectations: pd.DataFrame,
              k: int):
    """Primary suppression below k, complements per base figure, and the indices of withheld elements."""
    index = {pair: i for i, pair in enumerate(dict.fromkeys(
        [(d, key) for d in DIMENSIONS for key in sorted(r[d].unique())]))}
    # Each response's row in every dimension: the relations are built from these.
    positions = np.stack([r[d].map(lambda key, d=d: index[(d, key)]).to_numpy(dtype=int) for d in DIMENSIONS],
                         axis=1)
    position = np.array([index[(d, key)] for d, key in zip(indices["dimension"], indices["key"])], dtype=int)
    hidden = np.zeros(len(indices), dtype=bool)
    # Base figures: each element and policy group, on the respondents with a valid answer to it.
    for j, c in enumerate(cells):
        rows = np.flatnonzero(indices["indicator"].to_numpy() == c)
        n = np.zeros(len(index))
        n[position[rows]] = indices["n_respondents"].to_numpy()[rows]
        primary = (n > 0) & (n < k)
        hide = hide_complements(n, primary, _relations(positions, x[:, j] > 0, len(index))) & (n > 0)
        hidden[rows] = hide[position[rows]]
    ind = indices["indicator"].to_numpy()
    frame = pd.DataFrame({"pos": position, "hidden": hidden, "el": pd.Series(ind).str.startswith("SI_"),
                          "pol": pd.Series(ind).str.startswith("PI:")})
    el_hidden = frame[frame["el"]].groupby("pos")["hidden"].any()
    pol_hidden = frame[frame["pol"]].groupby("pos")["hidden"].any()
    eh = np.isin(position, el_hidden.index[el_hidden.to_numpy(dtype=bool)])
    ph = np.isin(position, pol_hidden.index[pol_hidden.to_numpy(dtype=bool)])
    n_small = (indices["n_respondents"].to_numpy() < k)
    hidden |= (ind == "service") & (eh | n_small)
    hidden |= (ind == "policy") & (ph | n_small)
    hidden |= (ind == "SIPAS") & (eh | ph | n_small)
    indices = indices.assign(suppressed=hidden)
    for col in ("index", "index_low", "index_high"):
        indices[col] = indices[col].astype(float).where(~hidden)

    eh_rows = np.zeros(len(expectations), dtype=bool)
    if len(expectations):
        epos = np.array([index[(d, key)] for d, key in zip(expectations["dimension"], expectations["key"])], dtype=int)
        for question, rows_q in expectations.groupby("question").groups.items():
            rows_q = np.asarray([expectations.index.get_loc(i) for i in rows_q])
            n = np.zeros(len(index))
            n[epos[rows_q]] = expectations["respondents"].to_numpy()[rows_q]
            answered = (r[[c for c in r.columns if c.startswith(f"e:{question}:")]].sum(axis=1) > 0).to_numpy()
            hide = hide_complements(n, (n > 0) & (n < k), _relations(positions, answered, len(index))) & (n > 0)
            eh_rows[rows_q] = hide[epos[rows_q]]
    expectations = expectations.assign(suppressed=eh_rows)
    for col in ("n", "share", "share_low", "share_high"):
        expectations[col] = expectations[col].astype(float).where(~eh_rows)
    return indices, expectations


def _order(indices: pd.DataFrame, columns: list[str], cells: list[str]) -> pd.DataFrame:
    rank = {name: i for i, name in enumerate(["SIPAS", "service", "policy", *cells])}
    dim = {d: i for i, d in enumerate(DIMENSIONS)}
    # Months and channels in their own order; points, agencies and procedures by name.
    by_key = indices["dimension"].isin(["month", "channel"])
    out = indices.assign(_d=indices["dimension"].map(dim), _i=indices["indicator"].map(rank),
                         _none=indices["key"] == "", _s=indices["key"].where(by_key, indices["label"]))
    return out.sort_values(["_d", "_none", "_s", "key", "_i"]).loc[:, columns].reset_index(drop=True)


def _channel_tests(r: pd.DataFrame, cells: list[str], indices: pd.DataFrame, k: int) -> pd.DataFrame:
    """Kruskal-Wallis across the channels published for each indicator, on respondents' satisfied shares."""
    cols = ["indicator", "channels", "n", "h", "dof", "p_value", "epsilon_squared"]
    published = indices[(indices["dimension"] == "channel") & ~indices["suppressed"] & (indices["n_respondents"] >= k)]
    scales = {c: [c] for c in cells if c.startswith("SI_")}
    scales["service"] = [c for c in cells if c.startswith("SI_")]
    scales["policy"] = [c for c in cells if c.startswith("PI:")]
    rows = []
    for indicator in ["service", "policy", *[c for c in cells if c.startswith("SI_")]]:
        members = scales[indicator]
        channels = sorted(published.loc[published["indicator"] == indicator, "key"])
        if not members or len(channels) < 2:
            continue
        x = sum(r[f"x:{c}"] for c in members)
        y = sum(r[f"y:{c}"] for c in members)
        ok = x > 0
        share = (y[ok] / x[ok]).to_numpy()
        channel = r.loc[ok, "channel"].to_numpy()
        samples = [share[channel == ch] for ch in channels]
        n = int(sum(len(s) for s in samples))
        try:
            h, p = stats.kruskal(*samples)
        except ValueError:  # every share equal: no ranking to compare
            h = p = float("nan")
        rows.append((indicator, ", ".join(channels), n, float(h), len(channels) - 1, float(p),
                     float(h) / (n - 1) if n > 1 and not math.isnan(h) else float("nan")))
    return pd.DataFrame(rows, columns=cols)
