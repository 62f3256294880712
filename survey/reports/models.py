"""Models of the reports area: the self-assessment points imported per round."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey.db import Base
from survey.timeutil import utcnow


class SelfAssessment(Base):
    """Points of one self-assessed sub-criterion in a round (imported from the appraised spreadsheet).

    An import replaces the round's whole set: the spreadsheet is the unit that the
    provincial council appraised, so rows from two files are never mixed.
    """

    __tablename__ = "self_assessments"
    __table_args__ = (
        UniqueConstraint("round_id", "subcriterion"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    subcriterion: Mapped[str] = mapped_column(String(32))
    points: Mapped[float] = mapped_column(Float)
    structure_key: Mapped[str] = mapped_column(String(64))
    structure_version: Mapped[str] = mapped_column(String(32))
    source_filename: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
