"""Self-assessment, evidence and appraisal pages (issue 15).

Each view loads, checks the role and scope, calls one service and responds; a refused
action re-renders its page with status 422 and the service's message, and the edge rolls
the request back, so nothing of it is written.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import select

from survey import db
from survey.accounts.access import ADMINS, agency_in_scope, current_user, round_in_scope, roles_required
from survey.accounts.models import (
    ANALYST, COUNCIL_CHAIR, COUNCIL_MEMBER, FOCAL_POINT, SYSTEM_ADMIN, WORKING_GROUP,
)
from survey.assessment import evidence as files
from survey.assessment import exports, reminders, results, services
from survey.assessment.forms import (
    ActionForm, AppraisalForm, CloseForm, CommentForm, EntryForm, EvidenceForm, LinkForm, OfficialResultsForm,
    ReturnForm,
)
from survey.assessment.models import EvidenceDocument, Part
from survey.assessment.services import AppraisalConflict, AssessmentError
from survey.invitations.outbox import MailError, mail_context
from survey.questionnaire_registry import catalog
from survey.rounds.models import Agency

bp = Blueprint("assessment", __name__, url_prefix="/admin/assessment")

COUNCIL = (COUNCIL_CHAIR, COUNCIL_MEMBER, WORKING_GROUP)
READERS = (*ADMINS, ANALYST, *COUNCIL)
PART_LABELS = {"draft": "Đang soạn", "submitted": "Đã gửi", "returned": "Bị trả lại"}


def _cycle(round_id: int):
    round_ = round_in_scope(round_id)
    cycle = services.cycle_of(db.session(), round_)
    if cycle is None:
        abort(404)
    return round_, cycle


def _context(cycle):
    try:
        return services.context(cycle, catalog())
    except AssessmentError as error:
        abort(409, str(error))


def _part(cycle, agency_id: int) -> Part:
    agency = agency_in_scope(agency_id)
    part = services.part_of(db.session(), cycle, agency)
    if part is None:
        abort(404)
    return part


def survey_points(round_) -> dict[str, float] | None:
    """Survey points per sub-criterion from the reports' computation, or None if it cannot run yet.

    Through the reports' cache: the board shows them on every request, and they change only
    with the round's answer counts (see ``survey.reports.points_cache``)."""
    from survey.reports.options import OptionsError
    from survey.reports.points_cache import survey_points as cached_points

    try:
        return cached_points(db.session(), round_, catalog())
    except (OptionsError, ValueError):
        return None


