from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.rounds.models import Agency, Province
from survey.timeutil import utcnow

SYSTEM_ADMIN = "system_admin"
PROVINCE_ADMIN = "province_admin"
FOCAL_POINT = "focal_point"
ANALYST = "analyst"
COUNCIL_CHAIR = "council_chair"
COUNCIL_MEMBER = "council_member"
WORKING_GROUP = "working_group"
ROLES = (SYSTEM_ADMIN, PROVINCE_ADMIN, FOCAL_POINT, ANALYST, COUNCIL_CHAIR, COUNCIL_MEMBER, WORKING_GROUP)
ROLE_LABELS = {
    SYSTEM_ADMIN: "Quản trị hệ thống",
    PROVINCE_ADMIN: "Quản trị cấp tỉnh (Sở Nội vụ)",
    FOCAL_POINT: "Đầu mối cơ quan, đơn vị",
    ANALYST: "Cán bộ phân tích",
    COUNCIL_CHAIR: "Chủ tịch Hội đồng thẩm định Chỉ số CCHC",
    COUNCIL_MEMBER: "Thành viên Hội đồng thẩm định Chỉ số CCHC",
    WORKING_GROUP: "Thành viên Tổ giúp việc Hội đồng",
}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="known_role"),
        # A province administrator and an analyst belong to one province; a
        # focal point to one agency; only the system administrator to none.
        CheckConstraint(f"role = '{SYSTEM_ADMIN}' OR province_id IS NOT NULL", name="scoped_to_province"),
        CheckConstraint(f"role <> '{FOCAL_POINT}' OR agency_id IS NOT NULL", name="focal_point_has_agency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    full_name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("provinces.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on sign-out, password change or deactivation: every existing session of the user ends.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    province: Mapped[Province | None] = relationship()
    agency: Mapped[Agency | None] = relationship()

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


class SignInThrottle(Base):
    """Failed sign-ins to one account from one client address, and the back-off they earned.

    Keyed by (account, address), so that failures from one place never lock the account
    for someone elsewhere. The row whose email is ``ANY_ACCOUNT`` counts an address's failures
    over all accounts (one password tried on many accounts).
    """

    __tablename__ = "sign_in_throttles"
    __table_args__ = (UniqueConstraint("email", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


ANY_ACCOUNT = "*"


class AuditEvent(Base):
    """Who did what and when. Never holds answers; holds identities only as targets of admin actions."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_province_at", "province_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(320))  # e-mail at the time, kept if the user is deleted
    action: Mapped[str] = mapped_column(String(64))  # e.g. "auth.login", "roster.import"
    province_id: Mapped[int | None] = mapped_column(ForeignKey("provinces.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"))
    target: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
