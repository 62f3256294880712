"""The administrators' pages of samples drawn from the dossier register."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for

from survey import db
from survey.accounts.access import ADMINS, current_user, round_in_scope, roles_required
from survey.invitations import exports
from survey.invitations.outbox import MailError, mail_context
from survey.samples import services
from survey.samples.forms import DrawForm, InviteForm, SmsForm
from survey.samples.models import DossierSample
from survey.samples.register import RegisterRefused

bp = Blueprint("samples", __name__, url_prefix="/admin/rounds/<int:round_id>/samples")


@bp.route("", methods=["GET", "POST"])
@roles_required(*ADMINS)
def index(round_id):
    round_ = round_in_scope(round_id)
    session = db.session()
    form = DrawForm()
    problems, status = [], 200
    if form.is_submitted():
        status = 422  # unless drawn below
        if form.validate():
            upload = form.file.data
            try:
                register = services.read_round_register(session, round_, upload.read(), upload.filename or "")
                sample = services.draw_sample(session, round_, register, filename=upload.filename or "",
                                              size=form.size.data, seed=form.seed.data,
                                              margin=float(form.margin.data), actor=current_user())
            except RegisterRefused as refused:
                problems = refused.problems
            except services.SampleError as problem:
                problems = [str(problem)]
            else:
                flash(f"Đã rút mẫu {sample.size} hồ sơ từ {sample.population} hồ sơ (hạt giống {sample.seed}).")
                return redirect(url_for(".show", round_id=round_id, sample_id=sample.id))
    return render_template("samples/index.html", round=round_, form=form, problems=problems,
                           samples=services.round_samples(session, round_id)), status


def _sample(round_id: int, sample_id: int) -> DossierSample:
    round_ = round_in_scope(round_id)
    sample = db.session().get(DossierSample, sample_id)
    if sample is None or sample.round_id != round_.id:
        abort(404)
    return sample


def _page(sample: DossierSample, *, invite_form=None, sms_form=None, problem: str = "", status: int = 200):
    session = db.session()
    purged = sample.purged_at is not None
    try:
        context = mail_context(current_app.config)
    except MailError as missing:
        context, problem = None, problem or str(missing)
    preview = (services.invite_by_email(session, sample, context, dry_run=True)
               if context is not None and not purged and sample.round.state() != "closed" else None)
    sms_counts = {} if purged else {target: len(services.sms_chosen(session, sample, target))
                                    for target in services.SMS_TARGETS}
    return render_template(
        "samples/show.html", round=sample.round, sample=sample, strata=services.progress(session, sample),
        preview=preview, sms_counts=sms_counts, targets=services.SMS_TARGETS, problem=problem,
        invite_form=invite_form or InviteForm(), sms_form=sms_form or SmsForm()), status


@bp.get("/<int:sample_id>")
@roles_required(*ADMINS)
def show(round_id, sample_id):
    return _page(_sample(round_id, sample_id))


@bp.post("/<int:sample_id>/invite")
@roles_required(*ADMINS)
def invite(round_id, sample_id):
    sample = _sample(round_id, sample_id)
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(sample, invite_form=form, problem="Biểu mẫu đã hết hạn; hãy tải lại trang.", status=422)
    session = db.session()
    try:
        context = mail_context(current_app.config)
        preview = services.invite_by_email(session, sample, context, dry_run=True)
        if str(preview.enqueued) != (form.confirmed.data or "").strip():
            return _page(sample, problem=f"Số thư cần gửi đã thay đổi thành {preview.enqueued}; hãy xác nhận lại.",
                         status=409)
        outcome = services.invite_by_email(session, sample, context, actor=current_user())
    except (MailError, services.SampleError) as problem:
        return _page(sample, invite_form=form, problem=str(problem), status=422)
    flash(outcome.summary("invitation"))
    return redirect(url_for(".show", round_id=round_id, sample_id=sample_id))


@bp.post("/<int:sample_id>/sms")
@roles_required(*ADMINS)
def sms(round_id, sample_id):
    sample = _sample(round_id, sample_id)
    form = SmsForm()
    if not form.validate_on_submit():
        return _page(sample, sms_form=form, problem="Lựa chọn xuất tin nhắn không hợp lệ.", status=422)
    try:
        body = services.sms_export(db.session(), sample, mail_context(current_app.config), target=form.target.data,
                                   fmt=form.fmt.data, confirmed=form.confirmed.data, actor=current_user())
    except exports.CountChanged as changed:
        return _page(sample, sms_form=form, problem=str(changed), status=409)
    except (MailError, services.SampleError) as problem:
        return _page(sample, sms_form=form, problem=str(problem), status=422)
    mimetype = "text/csv" if form.fmt.data == "csv" else exports.XLSX
    return current_app.response_class(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="tin-nhan-mau-{sample.id}.{form.fmt.data}"',
        "Cache-Control": "no-store"})
