"""Self-assessment, evidence and appraisal of the 68 self-assessed points of a round (issue 15)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON, CheckConstraint, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.rounds.models import Agency, Round
from survey.timeutil import utcnow

PART_STATES = ("draft", "submitted", "returned")


class AssessmentCycle(Base):
    """The self-assessment of one round, pinned to the structure and scoring rules it started with."""

    __tablename__ = "assessment_cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), unique=True)
    structure_key: Mapped[str] = mapped_column(String(64))
    structure_version: Mapped[str] = mapped_column(String(32))
    # Content hashes at start: a structure or rules file changed afterwards is refused, not applied.
    structure_hash: Mapped[str] = mapped_column(String(64))
    rules_hash: Mapped[str] = mapped_column(String(64))
    # Parts are due at Sở Nội vụ on this day (the plan's 5 January), copied from the round's milestone.
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Assignments are editable until the self-assessment opens; departments work only after.
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    round: Mapped[Round] = relationship()


class Assignment(Base):
    """Which agency self-assesses a sub-criterion; no agency while the province has not chosen one."""

    __tablename__ = "assessment_assignments"
    __table_args__ = (UniqueConstraint("cycle_id", "subcriterion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("assessment_cycles.id", ondelete="CASCADE"), index=True)
    subcriterion: Mapped[str] = mapped_column(String(32))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)

    agency: Mapped[Agency | None] = relationship()


class Part(Base):
    """One agency's share of the self-assessment: submitted and locked as a whole."""

    __tablename__ = "assessment_parts"
    __table_args__ = (
        UniqueConstraint("cycle_id", "agency_id"),
        CheckConstraint(f"status IN {PART_STATES!r}", name="known_status"),
        CheckConstraint("status <> 'submitted' OR submitted_at IS NOT NULL", name="submitted_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("assessment_cycles.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    return_comment: Mapped[str] = mapped_column(Text, default="")

    agency: Mapped[Agency] = relationship()

    @property
    def is_locked(self) -> bool:
        return self.status == "submitted"


class Entry(Base):
    """This year's self-assessed value of one sub-criterion: a level, or figures, and the points they give."""

    __tablename__ = "assessment_entries"
    __table_args__ = (
        UniqueConstraint("cycle_id", "subcriterion"),
        CheckConstraint("points IS NULL OR points >= 0", name="points_not_negative"),
        CheckConstraint("denominator IS NULL OR denominator > 0", name="denominator_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("assessment_cycles.id", ondelete="CASCADE"), index=True)
    subcriterion: Mapped[str] = mapped_column(String(32))
    level: Mapped[int | None] = mapped_column(Integer)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    points: Mapped[float | None] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    documents: Mapped[list[EvidenceDocument]] = relationship(
        secondary="assessment_evidence_links", order_by="EvidenceDocument.id", viewonly=True)


class EvidenceDocument(Base):
    """An evidence file (tài liệu kiểm chứng), stored once by content hash outside the web root."""

    __tablename__ = "assessment_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("assessment_cycles.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    # "Số, ký hiệu; ngày; cơ quan ban hành; trích yếu" of the official document.
    number: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[date | None] = mapped_column(Date)
    issuer: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def reference(self) -> str:
        issued = self.issued_on.strftime("%d/%m/%Y") if self.issued_on else "không ghi ngày"
        return f"{self.number}, {issued}, {self.issuer}: {self.summary}"


class EvidenceLink(Base):
    """A document backing a sub-criterion's entry; one document may back several."""

    __tablename__ = "assessment_evidence_links"
    __table_args__ = (UniqueConstraint("document_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("assessment_evidence.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("assessment_entries.id", ondelete="CASCADE"), index=True)


class Appraisal(Base):
    """The council's proposed score of a sub-criterion; ``version`` refuses a stale overwrite."""

    __tablename__ = "assessment_appraisals"
    __table_args__ = (
        UniqueConstraint("cycle_id", "subcriterion"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("assessment_cycles.id", ondelete="CASCADE"), index=True)
    subcriterion: Mapped[str] = mapped_column(String(32))
    points: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320))

    __mapper_args__ = {"version_id_col": version}


class AppraisalComment(Base):
    __tablename__ = "assessment_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("assessment_cycles.id", ondelete="CASCADE"), index=True)
    subcriterion: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(String(320))  # name at the time, kept if the account goes
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PointChange(Base):
    """Every change of points, self-assessed or appraised: who, when, from, to, why. Never updated."""

    __tablename__ = "assessment_point_changes"
    __table_args__ = (CheckConstraint("stage IN ('self', 'appraisal')", name="known_stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("assessment_cycles.id", ondelete="CASCADE"), index=True)
    subcriterion: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(16))
    from_points: Mapped[float | None] = mapped_column(Float)
    to_points: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FrozenVersion(Base):
    """The appraised points as closed by the council: the only source of the exports."""

    __tablename__ = "assessment_frozen_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("assessment_cycles.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    frozen_by: Mapped[str] = mapped_column(String(320))
    # One record per sub-criterion (code, title, field, max, self, appraised, survey, evidence ids).
    rows: Mapped[list] = mapped_column(JSON)
    # Where a version not closed on the platform came from (the retired points upload, migrated by
    # 0019); None for a version the council closed here.
    origin_note: Mapped[str | None] = mapped_column(Text)


class OfficialResult(Base):
    """The Ministry's published points of one sub-criterion, imported after publication.

    An import replaces the cycle's whole set: the Ministry publishes one table per province,
    so rows of two files are never mixed.
    """

    __tablename__ = "assessment_official_results"
    __table_args__ = (
        UniqueConstraint("cycle_id", "subcriterion"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("assessment_cycles.id", ondelete="CASCADE"), index=True)
    subcriterion: Mapped[str] = mapped_column(String(32))
    points: Mapped[float] = mapped_column(Float)
    source_filename: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(320))


REMINDER_STAGES = ("week", "eve", "late", "manual")


class Reminder(Base):
    """A reminder queued in the outbox to a focal point whose part was not submitted.

    A timed stage (a week before the due day, the eve, the day after) goes once per part;
    the message itself lives in the outbox, which the worker sends.
    """

    __tablename__ = "assessment_reminders"
    __table_args__ = (
        CheckConstraint(f"stage IN {REMINDER_STAGES!r}", name="known_stage"),
        Index("ix_assessment_reminders_part_stage", "part_id", "stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("assessment_cycles.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("assessment_parts.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(320))
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
