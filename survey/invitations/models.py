"""Models of the invitations area (issue 4): the outbox, per-round templates and settings, schedules.

Delivery state lives here, never on the roster: a respondent's invitation
history is the list of their outbox rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from survey.db import Base
from survey.timeutil import utcnow

INVITATION = "invitation"
REMINDER = "reminder"
KINDS = (INVITATION, REMINDER)
KIND_LABELS = {INVITATION: "Thư mời", REMINDER: "Thư nhắc"}
# To an agency's focal point, not a respondent: its response rate and who has not submitted.
DIGEST = "digest"
OUTBOX_KINDS = (*KINDS, DIGEST)
OUTBOX_KIND_LABELS = {**KIND_LABELS, DIGEST: "Thư tổng hợp gửi đầu mối"}

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
# Dropped before sending because it no longer had a purpose: the person submitted, or the round closed.
CANCELLED = "cancelled"
STATUSES = (QUEUED, SENDING, SENT, FAILED, CANCELLED)
STATUS_LABELS = {QUEUED: "Đang chờ gửi", SENDING: "Đang gửi", SENT: "Đã gửi", FAILED: "Gửi lỗi",
                 CANCELLED: "Đã hủy (không còn cần gửi)"}

class MailSettings(Base):
    """Reminder rules of a round: at most ``reminder_max`` per person, ``reminder_interval_days`` apart."""

    __tablename__ = "mail_settings"
    __table_args__ = (
        CheckConstraint("reminder_max >= 0 AND reminder_max <= 20", name="reminder_max_range"),
        CheckConstraint("reminder_interval_days >= 1 AND reminder_interval_days <= 60", name="interval_range"),
    )

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    reminder_max: Mapped[int] = mapped_column(Integer, default=3)
    reminder_interval_days: Mapped[int] = mapped_column(Integer, default=7)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MailTemplate(Base):
    """A round's own wording of one kind of message; absent means the shipped default."""

    __tablename__ = "mail_templates"
    __table_args__ = (
        UniqueConstraint("round_id", "kind"),
        CheckConstraint(f"kind IN {KINDS!r}", name="known_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class OutboxMessage(Base):
    """One e-mail, written in the transaction that decided to send it; the worker delivers it.

    ``body`` is the complete RFC 5322 message (with its personal link, so as
    sensitive as the link itself); it is erased once delivered or failed.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="known_status"),
        CheckConstraint(f"kind IN {OUTBOX_KINDS!r}", name="known_kind"),
        CheckConstraint(f"(status = '{SENT}') = (sent_at IS NOT NULL)", name="sent_has_time"),
        CheckConstraint(f"status <> '{SENDING}' OR claimed_at IS NOT NULL", name="sending_is_claimed"),
        # The worker's question: what is due now, in order.
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        Index("ix_outbox_messages_respondent", "respondent_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    respondent_id: Mapped[int | None] = mapped_column(ForeignKey("respondents.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    # Generated at enqueue time and never changed: a retry after a crash
    # carries the same id, so the receiving side can drop the duplicate.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The server's last reply ("550 5.1.1 No such user") or the connection error.
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class MailSchedule(Base):
    """Invitations or reminders to enqueue at a later time (the worker runs them when due)."""

    __tablename__ = "mail_schedules"
    __table_args__ = (
        CheckConstraint(f"kind IN {KINDS!r}", name="known_kind"),
        Index("ix_mail_schedules_due", "done_at", "run_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enqueued: Mapped[int | None] = mapped_column(Integer)


# Why a digest schedule stopped.
STOP_CLOSED = "closed"
STOP_COMPLETE = "complete"
STOP_CANCELLED = "cancelled"
STOP_REASONS = (STOP_CLOSED, STOP_COMPLETE, STOP_CANCELLED)
STOP_LABELS = {STOP_CLOSED: "đợt khảo sát đã đóng", STOP_COMPLETE: "mọi người đã nộp phiếu",
               STOP_CANCELLED: "quản trị viên đã dừng"}


class DigestSchedule(Base):
    """The digest to agencies' focal points of one round: when it next goes, how often, whether it stopped.

    Stopped is recorded, not deleted, so the campaign page can say why the digests ended.
    """

    __tablename__ = "digest_schedules"
    __table_args__ = (
        CheckConstraint("interval_days >= 1 AND interval_days <= 30", name="interval_range"),
        CheckConstraint(f"stop_reason IS NULL OR stop_reason IN {STOP_REASONS!r}", name="known_stop_reason"),
        CheckConstraint("(stopped_at IS NULL) = (stop_reason IS NULL)", name="stopped_has_reason"),
        Index("ix_digest_schedules_due", "stopped_at", "next_run_at"),
    )

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    interval_days: Mapped[int] = mapped_column(Integer)
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Digests queued by the last run (one per focal point of an agency with someone left).
    last_enqueued: Mapped[int | None] = mapped_column(Integer)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stop_reason: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
