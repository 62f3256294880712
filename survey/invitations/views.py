"""Invitation, reminder and monitoring pages: load, check access, call one service, respond."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from survey import db
from survey.accounts.access import ADMINS, current_user, roles_required, round_in_scope
from survey.accounts.models import FOCAL_POINT, PROVINCE_ADMIN, SYSTEM_ADMIN
from survey.invitations import campaigns, digests, exports, monitoring, schedules, wordings
from survey.invitations.forms import CampaignForm, CancelScheduleForm, DigestForm, LinksForm, ReminderRulesForm, \
    ResendForm, ScheduleForm, StopDigestForm, TemplateForm
from survey.invitations.outbox import mail_context, round_context
from survey.invitations.emails import VARIABLES, Renderer, TemplateProblem, Wording, sample_context
from survey.invitations.models import INVITATION, KIND_LABELS, KINDS, OUTBOX_KIND_LABELS, REMINDER, STATUS_LABELS, \
    STOP_LABELS, MailSchedule, OutboxMessage
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
    return _campaign_page(round_in_scope(round_id))


def _campaign_page(round_: Round, problem: str | None = None):
    """The campaign page; with ``problem``, a refused form shown again (422: the edge writes nothing)."""
    session = db.session()
    counts = monitoring.outbox_counts(session, round_)
    recent = session.scalars(select(OutboxMessage).where(OutboxMessage.round_id == round_.id)
                             .order_by(OutboxMessage.id.desc()).limit(20)).all()
    schedules_ = session.scalars(select(MailSchedule).where(MailSchedule.round_id == round_.id)
                                 .order_by(MailSchedule.run_at)).all()
    return render_template(
        "invitations/campaign.html", round=round_, counts=counts, recent=recent, schedules=schedules_,
        settings=campaigns.settings_for(session, round_), agencies=_agencies(round_),
        kinds=KIND_LABELS, outbox_kinds=OUTBOX_KIND_LABELS, statuses=STATUS_LABELS, targets=exports.TARGETS,
        problem=problem, digest=digests.digest_for(session, round_), stop_labels=STOP_LABELS,
        custom={kind: wordings.wording_for(session, round_, kind)[1] for kind in KINDS},
    ), 422 if problem else 200


def _refused(round_: Round, problem: str, back: str = "campaign"):
    return _monitor_page(round_, problem) if back == "monitor" else _campaign_page(round_, problem)


def _confirm(round_: Round, *, title: str, lines: list[str], count: int, button: str, back: str,
             changed: str | None = None):
    """Ask before a mass action: the same form again, with the count it will reach, to post once more.

    Every field posted is carried back hidden (the selection, the ticked people), plus ``confirmed``.
    Shown again with 409 when the count moved since the administrator saw it.
    """
    fields = [(name, value) for name, value in request.form.items(multi=True) if name not in ("csrf_token", "confirmed")]
    return render_template("invitations/confirm.html", round=round_, title=title, lines=lines, count=count,
                           button=button, back=back, changed=changed, fields=fields,
                           action=request.path), 409 if changed else 200


def _scope(round_: Round, group_id: int | None, agency_id: int | None, selected: int) -> str:
    if selected:
        return f"Phạm vi: {selected} người được chọn trong danh sách."
    parts = []
    if group_id is not None:
        parts.append(f"nhóm {next((g.label for g in round_.groups if g.id == group_id), '')}")
    if agency_id is not None:
        agency = db.session().get(Agency, agency_id)
        parts.append(agency.name if agency else "")
    return "Phạm vi: " + (", ".join(parts) if parts else "cả đợt khảo sát (mọi nhóm, mọi cơ quan)") + "."


def _campaign_action(round_id: int, action: str):
    round_ = round_in_scope(round_id)
    form = CampaignForm()
    back = "monitor" if form.back.data == "monitor" else "campaign"
    if not form.validate_on_submit():
        return _refused(round_, form.first_error(), back)
    kind = INVITATION if action == "invite" else REMINDER
    service = getattr(campaigns, action)
    arguments = {"group_id": form.group_id.data, "agency_id": form.agency_id.data,
                 "respondent_ids": form.respondent.data or None, "actor": current_user()}
    if action == "invite":
        arguments["include_invited"] = form.again.data
    try:
        context = mail_context(current_app.config)
        # Sending revokes everyone's previous link: count first, act only on the count confirmed.
        planned = service(db.session(), round_, context, dry_run=True, **arguments)
        if form.confirmed.data != planned.enqueued or not planned.enqueued:
            changed = None
            if form.confirmed.data is not None:
                changed = f"Số thư thay đổi từ {form.confirmed.data} thành {planned.enqueued} kể từ khi xác nhận; hãy xem lại."
            return _confirm(round_, title=f"Xác nhận gửi {KIND_LABELS[kind].lower()}",
                            lines=[_scope(round_, form.group_id.data, form.agency_id.data, len(form.respondent.data or [])),
                                   *planned.preview(kind)],
                            count=planned.enqueued, button=f"Xác nhận xếp {planned.enqueued} {KIND_LABELS[kind].lower()}",
                            back=url_for(f"invitations.{back}", round_id=round_.id), changed=changed)
        outcome = service(db.session(), round_, context, **arguments)
    except MailError as error:
        return _refused(round_, str(error), back)
    flash(outcome.summary(kind))
    return redirect(url_for(f"invitations.{back}", round_id=round_.id))


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
    form = ReminderRulesForm()
    if not form.validate_on_submit():
        return _campaign_page(round_, form.first_error())
    try:
        campaigns.update_settings(db.session(), round_, reminder_max=form.reminder_max.data,
                                  reminder_interval_days=form.reminder_interval_days.data, actor=current_user())
    except MailError as error:
        return _campaign_page(round_, str(error))
    flash("Đã lưu quy tắc nhắc.")
    return redirect(url_for("invitations.campaign", round_id=round_.id))


@bp.post("/rounds/<int:round_id>/mail/schedules")
@roles_required(*ADMINS)
def add_schedule(round_id: int):
    round_ = round_in_scope(round_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        return _campaign_page(round_, form.first_error())
    try:
        schedules.schedule(db.session(), round_, form.kind.data, form.run_at.data.replace(tzinfo=VIETNAM),
                           group_id=form.group_id.data, agency_id=form.agency_id.data, actor=current_user())
    except MailError as error:
        return _campaign_page(round_, str(error))
    flash("Đã hẹn lịch gửi; tiến trình gửi thư sẽ xếp thư vào hàng đợi khi đến giờ.")
    return redirect(url_for("invitations.campaign", round_id=round_.id))


@bp.post("/rounds/<int:round_id>/mail/schedules/cancel")
@roles_required(*ADMINS)
def cancel_schedule(round_id: int):
    round_ = round_in_scope(round_id)
    form = CancelScheduleForm()
    if not form.validate_on_submit():
        return _campaign_page(round_, form.first_error())
    try:
        schedules.cancel_schedule(db.session(), round_, form.schedule_id.data, actor=current_user())
    except MailError as error:
        return _campaign_page(round_, str(error))
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
    form = TemplateForm(data={"subject": wording.subject, "body_text": wording.body_text,
                              "body_html": wording.body_html})
    problem = None
    action = form.action.data if form.validate_on_submit() else None
    if request.method == "POST" and action is None:
        problem = form.first_error()
    if action == "reset":
        wordings.reset_wording(session, round_, kind, actor=current_user())
        flash("Đã dùng lại mẫu thư mặc định.")
        return redirect(url_for("invitations.edit_template", round_id=round_.id, kind=kind))
    if action in ("preview", "save"):
        wording = Wording(form.subject.data or "", form.body_text.data or "", form.body_html.data or "")
        if action == "save":
            try:
                wordings.save_wording(session, round_, kind, wording, actor=current_user())
            except MailError as error:
                problem = str(error)
            else:
                flash("Đã lưu mẫu thư.")
                return redirect(url_for("invitations.edit_template", round_id=round_.id, kind=kind))
    preview = None
    if problem is None:
        try:
            preview = Renderer(wording).render({**sample_context(), **round_context(round_),
                                                "link": f"{current_app.config['BASE_URL']}/r/{'X' * 32}"})
        except TemplateProblem as error:
            problem = str(error)
    # A refused template answers 422, preview or save: the edge writes nothing.
    status = 422 if problem and request.method == "POST" else 200
    return render_template("invitations/template.html", round=round_, kind=kind, kinds=KIND_LABELS, form=form,
                           custom=custom, preview=preview, problem=problem, variables=VARIABLES), status


# --- monitoring -------------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/monitor")
@roles_required(*WATCHERS)
def monitor(round_id: int):
    return _monitor_page(round_in_scope(round_id))


def _monitor_page(round_: Round, problem: str | None = None):
    """The monitoring page; with ``problem``, a refused form shown again (422: the edge writes nothing)."""
    session = db.session()
    agency_id = _watched_agency()
    days = monitoring.submissions_per_day(session, round_, agency_id=agency_id)
    return render_template(
        "invitations/monitor.html", round=round_, view=monitoring.overview(session, round_, agency_id=agency_id),
        stages=monitoring.STAGES, labels=monitoring.STAGE_LABELS, days=days, chart=monitoring.chart(days),
        failed=monitoring.non_respondents(session, round_, agency_id=agency_id, only_failed=True),
        people=monitoring.non_respondents(session, round_, agency_id=agency_id, limit=CALL_LIST_ROWS),
        pending=monitoring.count_non_respondents(session, round_, agency_id=agency_id),
        can_send=current_user().role in ADMINS, problem=problem,
    ), 422 if problem else 200


@bp.get("/rounds/<int:round_id>/monitor.xlsx")
@roles_required(*WATCHERS)
def monitor_export(round_id: int):
    round_ = round_in_scope(round_id)
    content = exports.monitoring_workbook(db.session(), round_, agency_id=_watched_agency(), actor=current_user())
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
    form = ResendForm()
    if not form.validate_on_submit():
        return _monitor_page(round_, form.first_error())
    try:
        campaigns.resend(session, round_, respondent, mail_context(current_app.config), new_email=form.email.data,
                         actor=current_user())
    except MailError as error:
        return _monitor_page(round_, str(error))
    flash(f"Đã gửi lại đường dẫn mới cho {respondent.full_name} ({respondent.email}); đường dẫn cũ không còn dùng được.")
    return redirect(url_for("invitations.monitor", round_id=round_.id))


@bp.post("/rounds/<int:round_id>/links")
@roles_required(*ADMINS)
def export_links(round_id: int):
    round_ = round_in_scope(round_id)
    form = LinksForm()
    if not form.validate_on_submit():
        return _campaign_page(round_, form.first_error())
    session = db.session()
    options = {"target": form.target.data, "group_id": form.group_id.data, "agency_id": form.agency_id.data}
    try:
        chosen = len(exports.links_chosen(session, round_, **options))
        if form.confirmed.data is None or not chosen:
            return _confirm_links(round_, options, chosen)
        content = exports.export_links(session, round_, mail_context(current_app.config), confirmed=form.confirmed.data,
                                       actor=current_user(), **options)
    except exports.CountChanged as error:
        return _confirm_links(round_, options, error.now, changed=str(error))
    except MailError as error:
        return _campaign_page(round_, str(error))
    return Response(content, mimetype=exports.ZIP,
                    headers={"Content-Disposition": f"attachment; filename=duong-dan-va-thu-moi-dot-{round_.id}.zip"})


def _confirm_links(round_: Round, options: dict, count: int, changed: str | None = None):
    lines = [_scope(round_, options["group_id"], options["agency_id"], 0),
             f"{exports.TARGETS[options['target']]}: {count} người.",
             f"Sẽ cấp đường dẫn mới cho {count} người: đường dẫn cũ của họ (kể cả trong thư mời, thư nhắc hay "
             "bảng tính đã gửi trước đây) sẽ không còn dùng được; câu trả lời họ đã lưu vẫn giữ nguyên.",
             "Tệp tải về (.zip) gồm cả bảng tính cho SMS/Zalo và thư in có mã QR, cùng một bộ đường dẫn: "
             "hãy dùng cả hai từ cùng một lần tải. Tệp chứa đường dẫn riêng: chỉ chuyển cho đúng người."]
    return _confirm(round_, title="Xác nhận cấp đường dẫn mới", lines=lines if count else lines[:2], count=count,
                    button=f"Cấp {count} đường dẫn mới và tải về",
                    back=url_for("invitations.campaign", round_id=round_.id), changed=changed)


# --- agencies' digests ---------------------------------------------------------------------------

@bp.post("/rounds/<int:round_id>/mail/digest")
@roles_required(*ADMINS)
def set_digest(round_id: int):
    round_ = round_in_scope(round_id)
    form = DigestForm()
    if not form.validate_on_submit():
        return _campaign_page(round_, form.first_error())
    try:
        digests.set_digest(db.session(), round_, first_at=form.first_at.data.replace(tzinfo=VIETNAM),
                           interval_days=form.interval_days.data, actor=current_user())
    except MailError as error:
        return _campaign_page(round_, str(error))
    flash("Đã hẹn lịch gửi thư tổng hợp cho đầu mối các cơ quan, đơn vị.")
    return redirect(url_for("invitations.campaign", round_id=round_.id))


@bp.post("/rounds/<int:round_id>/mail/digest/stop")
@roles_required(*ADMINS)
def stop_digest(round_id: int):
    round_ = round_in_scope(round_id)
    form = StopDigestForm()
    if not form.validate_on_submit():
        return _campaign_page(round_, form.first_error())
    try:
        digests.stop_digest(db.session(), round_, actor=current_user())
    except MailError as error:
        return _campaign_page(round_, str(error))
    flash("Đã dừng gửi thư tổng hợp.")
    return redirect(url_for("invitations.campaign", round_id=round_.id))


# --- opening a round ---------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/open/confirm")
@roles_required(*ADMINS)
def confirm_open_round(round_id: int):
    """The question before opening: which questionnaires it fixes for good and whom it lets in.

    The answer posts to the rounds area's own ``rounds.open_round``; this page only asks.
    """
    round_ = round_in_scope(round_id)
    if round_.state() != "scheduled":
        flash("Đợt khảo sát đã mở hoặc đã đóng.")
        return redirect(url_for("rounds.show_round", round_id=round_.id))
    return render_template("invitations/open_round.html", round=round_,
                           summary=campaigns.opening_summary(db.session(), round_))


# --- the development mail sink ------------------------------------------------------------------

def _sink_folder() -> Path:
    folder = current_app.config.get("MAIL_SINK_DIR")
    if not folder:
        abort(404)  # production sends through the province's server: there is nothing to read here
    return Path(folder)


# System administrators only: the sink holds every province's messages, personal links included.
@bp.get("/mail/sink")
@roles_required(SYSTEM_ADMIN)
def sink_list():
    folder = _sink_folder()
    return render_template("invitations/sink.html", messages=list_messages(folder), folder=folder)


@bp.get("/mail/sink/<filename>")
@roles_required(SYSTEM_ADMIN)
def sink_message(filename: str):
    message = read_message(_sink_folder(), filename)
    if message is None:
        abort(404)
    return render_template("invitations/sink_message.html", message=message)
