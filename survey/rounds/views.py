"""Round administration pages: settings, groups and questionnaires, milestones, quotas.

Each view loads, checks access, calls one service and responds. A refused form is shown again
with a 4xx status, which makes the request edge roll back; views never commit nor roll back.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from questionnaires import diff_questionnaires
from survey import db, round_year
from survey.accounts.access import ADMINS, current_user, round_in_scope, roles_required
from survey.accounts.models import ANALYST, SYSTEM_ADMIN
from survey.questionnaire_registry import catalog
from survey.rounds import services
from survey.rounds.forms import (BindGroupForm, MilestoneForm, OpenRoundForm, RemoveGroupForm, RoundSettingsForm,
                                 form_errors, new_round_form, quota_form)
from survey.rounds.models import Agency, Province, Round, RoundMilestone, RoundQuota
from survey.rounds.services import GroupBinding, RoundError
from survey.timeutil import VIETNAM, as_utc, utcnow

bp = Blueprint("rounds", __name__, url_prefix="/admin/rounds")

STATE_LABELS = {"scheduled": "Chưa mở", "open": "Đang mở", "closed": "Đã đóng"}


def local_input(moment: datetime) -> str:
    return as_utc(moment).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")


def _provinces() -> list[Province]:
    user = current_user()
    query = select(Province).order_by(Province.name)
    if user.role != SYSTEM_ADMIN:
        query = query.where(Province.id == user.province_id)
    return list(db.session().scalars(query))


@bp.get("/")
@roles_required(*ADMINS, ANALYST)
def list_rounds():
    user = current_user()
    query = select(Round).order_by(Round.year.desc(), Round.id.desc())
    if user.role != SYSTEM_ADMIN:
        query = query.where(Round.province_id == user.province_id)
    return render_template("rounds/list.html", rounds=db.session().scalars(query).all(), states=STATE_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ADMINS)
def create_round():
    provinces = _provinces()
    cat = catalog()
    form = new_round_form(cat.keys())
    error = None
    if form.is_submitted():
        try:
            if not form.validate():
                raise RoundError(form_errors(form))
            province = next((p for p in provinces if p.id == form.province_id.data), None)
            if province is None:
                raise RoundError("Vui lòng chọn tỉnh.")
            round_ = services.create_round(
                db.session(), cat, province=province, year=form.year.data, title=form.title.data.strip(),
                opens_at=form.opens_at.data, closes_at=form.closes_at.data,
                bindings=[GroupBinding(key, version) for key, version in form.versions().items()],
            )
        except RoundError as problem:
            error = str(problem)
        else:
            flash("Đã tạo đợt khảo sát.")
            return redirect(url_for("rounds.show_round", round_id=round_.id))
    # A refused form is shown again as it was typed.
    return render_template("rounds/new.html", provinces=provinces, catalog=cat, error=error,
                           typed=request.form, year=utcnow().year), 400 if error else 200


def _render_round(round_: Round, error: str | None = None, status: int = 200):
    session = db.session()
    cat = catalog()
    changes = {}
    if error is None:
        for group in round_.groups:
            try:
                previous = services.previous_version(cat, group.questionnaire_key, group.questionnaire_version)
            except KeyError:
                previous = None
            if previous is not None:
                changes[group.id] = diff_questionnaires(
                    previous, cat.get(group.questionnaire_key, group.questionnaire_version))
    # A version written for another year shows that year to respondents unless its texts say "[năm]".
    year_warnings = {}
    for group in round_.groups:
        try:
            warning = round_year.year_warning(cat.get(group.questionnaire_key, group.questionnaire_version),
                                              round_.year)
        except KeyError:
            continue  # a missing version is reported by the round's checks, not here
        if warning:
            year_warnings[group.id] = warning
    today = datetime.now(VIETNAM).date()
    return render_template(
        "rounds/show.html", round=round_, year_warnings=year_warnings, state=STATE_LABELS[round_.state()], changes=changes, today=today,
        locked=services.bindings_locked(session, round_), catalog=cat, local_input=local_input,
        days_left=(round_.ministry_deadline - today).days if round_.ministry_deadline else None, error=error,
        next_milestone=services.next_milestone(round_, today), progress=services.progress(session, round_),
    ), status


def _refused(round_: Round, message: str):
    """Show the round page again with the refusal; the 400 makes the edge roll back the request.

    Services check before they change anything, so the page shows the round as it was.
    """
    return _render_round(round_, message, 400)


@bp.get("/<int:round_id>")
@roles_required(*ADMINS, ANALYST)
def show_round(round_id: int):
    return _render_round(round_in_scope(round_id))


@bp.post("/<int:round_id>/edit")
@roles_required(*ADMINS)
def edit_round(round_id: int):
    round_ = round_in_scope(round_id)
    form = RoundSettingsForm()
    try:
        if not form.validate_on_submit():
            raise RoundError(form_errors(form))
        services.update_round(db.session(), round_, title=form.title.data, year=form.year.data,
                              opens_at=form.opens_at.data, closes_at=form.closes_at.data,
                              ministry_deadline=form.ministry_deadline.data)
    except RoundError as problem:
        return _refused(round_, str(problem))
    flash("Đã lưu thông tin đợt khảo sát.")
    return redirect(url_for("rounds.show_round", round_id=round_id))


def _change_state(round_id: int, action, done: str):
    round_ = round_in_scope(round_id)
    try:
        action(db.session(), round_)
    except RoundError as problem:
        return _refused(round_, str(problem))
    flash(done)
    return redirect(url_for("rounds.show_round", round_id=round_id))


@bp.post("/<int:round_id>/open")
@roles_required(*ADMINS)
def open_round(round_id: int):
    form = OpenRoundForm()
    if not form.validate_on_submit():
        return _refused(round_in_scope(round_id), form_errors(form))
    return _change_state(round_id, services.open_round, "Đã mở đợt khảo sát; từ nay không thể đổi phiếu của các nhóm.")


@bp.post("/<int:round_id>/close")
@roles_required(*ADMINS)
def close_round(round_id: int):
    return _change_state(round_id, services.close_round, "Đã đóng đợt khảo sát.")


@bp.post("/<int:round_id>/groups")
@roles_required(*ADMINS)
def bind_group(round_id: int):
    round_ = round_in_scope(round_id)
    form = BindGroupForm()
    try:
        if not form.validate_on_submit():
            raise RoundError(form_errors(form))
        binding = GroupBinding(form.questionnaire_key.data, form.questionnaire_version.data)
        group = services.bind_group(db.session(), catalog(), round_, binding)
    except RoundError as problem:
        return _refused(round_, str(problem))
    flash(f"Nhóm “{group.label}” dùng phiếu {binding.questionnaire_key} phiên bản {binding.questionnaire_version}.")
    return redirect(url_for("rounds.show_round", round_id=round_id))


@bp.post("/<int:round_id>/groups/remove")
@roles_required(*ADMINS)
def remove_group(round_id: int):
    round_ = round_in_scope(round_id)
    form = RemoveGroupForm()
    group = next((g for g in round_.groups if form.validate_on_submit() and g.id == form.group_id.data), None)
    if group is None:
        abort(404)
    try:
        services.remove_group(db.session(), round_, group)
    except RoundError as problem:
        return _refused(round_, str(problem))
    flash("Đã bỏ nhóm khỏi đợt khảo sát.")
    return redirect(url_for("rounds.show_round", round_id=round_id))


@bp.post("/<int:round_id>/milestones")
@roles_required(*ADMINS)
def edit_milestone(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    form = MilestoneForm()
    try:
        if not form.validate_on_submit():
            raise RoundError(form_errors(form))
        milestone = None
        if form.milestone_id.data is not None:
            milestone = session.get(RoundMilestone, form.milestone_id.data)
            if milestone is None or milestone.round_id != round_.id:
                abort(404)
        services.save_milestone(session, round_, milestone, label=form.label.data, starts_on=form.starts_on.data,
                                due_on=form.due_on.data, done_on=form.done_on.data)
    except RoundError as problem:
        return _refused(round_, str(problem))
    flash("Đã lưu mốc thời gian.")
    return redirect(url_for("rounds.show_round", round_id=round_id))


@bp.route("/<int:round_id>/quotas", methods=["GET", "POST"])
@roles_required(*ADMINS)
def quotas(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    agencies = list(session.scalars(select(Agency).where(Agency.province_id == round_.province_id,
                                                         Agency.is_active.is_(True)).order_by(Agency.kind, Agency.name)))
    form = quota_form(agencies, round_.groups)
    existing = {(q.agency_id, q.group_id): q.expected
                for q in session.scalars(select(RoundQuota).where(RoundQuota.round_id == round_.id))}
    error = None
    if form.is_submitted():
        try:
            if not form.validate():
                raise RoundError(form_errors(form))
            services.set_quotas(session, round_, form.expected())
        except RoundError as problem:
            error = str(problem)
            existing.update({key: value for key, value in form.expected().items()})
        else:
            flash("Đã lưu số lượng dự kiến.")
            return redirect(url_for("rounds.quotas", round_id=round_id))
    return render_template("rounds/quotas.html", round=round_, agencies=agencies, existing=existing,
                           error=error), 422 if error else 200
