"""Give a round self-assessed points at a chosen stage of its assessment cycle, without the pages."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone

from survey.assessment.rules import load_rules
from survey.assessment.models import AssessmentCycle, Entry, FrozenVersion, OfficialResult
from survey.questionnaire_registry import catalog


def give_points(session, round_id: int, *, self_points: dict[str, float] | None = None,
                appraised: dict[str, float] | None = None, official: dict[str, float] | None = None,
                version_name: str = "Hội đồng chốt 15/01") -> AssessmentCycle:
    """The round's cycle with entries (``self_points``), a frozen version (``appraised``) and the
    Ministry's results (``official``), each only when given."""
    structure = catalog().structure("par-province", "2023.1")
    rules_hash = hashlib.sha256(load_rules(structure).content.encode()).hexdigest()
    cycle = AssessmentCycle(round_id=round_id, structure_key=structure.key, structure_version=structure.version,
                            structure_hash=structure.content_hash, rules_hash=rules_hash, due_on=date(2024, 1, 5))
    session.add(cycle)
    session.flush()
    session.add_all(Entry(cycle_id=cycle.id, subcriterion=code, points=points)
                    for code, points in (self_points or {}).items())
    if appraised is not None:
        rows = [{"field": f.number, "criterion": c.code, "code": s.code, "title": s.title, "max_points": s.max_points,
                 "survey_scored": s.survey_scored, "agency": "", "self_points": (self_points or {}).get(s.code),
                 "appraised": appraised.get(s.code), "survey_points": None, "explanation": "", "evidence": []}
                for f in structure.fields for c in f.criteria for s in c.subcriteria]
        session.add(FrozenVersion(cycle_id=cycle.id, name=version_name, frozen_by="chu.tich@example.vn", rows=rows,
                                  frozen_at=datetime(2024, 1, 15, 3, 0, tzinfo=timezone.utc)))
    session.add_all(OfficialResult(cycle_id=cycle.id, subcriterion=code, points=points, source_filename="bo.xlsx",
                                   imported_by="admin@example.vn") for code, points in (official or {}).items())
    session.flush()
    return cycle
