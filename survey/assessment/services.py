"""The self-assessment cycle of a round: assignments, entries, evidence, submission, appraisal.

Services flush, never commit; each action writes one audit record. A refused action raises
AssessmentError with a Vietnamese message and writes nothing.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from questionnaires import Catalog, Structure
from survey.accounts.models import User
from survey.accounts.services import record
from survey.assessment import evidence as files
from survey.assessment.models import (
    Appraisal, AppraisalComment, AssessmentCycle, Assignment, Entry, EvidenceDocument, EvidenceLink, FrozenVersion,
    Part, PointChange, Reminder,
)
from survey.assessment.rules import EntryError, RuleBook, RulesError, load_default_assignments, load_rules
from survey.invitations.models import CANCELLED, QUEUED, OutboxMessage
from survey.rounds.models import Agency, Round
from survey.rounds.datafiles import default_plan
from survey.timeutil import VIETNAM, utcnow

# The plan's milestone "reports and evidence to Sở Nội vụ" (5 January): parts are due then.
PARTS_DUE = "self_assessment_reports_due"  # the plan's mark on the departments' deadline


class AssessmentError(ValueError):
    pass


class AppraisalConflict(AssessmentError):
    """Someone saved the sub-criterion since the form was opened: the newer value is kept."""

    def __init__(self, current: Appraisal):
        self.current = current
        super().__init__(
            f"{current.updated_by} đã lưu điểm thẩm định {current.points:g} cho tiêu chí {current.subcriterion} "
            f"sau khi anh/chị mở trang. Điểm của anh/chị chưa được ghi và vẫn còn trong biểu mẫu: "
            f"xem lại rồi lưu lại nếu vẫn muốn thay đổi.")


# --- the structure and rules a cycle pinned ---------------------------------------------------------------


def round_structure(round_: Round, catalog: Catalog) -> Structure | None:
    from survey.reports import frames

    return frames.round_structure(frames.round_questionnaires(round_, catalog), catalog)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Context:
    cycle: AssessmentCycle
    structure: Structure
    rules: RuleBook

    @property
    def self_assessed(self):
        return [s for s in self.structure.subcriteria if not s.survey_scored]


def _checked(load, structure: Structure):
    """``load(structure)`` for a data file beside the structure; a broken file is said plainly, not a 500."""
    try:
        return load(structure)
    except RulesError as error:
        raise AssessmentError("Tệp quy tắc chấm điểm hoặc phân công kèm bộ tiêu chí không hợp lệ: "
                              + "; ".join(error.problems)) from None


def context(cycle: AssessmentCycle, catalog: Catalog) -> Context:
    structure = catalog.structure(cycle.structure_key, cycle.structure_version)
    rules = _checked(load_rules, structure)
    if structure.content_hash != cycle.structure_hash or _hash(rules.content) != cycle.rules_hash:
        raise AssessmentError("Bộ tiêu chí hoặc quy tắc chấm điểm đã thay đổi sau khi kỳ tự đánh giá bắt đầu; "
                              "phiên bản đang dùng không được sửa, hãy phát hành phiên bản mới.")
    return Context(cycle, structure, rules)


def cycle_of(session: Session, round_: Round) -> AssessmentCycle | None:
    return session.scalar(select(AssessmentCycle).where(AssessmentCycle.round_id == round_.id))


def _parts_due(round_: Round) -> date:
    """The round's milestone for the departments' reports, else the default plan's date for its year."""
    planned = default_plan().marked(PARTS_DUE)
    if planned is None:
        raise AssessmentError(f"Kế hoạch mốc thời gian (questionnaires/calendar/default-plan.yaml) không có mốc "
                              f"đánh dấu “{PARTS_DUE}” (hạn gửi báo cáo tự đánh giá).")
    for milestone in round_.milestones:
        if milestone.label == planned.label:
            return milestone.due_on
    return planned.dates(round_.year)[1]


