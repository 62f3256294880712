"""A sample drawn from the dossier register, and its members while the round runs.

What is kept, and for how long:

* ``DossierSample`` is the draw: the seed, the size rule, the register's
  SHA-256 (of its dossier codes, procedures, agencies and dates: no contact)
  and, per stratum, how many dossiers the register held and how many were
  drawn. These are counts and stay for good, so the draw can be audited and
  repeated from the same file.
* ``SampleMember`` ties a drawn dossier to the respondent created to invite
  its citizen (whose phone and e-mail live on ``respondents``, like anyone
  else's on the roster). Members are deleted, and the respondents' contacts
  blanked, when the round closes (``services.purge_closed_rounds``); the
  sample then keeps per stratum how many were invited and answered.
* Dossiers not drawn are never stored. No table here names a response:
  who answered is the ledger (``submissions``), what was answered is
  ``responses``, and the two never meet.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.rounds.models import Round, RoundGroup
from survey.timeutil import utcnow

SIZE_BY_RULE = "rule"  # n = N / (1 + N e^2), rounded up
SIZE_ENTERED = "entered"  # the administrator typed n
SIZE_SOURCES = (SIZE_BY_RULE, SIZE_ENTERED)


class DossierSample(Base):
    """One stratified draw from one register file, for one round's citizen group."""

    __tablename__ = "dossier_samples"
    __table_args__ = (
        CheckConstraint("population > 0", name="population_positive"),
        CheckConstraint("size > 0 AND size <= population", name="size_within_population"),
        CheckConstraint(f"size_source IN {SIZE_SOURCES!r}", name="known_size_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the register as drawn from (see register.Register.digest): the same file gives the same digest.
    register_sha256: Mapped[str] = mapped_column(String(64))
    period_from: Mapped[date] = mapped_column(Date)  # the earliest and latest ngày trả kết quả of the register
    period_to: Mapped[date] = mapped_column(Date)
    seed: Mapped[str] = mapped_column(String(40))  # decimal digits, drawn or typed
    margin: Mapped[float] = mapped_column(Float)  # e of the size rule (0.05 by default), recorded even when entered
    size_source: Mapped[str] = mapped_column(String(16))
    population: Mapped[int] = mapped_column(Integer)  # N: dossiers in the register
    size: Mapped[int] = mapped_column(Integer)  # n: dossiers drawn
    # [{"agency": code, "agency_name", "procedure": code, "population": N_h, "drawn": n_h,
    #   and after the purge "invited", "submitted"}], in stratum order. Counts only.
    strata: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the members and contacts were deleted (the round had closed).
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    round: Mapped[Round] = relationship()
    group: Mapped[RoundGroup] = relationship()


class SampleMember(Base):
    """A drawn dossier and the respondent who stands for its citizen; deleted when the round closes."""

    __tablename__ = "sample_members"
    __table_args__ = (UniqueConstraint("sample_id", "dossier_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("dossier_samples.id", ondelete="CASCADE"), index=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id", ondelete="CASCADE"), unique=True)
    stratum: Mapped[int] = mapped_column(Integer)  # index into the sample's strata
    dossier_code: Mapped[str] = mapped_column(String(64))  # mã hồ sơ, for the audit while the round runs
