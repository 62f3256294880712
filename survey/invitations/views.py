"""Invitation, reminder and monitoring pages (issue 4)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from survey import db
from survey.accounts.access import ADMINS, current_user, roles_required, round_in_scope
from survey.accounts.models import FOCAL_POINT, PROVINCE_ADMIN, SYSTEM_ADMIN
from survey.accounts.services import record
from survey.invitations import campaigns, exports, monitoring, schedules, wordings
from survey.invitations.outbox import mail_context, round_context
from survey.invitations.emails import VARIABLES, Renderer, TemplateProblem, Wording, sample_context
from survey.invitations.models import INVITATION, KIND_LABELS, KINDS, REMINDER, STATUS_LABELS, MailSchedule, \
    OutboxMessage
from survey.invitations.outbox import MailError
from survey.invitations.sink import list_messages, read_message
from survey.rounds.models import Agency, Round
from survey.roster.models import Respondent
from survey.timeutil import VIETNAM

bp = Blueprint("invitations", __name__, url_prefix="/admin")

WATCHERS = (SYSTEM_ADMIN, PROVINCE_ADMIN, FOCAL_POINT)
CALL_LIST_ROWS = 300  # on the page; the spreadsheet has everyone


def _watched_agency() -> int | None:
    """A focal point sees their own agency only; administrators see the whole round."""
    user = current_user()
    return user.agency_id if user.role == FOCAL_POINT else None


def _refuse(message: str, endpoint: str, **values):
    # A refusal writes nothing, even if the service had already flushed part of its work.
    db.session().rollback()
    flash(message)
    return redirect(url_for(endpoint, **values))


def _optional_int(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise MailError("Lựa chọn không hợp lệ.") from None


def _agencies(round_: Round) -> list[Agency]:
    return db.session().scalars(select(Agency).where(Agency.province_id == round_.province_id)
                                .order_by(Agency.name)).all()


def _rounds_in_scope() -> list[Round]:
    user = current_user()
    query = select(Round).order_by(Round.year.desc(), Round.id.desc())
    if user.role != SYSTEM_ADMIN:
        query = query.where(Round.province_id == user.province_id)
    return db.session().scalars(query).all()


@bp.get("/mail")
@roles_required(*WATCHERS)
def index():
    return render_template("invitations/index.html", rounds=_rounds_in_scope(),
                           sink=bool(current_app.config.get("MAIL_SINK_DIR")))


# --- the campaign page ------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/mail")
@roles_required(*ADMINS)
def campaign(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    counts = monitoring.outbox_counts(session, round_)
    recent = session.scalars(select(OutboxMessage).where(OutboxMessage.round_id == round_.id)
                             .order_by(OutboxMessage.id.desc()).limit(20)).all()
    schedules = session.scalars(select(MailSchedule).where(MailSchedule.round_id == round_.id)
                                .order_by(MailSchedule.run_at)).all()
    return render_template(
        "invitations/campaign.html", round=round_, counts=counts, recent=recent, schedules=schedules,
        settings=campaigns.settings_for(session, round_), agencies=_agencies(round_),
        kinds=KIND_LABELS, statuses=STATUS_LABELS, targets=exports.TARGETS,
        custom={kind: wordings.wording_for(session, round_, kind)[1] for kind in KINDS},
    )


def _campaign_action(round_id: int, action: str):
    round_ = round_in_scope(round_id)
    session = db.session()
    back = "invitations.monitor" if request.form.get("back") == "monitor" else "invitations.campaign"
    try:
        ids = request.form.getlist("respondent", type=int) or None
        if request.form.get("selection") == "1" and not ids:
            # The call list's buttons act on the ticked people only, never on the whole round.
            raise MailError("Chưa chọn người nào trong danh sách.")
        outcome = getattr(campaigns, action)(
            session, round_, mail_context(current_app.config),
            group_id=_optional_int("group_id"), agency_id=_optional_int("agency_id"), respondent_ids=ids,
            actor=current_user(), **({"include_invited": request.form.get("again") == "1"} if action == "invite" else {}),
        )
    except MailError as error:
        return _refuse(str(error), back, round_id=round_.id)
    record(session, f"mail.{action}", round_id=round_.id, province_id=round_.province_id,
           details={"enqueued": outcome.enqueued, "skipped": outcome.skipped, "selected": len(ids or [])})
    flash(outcome.summary(INVITATION if action == "invite" else REMINDER))
    return redirect(url_for(back, round_id=round_.id))


@bp.post("/rounds/<int:round_id>/mail/invite")
@roles_required(*ADMINS)
def invite(round_id: int):
    return _campaign_action(round_id, "invite")


@bp.post("/rounds/<int:round_id>/mail/remind")
@roles_required(*ADMINS)
def remind(round_id: int):
    return _campaign_action(round_id, "remind")


@bp.post("/rounds/<int:round_id>/mail/settings")
@roles_required(*ADMINS)
def update_settings(round_id: int):
    round_ = round_in_scope(round_id)
    try:
        settings = campaigns.update_settings(
            db.session(), round_, reminder_max=int(request.form.get("reminder_max", "")),
            reminder_interval_days=int(request.form.get("reminder_interval_days", "")))
    except ValueError as error:  # MailError, or a number that is not one
        message = str(error) if isinstance(error, MailError) else "Hãy nhập số nguyên."
        return _refuse(message, "invitations.campaign", round_id=round_.id)
    record(db.session(), "mail.settings", round_id=round_.id, province_id=round_.province_id,
           details={"reminder_max": settings.reminder_max, "interval_days": settings.reminder_interval_days})
    flash("Đã lưu quy tắc nhắc.")
    return redirect(url_for("invitations.campaign", round_id=round_.id))


@bp.post("/rounds/<int:round_id>/mail/schedules")
@roles_required(*ADMINS)
def add_schedule(round_id: int):
    round_ = round_in_scope(round_id)
    try:
        raw = request.form.get("run_at", "").strip()
        try:
            run_at = datetime.fromisoformat(raw).replace(tzinfo=VIETNAM)
        except ValueError:
            raise MailError("Thời điểm hẹn gửi không hợp lệ (ví dụ 2023-12-15T08:00).") from None
        row = schedules.schedule(db.session(), round_, request.form.get("kind", ""), run_at,
                                group_id=_optional_int("group_id"), agency_id=_optional_int("agency_id"),
                                actor=current_user())
    except MailError as error:
        return _refuse(str(error), "invitations.campaign", round_id=round_.id)
    record(db.session(), "mail.schedule", round_id=round_.id, province_id=round_.province_id, target=row.kind,
           details={"run_at": raw, "group_id": row.group_id, "agency_id": row.agency_id})
    flash("Đã hẹn lịch gửi; tiến trình gửi thư sẽ xếp thư vào hàng đợi khi đến giờ.")
    return redirect(url_for("invitations.campaign", round_id=round_.id))


@bp.post("/rounds/<int:round_id>/mail/schedules/cancel")
@roles_required(*ADMINS)
def cancel_schedule(round_id: int):
    round_ = round_in_scope(round_id)
    try:
        schedule_id = _optional_int("schedule_id")
        schedules.cancel_schedule(db.session(), round_, schedule_id or 0)
    except MailError as error:
        return _refuse(str(error), "invitations.campaign", round_id=round_.id)
    record(db.session(), "mail.schedule_cancel", round_id=round_.id, province_id=round_.province_id,
           details={"schedule": schedule_id})
    flash("Đã hủy lịch gửi.")
    return redirect(url_for("invitations.campaign", round_id=round_.id))


# --- templates ------------------------------------------------------------------------------

@bp.route("/rounds/<int:round_id>/mail/template", methods=["GET", "POST"])
@roles_required(*ADMINS)
def edit_template(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    kind = request.values.get("kind", INVITATION)
    if kind not in KINDS:
        abort(404)
    wording, custom = wordings.wording_for(session, round_, kind)
    problem = None
    action = request.form.get("action") if request.method == "POST" else None
    if action == "reset":
        wordings.reset_wording(session, round_, kind)
        record(session, "mail.template_reset", round_id=round_.id, province_id=round_.province_id, target=kind)
        flash("Đã dùng lại mẫu thư mặc định.")
        return redirect(url_for("invitations.edit_template", round_id=round_.id, kind=kind))
    if action in ("preview", "save"):
        wording = Wording(request.form.get("subject", ""), request.form.get("body_text", ""),
                          request.form.get("body_html", ""))
        if action == "save":
            try:
                wordings.save_wording(session, round_, kind, wording, actor=current_user())
            except MailError as error:
                problem = str(error)
            else:
                record(session, "mail.template", round_id=round_.id, province_id=round_.province_id, target=kind)
                flash("Đã lưu mẫu thư.")
                return redirect(url_for("invitations.edit_template", round_id=round_.id, kind=kind))
    preview = None
    if problem is None:
        try:
            preview = Renderer(wording).render({**sample_context(), **round_context(round_),
                                                "link": f"{current_app.config['BASE_URL']}/r/{'X' * 32}"})
        except TemplateProblem as error:
            problem = str(error)
    status = 400 if problem and action == "save" else 200
    return render_template("invitations/template.html", round=round_, kind=kind, kinds=KIND_LABELS, wording=wording,
                           custom=custom, preview=preview, problem=problem, variables=VARIABLES), status


# --- monitoring -------------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/monitor")
@roles_required(*WATCHERS)
def monitor(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    agency_id = _watched_agency()
    days = monitoring.submissions_per_day(session, round_, agency_id=agency_id)
    return render_template(
        "invitations/monitor.html", round=round_, view=monitoring.overview(session, round_, agency_id=agency_id),
        stages=monitoring.STAGES, labels=monitoring.STAGE_LABELS, days=days, chart=monitoring.chart(days),
        failed=monitoring.non_respondents(session, round_, agency_id=agency_id, only_failed=True),
        people=monitoring.non_respondents(session, round_, agency_id=agency_id, limit=CALL_LIST_ROWS),
        pending=monitoring.count_non_respondents(session, round_, agency_id=agency_id),
        can_send=current_user().role in ADMINS,
    )


@bp.get("/rounds/<int:round_id>/monitor.xlsx")
@roles_required(*WATCHERS)
def monitor_export(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    content = exports.monitoring_workbook(session, round_, agency_id=_watched_agency())
    record(session, "mail.monitor_export", round_id=round_.id, province_id=round_.province_id)
    return Response(content, mimetype=exports.XLSX,
                    headers={"Content-Disposition": f"attachment; filename=theo-doi-dot-{round_.id}.xlsx"})


@bp.post("/rounds/<int:round_id>/respondents/<int:respondent_id>/resend")
@roles_required(*WATCHERS)
def resend(round_id: int, respondent_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    respondent = session.get(Respondent, respondent_id)
    agency_id = _watched_agency()
    if respondent is None or respondent.round_id != round_.id or (
            agency_id is not None and respondent.agency_id != agency_id):
        abort(404)
    old_email = respondent.email
    try:
        campaigns.resend(session, round_, respondent, mail_context(current_app.config),
                        new_email=request.form.get("email"), actor=current_user())
    except MailError as error:
        return _refuse(str(error), "invitations.monitor", round_id=round_.id)
    details = {"respondent": respondent.id}
    if respondent.email != old_email:
        details.update(old_email=old_email, new_email=respondent.email)
    record(session, "mail.resend", round_id=round_.id, province_id=round_.province_id, target=respondent.full_name,
           details=details)
    flash(f"Đã gửi lại đường dẫn mới cho {respondent.full_name} ({respondent.email}); đường dẫn cũ không còn dùng được.")
    return redirect(url_for("invitations.monitor", round_id=round_.id))


@bp.post("/rounds/<int:round_id>/links")
@roles_required(*ADMINS)
def export_links(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    target = request.form.get("target", "no_email")
    form = request.form.get("format", "xlsx")
    if target not in exports.TARGETS or form not in ("xlsx", "pdf"):
        return _refuse("Lựa chọn xuất đường dẫn không hợp lệ.", "invitations.campaign", round_id=round_.id)
    try:
        group_id, agency_id = _optional_int("group_id"), _optional_int("agency_id")
        campaigns.check_target(session, round_, group_id, agency_id)
        links = exports.issue_links(session, round_, mail_context(current_app.config), target=target,
                                    group_id=group_id, agency_id=agency_id)
    except MailError as error:
        return _refuse(str(error), "invitations.campaign", round_id=round_.id)
    if not links:
        return _refuse("Không có ai phù hợp với lựa chọn này; chưa cấp đường dẫn nào.", "invitations.campaign",
                       round_id=round_.id)
    record(session, "mail.links_export", round_id=round_.id, province_id=round_.province_id,
           details={"target": target, "format": form, "links": len(links)})
    if form == "pdf":
        return Response(exports.letters_pdf(round_, links), mimetype="application/pdf",
                        headers={"Content-Disposition": f"attachment; filename=thu-moi-dot-{round_.id}.pdf"})
    return Response(exports.links_workbook(round_, links), mimetype=exports.XLSX,
                    headers={"Content-Disposition": f"attachment; filename=duong-dan-dot-{round_.id}.xlsx"})


# --- the development mail sink ------------------------------------------------------------------

def _sink_folder() -> Path:
    folder = current_app.config.get("MAIL_SINK_DIR")
    if not folder:
        abort(404)  # production sends through the province's server: there is nothing to read here
    return Path(folder)


@bp.get("/mail/sink")
@roles_required(*ADMINS)
def sink_list():
    folder = _sink_folder()
    return render_template("invitations/sink.html", messages=list_messages(folder), folder=folder)


@bp.get("/mail/sink/<filename>")
@roles_required(*ADMINS)
def sink_message(filename: str):
    message = read_message(_sink_folder(), filename)
    if message is None:
        abort(404)
    return render_template("invitations/sink_message.html", message=message)
