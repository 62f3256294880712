"""Builders of small input frames for the analysis tests."""

import math

import pandas as pd

NAN = math.nan
LEADER_SCALE = [("A", 1.0, False), ("B", 0.6, False), ("C", 0.2, False), ("D", 0.0, False), ("E", NAN, True)]
SATISFACTION_SCALE = [("1", 0.0, False), ("2", 0.25, False), ("3", 0.5, False), ("4", 0.75, False), ("5", 1.0, False), ("9", NAN, True)]


def item_rows(group, question, scale, subcriterion=None, element=None, policy=None, expectation=False):
    return [
        dict(group=group, question=question, option=o, weight=w, is_missing=m, subcriterion=subcriterion,
             sipas_element=element, sipas_policy=policy, is_expectation=expectation)
        for o, w, m in scale
    ]


def count_rows(group, question, scale, ns):
    return [dict(group=group, question=question, option=o, n=n) for (o, _, _), n in zip(scale, ns)]


def frame(rows):
    out = pd.DataFrame(rows)
    if "sipas_element" in out.columns:
        out["sipas_element"] = pd.array(out["sipas_element"], dtype="Int64")
    return out


def structure(rows):
    """rows: (field, subcriterion, max_points, survey_scored)."""
    return pd.DataFrame(
        [dict(field=f, field_title=f"Lĩnh vực {f}", criterion=code.rsplit(".", 1)[0], subcriterion=code,
              title=f"Tiêu chí {code}", max_points=mx, survey_scored=s) for f, code, mx, s in rows]
    )
