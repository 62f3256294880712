"""The anonymised response-level SPSS file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.report import write_sav
from survey.reports.computation import Computed
from survey.respond.models import Answer
from survey.rounds.models import Round


def _sav_name(code: str) -> str:
    # SPSS names: letters, digits, underscore; must start with a letter.
    name = "".join(ch if ch.isalnum() else "_" for ch in code)
    return name if name[:1].isalpha() else f"Q_{name}"


def write_anonymised_sav(session: Session, round_: Round, computed: Computed, path: Path) -> None:
    """Response-level closed answers as SPSS .sav: codes 1..k in scale order, don't know user-missing.

    Variables are named ``<group>_<question>`` (multiple choice: ``<group>_<question>_<option>``):
    each group answers its own questionnaire, whose scales differ even where question
    codes coincide, so every variable carries its own group's value labels and missing codes.

    Left out on purpose: free-text answers (they can name people), the submission
    week, and every group with fewer than k responses (its rows would be a
    breakdown below the disclosure threshold).
    """
    k = computed.result.options.min_cell
    kept = {g for g, n in computed.response_counts.items() if n >= k}
    ids = {g.id: g.code for g in round_.groups if g.code in kept}
    columns: dict[str, dict] = {}  # sav column -> meta
    option_value: dict[tuple[str, str, str], tuple[str, float]] = {}
    for group, questionnaire in computed.frames.questionnaires.items():
        if group not in kept:
            continue
        for q in questionnaire.questions:
            if q.scale is None:
                continue
            if q.kind == "multi":
                for o in q.scale.options:
                    col = _sav_name(f"{group}_{q.code}_{o.code}")
                    columns[col] = {"label": f"[{group}] {q.text} — {o.label}", "missing": [], "group": group,
                                    "values": {0.0: "Không chọn", 1.0: "Có chọn"}}
                    option_value[(group, q.code, o.code)] = (col, 1.0)
            else:
                # One variable per group's question: groups reuse codes (P3) with different scales.
                col = _sav_name(f"{group}_{q.code}")
                meta = columns[col] = {"label": f"[{group}] {q.text}", "values": {}, "missing": []}
                for i, o in enumerate(q.scale.options, start=1):
                    meta["values"][float(i)] = o.label
                    if o.is_missing:
                        meta["missing"].append(float(i))
                    option_value[(group, q.code, o.code)] = (col, float(i))
    records: dict[str, dict] = {}
    if ids:
        query = (select(Answer.response_id, Answer.group_id, Answer.question_code, Answer.option_code)
                 .where(Answer.group_id.in_(list(ids)), Answer.option_code.is_not(None))
                 .order_by(Answer.response_id).execution_options(stream_results=True, yield_per=20_000))
        for response_id, group_id, question, option in session.execute(query):
            group = ids[group_id]
            hit = option_value.get((group, question, option))
            if hit is None:
                continue
            row = records.setdefault(response_id, {"nhom": group})
            row[hit[0]] = hit[1]
    frame = pd.DataFrame(list(records.values()), columns=["nhom", *columns])
    # Random ids are not exported either: a sequence number is enough to tell rows apart.
    frame.insert(0, "stt", np.arange(1, len(frame) + 1, dtype=float))
    for col, meta in columns.items():
        frame[col] = frame[col].astype(float)
        if "group" in meta:  # multiple choice: "not chosen" is 0 for the group that was asked
            frame.loc[(frame["nhom"] == meta["group"]) & frame[col].isna(), col] = 0.0
    frame["nhom"] = frame["nhom"].astype(object).fillna("")
    labels = {"stt": "Số thứ tự", "nhom": "Nhóm đối tượng", **{c: m["label"][:250] for c, m in columns.items()}}
    write_sav(path, frame, labels, {c: m["values"] for c, m in columns.items()},
              {c: m["missing"][:3] for c, m in columns.items() if m["missing"]},
              file_label=f"{round_.title} - phiếu ẩn danh, nhóm dưới {k} phiếu bị loại")
