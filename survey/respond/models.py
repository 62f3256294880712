"""Links, drafts, the submission ledger and the anonymous responses.

The anonymity guarantee is structural:

* ``Submission`` records *who* has submitted (respondent, time) and nothing
  of what they answered.
* ``Response`` and ``Answer`` record *what* was answered, with the group and a
  week-coarsened date only: no respondent, no link, no exact time, and a
  random primary key, so neither a foreign key, an ID sequence nor a
  timestamp joins the two tables.
* ``AnswerCount`` holds, per group, how many responses chose each option:
  counts only, written in the transaction that writes the response.
* ``Draft`` holds answers next to a respondent only until submission, when it
  is deleted in the same transaction that writes the response.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.roster.models import Respondent
from survey.timeutil import utcnow


class AccessLink(Base):
    __tablename__ = "access_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the token; the token itself exists only in the link sent out.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set on the first visit of the landing page: the "opened" stage of monitoring.
    first_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    respondent: Mapped[Respondent] = relationship()


class Draft(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent_id: Mapped[int] = mapped_column(
        ForeignKey("respondents.id", ondelete="CASCADE"), unique=True
    )
    # {question_code: [option_code, ...] | "free text"}
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Submission(Base):
    """The ledger of who submitted. Unique per respondent: the database enforces exactly-once."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id", ondelete="CASCADE"), unique=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _random_id() -> str:
    return uuid.uuid4().hex


class Response(Base):
    __tablename__ = "responses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id"), index=True)
    questionnaire_key: Mapped[str] = mapped_column(String(64))
    questionnaire_version: Mapped[str] = mapped_column(String(32))
    submitted_week: Mapped[date] = mapped_column(Date)
    # How it was collected (survey.collection.models.CHANNELS), at which point and, if the
    # citizen chose one, after which procedure: places and services, never a person or device.
    # No foreign keys, as answers.group_id: on SQLite adding one copies the table, whose DROP
    # would cascade to every answer; points and procedures are never deleted (migration 0012).
    channel: Mapped[str] = mapped_column(String(16), default="email", server_default="email")
    collection_point_id: Mapped[int | None] = mapped_column(Integer, index=True)
    procedure_id: Mapped[int | None] = mapped_column(Integer)

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class Answer(Base):
    """One chosen option (several rows for a multiple-choice question) or one text."""

    __tablename__ = "answers"
    # The response-level reads (reliability, the SPSS export) take a round's
    # groups in response order. The entries of one response are adjacent in
    # both indexes, so a submission writes a page or two of each; an index
    # keyed by question and option put its 44 entries on 44 pages (0007).
    __table_args__ = (Index("ix_answers_group_response", "group_id", "response_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[str] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    # A copy of the response's group (whose foreign key guards it), written with
    # it. No key of its own: it cost PostgreSQL one trigger query per answer,
    # a tenth of the submission's throughput (migration 0006).
    group_id: Mapped[int] = mapped_column(Integer)
    question_code: Mapped[str] = mapped_column(String(64))
    option_code: Mapped[str | None] = mapped_column(String(64))
    text_value: Mapped[str | None] = mapped_column(Text)


class AnswerCount(Base):
    """How many of a group's responses chose each option: what every index is computed from.

    Written by the submission, in its transaction, from the rows it writes to
    ``answers`` (see ``survey.responses.counts``), so the counts are exact and
    reading them costs nothing whatever the number of answers. A row whose
    ``option_code`` is ``EXTRA_OPTIONS`` counts the options chosen beyond the
    first in a question: the responses that answered a question are the sum of
    its options' counts minus that. The counts of a cell are split over
    ``slot`` rows on PostgreSQL, so that concurrent submissions do not queue
    on one row; readers add the slots up.
    """

    __tablename__ = "answer_counts"

    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    question_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    option_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
