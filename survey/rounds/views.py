"""Round administration pages (issue 3): settings, groups and questionnaires, milestones, quotas."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from questionnaires import diff_questionnaires
from survey import db
from survey.accounts import services as audit
from survey.accounts.access import ADMINS, current_user, round_in_scope, roles_required
from survey.accounts.models import ANALYST, SYSTEM_ADMIN
from survey.questionnaire_registry import catalog
from survey.rounds import services
from survey.rounds.models import Agency, Province, Round, RoundMilestone
from survey.rounds.services import GroupBinding, RoundError
from survey.timeutil import VIETNAM, as_utc, utcnow

bp = Blueprint("rounds", __name__, url_prefix="/admin/rounds")

STATE_LABELS = {"scheduled": "Chưa mở", "open": "Đang mở", "closed": "Đã đóng"}


class FormError(ValueError):
    pass


def parse_local(value: str, what: str) -> datetime:
    """A datetime-local input (Vietnam time) as an aware UTC datetime."""
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=VIETNAM).astimezone(UTC)
    except ValueError:
        raise FormError(f"{what}: ngày giờ không hợp lệ.") from None


def parse_date(value: str, what: str, *, required: bool = True) -> date | None:
    if not value.strip():
        if required:
            raise FormError(f"{what}: vui lòng nhập ngày.")
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FormError(f"{what}: ngày không hợp lệ.") from None


def parse_int(value: str, what: str) -> int:
    try:
        return int(value.strip() or "0")
    except ValueError:
        raise FormError(f"{what}: vui lòng nhập một số nguyên.") from None


def local_input(moment: datetime) -> str:
    return as_utc(moment).astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M")


def _provinces() -> list[Province]:
    user = current_user()
    query = select(Province).order_by(Province.name)
    if user.role != SYSTEM_ADMIN:
        query = query.where(Province.id == user.province_id)
    return list(db.session().scalars(query))


def _bindings_from_form() -> list[GroupBinding]:
    bindings = []
    for key in catalog().keys():
        version = request.form.get(f"version_{key}", "")
        if version:
            bindings.append(GroupBinding(key, version))
    return bindings


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
    error = None
    if request.method == "POST":
        session = db.session()
        try:
            province = next((p for p in provinces if str(p.id) == request.form.get("province_id")), None)
            if province is None:
                raise FormError("Vui lòng chọn tỉnh.")
            year = parse_int(request.form.get("year", ""), "Năm")
            title = request.form.get("title", "").strip()
            if not title:
                raise FormError("Vui lòng nhập tên đợt khảo sát.")
            round_ = services.create_round(
                session, catalog(), province=province, year=year, title=title,
                opens_at=parse_local(request.form.get("opens_at", ""), "Thời điểm mở"),
                closes_at=parse_local(request.form.get("closes_at", ""), "Thời điểm đóng"),
                bindings=_bindings_from_form(),
            )
        except (FormError, RoundError) as problem:
            error = str(problem)
        else:
            audit.record(session, "round.create", target=round_.title, round_id=round_.id,
                         province_id=round_.province_id, details={"groups": [g.code for g in round_.groups]})
            flash("Đã tạo đợt khảo sát.")
            return redirect(url_for("rounds.show_round", round_id=round_.id))
    return render_template("rounds/new.html", provinces=provinces, catalog=catalog(), error=error,
                           form=request.form, year=utcnow().year), 400 if error else 200


@bp.get("/<int:round_id>")
@roles_required(*ADMINS, ANALYST)
def show_round(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    cat = catalog()
    changes = {}
    for group in round_.groups:
        try:
            previous = services.previous_version(cat, group.questionnaire_key, group.questionnaire_version)
        except KeyError:
            previous = None
        if previous is not None:
            changes[group.id] = diff_questionnaires(previous, cat.get(group.questionnaire_key, group.questionnaire_version))
    today = datetime.now(VIETNAM).date()
    return render_template(
        "rounds/show.html", round=round_, state=STATE_LABELS[round_.state()], changes=changes, today=today,
        locked=services.bindings_locked(session, round_), catalog=cat, local_input=local_input,
        days_left=(round_.ministry_deadline - today).days if round_.ministry_deadline else None,
    )


@bp.post("/<int:round_id>/edit")
@roles_required(*ADMINS)
def edit_round(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    try:
        changed = services.update_round(
            session, round_, title=request.form.get("title", ""),
            year=parse_int(request.form.get("year", ""), "Năm"),
            opens_at=parse_local(request.form.get("opens_at", ""), "Thời điểm mở"),
            closes_at=parse_local(request.form.get("closes_at", ""), "Thời điểm đóng"),
            ministry_deadline=parse_date(request.form.get("ministry_deadline", ""), "Hạn gửi Bộ", required=False),
        )
    except (FormError, RoundError) as problem:
        session.rollback()
        return _error(round_, str(problem))
    audit.record(session, "round.update", target=round_.title, round_id=round_.id,
                 province_id=round_.province_id, details={"changed": changed})
    flash("Đã lưu thông tin đợt khảo sát.")
    return redirect(url_for("rounds.show_round", round_id=round_id))


def _error(round_: Round, message: str):
    """Re-show the round page with a refusal; the 400 status makes the edge roll back."""
    today = datetime.now(VIETNAM).date()
    session = db.session()
    session.rollback()
    round_ = session.get(Round, round_.id)
    return render_template(
        "rounds/show.html", round=round_, state=STATE_LABELS[round_.state()], changes={}, today=today,
        locked=services.bindings_locked(session, round_), catalog=catalog(), local_input=local_input,
        days_left=(round_.ministry_deadline - today).days if round_.ministry_deadline else None, error=message,
    ), 400


def _change_state(round_id: int, action, name: str, done: str):
    round_ = round_in_scope(round_id)
    try:
        action(db.session(), round_)
    except RoundError as problem:
        return _error(round_, str(problem))
    audit.record(db.session(), f"round.{name}", target=round_.title, round_id=round_.id, province_id=round_.province_id)
    flash(done)
    return redirect(url_for("rounds.show_round", round_id=round_id))


@bp.post("/<int:round_id>/open")
@roles_required(*ADMINS)
def open_round(round_id: int):
    return _change_state(round_id, services.open_round, "open", "Đã mở đợt khảo sát; từ nay không thể đổi phiếu của các nhóm.")


@bp.post("/<int:round_id>/close")
@roles_required(*ADMINS)
def close_round(round_id: int):
    return _change_state(round_id, services.close_round, "close", "Đã đóng đợt khảo sát.")


@bp.post("/<int:round_id>/groups")
@roles_required(*ADMINS)
def bind_group(round_id: int):
    round_ = round_in_scope(round_id)
    key, version = request.form.get("questionnaire_key", ""), request.form.get("questionnaire_version", "")
    try:
        group = services.bind_group(db.session(), catalog(), round_, GroupBinding(key, version))
    except RoundError as problem:
        return _error(round_, str(problem))
    audit.record(db.session(), "round.bind_group", target=group.code, round_id=round_.id,
                 province_id=round_.province_id, details={"questionnaire": key, "version": version})
    flash(f"Nhóm “{group.label}” dùng phiếu {key} phiên bản {version}.")
    return redirect(url_for("rounds.show_round", round_id=round_id))


@bp.post("/<int:round_id>/groups/remove")
@roles_required(*ADMINS)
def remove_group(round_id: int):
    round_ = round_in_scope(round_id)
    group = next((g for g in round_.groups if str(g.id) == request.form.get("group_id")), None)
    if group is None:
        abort(404)
    try:
        services.remove_group(db.session(), round_, group)
    except RoundError as problem:
        return _error(round_, str(problem))
    audit.record(db.session(), "round.remove_group", target=group.code, round_id=round_.id,
                 province_id=round_.province_id)
    flash("Đã bỏ nhóm khỏi đợt khảo sát.")
    return redirect(url_for("rounds.show_round", round_id=round_id))


@bp.post("/<int:round_id>/milestones")
@roles_required(*ADMINS)
def edit_milestone(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    milestone_id = request.form.get("milestone_id", "")
    if milestone_id:
        milestone = session.get(RoundMilestone, int(milestone_id)) if milestone_id.isdigit() else None
        if milestone is None or milestone.round_id != round_.id:
            abort(404)
    else:
        milestone = RoundMilestone(round_id=round_.id, position=len(round_.milestones), label="", due_on=date.today())
        round_.milestones.append(milestone)
    try:
        services.update_milestone(
            session, milestone, label=request.form.get("label", ""),
            starts_on=parse_date(request.form.get("starts_on", ""), "Ngày bắt đầu", required=False),
            due_on=parse_date(request.form.get("due_on", ""), "Hạn hoàn thành"),
            done_on=parse_date(request.form.get("done_on", ""), "Ngày hoàn thành", required=False),
        )
    except (FormError, RoundError) as problem:
        return _error(round_, str(problem))
    audit.record(session, "round.milestone", target=milestone.label, round_id=round_.id,
                 province_id=round_.province_id,
                 details={"due_on": milestone.due_on.isoformat(), "done_on": str(milestone.done_on or "")})
    flash("Đã lưu mốc thời gian.")
    return redirect(url_for("rounds.show_round", round_id=round_id))


@bp.route("/<int:round_id>/quotas", methods=["GET", "POST"])
@roles_required(*ADMINS)
def quotas(round_id: int):
    from survey.rounds.models import RoundQuota

    round_ = round_in_scope(round_id)
    session = db.session()
    agencies = list(session.scalars(select(Agency).where(Agency.province_id == round_.province_id,
                                                         Agency.is_active.is_(True)).order_by(Agency.kind, Agency.name)))
    if request.method == "POST":
        changed = 0
        try:
            for agency in agencies:
                for group in round_.groups:
                    field = f"q_{agency.id}_{group.id}"
                    if field in request.form:
                        expected = parse_int(request.form[field], f"{agency.name} / {group.label}")
                        services.set_quota(session, round_, agency, group, expected)
                        changed += 1
        except (FormError, RoundError) as problem:
            session.rollback()
            flash(str(problem))
            return redirect(url_for("rounds.quotas", round_id=round_id)), 303
        audit.record(session, "round.quotas", target=round_.title, round_id=round_.id,
                     province_id=round_.province_id, details={"cells": changed})
        flash("Đã lưu số lượng dự kiến.")
        return redirect(url_for("rounds.quotas", round_id=round_id))
    existing = {(q.agency_id, q.group_id): q.expected
                for q in session.scalars(select(RoundQuota).where(RoundQuota.round_id == round_.id))}
    return render_template("rounds/quotas.html", round=round_, agencies=agencies, existing=existing)
