from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.timeutil import as_utc, utcnow


class Province(Base):
    __tablename__ = "provinces"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class Agency(Base):
    """A body that supplies respondents: a department, the Council office, a district or commune."""

    __tablename__ = "agencies"
    __table_args__ = (UniqueConstraint("province_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))  # department | council | district | commune | other

    province: Mapped[Province] = relationship()


class Round(Base):
    """One year's survey of one province (đợt khảo sát)."""

    __tablename__ = "rounds"
    __table_args__ = (
        UniqueConstraint("province_id", "year", "title"),
        CheckConstraint("closes_at > opens_at", name="window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    province: Mapped[Province] = relationship()
    groups: Mapped[list[RoundGroup]] = relationship(
        back_populates="round", order_by="RoundGroup.position", cascade="all, delete-orphan"
    )

    def state(self, now: datetime | None = None) -> str:
        """'scheduled', 'open' or 'closed': derived from the window, never stored."""
        now = now or utcnow()
        if now < as_utc(self.opens_at):
            return "scheduled"
        if now >= as_utc(self.closes_at):
            return "closed"
        return "open"


class RoundGroup(Base):
    """A respondent group of a round, bound to one immutable questionnaire version."""

    __tablename__ = "round_groups"
    __table_args__ = (UniqueConstraint("round_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=0)
    questionnaire_key: Mapped[str] = mapped_column(String(64))
    questionnaire_version: Mapped[str] = mapped_column(String(32))
    # Content hash of the questionnaire file when the round adopted it: the
    # version in use is immutable, and a changed file is refused, not served.
    questionnaire_hash: Mapped[str] = mapped_column(String(64))

    round: Mapped[Round] = relationship(back_populates="groups")
