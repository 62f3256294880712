"""Collection points, the province's administrative procedures, and what abuse controls keep.

What is kept apart from the answers, and why:

* ``DossierDigest`` holds a keyed hash of each dossier number (mã hồ sơ) that
  was used to answer, per round only: no point, no time, no key to a
  response. It exists to refuse a second response for the same dossier and
  is purged when the round closes (``services.purge_closed_rounds``).
* ``PointArrival`` holds, per point, the 10-minute window in which a
  response arrived: the least that lets the monitoring page flag a burst.
  Its id is not stored anywhere else and responses have random ids, so
  neither joins the two. It is purged with the dossier digests.
* ``KioskReceipt`` holds the random id a kiosk page gave one submission, so
  that a submission retried after a network drop is stored once. The id is
  drawn anew for every submission (never per device), is kept with its round
  and the day only, never with the point or the response, and is purged after
  ``KIOSK_RECEIPT_DAYS`` and when the round closes.
* Rate-limit counters (client address, device cookie) live only in the
  limiter's storage (memory or Redis), with their own expiry: never in the
  database.

A response itself records only its channel, its point and, if the citizen
chose one, the procedure (columns of ``responses``, see survey.respond.models).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.rounds.models import Round, RoundGroup
from survey.timeutil import utcnow

# How a response reached the platform. "email" is the personal link (sent by
# e-mail or exported for SMS); the others are this area's channels.
# "sample" is a citizen drawn from the dossier register (survey.samples), whose personal
# link went out by e-mail or in the SMS export.
CHANNELS = ("email", "point", "kiosk", "paper", "sms", "sample")
CHANNEL_LABELS = {"email": "Đường dẫn cá nhân", "point": "Điểm khảo sát (mã QR)", "kiosk": "Máy kiosk",
                  "paper": "Phiếu giấy", "sms": "Tin nhắn SMS", "sample": "Mẫu từ sổ hồ sơ (SMS, e-mail)"}

# What a point does when its expected sample is reached.
QUOTA_ACCEPT = "accept"  # keep accepting, and say that the quota is reached
QUOTA_REFUSE = "refuse"  # refuse further responses, saying why
QUOTA_POLICIES = (QUOTA_ACCEPT, QUOTA_REFUSE)


class Procedure(Base):
    """An administrative procedure (thủ tục hành chính) of the province's list, imported from a spreadsheet."""

    __tablename__ = "procedures"
    __table_args__ = (UniqueConstraint("province_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))  # mã thủ tục
    name: Mapped[str] = mapped_column(String(500))  # tên thủ tục
    field: Mapped[str] = mapped_column(String(255), default="")  # lĩnh vực
    agency_name: Mapped[str] = mapped_column(String(255), default="")  # cơ quan thực hiện


class CollectionPoint(Base):
    """A place where citizens answer a round's citizen questionnaire: a counter, a one-stop shop."""

    __tablename__ = "collection_points"
    __table_args__ = (
        CheckConstraint("quota IS NULL OR quota > 0", name="quota_positive"),
        CheckConstraint(f"quota_policy IN {QUOTA_POLICIES!r}", name="known_quota_policy"),
        # An index rather than a constraint: SQLite adds a unique index to an existing table in place.
        Index("ix_collection_points_kiosk_token", "kiosk_token", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    # The group whose questionnaire citizens answer here (the round's citizen group).
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    place: Mapped[str] = mapped_column(String(255), default="")  # the address shown on the poster
    # Printed on posters and typed by citizens, so kept in clear (unlike personal
    # links, a point's link is public by design): short, random, unguessable
    # enough that points cannot be enumerated (see services.new_point_token).
    token: Mapped[str] = mapped_column(String(16), unique=True)
    quota: Mapped[int | None] = mapped_column(Integer)  # expected sample; None: no quota
    quota_policy: Mapped[str] = mapped_column(String(16), default=QUOTA_ACCEPT)
    asks_dossier: Mapped[bool] = mapped_column(Boolean, default=False)  # one response per dossier
    # The secret part of the kiosk link (/p/<kiosk_token>/kiosk), handed only to the staff who set up
    # a tablet: kiosk mode serves many citizens from one device, so it skips the per-device limit
    # and must not be reachable from the public poster. None: kiosk mode is off.
    kiosk_token: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    round: Mapped[Round] = relationship()
    group: Mapped[RoundGroup] = relationship()

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class DossierDigest(Base):
    """HMAC of a dossier number that answered in a round: one response per dossier. Nothing else."""

    __tablename__ = "dossier_digests"
    __table_args__ = (UniqueConstraint("round_id", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64))


class PointArrival(Base):
    """That a response arrived at a point within a 10-minute window: for flagging bursts only."""

    __tablename__ = "point_arrivals"
    __table_args__ = (Index("ix_point_arrivals_point_window", "point_id", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("collection_points.id", ondelete="CASCADE"))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# How long a kiosk submission id is remembered. The kiosk page gives up retrying a
# submission after one day (survey/static/kiosk.js), so a retry always finds its receipt.
KIOSK_RECEIPT_DAYS = 2


class KioskReceipt(Base):
    """A kiosk submission id already stored: a retry after a network drop stores nothing more."""

    __tablename__ = "kiosk_receipts"
    __table_args__ = (UniqueConstraint("round_id", "submission_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    submission_id: Mapped[str] = mapped_column(String(32))  # random, drawn by the page for one submission
    received_on: Mapped[date] = mapped_column(Date)  # the day only: enough to purge


class PaperBatch(Base):
    """Paper forms returned together: from one point (or none), collected on one day, by one team."""

    __tablename__ = "paper_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"))
    collection_point_id: Mapped[int | None] = mapped_column(ForeignKey("collection_points.id"))
    collected_on: Mapped[date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(String(255), default="")  # the survey team (tổ khảo sát)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    round: Mapped[Round] = relationship()
    group: Mapped[RoundGroup] = relationship()
    point: Mapped[CollectionPoint | None] = relationship()


class PaperEntry(Base):
    """One clerk's keying of one paper form: the first or the second of its two passes.

    The schema holds the rules of double entry: at most two passes of a form
    in a batch, and never two by the same clerk.
    """

    __tablename__ = "paper_entries"
    __table_args__ = (
        UniqueConstraint("batch_id", "form_number", "pass_number"),
        UniqueConstraint("batch_id", "form_number", "clerk_id"),
        CheckConstraint("pass_number IN (1, 2)", name="two_passes"),
        CheckConstraint("form_number > 0", name="form_number_positive"),
        CheckConstraint("seconds IS NULL OR seconds >= 0", name="seconds_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("paper_batches.id", ondelete="CASCADE"), index=True)
    form_number: Mapped[int] = mapped_column(Integer)
    pass_number: Mapped[int] = mapped_column(Integer)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # As keyed, checked against the questionnaire: {question code: [option codes] or text}.
    answers: Mapped[dict] = mapped_column(JSON)
    # The procedure (mã thủ tục) keyed from the form, if the paper names one; compared like an answer.
    # No foreign key, as responses.procedure_id: procedures are never deleted (migration 0020).
    procedure_id: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[int | None] = mapped_column(Integer)  # from the entry page being served to the form keyed
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Questions on which this pass differed from the reconciled form; None until reconciled.
    mismatches: Mapped[int | None] = mapped_column(Integer)


class PaperForm(Base):
    """A paper form reconciled and stored as a response: at most once per number in a batch.

    No link to the response (which keeps only its channel and point), like the
    ledger of who submitted a personal link.
    """

    __tablename__ = "paper_forms"
    __table_args__ = (UniqueConstraint("batch_id", "form_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("paper_batches.id", ondelete="CASCADE"), index=True)
    form_number: Mapped[int] = mapped_column(Integer)
    differences: Mapped[int] = mapped_column(Integer)  # questions on which the two passes disagreed
    reconciled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the passes agreed
    reconciled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