def start_cycle(session: Session, round_: Round, catalog: Catalog) -> AssessmentCycle:
    """Create the round's cycle with the shipped default assignments, matched to the province's agencies."""
    if cycle_of(session, round_) is not None:
        raise AssessmentError("Kỳ tự đánh giá của đợt này đã được tạo.")
    structure = round_structure(round_, catalog)
    if structure is None:
        raise AssessmentError("Đợt khảo sát chưa gắn với bộ tiêu chí Chỉ số CCHC nào.")
    rules = _checked(load_rules, structure)
    defaults = _checked(load_default_assignments, structure)
    agencies = {a.code: a for a in session.scalars(select(Agency).where(Agency.province_id == round_.province_id,
                                                                        Agency.is_active.is_(True)))}
    cycle = AssessmentCycle(round_id=round_.id, structure_key=structure.key, structure_version=structure.version,
                            structure_hash=structure.content_hash, rules_hash=_hash(rules.content),
                            due_on=_parts_due(round_))
    session.add(cycle)
    session.flush()
    unmatched = set()
    for sub in structure.subcriteria:
        if sub.survey_scored:
            continue
        agency = agencies.get(defaults.get(sub.code, ""))
        if agency is None:
            unmatched.add(defaults.get(sub.code, "—"))
        session.add(Assignment(cycle_id=cycle.id, subcriterion=sub.code, agency_id=agency.id if agency else None))
    session.flush()
    record(session, "assessment.start", target=f"{structure.key} {structure.version}", round_id=round_.id,
           province_id=round_.province_id, details={"unmatched_agencies": sorted(unmatched)})
    return cycle


def assignments(session: Session, cycle: AssessmentCycle) -> dict[str, Assignment]:
    return {a.subcriterion: a for a in session.scalars(select(Assignment).where(Assignment.cycle_id == cycle.id))}


def set_assignments(session: Session, cycle: AssessmentCycle, chosen: dict[str, int | None]) -> list[str]:
    """Change who assesses which sub-criteria (before the self-assessment opens); returns the changed codes."""
    if cycle.opened_at is not None:
        raise AssessmentError("Kỳ tự đánh giá đã mở: không thể thay đổi phân công.")
    current = assignments(session, cycle)
    valid = set(session.scalars(select(Agency.id).where(Agency.province_id == cycle.round.province_id)))
    changed = []
    for code, agency_id in chosen.items():
        if code not in current:
            raise AssessmentError(f"Tiêu chí {code} không thuộc phần tự đánh giá.")
        if agency_id is not None and agency_id not in valid:
            raise AssessmentError(f"Cơ quan được chọn cho tiêu chí {code} không thuộc tỉnh.")
        if current[code].agency_id != agency_id:
            current[code].agency_id = agency_id
            changed.append(code)
    session.flush()
    if changed:
        record(session, "assessment.assign", round_id=cycle.round_id, province_id=cycle.round.province_id,
               details={code: chosen[code] for code in changed})
    return changed


def open_self_assessment(session: Session, cycle: AssessmentCycle) -> None:
    if cycle.opened_at is not None:
        raise AssessmentError("Kỳ tự đánh giá đã mở.")
    current = assignments(session, cycle)
    missing = sorted(code for code, a in current.items() if a.agency_id is None)
    if missing:
        raise AssessmentError("Còn tiêu chí chưa phân công cơ quan: " + ", ".join(missing) + ".")
    for agency_id in sorted({a.agency_id for a in current.values()}):
        session.add(Part(cycle_id=cycle.id, agency_id=agency_id))
    cycle.opened_at = utcnow()
    session.flush()
    record(session, "assessment.open", round_id=cycle.round_id, province_id=cycle.round.province_id)


# --- a department's part -------------------------------------------------------------------------------------


def part_of(session: Session, cycle: AssessmentCycle, agency: Agency) -> Part | None:
    return session.scalar(select(Part).where(Part.cycle_id == cycle.id, Part.agency_id == agency.id))


def codes_of(session: Session, cycle: AssessmentCycle, agency_id: int) -> list[str]:
    return [a.subcriterion for a in assignments(session, cycle).values() if a.agency_id == agency_id]


def entries(session: Session, cycle: AssessmentCycle, *, documents: bool = True) -> dict[str, Entry]:
    """The cycle's entries by sub-criterion; with their documents loaded in one more query (not one
    per entry) unless ``documents`` is false, for a caller that never reads ``Entry.documents``."""
    query = select(Entry).where(Entry.cycle_id == cycle.id)
    if documents:
        query = query.options(selectinload(Entry.documents))
    return {e.subcriterion: e for e in session.scalars(query)}


