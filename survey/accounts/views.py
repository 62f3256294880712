"""Sign-in, sign-out, the staff home page and the audit log."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask import session as cookie
from sqlalchemy import select

from survey import db
from survey.accounts import access, services
from survey.accounts.access import ADMINS, STAFF, current_user, roles_required
from survey.accounts.forms import LoginForm
from survey.accounts.models import SYSTEM_ADMIN, AuditEvent
from survey.rounds.models import Round
from survey.timeutil import format_local

bp = Blueprint("accounts", __name__, url_prefix="/admin")


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would make phishing links look like ours.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("accounts.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    message = None
    if form.validate_on_submit():
        outcome = services.authenticate(db.session(), form.email.data, form.password.data,
                                        request.remote_addr or "?")
        if outcome.throttled:
            message = ("Đăng nhập sai quá nhiều lần. Tài khoản tạm khóa đăng nhập trong 15 phút; "
                       "vui lòng thử lại sau.")
        elif outcome.user is None:
            message = "E-mail hoặc mật khẩu không đúng."
        else:
            access.start_session(outcome.user)
            services.record(db.session(), "auth.login", actor=outcome.user)
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "GET" and cookie.pop("expired", False):
        message = "Phiên làm việc đã hết hạn; vui lòng đăng nhập lại."
    return render_template("admin/login.html", form=form, message=message)


@bp.post("/logout")
@roles_required(*STAFF)
def logout():
    services.record(db.session(), "auth.logout")
    access.end_session()
    flash("Đã đăng xuất.")
    return redirect(url_for("accounts.login"))


@bp.get("/")
@roles_required(*STAFF)
def home():
    user = current_user()
    query = select(Round).order_by(Round.year.desc(), Round.id.desc())
    if user.role != SYSTEM_ADMIN:
        query = query.where(Round.province_id == user.province_id)
    return render_template("admin/home.html", rounds=db.session().scalars(query).all())


def _audit_query():
    user = current_user()
    query = select(AuditEvent).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    if user.role != SYSTEM_ADMIN:
        query = query.where(AuditEvent.province_id == user.province_id)
    action = request.args.get("action", "").strip()
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    return query


@bp.get("/audit")
@roles_required(*ADMINS)
def audit_log():
    events = db.session().scalars(_audit_query().limit(500)).all()
    return render_template("admin/audit.html", events=events, action=request.args.get("action", ""))


@bp.get("/audit.csv")
@roles_required(*ADMINS)
def audit_export():
    session = db.session()
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel needs the BOM to read UTF-8 diacritics
    writer = csv.writer(buffer)
    writer.writerow(["Thời điểm", "Người thực hiện", "Hành động", "Đối tượng", "Đợt", "Chi tiết", "IP"])
    for event in session.scalars(_audit_query()):
        writer.writerow([format_local(event.occurred_at), event.actor, event.action, event.target or "",
                         event.round_id or "", event.details or "", event.ip or ""])
    services.record(session, "audit.export")
    return Response(buffer.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=nhat-ky-he-thong.csv"})


# --- accounts and provinces (issue 3) -------------------------------------------------------

def _manageable_roles() -> list[str]:
    # A province administrator may create focal points and analysts of their own province only.
    from survey.accounts.models import ANALYST, FOCAL_POINT, ROLES

    return list(ROLES) if current_user().role == SYSTEM_ADMIN else [FOCAL_POINT, ANALYST]


@bp.route("/users", methods=["GET", "POST"])
@roles_required(*ADMINS)
def users():
    from survey.accounts.models import ROLE_LABELS, User
    from survey.rounds.models import Agency, Province

    session = db.session()
    user = current_user()
    error = None
    if request.method == "POST":
        role = request.form.get("role", "")
        province = session.get(Province, request.form.get("province_id", type=int) or 0)
        if user.role != SYSTEM_ADMIN:
            province = session.get(Province, user.province_id)
        agency = session.get(Agency, request.form.get("agency_id", type=int) or 0) if role == "focal_point" else None
        try:
            if role not in _manageable_roles():
                raise services.AccountError("Bạn không được tạo tài khoản với vai trò này.")
            created = services.create_user(
                session, email=request.form.get("email", ""), full_name=request.form.get("full_name", ""),
                password=request.form.get("password", ""), role=role,
                province=None if role == SYSTEM_ADMIN else province, agency=agency)
        except services.AccountError as problem:
            session.rollback()
            error = str(problem)
        else:
            services.record(session, "user.create", target=created.email, details={"role": role},
                            province_id=created.province_id)
            flash(f"Đã tạo tài khoản {created.email}.")
            return redirect(url_for("accounts.users"), 303)
    query = select(User).order_by(User.is_active.desc(), User.role, User.email)
    provinces = select(Province).order_by(Province.name)
    agencies = select(Agency).where(Agency.is_active.is_(True)).order_by(Agency.name)
    if user.role != SYSTEM_ADMIN:
        query = query.where(User.province_id == user.province_id)
        provinces = provinces.where(Province.id == user.province_id)
        agencies = agencies.where(Agency.province_id == user.province_id)
    return render_template(
        "admin/users.html", users=session.scalars(query).all(), provinces=session.scalars(provinces).all(),
        agencies=session.scalars(agencies).all(), roles=_manageable_roles(), labels=ROLE_LABELS, error=error,
        form=request.form,
    ), 400 if error else 200


@bp.post("/users/deactivate")
@roles_required(*ADMINS)
def deactivate_user():
    from survey.accounts.models import User

    session = db.session()
    target = session.get(User, request.form.get("user_id", type=int) or 0)
    user = current_user()
    if target is None or (user.role != SYSTEM_ADMIN and
                          (target.province_id != user.province_id or target.role not in _manageable_roles())):
        abort(404)
    if target.id == user.id:
        flash("Không thể tự khóa tài khoản của mình.")
        return redirect(url_for("accounts.users"), 303)
    target.is_active = False
    target.session_version += 1  # ends their open sessions now
    services.record(session, "user.deactivate", target=target.email, province_id=target.province_id)
    flash(f"Đã khóa tài khoản {target.email}.")
    return redirect(url_for("accounts.users"), 303)


@bp.route("/provinces", methods=["GET", "POST"])
@roles_required(SYSTEM_ADMIN)
def provinces():
    from survey.rounds.models import Province

    session = db.session()
    error = None
    if request.method == "POST":
        code = request.form.get("code", "").strip().upper()
        name = " ".join(request.form.get("name", "").split())
        if not code or not name or len(code) > 16 or not code.isalnum():
            error = "Vui lòng nhập mã tỉnh (chữ và số, tối đa 16 ký tự) và tên tỉnh."
        elif session.scalar(select(Province).where(Province.code == code)) is not None:
            error = f"Đã có tỉnh mã {code}."
        else:
            session.add(Province(code=code, name=name))
            session.flush()
            services.record(session, "province.create", target=f"{code} {name}")
            flash(f"Đã thêm {name}.")
            return redirect(url_for("accounts.provinces"), 303)
    return render_template("admin/provinces.html", provinces=session.scalars(select(Province).order_by(Province.name)).all(),
                           error=error), 400 if error else 200
