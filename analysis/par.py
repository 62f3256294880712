"""PAR Index of a province: self-assessment (68 points) + sociological survey (32).

Classification of the index percentage P = 100 * total / max_total:
A if P >= 90, B if 80 <= P < 90, C if 70 <= P < 80, D if P < 70.  P is compared
unrounded (89.999 is B); only binary noise below 1e-9 is removed first.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._inputs import check_structure, listing, require_columns
from .rounding import round_half_up

__all__ = ["ParScore", "par_score", "classify", "read_self_assessment", "self_assessment_table",
           "validate_self_assessment", "SelfAssessmentError"]


class SelfAssessmentError(ValueError):
    """A self-assessment that does not fit the index structure; ``problems`` lists every offending row."""

    def __init__(self, problems: list[str], details: list[dict] | None = None):
        self.problems = problems
        # Machine-readable twins of ``problems`` (row, subcriterion, value, kind, max_points)
        # so that a user interface can word them in its own language.
        self.details = details or []
        super().__init__("invalid self-assessment:\n" + "\n".join(f"- {p}" for p in problems))


@dataclass
class ParScore:
    """PAR Index of one round."""

    total: float
    max_total: float
    percent: float
    classification: str
    fields: pd.DataFrame
    subcriteria: pd.DataFrame
    missing_self_assessment: list[str]
    missing_survey: list[str]
    delta: float | None = None
    delta_fields: pd.DataFrame | None = None
    provenance: dict = field(default_factory=dict)

    @property
    def source_label(self) -> str | None:
        """Which stage the self-assessed points come from, as the caller's provenance names it
        (``provenance["self_assessment"]["label"]``), or None when it does not say."""
        return (self.provenance.get("self_assessment") or {}).get("label")


def classify(percent: float) -> str:
    """Class A/B/C/D of an index percentage (boundaries: 90, 80, 70 inclusive)."""
    if percent is None or np.isnan(percent):
        raise ValueError("cannot classify a missing percentage")
    p = round(float(percent), 9)
    if p >= 90:
        return "A"
    if p >= 80:
        return "B"
    if p >= 70:
        return "C"
    return "D"


def validate_self_assessment(sa: pd.DataFrame, structure: pd.DataFrame) -> pd.DataFrame:
    """``subcriterion, points`` checked against the structure; every problem raised together.

    Raises :class:`SelfAssessmentError` (with ``details`` for translation).
    """
    return _validate_self_assessment(sa, check_structure(structure))


def _validate_self_assessment(sa: pd.DataFrame, st: pd.DataFrame) -> pd.DataFrame:
    require_columns(sa, ["subcriterion", "points"], "self_assessment")
    sa = pd.DataFrame(
        {
            "subcriterion": [None if pd.isna(v) else str(v).strip() for v in sa["subcriterion"].astype(object)],
            "points": pd.to_numeric(sa["points"], errors="coerce").astype(float).to_numpy(),
            "raw_points": sa["points"].astype(object).to_numpy(),
        }
    )
    problems, details = [], []
    known = st.set_index("subcriterion")
    english = {
        "empty": "sub-criterion code is empty",
        "unknown": "unknown sub-criterion code",
        "survey_scored": "sub-criterion is scored by the survey, not by self-assessment",
        "not_number": "points are not a number",
        "negative": "negative points",
    }

    def add(row, code, raw, kind, max_points=None):
        where = f"row {row} ({code!r}, {raw!r})"
        text = english.get(kind) or f"points exceed the maximum {max_points:g}"
        problems.append(f"{where}: {text}")
        details.append({"row": row, "subcriterion": code, "value": raw, "kind": kind, "max_points": max_points})

    for i, row in sa.iterrows():
        code, pts, raw = row["subcriterion"], row["points"], row["raw_points"]
        if code is None or code == "":
            add(i + 1, code, raw, "empty")
            continue
        if code not in known.index:
            add(i + 1, code, raw, "unknown")
            continue
        if bool(known.at[code, "survey_scored"]):
            add(i + 1, code, raw, "survey_scored")
        if np.isnan(pts):
            add(i + 1, code, raw, "not_number")
        elif pts < 0:
            add(i + 1, code, raw, "negative")
        elif pts > known.at[code, "max_points"] + 1e-9:
            add(i + 1, code, raw, "too_high", float(known.at[code, "max_points"]))
    dup = sa["subcriterion"].duplicated(keep=False) & sa["subcriterion"].notna()
    for code in sorted(set(sa.loc[dup, "subcriterion"])):
        rows = [i + 1 for i in sa.index[sa["subcriterion"] == code]]
        problems.append(f"rows {', '.join(map(str, rows))}: sub-criterion {code!r} given more than once")
        details.append({"row": rows[0], "rows": rows, "subcriterion": code, "value": None, "kind": "duplicate",
                        "max_points": None})
    if problems:
        raise SelfAssessmentError(problems, details)
    return sa[["subcriterion", "points"]]


def par_score(
    survey_points: pd.DataFrame,
    self_assessment: pd.DataFrame,
    structure: pd.DataFrame,
    previous: ParScore | None = None,
    require_complete: bool = False,
    provenance: dict | None = None,
) -> ParScore:
    """Total PAR Index, per-field breakdown and class.

    Parameters
    ----------
    survey_points : DataFrame
        :func:`analysis.scoring.subcriterion_points` output (pooled rows used) or
        ``subcriterion, points``.  The displayed 2-decimal points are summed.
    self_assessment : DataFrame
        ``subcriterion, points`` for the sub-criteria that are not survey-scored.
        Every problem (unknown code, survey-scored code, negative points, points
        above max_points, duplicates) is collected and raised together as
        :class:`SelfAssessmentError`.
    structure : DataFrame
    previous : ParScore, optional
        Previous round: ``delta`` = total - previous.total and per-field deltas.
    require_complete : bool
        When True, sub-criteria without a self-assessment or survey score are an
        error; otherwise they count 0 and are listed in the result.

    Returns
    -------
    ParScore
        total = sum of self-assessment points + sum of survey points;
        percent = 100 * total / sum(max_points); classification via :func:`classify`.
    """
    return par_of_points(survey_points, self_assessment, check_structure(structure), previous, require_complete,
                         provenance)


def par_of_points(
    survey_points: pd.DataFrame,
    self_assessment: pd.DataFrame,
    st: pd.DataFrame,
    previous: ParScore | None = None,
    require_complete: bool = False,
    provenance: dict | None = None,
) -> ParScore:
    """:func:`par_score` with a checked structure."""
    sa = _validate_self_assessment(self_assessment, st)
    require_columns(survey_points, ["subcriterion", "points"], "survey_points")
    sp = survey_points
    if "is_pooled" in sp.columns:
        sp = sp[sp["is_pooled"].astype(bool)]
    sp = pd.DataFrame({"subcriterion": sp["subcriterion"].astype(str).to_numpy(), "points": pd.to_numeric(sp["points"]).astype(float).to_numpy()})
    bad = sorted(set(sp["subcriterion"]) - set(st.loc[st["survey_scored"], "subcriterion"]))
    if bad:
        raise ValueError(f"survey_points has sub-criteria that are not survey-scored: {bad}")
    over = sp.merge(st[["subcriterion", "max_points"]], on="subcriterion")
    over = over[(over["points"] > over["max_points"] + 1e-9) | (over["points"] < 0)]
    if len(over):
        raise ValueError(f"survey points outside [0, max_points]: {listing(over)}")

    sub = st.copy()
    sub["source"] = np.where(sub["survey_scored"], "survey", "self_assessment")
    pts = pd.concat([sa, sp.dropna(subset=["points"])], ignore_index=True)
    sub = sub.merge(pts, on="subcriterion", how="left")
    missing_sa = sorted(sub.loc[~sub["survey_scored"] & sub["points"].isna(), "subcriterion"])
    missing_sv = sorted(sub.loc[sub["survey_scored"] & sub["points"].isna(), "subcriterion"])
    if require_complete and (missing_sa or missing_sv):
        raise ValueError(f"incomplete PAR score: no self-assessment for {missing_sa}, no survey score for {missing_sv}")
    sub["points"] = sub["points"].fillna(0.0)

    def per_field(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.groupby("field", sort=True).agg(points=("points", "sum"), max_points=("max_points", "sum"))

    fields = st.groupby("field", sort=True)["field_title"].first().to_frame()
    sa_part = per_field(sub[~sub["survey_scored"]]).add_prefix("self_")
    sv_part = per_field(sub[sub["survey_scored"]]).add_prefix("survey_")
    fields = fields.join(sa_part).join(sv_part).fillna({c: 0.0 for c in list(sa_part) + list(sv_part)})
    fields["points"] = fields["self_points"] + fields["survey_points"]
    fields["max_points"] = fields["self_max_points"] + fields["survey_max_points"]
    with np.errstate(divide="ignore", invalid="ignore"):
        fields["percent"] = np.where(fields["max_points"] > 0, 100 * fields["points"] / fields["max_points"], np.nan)
    for col in ("self_points", "survey_points", "points"):
        fields[col] = round_half_up(fields[col].to_numpy(), 2)
    fields = fields.reset_index()

    total = float(round_half_up(sub["points"].sum(), 2))
    max_total = float(st["max_points"].sum())
    if max_total <= 0:
        raise ValueError("structure max_points sum to 0")
    percent = 100 * total / max_total
    result = ParScore(
        total=total,
        max_total=max_total,
        percent=percent,
        classification=classify(percent),
        fields=fields,
        subcriteria=sub[["field", "criterion", "subcriterion", "title", "source", "max_points", "points"]],
        missing_self_assessment=missing_sa,
        missing_survey=missing_sv,
        provenance=dict(provenance or {}),
    )
    if previous is not None:
        result.delta = float(round_half_up(total - previous.total, 2))
        d = fields[["field", "field_title", "points"]].merge(
            previous.fields[["field", "points"]].rename(columns={"points": "previous_points"}), on="field", how="left"
        )
        d["delta"] = round_half_up((d["points"] - d["previous_points"]).to_numpy(), 2)
        result.delta_fields = d
    return result


_COLUMN_ALIASES = {
    "subcriterion": "subcriterion",
    "mã tiêu chí": "subcriterion",
    "ma tieu chi": "subcriterion",
    "points": "points",
    "điểm": "points",
    "diem": "points",
}


def _canonical(name) -> str:
    return " ".join(unicodedata.normalize("NFC", str(name)).strip().lower().split())


def read_self_assessment(path_or_buffer, format: str | None = None) -> pd.DataFrame:
    """Read a self-assessment sheet (.xlsx or .csv) into ``subcriterion, points``.

    Headers "Mã tiêu chí" / "subcriterion" and "Điểm" / "points" are recognised
    case-insensitively (Unicode NFC).  A decimal comma ("1,5") is accepted.
    ``format`` ("xlsx" or "csv") is inferred from the file name, or for a buffer
    from its first bytes (an .xlsx is a zip: "PK").
    """
    fmt = format
    if fmt is None:
        name = str(path_or_buffer) if isinstance(path_or_buffer, (str, Path)) else getattr(path_or_buffer, "name", "")
        suffix = Path(name).suffix.lower() if name else ""
        if suffix in (".xlsx", ".xlsm"):
            fmt = "xlsx"
        elif suffix == ".csv":
            fmt = "csv"
        elif hasattr(path_or_buffer, "read"):
            head = path_or_buffer.read(2)
            path_or_buffer.seek(0)
            fmt = "xlsx" if head in (b"PK", "PK") else "csv"
        else:
            raise ValueError(f"cannot tell the format of {name!r}: use .xlsx or .csv")
    if fmt == "xlsx":
        raw = pd.read_excel(path_or_buffer, engine="openpyxl", dtype=object)
    elif fmt == "csv":
        if hasattr(path_or_buffer, "read"):
            data = path_or_buffer.read()
            text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
            raw = pd.read_csv(io.StringIO(text), dtype=str, sep=None, engine="python")
        else:
            raw = pd.read_csv(path_or_buffer, dtype=str, encoding="utf-8-sig", sep=None, engine="python")
    else:
        raise ValueError(f"format must be 'xlsx' or 'csv', got {fmt!r}")
    return self_assessment_table(raw)


def self_assessment_table(raw: pd.DataFrame) -> pd.DataFrame:
    """``subcriterion, points`` from a sheet already read (its first row as the columns).

    The web upload reads the file with the platform's bounded reader and passes the rows here;
    ``read_self_assessment`` is the same for a file on disk (scripts, tests).
    """
    rename = {}
    for col in raw.columns:
        key = _COLUMN_ALIASES.get(_canonical(col))
        if key and key not in rename.values():
            rename[col] = key
    missing = [k for k in ("subcriterion", "points") if k not in rename.values()]
    if missing:
        wanted = {"subcriterion": '"Mã tiêu chí" or "subcriterion"', "points": '"Điểm" or "points"'}
        raise ValueError(f"self-assessment file lacks column(s) {', '.join(wanted[m] for m in missing)}; found {list(raw.columns)}")
    out = raw.rename(columns=rename)[["subcriterion", "points"]]
    out = out.dropna(how="all")

    def number(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return np.nan
        if isinstance(v, (int, float, np.number)):
            return float(v)
        s = str(v).strip().replace("\u00a0", "").replace(" ", "")
        if "," in s and "." not in s:
            s = s.replace(",", ".")
        try:
            return float(s)
        except ValueError:
            return np.nan

    return pd.DataFrame(
        {
            "subcriterion": [None if pd.isna(v) else str(v).strip() for v in out["subcriterion"]],
            "points": [number(v) for v in out["points"]],
        }
    )