def evidence_counts(session: Session, cycle: AssessmentCycle) -> dict[int, int]:
    """Entry id -> how many documents back it (entries without any are absent)."""
    return dict(session.execute(
        select(EvidenceLink.entry_id, func.count()).join(Entry, Entry.id == EvidenceLink.entry_id)
        .where(Entry.cycle_id == cycle.id).group_by(EvidenceLink.entry_id)).all())


def is_late(part: Part, cycle: AssessmentCycle, today: date | None = None) -> bool:
    """Past the due day and not submitted, or submitted after it (Vietnam's calendar day)."""
    today = today or utcnow().astimezone(VIETNAM).date()
    if part.status == "submitted":
        return part.submitted_at.astimezone(VIETNAM).date() > cycle.due_on
    return today > cycle.due_on


def _editable(session: Session, cycle: AssessmentCycle, part: Part, code: str) -> None:
    if part.is_locked:
        raise AssessmentError("Phần tự đánh giá đã gửi và bị khóa; chỉ Sở Nội vụ có thể trả lại để sửa.")
    if code not in codes_of(session, cycle, part.agency_id):
        raise AssessmentError(f"Tiêu chí {code} không được phân công cho cơ quan này.")


def parse_number(raw: str, what: str) -> float | None:
    text = (raw or "").strip().replace(" ", "")
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # the Vietnamese decimal comma
    try:
        value = float(text)
    except ValueError:
        raise AssessmentError(f"{what}: “{raw}” không phải là số.") from None
    if not math.isfinite(value):
        raise AssessmentError(f"{what}: “{raw}” không phải là số hữu hạn.")
    return value


def save_entry(session: Session, ctx: Context, part: Part, code: str, user: User, *, level: str = "",
               numerator: str = "", denominator: str = "", explanation: str = "") -> Entry:
    """Save a draft entry: the level or the figures, and the explanation; points follow from the rule."""
    _editable(session, ctx.cycle, part, code)
    rule = ctx.rules.rule(code)
    points = None
    values: dict = {"level": None, "numerator": None, "denominator": None}
    try:
        if rule.kind == "levels":
            if level.strip():
                if not level.strip().isdigit():
                    raise AssessmentError("Mức đánh giá không hợp lệ.")
                values["level"] = int(level)
                points = rule.points_for_level(values["level"])
        else:
            num = parse_number(numerator, rule.numerator_label)
            den = parse_number(denominator, rule.denominator_label)
            if (num is None) != (den is None):
                raise AssessmentError("Vui lòng nhập cả tử số và mẫu số.")
            if num is not None:
                _rate, points = rule.points_for_figures(num, den)
                values.update(numerator=num, denominator=den)
    except EntryError as error:
        raise AssessmentError(f"Tiêu chí {code}: {error}") from None
    entry = entries(session, ctx.cycle).get(code)
    if entry is None:
        entry = Entry(cycle_id=ctx.cycle.id, subcriterion=code)
        session.add(entry)
    before = entry.points
    for name, value in values.items():
        setattr(entry, name, value)
    entry.points = points
    entry.explanation = explanation.strip()
    entry.updated_at = utcnow()
    entry.updated_by_id = user.id
    session.flush()
    if before != points:
        session.add(PointChange(cycle_id=ctx.cycle.id, subcriterion=code, stage="self", from_points=before,
                                to_points=points, reason="Tự đánh giá", user_id=user.id, actor=user.email))
    record(session, "assessment.entry", target=code, round_id=ctx.cycle.round_id,
           details={"points": points, "from": before})
    return entry


