"""Roster pages: dashboard, import (upload, preview, confirm), single edits, export (issue 3)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey import db
from survey.accounts import services as audit
from survey.accounts.access import ADMINS, current_user, round_in_scope, roles_required
from survey.accounts.models import FOCAL_POINT, SYSTEM_ADMIN
from survey.rounds.models import Agency, Province, Round
from survey.rounds.services import AGENCY_KINDS, RoundError, import_agencies
from survey.roster import importing, services
from survey.roster.importing import FIELD_LABELS, FIELDS, ImportRefused, column_letter
from survey.roster.models import Respondent, RosterImport
from survey.roster.services import PersonForm, RosterError
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


def _import_in_scope(import_id: int) -> RosterImport:
    return _in_scope(RosterImport, import_id)


def _respondent_in_scope(respondent_id: int) -> Respondent:
    return _in_scope(Respondent, respondent_id)


def _today():
    return datetime.now(VIETNAM).date()


# --- dashboard and list -------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/roster")
@roles_required(*ROSTER_ROLES)
def dashboard(round_id: int):
    round_ = round_in_scope(round_id)
    board = services.dashboard(db.session(), round_, _today(), agency_id=_own_agency_id())
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
    people = session.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return render_template(
        "roster/list.html", round=round_, people=people[:PAGE_SIZE], more=len(people) > PAGE_SIZE, page=page,
        agencies=services.province_agencies(session, round_), agency_id=agency_id, group_id=group_id,
        search=search, own=own,
    )


# --- single respondents -------------------------------------------------------------------------

def _person_form() -> PersonForm:
    return PersonForm(
        full_name=request.form.get("full_name", ""), position=request.form.get("position", ""),
        email=request.form.get("email", ""), phone=request.form.get("phone", ""),
        group_id=request.form.get("group_id", type=int), agency_id=request.form.get("agency_id", type=int),
    )


def _render_person(round_: Round, form: PersonForm | None, respondent: Respondent | None, status: int = 200):
    agencies = [a for a in services.province_agencies(db.session(), round_) if a.is_active]
    own = _own_agency_id()
    if own is not None:
        agencies = [a for a in agencies if a.id == own]
    linked = respondent is not None and services.has_link(db.session(), respondent)
    return render_template("roster/person.html", round=round_, form=form, respondent=respondent,
                           agencies=agencies, linked=linked), status


@bp.route("/rounds/<int:round_id>/respondents/new", methods=["GET", "POST"])
@roles_required(*ROSTER_ROLES)
def new_respondent(round_id: int):
    round_ = round_in_scope(round_id)
    if request.method == "GET":
        return _render_person(round_, None, None)
    form = _person_form()
    session = db.session()
    respondent = services.save_respondent(session, round_, form, own_agency_id=_own_agency_id())
    if respondent is None:
        return _render_person(round_, form, None, 400)
    audit.record(session, "roster.add", target=respondent.full_name, round_id=round_.id,
                 province_id=round_.province_id, details={"respondent": respondent.id})
    flash(f"Đã thêm {respondent.full_name}.")
    return redirect(url_for("roster.list_respondents", round_id=round_.id))


@bp.route("/respondents/<int:respondent_id>/edit", methods=["GET", "POST"])
@roles_required(*ROSTER_ROLES)
def edit_respondent(respondent_id: int):
    respondent = _respondent_in_scope(respondent_id)
    round_ = respondent.round
    if request.method == "GET" or respondent.removed_at is not None:
        return _render_person(round_, None, respondent)
    form = _person_form()
    session = db.session()
    before = {k: getattr(respondent, k) for k in ("full_name", "position", "email", "phone", "group_id", "agency_id")}
    saved = services.save_respondent(session, round_, form, respondent=respondent, own_agency_id=_own_agency_id())
    if saved is None:
        session.rollback()
        return _render_person(round_, form, session.get(Respondent, respondent_id), 400)
    changed = sorted(k for k, v in before.items() if getattr(saved, k) != v)
    audit.record(session, "roster.edit", target=saved.full_name, round_id=round_.id,
                 province_id=round_.province_id, details={"respondent": saved.id, "changed": changed})
    flash(f"Đã lưu {saved.full_name}.")
    return redirect(url_for("roster.list_respondents", round_id=round_.id))


@bp.post("/respondents/<int:respondent_id>/remove")
@roles_required(*ROSTER_ROLES)
def remove_respondent(respondent_id: int):
    respondent = _respondent_in_scope(respondent_id)
    session = db.session()
    try:
        services.remove_respondent(session, respondent, confirmed=request.form.get("confirm") == "yes")
    except RosterError as problem:
        form = None
        return render_template("roster/person.html", round=respondent.round, form=form, respondent=respondent,
                               agencies=[], linked=True, error=str(problem)), 409
    audit.record(session, "roster.remove", target=respondent.full_name, round_id=respondent.round_id,
                 province_id=respondent.round.province_id, details={"respondent": respondent.id})
    flash(f"Đã xóa {respondent.full_name} khỏi danh sách (vẫn lưu trong nhật ký).")
    return redirect(url_for("roster.list_respondents", round_id=respondent.round_id))


# --- import -------------------------------------------------------------------------------------

def _mapping_from(form) -> dict[str, int]:
    """Columns chosen by the user: letters (A, B…) on the upload page, indexes on the preview."""
    mapping = {}
    for name in FIELDS:
        value = form.get(f"col_{name}", "").strip().upper()
        if not value:
            continue
        if value.isdigit():
            mapping[name] = int(value)
        elif value.isalpha() and len(value) <= 2:
            mapping[name] = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(value))) - 1
        else:
            raise RosterError(f"Cột “{FIELD_LABELS[name]}”: hãy ghi chữ cái của cột (A, B, C…).")
    return mapping


@bp.route("/rounds/<int:round_id>/import", methods=["GET", "POST"])
@roles_required(*ROSTER_ROLES)
def upload(round_id: int):
    round_ = round_in_scope(round_id)
    if request.method == "GET":
        return render_template("roster/upload.html", round=round_, error=None, fields=FIELDS, labels=FIELD_LABELS)
    session = db.session()
    error = None
    # Checked before the file is read into memory: the request limit is higher for all uploads.
    if (request.content_length or 0) > importing.LIMITS.file_bytes + 64 * 1024:
        error = (f"Tệp quá lớn; giới hạn là {importing.LIMITS.file_bytes // 1024 // 1024} MB. Vui lòng xóa các "
                 "trang tính, hình ảnh không cần thiết hoặc chia nhỏ danh sách.")
        for spooled in request.files.values():
            spooled.close()  # the form parser already spooled it to a temporary file
    else:
        upload_file = request.files.get("file")
        if upload_file is None or not upload_file.filename:
            error = "Vui lòng chọn tệp danh sách (.xlsx hoặc .csv)."
        else:
            own = _own_agency_id()
            try:
                mapping = _mapping_from(request.form)
                imp = services.start_import(
                    session, round_, filename=upload_file.filename, content=upload_file.read(),
                    user=current_user(), agency=session.get(Agency, own) if own else None, mapping=mapping,
                )
            except (ImportRefused, RosterError) as problem:
                error = str(problem)
            else:
                audit.record(session, "roster.upload", target=imp.filename, round_id=round_.id,
                             province_id=round_.province_id, details={"import": imp.id, **imp.summary})
                return redirect(url_for("roster.preview", import_id=imp.id), 303)
    return render_template("roster/upload.html", round=round_, error=error, fields=FIELDS, labels=FIELD_LABELS), 400


@bp.get("/imports/<int:import_id>")
@roles_required(*ROSTER_ROLES)
def preview(import_id: int):
    imp = _import_in_scope(import_id)
    return _render_preview(imp, services.STALE_PREVIEW if services.is_stale(imp) else None)


def _render_preview(imp: RosterImport, error: str | None = None, status: int = 200):
    session = db.session()
    round_ = imp.round
    plan = services._plan(session, round_, imp.rows, imp.agency_id) if imp.status == "pending" else None
    agencies = {a.id: a.name for a in services.province_agencies(session, round_)}
    groups = {g.id: g.label for g in round_.groups}
    titles = imp.summary.get("titles") or []
    width = max(len(titles), max(imp.mapping.values(), default=-1) + 1)
    columns = [(i, f"{column_letter(i)}{': ' + titles[i] if i < len(titles) and titles[i] else ''}") for i in range(width)]
    return render_template(
        "roster/preview.html", imp=imp, round=round_, plan=plan, agencies=agencies, groups=groups,
        columns=columns, fields=FIELDS, labels=FIELD_LABELS, error=error, limit=PAGE_SIZE,
    ), status


@bp.post("/imports/<int:import_id>/mapping")
@roles_required(*ROSTER_ROLES)
def remap(import_id: int):
    imp = _import_in_scope(import_id)
    session = db.session()
    try:
        services.remap_import(session, imp, _mapping_from(request.form))
    except (ImportRefused, RosterError) as problem:
        session.rollback()
        return _render_preview(session.get(RosterImport, import_id), str(problem), 400)
    return redirect(url_for("roster.preview", import_id=imp.id), 303)


@bp.post("/imports/<int:import_id>/confirm")
@roles_required(*ROSTER_ROLES)
def confirm(import_id: int):
    imp = _import_in_scope(import_id)
    session = db.session()
    try:
        applied = services.confirm_import(session, imp)
    except RosterError as problem:
        session.rollback()
        return _render_preview(session.get(RosterImport, import_id), str(problem), 409)
    except IntegrityError:
        # The database refused a row part-way: the whole import is rolled back, nothing is written.
        session.rollback()
        return _render_preview(session.get(RosterImport, import_id),
                               "Cơ sở dữ liệu từ chối một dòng trong lúc ghi; không dòng nào được ghi. "
                               "Vui lòng tải tệp lên lại.", 409)
    round_ = imp.round
    audit.record(session, "roster.import", target=imp.filename, round_id=round_.id, province_id=round_.province_id,
                 details={"import": imp.id, "added": applied.added, "updated": applied.updated,
                          "unchanged": applied.unchanged})
    flash(f"Đã nhập danh sách: thêm {applied.added}, cập nhật {applied.updated}, không đổi {applied.unchanged}.")
    return redirect(url_for("roster.dashboard", round_id=round_.id), 303)


@bp.post("/imports/<int:import_id>/discard")
@roles_required(*ROSTER_ROLES)
def discard(import_id: int):
    imp = _import_in_scope(import_id)
    try:
        services.discard_import(db.session(), imp)
    except RosterError as problem:
        return _render_preview(imp, str(problem), 409)
    audit.record(db.session(), "roster.import_discard", target=imp.filename, round_id=imp.round_id,
                 province_id=imp.round.province_id, details={"import": imp.id})
    flash("Đã hủy lần nhập; không có gì được ghi.")
    return redirect(url_for("roster.dashboard", round_id=imp.round_id), 303)


# --- export -------------------------------------------------------------------------------------

def _export(round_id: int, kind: str):
    round_ = round_in_scope(round_id)
    session = db.session()
    grouped = services.export_rows(session, round_)
    count = sum(len(rows) for _, rows in grouped)
    audit.record(session, "roster.export", target=round_.title, round_id=round_.id, province_id=round_.province_id,
                 details={"format": kind, "rows": count})
    name = f"danh-sach-doi-tuong-{round_.year}-{round_.province.code}.{kind}"
    if kind == "xlsx":
        body = services.export_xlsx(round_, grouped)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, mimetype = services.export_csv(grouped), "text/csv; charset=utf-8"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}",
                                                      "Cache-Control": "no-store"})


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


@bp.route("/agencies", methods=["GET", "POST"])
@roles_required(*ADMINS)
def agencies():
    province = _province_in_scope()
    session = db.session()
    error = None
    if request.method == "POST":
        try:
            if request.form.get("action") == "deactivate":
                agency = session.get(Agency, request.form.get("agency_id", type=int) or 0)
                if agency is None or agency.province_id != province.id:
                    abort(404)
                agency.is_active = False
                audit.record(session, "agency.deactivate", target=agency.name, province_id=province.id)
                flash(f"Đã ngừng sử dụng {agency.name}.")
            else:
                upload_file = request.files.get("file")
                if upload_file is not None and upload_file.filename:
                    rows = services.agency_rows_from_file(upload_file.read(), upload_file.filename)
                else:
                    rows = [{k: request.form.get(k, "") for k in ("code", "name", "kind")}]
                added, updated = import_agencies(session, province, rows)
                audit.record(session, "agency.import", target=province.name, province_id=province.id,
                             details={"added": added, "updated": updated})
                flash(f"Đã thêm {added} và cập nhật {updated} cơ quan, đơn vị.")
        except (RoundError, ImportRefused) as problem:
            session.rollback()
            error = str(problem)
        else:
            return redirect(url_for("roster.agencies", province_id=province.id), 303)
    listed = session.scalars(select(Agency).where(Agency.province_id == province.id)
                             .order_by(Agency.is_active.desc(), Agency.kind, Agency.name)).all()
    provinces = session.scalars(select(Province).order_by(Province.name)).all() \
        if current_user().role == SYSTEM_ADMIN else [province]
    return render_template("roster/agencies.html", province=province, agencies=listed, kinds=AGENCY_KINDS,
                           error=error, provinces=provinces), 400 if error else 200
