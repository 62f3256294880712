"""Who is signed in, and what they may see.

Every admin view is wrapped by ``roles_required``, which also records the
roles on the view function so that a test can walk the URL map and prove no
admin endpoint is left unguarded. Scope (which province, which agency) is
checked by the loaders below, which answer 404 for objects outside the
user's scope so that their existence is not revealed either.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import abort, g, redirect, render_template, request, session as cookie, url_for

from survey import db
from survey.accounts.models import (
    ANALYST, COUNCIL_CHAIR, COUNCIL_MEMBER, FOCAL_POINT, PROVINCE_ADMIN, SYSTEM_ADMIN, WORKING_GROUP, User,
)
from survey.rounds.models import Agency, Round
from survey.timeutil import utcnow

IDLE_TIMEOUT = timedelta(minutes=60)
ABSOLUTE_TIMEOUT = timedelta(hours=12)

ADMINS = (SYSTEM_ADMIN, PROVINCE_ADMIN)
STAFF = (SYSTEM_ADMIN, PROVINCE_ADMIN, FOCAL_POINT, ANALYST, COUNCIL_CHAIR, COUNCIL_MEMBER, WORKING_GROUP)


def start_session(user: User) -> None:
    now = utcnow().timestamp()
    cookie.clear()  # a fresh session on sign-in: no fixation
    cookie.update(uid=user.id, sv=user.session_version, login_at=now, seen_at=now)
    cookie.permanent = False


def end_session() -> None:
    cookie.clear()


def load_user() -> None:
    """Before each request: the signed-in user, or None if absent, expired or revoked."""
    g.user = None
    uid = cookie.get("uid")
    if uid is None:
        return
    now = utcnow().timestamp()
    if now - cookie.get("seen_at", 0) > IDLE_TIMEOUT.total_seconds() or \
            now - cookie.get("login_at", 0) > ABSOLUTE_TIMEOUT.total_seconds():
        cookie.clear()
        cookie["expired"] = True  # read once by the sign-in page, which says why
        return
    user = db.session().get(User, uid)
    if user is None or not user.is_active or user.session_version != cookie.get("sv"):
        cookie.clear()
        return
    # Refresh the idle clock at most once a minute, to spare cookie rewrites.
    if now - cookie["seen_at"] > 60:
        cookie["seen_at"] = now
    g.user = user


def current_user() -> User | None:
    return g.get("user")


def roles_required(*roles: str):
    if not roles or any(r not in STAFF for r in roles):
        raise ValueError(f"unknown roles {roles}")

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.method == "GET":
                    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
                abort(401)
            if user.role not in roles:
                return render_template("accounts/forbidden.html"), 403
            return view(*args, **kwargs)

        wrapper.required_roles = frozenset(roles)
        return wrapper

    return decorator


def round_in_scope(round_id: int) -> Round:
    """The round if the current user's province runs it (any round for a system administrator)."""
    round_ = db.session().get(Round, round_id)
    user = current_user()
    if round_ is None or (user.role != SYSTEM_ADMIN and round_.province_id != user.province_id):
        abort(404)
    return round_


def agency_in_scope(agency_id: int) -> Agency:
    """The agency if the user may manage its roster: their own only, for a focal point."""
    agency = db.session().get(Agency, agency_id)
    user = current_user()
    if agency is None:
        abort(404)
    if user.role == SYSTEM_ADMIN:
        return agency
    if agency.province_id != user.province_id:
        abort(404)
    if user.role == FOCAL_POINT and agency.id != user.agency_id:
        abort(404)
    return agency