def add_evidence(session: Session, cycle: AssessmentCycle, part: Part, user: User, *, filename: str, data: bytes,
                 number: str, issued_on: date | None, issuer: str, summary: str, codes: list[str]) -> EvidenceDocument:
    """Check and store a document, then link it to the chosen sub-criteria of the part."""
    if part.is_locked:
        raise AssessmentError("Phần tự đánh giá đã gửi và bị khóa.")
    if not (number.strip() and issuer.strip() and summary.strip()):
        raise AssessmentError("Vui lòng nhập số, ký hiệu; cơ quan ban hành và trích yếu của văn bản.")
    if not codes:
        raise AssessmentError("Vui lòng chọn ít nhất một tiêu chí mà tài liệu này chứng minh.")
    mine = set(codes_of(session, cycle, part.agency_id))
    foreign = sorted(set(codes) - mine)
    if foreign:
        raise AssessmentError("Tiêu chí không được phân công cho cơ quan này: " + ", ".join(foreign) + ".")
    try:
        accepted = files.check(filename, data, files.max_bytes())
    except files.EvidenceRefused as error:
        raise AssessmentError(str(error)) from None
    document = EvidenceDocument(cycle_id=cycle.id, agency_id=part.agency_id, sha256=accepted.sha256,
                                filename=accepted.filename, content_type=accepted.content_type, size=accepted.size,
                                number=number.strip(), issued_on=issued_on, issuer=issuer.strip(),
                                summary=summary.strip(), uploaded_by_id=user.id)
    session.add(document)
    session.flush()
    for code in sorted(set(codes)):
        link_evidence(session, cycle, part, document, code, audit=False)
    files.store(accepted, data)
    record(session, "assessment.evidence", target=accepted.filename, round_id=cycle.round_id,
           details={"document_id": document.id, "sha256": accepted.sha256, "codes": sorted(set(codes))})
    return document


def link_evidence(session: Session, cycle: AssessmentCycle, part: Part, document: EvidenceDocument, code: str, *,
                  audit: bool = True) -> None:
    if part.is_locked:
        raise AssessmentError("Phần tự đánh giá đã gửi và bị khóa.")
    if code not in codes_of(session, cycle, part.agency_id) or document.cycle_id != cycle.id:
        raise AssessmentError(f"Tiêu chí {code} không được phân công cho cơ quan này.")
    entry = entries(session, cycle).get(code)
    if entry is None:
        entry = Entry(cycle_id=cycle.id, subcriterion=code)
        session.add(entry)
        session.flush()
    exists = session.scalar(select(EvidenceLink).where(EvidenceLink.document_id == document.id,
                                                       EvidenceLink.entry_id == entry.id))
    if exists is None:
        session.add(EvidenceLink(document_id=document.id, entry_id=entry.id))
        session.flush()
        session.expire(entry, ["documents"])
    if audit:
        record(session, "assessment.evidence_link", target=code, round_id=cycle.round_id,
               details={"document_id": document.id})


def submit_part(session: Session, ctx: Context, part: Part) -> None:
    if part.is_locked:
        raise AssessmentError("Phần tự đánh giá đã được gửi.")
    saved = entries(session, ctx.cycle)
    incomplete = []
    for code in codes_of(session, ctx.cycle, part.agency_id):
        entry = saved.get(code)
        if entry is None or entry.points is None:
            incomplete.append(f"{code} (chưa chấm điểm)")
        elif not entry.documents and not entry.explanation:
            incomplete.append(f"{code} (chưa có tài liệu kiểm chứng hoặc giải trình)")
    if incomplete:
        raise AssessmentError("Chưa thể gửi: " + "; ".join(sorted(incomplete)) + ".")
    part.status = "submitted"
    part.submitted_at = utcnow()
    session.flush()
    _cancel_reminders(session, part)
    record(session, "assessment.submit", target=part.agency.code, round_id=ctx.cycle.round_id,
           details={"late": is_late(part, ctx.cycle)})


def _cancel_reminders(session: Session, part: Part) -> None:
    """Drop the part's reminders still waiting in the outbox: a submitted part is never reminded."""
    waiting = select(Reminder.outbox_message_id).where(Reminder.part_id == part.id,
                                                       Reminder.outbox_message_id.is_not(None))
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(waiting), OutboxMessage.status == QUEUED)
        .values(status=CANCELLED, body=None, last_error="Không gửi: cơ quan đã gửi phần tự đánh giá.")
        .execution_options(synchronize_session=False))


def return_part(session: Session, cycle: AssessmentCycle, part: Part, comment: str) -> None:
    if not part.is_locked:
        raise AssessmentError("Chỉ trả lại được phần đã gửi.")
    if not comment.strip():
        raise AssessmentError("Vui lòng ghi ý kiến khi trả lại để cơ quan biết cần sửa gì.")
    if frozen_version(session, cycle) is not None:
        raise AssessmentError("Hội đồng đã kết thúc thẩm định: không thể trả lại.")
    part.status = "returned"
    part.returned_at = utcnow()
    part.return_comment = comment.strip()
    session.flush()
    record(session, "assessment.return", target=part.agency.code, round_id=cycle.round_id,
           details={"comment": comment.strip()})


