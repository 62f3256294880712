"""Accounts, password checks with throttling, and the audit log."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from survey.accounts import throttle
from survey.accounts.audit_names import action_name, describe_details
from survey.accounts.models import FOCAL_POINT, ROLES, SYSTEM_ADMIN, AuditEvent, SignInThrottle, User
from survey.rounds.models import Agency, Province
from survey.spreadsheets import write_csv
from survey.timeutil import format_local, utcnow

MIN_PASSWORD_LENGTH = 10
# werkzeug's default is scrypt: memory-hard, in the standard library, no extra dependency. The
# test suite alone sets PASSWORD_HASH_METHOD to a cheap method (tests/conftest.py): scrypt's
# 0.14 s per hash was a sixth of the time of the tests that sign staff in.
DEFAULT_HASH_METHOD = "scrypt"


def _hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD", DEFAULT_HASH_METHOD) if has_app_context() \
        else DEFAULT_HASH_METHOD


def _hash(password: str) -> str:
    return generate_password_hash(password, method=_hash_method())


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash to check unknown accounts against, with the method real ones use: the same time either way."""
    return generate_password_hash("timing equaliser for unknown accounts", method=method)


class AccountError(ValueError):
    pass


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise AccountError(f"Địa chỉ e-mail không hợp lệ: {email!r}.") from error


def create_user(session: Session, *, email: str, full_name: str, password: str, role: str,
                province: Province | None = None, agency: Agency | None = None, actor: User | None = None) -> User:
    """A new staff account, audited (``actor`` None: the signed-in user in a request, else the system)."""
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"Vai trò không hợp lệ: {role}.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.")
    if role != SYSTEM_ADMIN and province is None:
        raise AccountError("Tài khoản này phải thuộc một tỉnh.")
    if role == FOCAL_POINT and agency is None:
        raise AccountError("Tài khoản đầu mối phải thuộc một cơ quan, đơn vị.")
    if agency is not None and province is not None and agency.province_id != province.id:
        raise AccountError("Cơ quan không thuộc tỉnh đã chọn.")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError(f"Đã có tài khoản với e-mail {email}.")
    user = User(
        email=email, full_name=unicodedata.normalize("NFC", full_name.strip()),
        password_hash=_hash(password), role=role,
        province_id=province.id if province else None, agency_id=agency.id if agency else None,
    )
    session.add(user)
    session.flush()
    record(session, "user.create", target=user.email, details={"role": role}, province_id=user.province_id,
           actor=actor)
    return user


def deactivate_user(session: Session, user: User, *, actor: User | None = None) -> None:
    if actor is not None and user.id == actor.id:
        raise AccountError("Không thể tự khóa tài khoản của mình.")
    user.is_active = False
    user.session_version += 1  # ends their open sessions now
    record(session, "user.deactivate", target=user.email, province_id=user.province_id, actor=actor)


def create_province(session: Session, code: str, name: str, *, actor: User | None = None) -> Province:
    code, name = code.strip().upper(), " ".join(name.split())
    if not code or not name or len(code) > 16 or not code.isalnum():
        raise AccountError("Vui lòng nhập mã tỉnh (chữ và số, tối đa 16 ký tự) và tên tỉnh.")
    if session.scalar(select(Province).where(Province.code == code)) is not None:
        raise AccountError(f"Đã có tỉnh mã {code}.")
    province = Province(code=code, name=name)
    session.add(province)
    session.flush()
    record(session, "province.create", target=f"{code} {name}", actor=actor)
    return province


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.")
    user.password_hash = _hash(password)
    user.session_version += 1


def reset_password(session: Session, email: str, password: str) -> User:
    """An operator sets a new password for an account (a forgotten one); its sessions end."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise AccountError(f"Không có tài khoản {email}.")
    set_password(user, password)
    record(session, "auth.password_reset", target=user.email)
    return user


def change_own_password(session: Session, user: User, *, current: str, new: str) -> None:
    """A signed-in user replaces their password; every other session of theirs ends.

    The current password is asked again so that a borrowed, unlocked browser is not
    enough to take the account over.
    """
    if not check_password_hash(user.password_hash, current):
        raise AccountError("Mật khẩu hiện tại không đúng.")
    if new == current:
        raise AccountError("Mật khẩu mới phải khác mật khẩu hiện tại.")
    set_password(user, new)
    record(session, "auth.password_change", actor=user)


@dataclass(frozen=True)
class SignIn:
    user: User | None
    locked_until: datetime | None = None  # set when refused by a back-off, unchecked

    @property
    def throttled(self) -> bool:
        return self.locked_until is not None


def authenticate(session: Session, email: str, password: str, address: str) -> SignIn:
    """Check a password unless (account, address) is backing off; count a failure against both."""
    email = email.strip().lower()
    now = utcnow()
    lock = throttle.locked_until(session, email, address, now)
    if lock is not None:
        return SignIn(None, locked_until=lock)
    user = session.scalar(select(User).where(User.email == email))
    valid = check_password_hash(user.password_hash if user else _dummy_hash(_hash_method()), password)
    if not (user and valid and user.is_active):
        throttle.count_failure(session, email, address, now)
        return SignIn(None)
    throttle.forget(session, email, address)
    user.last_login_at = now
    record(session, "auth.login", actor=user)
    return SignIn(user)


def clear_throttle(session: Session, row: SignInThrottle, *, actor: User | None = None) -> None:
    """An administrator lifts a back-off (a user locked out by someone else's attempts)."""
    record(session, "auth.unlock", target=f"{row.email} @ {row.address}",
           details={"failures": row.failures}, actor=actor)
    session.delete(row)
    session.flush()


def sign_out(session: Session, user: User) -> None:
    """End every session of ``user``, not just this browser's: a copied cookie stops working too."""
    user.session_version += 1
    record(session, "auth.logout", actor=user)


AUDIT_COLUMNS = ["Thời điểm", "Người thực hiện", "Hành động", "Mã hành động", "Đối tượng", "Đợt", "Chi tiết", "IP"]


def audit_csv(session: Session, events: Select, *, actor: User | None = None) -> bytes:
    """The chosen audit events as CSV for Excel; the export itself is audited.

    Targets are typed or uploaded by users (a file named ``=HYPERLINK(...).csv``), so the file is
    written by survey.spreadsheets, which keeps every such value text.
    """
    rows = [[format_local(event.occurred_at), event.actor, action_name(event.action), event.action,
             event.target or "", event.round_id or "", describe_details(event.details), event.ip or ""]
            for event in session.scalars(events)]
    record(session, "audit.export", actor=actor)
    return write_csv(AUDIT_COLUMNS, rows)


def record(session: Session, action: str, *, target: str | None = None, round_id: int | None = None,
           province_id: int | None = None, details: dict | None = None, actor: User | None = None) -> AuditEvent:
    """Append to the audit log, in the same transaction as the action it records."""
    if actor is None and has_request_context():
        actor = g.get("user")
    event = AuditEvent(
        user_id=actor.id if actor else None,
        actor=actor.email if actor else "hệ thống",
        action=action, target=target, round_id=round_id,
        province_id=province_id if province_id is not None else (actor.province_id if actor else None),
        details=details or {}, ip=request.remote_addr if has_request_context() else None,
    )
    session.add(event)
    session.flush()
    return event
