"""Sign-in, sign-out, the staff home page and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from math import ceil
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask import session as cookie
from sqlalchemy import Select, func, or_, select

from survey import db
from survey.accounts import access, audit_names, services, throttle
from survey.accounts.access import ADMINS, STAFF, current_user, roles_required
from survey.accounts.forms import (AuditFilterForm, ClearLockForm, DeactivateUserForm, LoginForm, PasswordChangeForm,
                                   ProvinceForm, UserForm, choices)
from survey.accounts.models import ANALYST, FOCAL_POINT, ROLE_LABELS, ROLES, SYSTEM_ADMIN, AuditEvent, SignInThrottle, User
from survey.rounds.models import Agency, Province, Round
from survey.timeutil import VIETNAM, format_local, utcnow

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
    if request.method == "POST" and not form.validate_on_submit():
        return render_template("accounts/login.html", form=form, message=None), 422  # nothing was tried
    if request.method == "POST":
        outcome = services.authenticate(db.session(), form.email.data, form.password.data,
                                        request.remote_addr or "?")
        if outcome.user is not None:
            access.start_session(outcome.user)
            return redirect(_safe_next(request.args.get("next")))
        if outcome.throttled:
            # Refused unchecked and uncounted: nothing to keep, so the status can say what happened.
            message = (f"Đăng nhập sai quá nhiều lần từ địa chỉ này. Vui lòng thử lại sau "
                       f"{format_local(outcome.locked_until)}, hoặc nhờ quản trị viên mở khóa.")
            return render_template("accounts/login.html", form=form, message=message), 429
        # A wrong password still answers 200, on purpose: the failure it counted is what the
        # throttle reads, and the edge commits only responses below 400.
        message = "E-mail hoặc mật khẩu không đúng."
    elif cookie.pop("expired", False):
        message = "Phiên làm việc đã hết hạn; vui lòng đăng nhập lại."
    return render_template("accounts/login.html", form=form, message=message)


@bp.post("/logout")
@roles_required(*STAFF)
def logout():
    services.sign_out(db.session(), current_user())
    access.end_session()
    flash("Đã đăng xuất.")
    return redirect(url_for("accounts.login"))


@bp.route("/password", methods=["GET", "POST"])
@roles_required(*STAFF)
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user()
        try:
            services.change_own_password(db.session(), user, current=form.current.data, new=form.new.data)
        except services.AccountError as problem:
            form.form_errors.append(str(problem))
        else:
            access.start_session(user)  # the new session version: this browser stays signed in, others do not
            flash("Đã đổi mật khẩu. Các phiên đăng nhập khác của bạn đã kết thúc.")
            return redirect(url_for("accounts.home"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/password.html", form=form, error=form.first_error()), status


@bp.get("/")
@roles_required(*STAFF)
def home():
    user = current_user()
    query = select(Round).order_by(Round.year.desc(), Round.id.desc())
    if user.role != SYSTEM_ADMIN:
        query = query.where(Round.province_id == user.province_id)
    return render_template("accounts/home.html", rounds=db.session().scalars(query).all())


AUDIT_PAGE_SIZE = 50  # entries per page of the audit log


def _audit_scope() -> Select:
    """The entries the signed-in administrator may read: their province's, or all for a system administrator."""
    user = current_user()
    query = select(AuditEvent)
    if user.role != SYSTEM_ADMIN:
        query = query.where(AuditEvent.province_id == user.province_id)
    return query


