"""Roster pages: dashboard, import (upload, preview, confirm), single edits, export, agencies.

Each view loads, checks access, calls one service and responds. A refused form is shown again
with a 4xx status, which makes the request edge roll back; views never commit nor roll back.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from survey import db
from survey.accounts.access import ADMINS, current_user, round_in_scope, roles_required
from survey.accounts.models import FOCAL_POINT, SYSTEM_ADMIN
from survey.rounds.agencies import (AGENCY_KINDS, AgencyError, agency_rows_from_file, deactivate_agency,
                                    import_agencies, province_agencies)
from survey.rounds.forms import form_errors
from survey.rounds.models import Agency, Province, Round
from survey.roster import dashboard as boards
from survey.roster import exports, imports, people
from survey.roster.current import RosterError
from survey.roster.forms import AgencyForm, ColumnsForm, DeactivateForm, PersonForm, RemoveForm, UploadForm
from survey.roster.importing import FIELD_LABELS, FIELDS, LIMITS, ImportRefused, column_letter
from survey.roster.models import Respondent, RosterImport
from survey.timeutil import VIETNAM

bp = Blueprint("roster", __name__, url_prefix="/admin")

ROSTER_ROLES = (*ADMINS, FOCAL_POINT)
PAGE_SIZE = 200


def _own_agency_id() -> int | None:
    """A focal point works on their agency only; administrators on the whole round."""
    user = current_user()
    return user.agency_id if user.role == FOCAL_POINT else None


def _in_scope(model, object_id: int):
    """An import or a respondent of a round in the user's scope (their agency's, for a focal point)."""
    found = db.session().get(model, object_id)
    if found is None:
        abort(404)
    round_in_scope(found.round_id)
    own = _own_agency_id()
    if own is not None and found.agency_id != own:
        abort(404)
    return found


def _today():
    return datetime.now(VIETNAM).date()


# --- dashboard and list -------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/roster")
@roles_required(*ROSTER_ROLES)
def dashboard(round_id: int):
    round_ = round_in_scope(round_id)
    board = boards.dashboard(db.session(), round_, _today(), agency_id=_own_agency_id())
    return render_template("roster/dashboard.html", round=round_, board=board)


@bp.get("/rounds/<int:round_id>/respondents")
@roles_required(*ROSTER_ROLES)
def list_respondents(round_id: int):
    round_ = round_in_scope(round_id)
    session = db.session()
    query = (select(Respondent).where(Respondent.round_id == round_.id, Respondent.removed_at.is_(None))
             .order_by(Respondent.group_id, Respondent.agency_id, Respondent.full_name, Respondent.id))
    own = _own_agency_id()
    agency_id = own or request.args.get("agency_id", type=int)
    group_id = request.args.get("group_id", type=int)
    if agency_id:
        query = query.where(Respondent.agency_id == agency_id)
    if group_id:
        query = query.where(Respondent.group_id == group_id)
    search = request.args.get("q", "").strip()
    if search:
        like = f"%{search}%"
        query = query.where(Respondent.full_name.ilike(like) | Respondent.email.ilike(like) | Respondent.phone.ilike(like))
    page = max(request.args.get("page", 1, type=int), 1)
    found = session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return render_template(
        "roster/list.html", round=round_, people=found[:PAGE_SIZE], more=len(found) > PAGE_SIZE, page=page,
        agencies=province_agencies(session, round_.province_id), agency_id=agency_id, group_id=group_id,
        search=search, own=own,
    )


# --- single respondents -------------------------------------------------------------------------

def _render_person(round_: Round, form: PersonForm, respondent: Respondent | None, status: int = 200,
                   error: str | None = None):
    agencies = [a for a in province_agencies(db.session(), round_.province_id) if a.is_active]
    own = _own_agency_id()
    if own is not None:
        agencies = [a for a in agencies if a.id == own]
    linked = respondent is not None and people.has_link(db.session(), respondent)
    return render_template("roster/person.html", round=round_, form=form, respondent=respondent,
                           agencies=agencies, linked=linked, error=error), status


def _save_person(round_: Round, form: PersonForm, respondent: Respondent | None):
    """Save a submitted person form; on refusal the form comes back with its problems (422)."""
    if form.validate_on_submit():
        try:
            return people.save_respondent(db.session(), round_, form.details(), respondent=respondent,
                                          own_agency_id=_own_agency_id())
        except people.PersonRefused as refused:
            for name, message in refused.problems.items():
                form[name].errors = [*form[name].errors, message]
    return _render_person(round_, form, respondent, 422)


@bp.route("/rounds/<int:round_id>/respondents/new", methods=["GET", "POST"])
@roles_required(*ROSTER_ROLES)
def new_respondent(round_id: int):
    round_ = round_in_scope(round_id)
    form = PersonForm()
    if request.method == "GET":
        return _render_person(round_, form, None)
    saved = _save_person(round_, form, None)
    if not isinstance(saved, Respondent):
        return saved
    flash(f"Đã thêm {saved.full_name}.")
    return redirect(url_for("roster.list_respondents", round_id=round_.id))


@bp.route("/respondents/<int:respondent_id>/edit", methods=["GET", "POST"])
@roles_required(*ROSTER_ROLES)
def edit_respondent(respondent_id: int):
    respondent = _in_scope(Respondent, respondent_id)
    round_ = respondent.round
    if request.method == "GET" or respondent.removed_at is not None:
        return _render_person(round_, PersonForm(obj=respondent), respondent)
    saved = _save_person(round_, PersonForm(), respondent)
    if not isinstance(saved, Respondent):
        return saved
    flash(f"Đã lưu {saved.full_name}.")
    return redirect(url_for("roster.list_respondents", round_id=round_.id))


@bp.post("/respondents/<int:respondent_id>/remove")
@roles_required(*ROSTER_ROLES)
def remove_respondent(respondent_id: int):
    respondent = _in_scope(Respondent, respondent_id)
    form = RemoveForm()
    try:
        if not form.validate_on_submit():
            raise RosterError(form_errors(form))
        people.remove_respondent(db.session(), respondent, confirmed=form.confirm.data)
    except RosterError as problem:
        return render_template("roster/person.html", round=respondent.round, form=None, respondent=respondent,
                               agencies=[], linked=True, error=str(problem)), 409
    flash(f"Đã xóa {respondent.full_name} khỏi danh sách (vẫn lưu trong nhật ký).")
    return redirect(url_for("roster.list_respondents", round_id=respondent.round_id))


# --- import -------------------------------------------------------------------------------------

def _render_upload(round_: Round, error: str | None = None, status: int = 200):
    return render_template("roster/upload.html", round=round_, error=error, fields=FIELDS,
                           labels=FIELD_LABELS), status


@bp.route("/rounds/<int:round_id>/import", methods=["GET", "POST"])
@roles_required(*ROSTER_ROLES)
def upload(round_id: int):
    round_ = round_in_scope(round_id)
    if request.method == "GET":
        return _render_upload(round_)
    # Checked before the file is read into memory: the request limit is higher for all uploads.
    if (request.content_length or 0) > LIMITS.file_bytes + 64 * 1024:
        for spooled in request.files.values():
            spooled.close()  # the form parser already spooled it to a temporary file
        return _render_upload(round_, (
            f"Tệp quá lớn; giới hạn dung lượng tệp là {LIMITS.file_bytes // 1024 // 1024} MB. Vui lòng xóa các "
            "trang tính, hình ảnh không cần thiết hoặc chia nhỏ danh sách."), 413)
    form = UploadForm()
    if not form.validate_on_submit():
        return _render_upload(round_, form_errors(form), 400)
    session = db.session()
    own = _own_agency_id()
    try:
        imp = imports.start_import(session, round_, filename=form.file.data.filename, content=form.file.data.read(),
                                   user=current_user(), agency=session.get(Agency, own) if own else None,
                                   mapping=form.mapping())
    except (ImportRefused, RosterError) as problem:
        return _render_upload(round_, str(problem), 400)
    return redirect(url_for("roster.preview", import_id=imp.id), 303)


@bp.get("/imports/<int:import_id>")
@roles_required(*ROSTER_ROLES)
def preview(import_id: int):
    imp = _in_scope(RosterImport, import_id)
    return _render_preview(imp, imports.STALE_PREVIEW if imports.is_stale(imp) else None)


def _render_preview(imp: RosterImport, error: str | None = None, status: int = 200):
    session = db.session()
    round_ = imp.round
    agencies = {a.id: a.name for a in province_agencies(session, round_.province_id)}
    groups = {g.id: g.label for g in round_.groups}
    titles = imp.summary.get("titles") or []
    width = max(len(titles), max(imp.mapping.values(), default=-1) + 1)
    columns = [(i, f"{column_letter(i)}{': ' + titles[i] if i < len(titles) and titles[i] else ''}") for i in range(width)]
    return render_template(
        "roster/preview.html", imp=imp, round=round_, plan=imports.preview_plan(session, imp), agencies=agencies,
        groups=groups, columns=columns, fields=FIELDS, labels=FIELD_LABELS, error=error, limit=PAGE_SIZE,
    ), status


@bp.post("/imports/<int:import_id>/mapping")
@roles_required(*ROSTER_ROLES)
def remap(import_id: int):
    imp = _in_scope(RosterImport, import_id)
    form = ColumnsForm()
    try:
        if not form.validate_on_submit():
            raise RosterError(form_errors(form))
        imports.remap_import(db.session(), imp, form.mapping())
    except (ImportRefused, RosterError) as problem:
        return _render_preview(imp, str(problem), 400)
    return redirect(url_for("roster.preview", import_id=imp.id), 303)


@bp.post("/imports/<int:import_id>/confirm")
@roles_required(*ROSTER_ROLES)
def confirm(import_id: int):
    imp = _in_scope(RosterImport, import_id)
    try:
        applied = imports.confirm_import(db.session(), imp)
    except RosterError as problem:
        return _render_preview(imp, str(problem), 409)
    flash(f"Đã nhập danh sách: thêm {applied.added}, cập nhật {applied.updated}, không đổi {applied.unchanged}.")
    return redirect(url_for("roster.dashboard", round_id=imp.round_id), 303)


@bp.post("/imports/<int:import_id>/discard")
@roles_required(*ROSTER_ROLES)
def discard(import_id: int):
    imp = _in_scope(RosterImport, import_id)
    try:
        imports.discard_import(db.session(), imp)
    except RosterError as problem:
        return _render_preview(imp, str(problem), 409)
    flash("Đã hủy lần nhập; không có gì được ghi.")
    return redirect(url_for("roster.dashboard", round_id=imp.round_id), 303)


# --- export -------------------------------------------------------------------------------------

def _export(round_id: int, kind: str):
    round_ = round_in_scope(round_id)
    body, _count = exports.export_roster(db.session(), round_, kind)
    name = f"danh-sach-doi-tuong-{round_.year}-{round_.province.code}.{kind}"
    return Response(body, mimetype=exports.FORMATS[kind],
                    headers={"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"})


@bp.get("/rounds/<int:round_id>/export.xlsx")
@roles_required(*ADMINS)
def export_xlsx(round_id: int):
    return _export(round_id, "xlsx")


@bp.get("/rounds/<int:round_id>/export.csv")
@roles_required(*ADMINS)
def export_csv(round_id: int):
    return _export(round_id, "csv")


# --- agencies of a province ---------------------------------------------------------------------

def _province_in_scope() -> Province:
    user = current_user()
    session = db.session()
    if user.role == SYSTEM_ADMIN:
        province = session.get(Province, request.values.get("province_id", type=int) or 0) or \
            session.scalars(select(Province).order_by(Province.name)).first()
    else:
        province = session.get(Province, user.province_id)
    if province is None:
        abort(404)
    return province


def _render_agencies(province: Province, error: str | None = None, status: int = 200):
    session = db.session()
    listed = session.scalars(select(Agency).where(Agency.province_id == province.id)
                             .order_by(Agency.is_active.desc(), Agency.kind, Agency.name)).all()
    provinces = session.scalars(select(Province).order_by(Province.name)).all() \
        if current_user().role == SYSTEM_ADMIN else [province]
    return render_template("roster/agencies.html", province=province, agencies=listed, kinds=AGENCY_KINDS,
                           error=error, provinces=provinces), status


@bp.get("/agencies")
@roles_required(*ADMINS)
def agencies():
    return _render_agencies(_province_in_scope())


@bp.post("/agencies")
@roles_required(*ADMINS)
def save_agencies():
    province = _province_in_scope()
    session = db.session()
    try:
        if request.form.get("action") == "deactivate":
            form = DeactivateForm()
            if not form.validate_on_submit():
                raise AgencyError(form_errors(form))
            agency = session.get(Agency, form.agency_id.data)
            if agency is None or agency.province_id != province.id:
                abort(404)
            deactivate_agency(session, agency)
            flash(f"Đã ngừng sử dụng {agency.name}.")
        else:
            form = AgencyForm()
            if not form.validate_on_submit():
                raise AgencyError(form_errors(form))
            upload_file = form.file.data
            if upload_file is not None and upload_file.filename:
                rows = agency_rows_from_file(upload_file.read(), upload_file.filename)
                source = upload_file.filename
            else:
                rows, source = [{"code": form.code.data or "", "name": form.name.data or "",
                                 "kind": form.kind.data or ""}], None
            added, updated = import_agencies(session, province, rows, source=source)
            flash(f"Đã thêm {added} và cập nhật {updated} cơ quan, đơn vị.")
    except AgencyError as problem:
        return _render_agencies(province, str(problem), 400)
    return redirect(url_for("roster.agencies", province_id=province.id), 303)