# --- consolidation ----------------------------------------------------------------------------------------


def classify(percent: float) -> str:
    from analysis.par import classify as par_class

    return par_class(percent)


@dataclass
class Line:
    """One sub-criterion as consolidation, appraisal and exports see it."""

    field: int
    criterion: str
    code: str
    title: str
    max_points: float
    survey_scored: bool
    agency: str = ""
    agency_id: int | None = None
    self_points: float | None = None
    appraised: float | None = None
    survey_points: float | None = None
    explanation: str = ""
    evidence: list[EvidenceDocument] = field(default_factory=list)  # empty when lines() was told documents=False
    evidence_count: int = 0
    last_year: float | None = None

    @property
    def points(self) -> float | None:
        """The best current value: appraised, else self-assessed, else the survey's."""
        if self.survey_scored:
            return self.survey_points
        return self.appraised if self.appraised is not None else self.self_points

    @property
    def lost(self) -> float | None:
        return None if self.points is None else round(self.max_points - self.points, 2)


def lines(session: Session, ctx: Context, survey_points: dict[str, float] | None = None, *,
          documents: bool = True) -> list[Line]:
    """Every sub-criterion of the structure, in order. With ``documents`` false, ``evidence`` stays
    empty and only ``evidence_count`` is read (one grouped query): the board needs to know which
    lines are backed, and building every document of a cycle (hundreds) cost half its time."""
    cycle = ctx.cycle
    # The agencies with the assignments, in one query rather than one lazy load per agency.
    by_code = {a.subcriterion: a for a in session.scalars(select(Assignment).where(Assignment.cycle_id == cycle.id)
                                                          .options(selectinload(Assignment.agency)))}
    saved = entries(session, cycle, documents=documents)
    counts = None if documents else evidence_counts(session, cycle)
    appraised = {a.subcriterion: a.points
                 for a in session.scalars(select(Appraisal).where(Appraisal.cycle_id == cycle.id))}
    previous = last_year_points(session, cycle)
    out = []
    for f in ctx.structure.fields:
        for c in f.criteria:
            for s in c.subcriteria:
                entry = saved.get(s.code)
                assignment = by_code.get(s.code)
                out.append(Line(
                    field=f.number, criterion=c.code, code=s.code, title=s.title, max_points=s.max_points,
                    survey_scored=s.survey_scored,
                    agency=assignment.agency.name if assignment and assignment.agency else "",
                    agency_id=assignment.agency_id if assignment else None,
                    self_points=entry.points if entry else None, appraised=appraised.get(s.code),
                    survey_points=(survey_points or {}).get(s.code) if s.survey_scored else None,
                    explanation=entry.explanation if entry else "",
                    evidence=list(entry.documents) if entry and documents else [],
                    evidence_count=(0 if entry is None else len(entry.documents) if documents
                                    else counts.get(entry.id, 0)),
                    last_year=previous.get(s.code)))
    return out


def previous_cycle(session: Session, cycle: AssessmentCycle) -> AssessmentCycle | None:
    """The province's latest cycle of an earlier year ("last year")."""
    round_ = cycle.round
    return session.scalars(
        select(AssessmentCycle).join(Round, Round.id == AssessmentCycle.round_id)
        .where(Round.province_id == round_.province_id, Round.year < round_.year)
        .order_by(Round.year.desc(), Round.id.desc())).first()


def last_year_points(session: Session, cycle: AssessmentCycle) -> dict[str, float]:
    """Frozen points of the province's latest earlier cycle, else its self-assessed points."""
    earlier = previous_cycle(session, cycle)
    if earlier is None:
        return {}
    frozen = frozen_version(session, earlier)
    if frozen is not None:
        return {r["code"]: r["appraised"] for r in frozen.rows if r["appraised"] is not None}
    return {code: e.points for code, e in entries(session, earlier).items() if e.points is not None}


@dataclass
class Total:
    self_points: float
    survey_points: float | None
    max_points: float
    survey_computed: bool
    survey_scored: int = 0  # survey sub-criteria with points so far
    survey_items: int = 0  # survey sub-criteria in the structure

    @property
    def total(self) -> float:
        return round(self.self_points + (self.survey_points or 0.0), 2)

    @property
    def percent(self) -> float:
        return round(100.0 * self.total / self.max_points, 2)

    @property
    def classification(self) -> str:
        return classify(self.percent)


