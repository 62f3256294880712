"""Sign-in, sign-out, the staff home page and the audit log."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
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