def _audit_filter() -> AuditFilterForm:
    """The filter form with the choices in scope: every named action plus any code found in the log."""
    session = db.session()
    scope = _audit_scope().subquery()
    found = set(session.scalars(select(scope.c.action).distinct()))
    groups: dict[str | None, list[tuple[str, str]]] = {None: [("", "Tất cả hành động")]}
    for area, label in audit_names.AREA_NAMES.items():
        codes = [code for code in audit_names.ACTION_NAMES if audit_names.area_of(code) == area]
        groups[label] = [(area, f"{label}: mọi hành động")] + [(c, audit_names.action_name(c)) for c in codes]
    unnamed = sorted(found - set(audit_names.ACTION_NAMES))
    if unnamed:  # recorded by a version that has no name for them yet: still filterable, shown as is
        groups["Khác"] = [(code, code) for code in unnamed]
    form = AuditFilterForm(request.args)
    form.action.choices = groups
    actors = session.scalars(select(scope.c.actor).distinct().order_by(scope.c.actor))
    form.actor.choices = [("", "Tất cả mọi người")] + [(a, a) for a in actors]
    return form


def _audit_query(form: AuditFilterForm) -> Select:
    """The chosen entries, newest first; call after ``form.validate()``."""
    query = _audit_scope().order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    action = form.action.data
    if action:
        # A bare area ("roster") means all of its actions; a full code means exactly that action.
        query = query.where(or_(AuditEvent.action == action, AuditEvent.action.startswith(action + ".")))
    if form.actor.data:
        query = query.where(AuditEvent.actor == form.actor.data)
    # Dates are Vietnam dates, both days included; the log stores UTC.
    if form.since.data:
        query = query.where(AuditEvent.occurred_at >= _vietnam_midnight(form.since.data))
    if form.until.data:
        query = query.where(AuditEvent.occurred_at < _vietnam_midnight(form.until.data + timedelta(days=1)))
    return query


def _vietnam_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), VIETNAM).astimezone(UTC)


@bp.get("/audit")
@roles_required(*ADMINS)
def audit_log():
    session = db.session()
    form = _audit_filter()
    if not form.validate():
        return render_template("accounts/audit.html", form=form, rows=[], total=0, page=1, pages=1,
                               args={}), 422
    query = _audit_query(form)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(ceil(total / AUDIT_PAGE_SIZE), 1)
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    events = session.scalars(query.offset((page - 1) * AUDIT_PAGE_SIZE).limit(AUDIT_PAGE_SIZE)).all()
    rows = [(event, audit_names.action_name(event.action), audit_names.describe_details(event.details))
            for event in events]
    # The filters again, for the page links and the CSV link (empty ones left out of the address).
    args = {name: value for name, value in request.args.items() if name != "page" and value}
    return render_template("accounts/audit.html", form=form, rows=rows, total=total, page=page, pages=pages,
                           args=args)