def total(ctx: Context, rows: list[Line]) -> Total:
    """Self-assessed (or appraised) points plus the survey points computed so far.

    A survey sub-criterion without enough answers counts 0 and the page says how many are
    missing, so a partly answered survey still moves the provisional total.
    """
    self_points = round(sum(r.points or 0 for r in rows if not r.survey_scored), 2)
    survey = [r.survey_points for r in rows if r.survey_scored]
    known = [p for p in survey if p is not None]
    return Total(self_points, round(sum(known), 2) if known else None, ctx.structure.total_points,
                 bool(survey) and len(known) == len(survey), len(known), len(survey))


@dataclass
class FieldTotal:
    """The self-assessed part of one field: this year's current points against last year's."""

    number: int
    title: str
    max_points: float
    points: float
    last_year: float | None

    @property
    def change(self) -> float | None:
        return None if self.last_year is None else round(self.points - self.last_year, 2)


def field_totals(ctx: Context, rows: list[Line]) -> list[FieldTotal]:
    """Per field, over its self-assessed sub-criteria (the survey's points are not known a year ahead).

    Last year's total adds the sub-criteria that had points last year; a field none of whose
    sub-criteria did has no comparison rather than a change from zero.
    """
    out = []
    for f in ctx.structure.fields:
        mine = [r for r in rows if r.field == f.number and not r.survey_scored]
        if not mine:
            continue
        previous = [r.last_year for r in mine if r.last_year is not None]
        out.append(FieldTotal(f.number, f.title, round(sum(r.max_points for r in mine), 2),
                              round(sum(r.points or 0 for r in mine), 2),
                              round(sum(previous), 2) if previous else None))
    return out


def points_at_risk(rows: list[Line]) -> list[Line]:
    return sorted((r for r in rows if not r.survey_scored and r.lost and r.lost > 0), key=lambda r: (-r.lost, r.code))


def progress_board(session: Session, ctx: Context, rows: list[Line]) -> dict:
    """Fields × agencies: (assigned, scored, with evidence or explanation, status of the part), from ``lines()``."""
    parts = {p.agency_id: p for p in session.scalars(select(Part).where(Part.cycle_id == ctx.cycle.id)
                                                     .options(selectinload(Part.agency)))}  # the board names them
    cells: dict[tuple[int, int], dict] = {}
    for r in rows:
        if r.agency_id is None:
            continue
        cell = cells.setdefault((r.field, r.agency_id), {"assigned": 0, "scored": 0, "backed": 0})
        cell["assigned"] += 1
        cell["scored"] += r.self_points is not None
        cell["backed"] += bool(r.evidence_count or r.explanation)
    return {"cells": cells, "parts": parts}


# --- appraisal ----------------------------------------------------------------------------------------------


def frozen_version(session: Session, cycle: AssessmentCycle) -> FrozenVersion | None:
    return session.scalar(select(FrozenVersion).where(FrozenVersion.cycle_id == cycle.id))


def _open_for_appraisal(session: Session, cycle: AssessmentCycle) -> None:
    if frozen_version(session, cycle) is not None:
        raise AssessmentError("Hội đồng đã kết thúc thẩm định; điểm đã được chốt.")


