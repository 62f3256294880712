from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.rounds.models import Agency, Round, RoundGroup
from survey.timeutil import utcnow


class Respondent(Base):
    """A person asked to answer. Identity lives here and never reaches a response."""

    __tablename__ = "respondents"
    __table_args__ = (
        CheckConstraint("length(trim(full_name)) > 0", name="name_not_blank"),
        # One listed person per e-mail in a round: the database backs the import's duplicate check.
        Index("ix_respondents_round_email", "round_id", "email_normalised", unique=True,
              sqlite_where=text("removed_at IS NULL AND email_normalised IS NOT NULL"),
              postgresql_where=text("removed_at IS NULL AND email_normalised IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(255))
    position: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    # Lower-cased e-mail: "An.Nguyen@x.vn" and "an.nguyen@x.vn" are the same person.
    email_normalised: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    # The channel this person's response is stored with (survey.collection.models.CHANNELS):
    # "email" for the roster, "sample" for a citizen drawn from the dossier register (survey.samples).
    response_channel: Mapped[str] = mapped_column(String(16), default="email", server_default="email")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Removal is soft: links, submissions and the audit trail still refer to the row.
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("roster_imports.id", ondelete="SET NULL"))

    round: Mapped[Round] = relationship()
    group: Mapped[RoundGroup] = relationship()
    agency: Mapped[Agency | None] = relationship()


class RosterImport(Base):
    """An uploaded list between preview and confirmation.

    The file and its parsed, validated rows stay on the server: confirming applies what was
    previewed, never what a client sends back.
    """

    __tablename__ = "roster_imports"
    __table_args__ = (CheckConstraint("status IN ('pending', 'applied', 'discarded')", name="known_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    # Set when a focal point imports: every row is forced into this agency.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The uploaded bytes, kept until applied or discarded so that columns can be re-mapped.
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)  # field -> column index
    rows: Mapped[list] = mapped_column(JSON, default=list)  # valid rows, normalised
    problems: Mapped[list] = mapped_column(JSON, default=list)  # [{row, column, message}]
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    # The province administrator's choice for each conflict: {"<row>": {"id": respondent, "choice": keep|take}}.
    decisions: Mapped[dict | None] = mapped_column(JSON, default=dict)
    row_count: Mapped[int] = mapped_column(Integer, default=0)

    round: Mapped[Round] = relationship()
    agency: Mapped[Agency | None] = relationship()
