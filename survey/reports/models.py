"""Models of the reports area: frozen results, and the retired self-assessment points upload's table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.timeutil import utcnow


class SelfAssessment(Base):
    """Points of one self-assessed sub-criterion in a round, from the retired points upload.

    Nothing writes or reads this table any more: migration 0019 copied every round's rows into
    its assessment cycle as a frozen appraisal version, and the table is kept as it was so that
    the data survives a downgrade and can be checked against the copy.
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


class FrozenResult(Base):
    """A computation as it was sent to the council and the Ministry (the round's official result).

    Written once by ``survey.reports.freezing.freeze`` and never updated: no page or command
    edits or deletes it, and a later recomputation is compared with it, never stored over it.
    The round cannot be deleted from under it (RESTRICT).
    """

    __tablename__ = "frozen_results"
    __table_args__ = (
        UniqueConstraint("round_id", "name"),
        CheckConstraint("name <> ''", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(255))
    options: Mapped[dict] = mapped_column(JSON)
    reliability: Mapped[bool] = mapped_column(Boolean)
    # Questionnaire and structure versions with their content hashes, as the computation read them.
    provenance: Mapped[dict] = mapped_column(JSON)
    # Canonical JSON text, not a JSON column: the hash is over these exact bytes, which a
    # database's JSON type could re-serialise (key order, number spelling).
    figures: Mapped[str] = mapped_column(Text)
    figures_sha256: Mapped[str] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    frozen_by: Mapped[str] = mapped_column(String(320))  # kept if the account goes
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    files: Mapped[list[FrozenFile]] = relationship(order_by="FrozenFile.id", viewonly=True)


class FrozenFile(Base):
    """One file of a frozen result, kept byte for byte (content loaded only for a download)."""

    __tablename__ = "frozen_result_files"
    __table_args__ = (UniqueConstraint("frozen_result_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    frozen_result_id: Mapped[int] = mapped_column(ForeignKey("frozen_results.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str] = mapped_column(String(255))
    mimetype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
