from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.timeutil import as_utc, utcnow


class Province(Base):
    __tablename__ = "provinces"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # Random, replaced by the database on every write to the province's procedures (migration
    # 0023): what keys the list's copies in memory. NULL: the province never had a procedure.
    procedure_list_stamp: Mapped[str | None] = mapped_column(String(32))


class Agency(Base):
    """A body that supplies respondents: a department, the Council office, a district or commune."""

    __tablename__ = "agencies"
    __table_args__ = (UniqueConstraint("province_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))  # department | council | district | commune | other
    # An agency that no longer exists (districts abolished in 2025) is kept for past rounds.
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    province: Mapped[Province] = relationship()


class AgencyAlias(Base):
    """Another name a province's lists use for one of its agencies ("HĐND tỉnh Lào Cai").

    Mapped once by the province administrator from an import preview; later imports read it.
    """

    __tablename__ = "agency_aliases"
    __table_args__ = (UniqueConstraint("province_id", "folded"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))  # as written in the file
    # Lower case without diacritics or punctuation: the key lists are matched on.
    folded: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    agency: Mapped[Agency] = relationship()


def window_state(opens_at: datetime, closes_at: datetime, now: datetime | None = None) -> str:
    now = now or utcnow()
    if now < as_utc(opens_at):
        return "scheduled"
    if now >= as_utc(closes_at):
        return "closed"
    return "open"


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
    # The consolidated respondent list is due at the Ministry on this day (10/12 by default).
    ministry_deadline: Mapped[date | None] = mapped_column(Date)

    province: Mapped[Province] = relationship()
    groups: Mapped[list[RoundGroup]] = relationship(
        back_populates="round", order_by="RoundGroup.position", cascade="all, delete-orphan"
    )
    milestones: Mapped[list[RoundMilestone]] = relationship(
        back_populates="round", order_by="RoundMilestone.position", cascade="all, delete-orphan"
    )

    def state(self, now: datetime | None = None) -> str:
        """'scheduled', 'open' or 'closed': derived from the window, never stored."""
        return window_state(self.opens_at, self.closes_at, now)


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


class RoundMilestone(Base):
    """A step of the province's plan (e.g. list to the Ministry by 10/12); late when past due and not done."""

    __tablename__ = "round_milestones"
    __table_args__ = (CheckConstraint("starts_on IS NULL OR starts_on <= due_on", name="dates_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(255))
    starts_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    # Edited by hand: it stays where it was put; the others move with the round's year and deadline.
    is_fixed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    round: Mapped[Round] = relationship(back_populates="milestones")

    def status(self, today: date) -> str:
        """'done', 'late', 'current' (inside its period) or 'upcoming'."""
        if self.done_on is not None:
            return "done"
        if today > self.due_on:
            return "late"
        if self.starts_on is None or today >= self.starts_on:
            return "current"
        return "upcoming"


class RoundQuota(Base):
    """How many respondents an agency is expected to list in a group of a round."""

    __tablename__ = "round_quotas"
    __table_args__ = (
        UniqueConstraint("round_id", "agency_id", "group_id"),
        CheckConstraint("expected >= 0", name="expected_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"), index=True)
    expected: Mapped[int] = mapped_column(Integer)

    agency: Mapped[Agency] = relationship()
    group: Mapped[RoundGroup] = relationship()