@bp.get("/audit.csv")
@roles_required(*ADMINS)
def audit_export():
    form = _audit_filter()
    if not form.validate():
        abort(422)
    content = services.audit_csv(db.session(), _audit_query(form), actor=current_user())
    return Response(content, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=nhat-ky-he-thong.csv"})


# --- accounts and provinces -------------------------------------------------------------------

def _manageable_roles() -> list[str]:
    # A province administrator may create focal points and analysts of their own province only.
    return list(ROLES) if current_user().role == SYSTEM_ADMIN else [FOCAL_POINT, ANALYST]


@bp.route("/users", methods=["GET", "POST"])
@roles_required(*ADMINS)
def users():
    session = db.session()
    user = current_user()
    form = UserForm()
    form.role.choices = choices({role: ROLE_LABELS[role] for role in _manageable_roles()})
    if form.validate_on_submit():
        try:
            created = _create_user(session, user, form)
        except services.AccountError as problem:
            form.form_errors.append(str(problem))
        else:
            flash(f"Đã tạo tài khoản {created.email}.")
            return redirect(url_for("accounts.users"), 303)
    return _users_page(session, user, form), 422 if request.method == "POST" else 200


def _create_user(session, user: User, form: UserForm) -> User:
    role = form.role.data
    if role not in _manageable_roles():
        raise services.AccountError("Bạn không được tạo tài khoản với vai trò này.")
    # A province administrator's accounts belong to their own province, whatever was posted.
    province = session.get(Province, (form.province_id.data if user.role == SYSTEM_ADMIN else user.province_id) or 0)
    agency = session.get(Agency, form.agency_id.data or 0) if role == FOCAL_POINT else None
    return services.create_user(session, email=form.email.data, full_name=form.full_name.data,
                                password=form.password.data, role=role,
                                province=None if role == SYSTEM_ADMIN else province, agency=agency, actor=user)


def _users_page(session, user: User, form: UserForm):
    query = select(User).order_by(User.is_active.desc(), User.role, User.email)
    provinces = select(Province).order_by(Province.name)
    agencies = select(Agency).where(Agency.is_active.is_(True)).order_by(Agency.name)
    if user.role != SYSTEM_ADMIN:
        query = query.where(User.province_id == user.province_id)
        provinces = provinces.where(Province.id == user.province_id)
        agencies = agencies.where(Agency.province_id == user.province_id)
    return render_template(
        "accounts/users.html", users=session.scalars(query).all(), provinces=session.scalars(provinces).all(),
        agencies=session.scalars(agencies).all(), roles=_manageable_roles(), form=form,
        deactivate=DeactivateUserForm(formdata=None), error=form.form_errors[0] if form.form_errors else None)


@bp.post("/users/deactivate")
@roles_required(*ADMINS)
def deactivate_user():
    session = db.session()
    form = DeactivateUserForm()
    if not form.validate_on_submit():
        abort(400)
    target = session.get(User, form.user_id.data)
    user = current_user()
    if target is None or (user.role != SYSTEM_ADMIN and
                          (target.province_id != user.province_id or target.role not in _manageable_roles())):
        abort(404)
    try:
        services.deactivate_user(session, target, actor=user)
    except services.AccountError as problem:
        flash(str(problem))  # nothing was written: the button is not even shown for one's own account
        return redirect(url_for("accounts.users"), 303)
    flash(f"Đã khóa tài khoản {target.email}.")
    return redirect(url_for("accounts.users"), 303)


@bp.route("/provinces", methods=["GET", "POST"])
@roles_required(SYSTEM_ADMIN)
def provinces():
    session = db.session()
    form = ProvinceForm()
    if form.validate_on_submit():
        try:
            province = services.create_province(session, form.code.data, form.name.data, actor=current_user())
        except services.AccountError as problem:
            form.form_errors.append(str(problem))
        else:
            flash(f"Đã thêm {province.name}.")
            return redirect(url_for("accounts.provinces"), 303)
    return render_template("accounts/provinces.html", form=form,
                           provinces=session.scalars(select(Province).order_by(Province.name)).all(),
                           error=form.first_error() or (form.form_errors[0] if form.form_errors else None),
                           ), 422 if request.method == "POST" else 200


# --- sign-in back-offs ------------------------------------------------------------------------

@bp.get("/sign-in-locks")
@roles_required(*ADMINS)
def sign_in_locks():
    rows = db.session().scalars(throttle.throttles_in_scope(current_user()).limit(500)).all()
    return render_template("accounts/sign_in_locks.html", rows=rows, now=utcnow(), is_locked=throttle.is_locked,
                           free=throttle.FREE_FAILURES, free_address=throttle.FREE_FAILURES_PER_ADDRESS,
                           form=ClearLockForm(formdata=None))


@bp.post("/sign-in-locks/clear")
@roles_required(*ADMINS)
def clear_sign_in_lock():
    session = db.session()
    form = ClearLockForm()
    if not form.validate_on_submit():
        abort(422)
    row = session.scalar(throttle.throttles_in_scope(current_user()).where(
        SignInThrottle.id == form.throttle_id.data))
    if row is None:
        abort(404)  # already cleared, or another province's
    services.clear_throttle(session, row, actor=current_user())
    flash(f"Đã mở khóa đăng nhập cho {row.email} từ địa chỉ {row.address}.")
    return redirect(url_for("accounts.sign_in_locks"), 303)