@bp.get("/rounds/<int:round_id>")
@roles_required(*READERS, FOCAL_POINT)
def overview(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    cycle = services.cycle_of(session, round_)
    user = current_user()
    if cycle is not None and user.role == FOCAL_POINT and cycle.opened_at is not None:
        return redirect(url_for("assessment.workspace", round_id=round_id, agency_id=user.agency_id))
    parts = list(session.scalars(select(Part).where(Part.cycle_id == cycle.id))) if cycle else []
    return render_template("assessment/overview.html", round=round_, cycle=cycle, parts=parts,
                           form=ActionForm(), labels=PART_LABELS, is_late=services.is_late,
                           frozen=services.frozen_version(session, cycle) if cycle else None,
                           reminded=reminders.history(session, cycle) if cycle else {})


@bp.post("/rounds/<int:round_id>/remind")
@roles_required(*ADMINS)
def remind(round_id: int):
    _round, cycle = _cycle(round_id)
    try:
        context = mail_context(current_app.config)
        outcome = reminders.remind(db.session(), cycle, context, manual=True)
    except (AssessmentError, MailError) as error:
        return render_template("errors/error.html", title="Không thể gửi thư nhắc", message=str(error)), 422
    flash(outcome.summary())
    return redirect(url_for("assessment.overview", round_id=round_id))


@bp.post("/rounds/<int:round_id>/start")
@roles_required(*ADMINS)
def start_cycle(round_id: int):
    round_ = round_in_scope(round_id)
    try:
        services.start_cycle(db.session(), round_, catalog())
    except AssessmentError as error:
        return render_template("errors/error.html", title="Không thể bắt đầu", message=str(error)), 422
    return redirect(url_for("assessment.assignments", round_id=round_id))


@bp.route("/rounds/<int:round_id>/assignments", methods=["GET", "POST"])
@roles_required(*ADMINS)
def assignments(round_id: int):
    round_, cycle = _cycle(round_id)
    ctx = _context(cycle)
    session = db.session()
    form = ActionForm()
    error = None
    if request.method == "POST" and form.validate_on_submit():
        chosen = {}
        for code in services.assignments(session, cycle):
            raw = request.form.get(f"agency_{code}", "")
            chosen[code] = int(raw) if raw.isdigit() else None
        try:
            changed = services.set_assignments(session, cycle, chosen)
            flash(f"Đã lưu phân công ({len(changed)} thay đổi).")
            return redirect(url_for("assessment.assignments", round_id=round_id))
        except AssessmentError as e:
            error = str(e)
    agencies = session.scalars(select(Agency).where(Agency.province_id == round_.province_id,
                                                    Agency.is_active.is_(True)).order_by(Agency.name)).all()
    return render_template("assessment/assignments.html", round=round_, cycle=cycle, ctx=ctx, form=form,
                           current=services.assignments(session, cycle), agencies=agencies,
                           error=error), 422 if error else 200


@bp.post("/rounds/<int:round_id>/open")
@roles_required(*ADMINS)
def open_cycle(round_id: int):
    _round, cycle = _cycle(round_id)
    try:
        services.open_self_assessment(db.session(), cycle)
    except AssessmentError as error:
        return render_template("errors/error.html", title="Chưa thể mở tự đánh giá", message=str(error)), 422
    flash("Đã mở kỳ tự đánh giá cho các cơ quan.")
    return redirect(url_for("assessment.overview", round_id=round_id))


def _workspace(round_, cycle, part, *, status=200, error=None, forms=None):
    session = db.session()
    ctx = _context(cycle)
    codes = services.codes_of(session, cycle, part.agency_id)
    saved = services.entries(session, cycle)
    previous = services.last_year_points(session, cycle)
    documents = session.scalars(select(EvidenceDocument).where(EvidenceDocument.cycle_id == cycle.id,
                                                               EvidenceDocument.agency_id == part.agency_id)
                                .order_by(EvidenceDocument.id)).all()
    forms = forms or {}
    evidence_form = forms.get("evidence") or EvidenceForm()
    evidence_form.codes.choices = [(c, c) for c in codes]
    editable = current_user().role == FOCAL_POINT and not part.is_locked
    rows = []
    for code in codes:
        entry = saved.get(code)
        form = forms.get(code) or EntryForm(
            formdata=None, level="" if entry is None or entry.level is None else str(entry.level),
            numerator="" if entry is None or entry.numerator is None else f"{entry.numerator:g}",
            denominator="" if entry is None or entry.denominator is None else f"{entry.denominator:g}",
            explanation=entry.explanation if entry else "")
        rows.append({"sub": ctx.structure.subcriterion(code), "rule": ctx.rules.rule(code), "entry": entry,
                     "form": form, "last_year": previous.get(code)})
    return render_template("assessment/workspace.html", round=round_, cycle=cycle, part=part, rows=rows,
                           documents=documents, evidence_form=evidence_form, link_form=LinkForm(),
                           action_form=ActionForm(), return_form=forms.get("return") or ReturnForm(),
                           editable=editable, labels=PART_LABELS, late=services.is_late(part, cycle),
                           accept=files.ACCEPT, error=error, provisional=ctx.rules.provisional), status


@bp.get("/rounds/<int:round_id>/agencies/<int:agency_id>")
@roles_required(*READERS, FOCAL_POINT)
def workspace(round_id: int, agency_id: int):
    round_, cycle = _cycle(round_id)
    return _workspace(round_, cycle, _part(cycle, agency_id))


@bp.post("/rounds/<int:round_id>/agencies/<int:agency_id>/entries/<code>")
@roles_required(FOCAL_POINT)
def save_entry(round_id: int, agency_id: int, code: str):
    round_, cycle = _cycle(round_id)
    part = _part(cycle, agency_id)
    form = EntryForm()
    if not form.validate_on_submit():
        return _workspace(round_, cycle, part, status=422, error="Dữ liệu nhập quá dài.", forms={code: form})
    try:
        services.save_entry(db.session(), _context(cycle), part, code, current_user(), level=form.level.data or "",
                            numerator=form.numerator.data or "", denominator=form.denominator.data or "",
                            explanation=form.explanation.data or "")
    except AssessmentError as error:
        return _workspace(round_, cycle, part, status=422, error=str(error), forms={code: form})
    flash(f"Đã lưu bản nháp tiêu chí {code}.")
    return redirect(url_for("assessment.workspace", round_id=round_id, agency_id=agency_id) + f"#sub-{code}")


@bp.post("/rounds/<int:round_id>/agencies/<int:agency_id>/evidence")
@roles_required(FOCAL_POINT)
def upload_evidence(round_id: int, agency_id: int):
    round_, cycle = _cycle(round_id)
    part = _part(cycle, agency_id)
    form = EvidenceForm()
    upload = request.files.get("file")
    if not form.validate_on_submit():
        return _workspace(round_, cycle, part, status=422, error="Ngày ban hành không hợp lệ hoặc dữ liệu quá dài.",
                          forms={"evidence": form})
    try:
        services.add_evidence(db.session(), cycle, part, current_user(),
                              filename=upload.filename if upload else "", data=upload.read() if upload else b"",
                              number=form.number.data or "", issued_on=form.issued_on.data,
                              issuer=form.issuer.data or "", summary=form.summary.data or "",
                              codes=list(form.codes.data or []))
    except AssessmentError as error:
        return _workspace(round_, cycle, part, status=422, error=str(error), forms={"evidence": form})
    flash("Đã tải lên tài liệu kiểm chứng.")
    return redirect(url_for("assessment.workspace", round_id=round_id, agency_id=agency_id))


@bp.post("/rounds/<int:round_id>/agencies/<int:agency_id>/entries/<code>/link")
@roles_required(FOCAL_POINT)
def link_evidence(round_id: int, agency_id: int, code: str):
    round_, cycle = _cycle(round_id)
    part = _part(cycle, agency_id)
    form = LinkForm()
    document = db.session().get(EvidenceDocument, int(form.document_id.data)) \
        if form.validate_on_submit() and (form.document_id.data or "").isdigit() else None
    if document is None or document.cycle_id != cycle.id or document.agency_id != part.agency_id:
        return _workspace(round_, cycle, part, status=422, error="Vui lòng chọn một tài liệu đã tải lên.")
    try:
        services.link_evidence(db.session(), cycle, part, document, code)
    except AssessmentError as error:
        return _workspace(round_, cycle, part, status=422, error=str(error))
    return redirect(url_for("assessment.workspace", round_id=round_id, agency_id=agency_id) + f"#sub-{code}")


@bp.post("/rounds/<int:round_id>/agencies/<int:agency_id>/submit")
@roles_required(FOCAL_POINT)
def submit_part(round_id: int, agency_id: int):
    round_, cycle = _cycle(round_id)
    part = _part(cycle, agency_id)
    try:
        services.submit_part(db.session(), _context(cycle), part)
    except AssessmentError as error:
        return _workspace(round_, cycle, part, status=422, error=str(error))
    flash("Đã gửi phần tự đánh giá về Sở Nội vụ.")
    return redirect(url_for("assessment.workspace", round_id=round_id, agency_id=agency_id))


@bp.post("/rounds/<int:round_id>/agencies/<int:agency_id>/return")
@roles_required(*ADMINS)
def return_part(round_id: int, agency_id: int):
    round_, cycle = _cycle(round_id)
    part = _part(cycle, agency_id)
    form = ReturnForm()
    try:
        if not form.validate_on_submit():
            raise AssessmentError("Ý kiến quá dài.")
        services.return_part(db.session(), cycle, part, form.comment.data or "")
    except AssessmentError as error:
        return _workspace(round_, cycle, part, status=422, error=str(error), forms={"return": form})
    flash(f"Đã trả lại phần của {part.agency.name}.")
    return redirect(url_for("assessment.workspace", round_id=round_id, agency_id=agency_id))


@bp.get("/rounds/<int:round_id>/evidence/<int:document_id>")
@roles_required(*ADMINS, FOCAL_POINT, *COUNCIL)
def download_evidence(round_id: int, document_id: int):
    _round, cycle = _cycle(round_id)
    document = db.session().get(EvidenceDocument, document_id)
    if document is None or document.cycle_id != cycle.id:
        abort(404)
    agency_in_scope(document.agency_id)  # a focal point reads only their agency's documents
    return send_file(files.path_for(document.sha256), mimetype=document.content_type, as_attachment=True,
                     download_name=document.filename)


@bp.get("/rounds/<int:round_id>/board")
@roles_required(*READERS)
def board(round_id: int):
    round_, cycle = _cycle(round_id)
    ctx = _context(cycle)
    session = db.session()
    points = survey_points(round_)
    rows = services.lines(session, ctx, points, documents=False)
    progress = services.progress_board(session, ctx, rows)
    agencies = {p.agency_id: p.agency for p in progress["parts"].values()}
    return render_template("assessment/board.html", round=round_, cycle=cycle, ctx=ctx, rows=rows,
                           progress=progress, agencies=sorted(agencies.values(), key=lambda a: a.name),
                           total=services.total(ctx, rows), at_risk=services.points_at_risk(rows),
                           fields=services.field_totals(ctx, rows),
                           missing=[r for r in rows if not r.survey_scored and not r.evidence_count and not r.explanation],
                           labels=PART_LABELS, is_late=services.is_late,
                           frozen=services.frozen_version(session, cycle), close_form=CloseForm())


def _appraisal_page(round_, cycle, code, *, status=200, error=None, form=None, comment_form=None):
    session = db.session()
    ctx = _context(cycle)
    line = next((r for r in services.lines(session, ctx) if r.code == code and not r.survey_scored), None)
    if line is None:
        abort(404)
    from survey.assessment.models import Appraisal

    current = session.scalar(select(Appraisal).where(Appraisal.cycle_id == cycle.id, Appraisal.subcriterion == code))
    form = form or AppraisalForm(formdata=None, points="" if current is None else f"{current.points:g}",
                                 reason=current.reason if current else "",
                                 version=str(current.version) if current else "0")
    return render_template("assessment/appraisal.html", round=round_, cycle=cycle, line=line, rule=ctx.rules.rule(code),
                           current=current, form=form, comment_form=comment_form or CommentForm(),
                           history=services.history(session, cycle, code),
                           comments=services.comments(session, cycle, code),
                           frozen=services.frozen_version(session, cycle),
                           can_appraise=current_user().role in COUNCIL, error=error), status


@bp.route("/rounds/<int:round_id>/appraisal/<code>", methods=["GET", "POST"])
@roles_required(*ADMINS, *COUNCIL)
def appraisal(round_id: int, code: str):
    round_, cycle = _cycle(round_id)
    if request.method == "GET":
        return _appraisal_page(round_, cycle, code)
    if current_user().role not in COUNCIL:
        return render_template("admin/forbidden.html"), 403
    form = AppraisalForm()
    try:
        if not form.validate_on_submit():
            raise AssessmentError("Dữ liệu nhập quá dài.")
        seen = int(form.version.data) if (form.version.data or "").isdigit() else None
        services.appraise(db.session(), _context(cycle), code, current_user(), points=form.points.data or "",
                          reason=form.reason.data or "", seen_version=seen)
    except AppraisalConflict as conflict:
        return _appraisal_page(round_, cycle, code, status=409, error=str(conflict), form=form)
    except AssessmentError as error:
        return _appraisal_page(round_, cycle, code, status=422, error=str(error), form=form)
    flash(f"Đã lưu điểm thẩm định tiêu chí {code}.")
    return redirect(url_for("assessment.appraisal", round_id=round_id, code=code))


@bp.post("/rounds/<int:round_id>/appraisal/<code>/comments")
@roles_required(*ADMINS, *COUNCIL)
def add_comment(round_id: int, code: str):
    round_, cycle = _cycle(round_id)
    form = CommentForm()
    try:
        if not form.validate_on_submit():
            raise AssessmentError("Ý kiến quá dài.")
        services.comment(db.session(), cycle, code, current_user(), form.body.data or "")
    except AssessmentError as error:
        return _appraisal_page(round_, cycle, code, status=422, error=str(error), comment_form=form)
    return redirect(url_for("assessment.appraisal", round_id=round_id, code=code) + "#comments")


@bp.post("/rounds/<int:round_id>/appraisal/close")
@roles_required(SYSTEM_ADMIN, ADMINS[1], COUNCIL_CHAIR)
def close_appraisal(round_id: int):
    round_, cycle = _cycle(round_id)
    form = CloseForm()
    try:
        if not form.validate_on_submit():
            raise AssessmentError("Tên phiên bản quá dài.")
        services.close_appraisal(db.session(), _context(cycle), current_user(), form.name.data or "",
                                 survey_points(round_))
    except AssessmentError as error:
        return render_template("errors/error.html", title="Chưa thể kết thúc thẩm định", message=str(error)), 422
    flash("Đã kết thúc thẩm định và chốt điểm.")
    return redirect(url_for("assessment.board", round_id=round_id))


@bp.get("/rounds/<int:round_id>/exports/<kind>")
@roles_required(*ADMINS, *COUNCIL)
def export(round_id: int, kind: str):
    round_, cycle = _cycle(round_id)
    frozen = services.frozen_version(db.session(), cycle)
    if frozen is None:
        return render_template("errors/error.html", title="Chưa có kết quả chốt",
                               message="Chỉ xuất báo cáo từ phiên bản đã được Hội đồng chốt."), 404
    if kind not in exports.KINDS:
        abort(404)
    data, filename, mimetype = exports.render(kind, round_, frozen, files.storage_dir())
    services.record_export(db.session(), cycle, kind)
    return send_file(data, mimetype=mimetype, as_attachment=True, download_name=filename)


def _results_page(round_, cycle, *, status=200, problems=None, form=None):
    session = db.session()
    ctx = _context(cycle)
    frozen = services.frozen_version(session, cycle)
    comparison = results.compare(session, ctx, frozen) if frozen is not None else None
    return render_template("assessment/results.html", round=round_, cycle=cycle, frozen=frozen,
                           comparison=comparison, source=results.official_source(session, cycle),
                           form=form or OfficialResultsForm(), problems=problems or [],
                           can_import=current_user().role in ADMINS), status


@bp.get("/rounds/<int:round_id>/results")
@roles_required(*READERS)
def official_results(round_id: int):
    round_, cycle = _cycle(round_id)
    return _results_page(round_, cycle)


@bp.post("/rounds/<int:round_id>/results")
@roles_required(*ADMINS)
def import_official_results(round_id: int):
    round_, cycle = _cycle(round_id)
    form = OfficialResultsForm()
    upload = request.files.get("file")
    try:
        if not form.validate_on_submit():
            raise results.ImportRefused(["Biểu mẫu đã hết hạn; vui lòng tải lại trang."])
        if upload is None or not upload.filename:
            raise results.ImportRefused(["Vui lòng chọn tệp kết quả (.xlsx hoặc .csv)."])
        count = results.import_official(db.session(), _context(cycle), current_user(), upload.filename, upload.read())
    except results.ImportRefused as refused:
        return _results_page(round_, cycle, status=422, problems=refused.problems, form=form)
    flash(f"Đã nhập kết quả chính thức của {count} tiêu chí thành phần.")
    return redirect(url_for("assessment.official_results", round_id=round_id))