def appraise(session: Session, ctx: Context, code: str, user: User, *, points: str, reason: str,
             seen_version: int | None) -> Appraisal:
    """Propose the appraised points; a reason is required when they differ from the self-assessment."""
    _open_for_appraisal(session, ctx.cycle)
    sub = ctx.structure.subcriterion(code)
    if sub is None or sub.survey_scored:
        raise AssessmentError(f"Tiêu chí {code} không thuộc phần tự đánh giá.")
    value = parse_number(points, "Điểm thẩm định")
    if value is None:
        raise AssessmentError("Vui lòng nhập điểm thẩm định.")
    if value < 0:
        raise AssessmentError("Điểm thẩm định không được âm.")
    if value > sub.max_points + 1e-9:
        raise AssessmentError(f"Điểm thẩm định vượt quá điểm tối đa ({sub.max_points:g}).")
    value = round(value, 2)
    entry = entries(session, ctx.cycle).get(code)
    self_points = entry.points if entry else None
    if value != self_points and not reason.strip():
        raise AssessmentError("Điểm thẩm định khác điểm tự đánh giá: vui lòng ghi rõ lý do.")
    current = session.scalar(select(Appraisal).where(Appraisal.cycle_id == ctx.cycle.id,
                                                     Appraisal.subcriterion == code))
    if current is not None and current.version != seen_version:
        raise AppraisalConflict(current)
    if current is None and seen_version not in (None, 0):
        raise AssessmentError("Dữ liệu thẩm định không khớp; vui lòng tải lại trang.")
    before = current.points if current else self_points
    if current is None:
        current = Appraisal(cycle_id=ctx.cycle.id, subcriterion=code, points=value)
        session.add(current)
    current.points = value
    current.reason = reason.strip()
    current.updated_at = utcnow()
    current.updated_by = user.email
    session.flush()  # the version column refuses an update that raced past the check above
    session.add(PointChange(cycle_id=ctx.cycle.id, subcriterion=code, stage="appraisal", from_points=before,
                            to_points=value, reason=reason.strip(), user_id=user.id, actor=user.email))
    record(session, "assessment.appraise", target=code, round_id=ctx.cycle.round_id,
           details={"from": before, "to": value, "reason": reason.strip()})
    return current


def comment(session: Session, cycle: AssessmentCycle, code: str, user: User, body: str) -> AppraisalComment:
    if not body.strip():
        raise AssessmentError("Nội dung ý kiến trống.")
    note = AppraisalComment(cycle_id=cycle.id, subcriterion=code, author_id=user.id, author=user.full_name,
                            body=body.strip())
    session.add(note)
    session.flush()
    record(session, "assessment.comment", target=code, round_id=cycle.round_id)
    return note


def history(session: Session, cycle: AssessmentCycle, code: str | None = None) -> list[PointChange]:
    query = select(PointChange).where(PointChange.cycle_id == cycle.id)
    if code is not None:
        query = query.where(PointChange.subcriterion == code)
    return list(session.scalars(query.order_by(PointChange.changed_at, PointChange.id)))


def comments(session: Session, cycle: AssessmentCycle, code: str) -> list[AppraisalComment]:
    return list(session.scalars(select(AppraisalComment).where(
        AppraisalComment.cycle_id == cycle.id, AppraisalComment.subcriterion == code).order_by(AppraisalComment.id)))


def close_appraisal(session: Session, ctx: Context, user: User, name: str,
                    survey_points: dict[str, float] | None = None) -> FrozenVersion:
    """Freeze every sub-criterion's points as a named version; sub-criteria not appraised keep their self-assessment."""
    _open_for_appraisal(session, ctx.cycle)
    if not name.strip():
        raise AssessmentError("Vui lòng đặt tên cho phiên bản kết quả thẩm định.")
    parts = list(session.scalars(select(Part).where(Part.cycle_id == ctx.cycle.id)))
    pending = sorted(p.agency.name for p in parts if not p.is_locked)
    if not parts or pending:
        raise AssessmentError("Chưa thể kết thúc thẩm định: còn phần chưa gửi (" + ", ".join(pending) + ").")
    rows = []
    for line in lines(session, ctx, survey_points):
        appraised = line.appraised if line.appraised is not None else line.self_points
        rows.append({"field": line.field, "criterion": line.criterion, "code": line.code, "title": line.title,
                     "max_points": line.max_points, "survey_scored": line.survey_scored, "agency": line.agency,
                     "self_points": line.self_points, "appraised": None if line.survey_scored else appraised,
                     "survey_points": line.survey_points, "explanation": line.explanation,
                     "evidence": [{"id": d.id, "reference": d.reference, "filename": d.filename, "sha256": d.sha256}
                                  for d in line.evidence]})
    version = FrozenVersion(cycle_id=ctx.cycle.id, name=name.strip(), frozen_by=user.email, rows=rows)
    session.add(version)
    session.flush()
    record(session, "assessment.close", target=name.strip(), round_id=ctx.cycle.round_id,
           details={"version_id": version.id})
    return version


def record_export(session: Session, cycle: AssessmentCycle, kind: str) -> None:
    record(session, "assessment.export", target=kind, round_id=cycle.round_id)
