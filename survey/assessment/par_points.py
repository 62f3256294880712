"""The self-assessed points a round's PAR Index counts, and which stage of the cycle they come from.

The analysis adds these to the survey's points. The most official stage available wins:
the Ministry's result once imported, else the version the council froze when it closed the
appraisal, else the departments' self-assessment as it stands (not yet appraised). The
stage is returned with the points so that every computed and frozen result names it.

Only the models are read here (no services): ``survey.reports.frames`` calls this while it
builds the analysis frames, and the assessment services import ``frames`` in turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from questionnaires import Structure
from survey.assessment.models import AssessmentCycle, Entry, FrozenVersion, OfficialResult
from survey.rounds.models import Round

MINISTRY, APPRAISAL, SELF_ASSESSMENT = "ministry", "appraisal", "self_assessment"


@dataclass
class ParPoints:
    """``subcriterion, points`` of the self-assessed sub-criteria, and where they come from."""

    frame: pd.DataFrame
    source: dict

    @property
    def label(self) -> str:
        return self.source["label"]


def _appraisal_label(frozen: FrozenVersion) -> str:
    return f"Điểm thẩm định (phiên bản “{frozen.name}”, chốt ngày {frozen.frozen_at:%d/%m/%Y})"


def _from_frozen(frozen: FrozenVersion) -> dict[str, float]:
    return {r["code"]: float(r["appraised"]) for r in frozen.rows
            if not r["survey_scored"] and r["appraised"] is not None}


def round_par_points(session: Session, round_: Round, structure: Structure | None) -> ParPoints | None:
    """The round's self-assessed points from its assessment cycle; None while there are none."""
    if structure is None:
        return None
    cycle = session.scalar(select(AssessmentCycle).where(AssessmentCycle.round_id == round_.id))
    if cycle is None:
        return None
    self_assessed = {s.code for s in structure.subcriteria if not s.survey_scored}
    frozen = session.scalar(select(FrozenVersion).where(FrozenVersion.cycle_id == cycle.id))
    official = list(session.scalars(select(OfficialResult).where(OfficialResult.cycle_id == cycle.id)
                                    .order_by(OfficialResult.subcriterion)))
    source: dict = {"cycle_id": cycle.id}
    if official:
        # The Ministry's table covers the whole index; its survey rows are the Ministry's view of
        # the survey, which the analysis computes itself, so only the self-assessed rows count.
        points = {r.subcriterion: float(r.points) for r in official}
        taken = {code: value for code, value in points.items() if code in self_assessed}
        filled = _from_frozen(frozen) if frozen else {}
        from_appraisal = sorted((set(filled) & self_assessed) - set(taken))
        points = {**{c: filled[c] for c in from_appraisal}, **taken}
        source.update(source=MINISTRY, label="Kết quả của Bộ", source_filename=official[0].source_filename,
                      imported_at=official[0].imported_at.isoformat())
        if from_appraisal:
            source["from_appraisal"] = from_appraisal
            source["label"] = (f"Kết quả của Bộ ({len(from_appraisal)} tiêu chí thành phần Bộ không công bố "
                               f"lấy theo điểm thẩm định)")
        if frozen is not None:
            source.update(version_id=frozen.id, version_name=frozen.name)
    elif frozen is not None:
        points = {c: v for c, v in _from_frozen(frozen).items() if c in self_assessed}
        source.update(source=APPRAISAL, label=_appraisal_label(frozen), version_id=frozen.id,
                      version_name=frozen.name, frozen_at=frozen.frozen_at.isoformat())
    else:
        points = dict(session.execute(select(Entry.subcriterion, Entry.points).where(
            Entry.cycle_id == cycle.id, Entry.points.is_not(None))).all())
        points = {c: float(v) for c, v in points.items() if c in self_assessed}
        source.update(source=SELF_ASSESSMENT, label="Điểm tự đánh giá (chưa thẩm định)")
    if not points:
        return None
    frame = pd.DataFrame(sorted(points.items()), columns=["subcriterion", "points"])
    return ParPoints(frame, source)
