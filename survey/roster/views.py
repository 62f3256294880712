"""Roster pages: dashboard, import (upload, preview, confirm), single edits, export, agencies.

Each view loads, checks access, calls one service and responds. A refused form is shown again
with a 4xx status, which makes the request edge roll back; views never commit nor roll back.
"""

from __future__ import annotations

from datetime import datetime, timezone
from math import ceil

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from survey import db
from survey.accounts.access import ADMINS, current_user, round_in_scope, roles_required
from survey.accounts.models import FOCAL_POINT, SYSTEM_ADMIN, User
from survey.invitations import campaigns
from survey.invitations.models import INVITATION, REMINDER
from survey.invitations.monitoring import stage_tests
from survey.invitations.outbox import MailError, mail_context
from survey.rounds.agencies import (AGENCY_KINDS, AgencyError, agency_rows_from_file, deactivate_agency,
                                    import_agencies, province_agencies)
from survey.rounds.forms import form_errors
from survey.rounds.models import Agency, Province, Round
from survey.roster import dashboard as boards
from survey.roster import exports, imports, people
from survey.roster.current import RosterError
from survey.roster.forms import (BULK_ACTIONS, AgencyForm, AgencyNameForm, BulkForm, ColumnsForm, DeactivateForm,
                                 PersonForm, RemoveForm, UploadForm, decisions_form)
from survey.roster.importing import FIELD_LABELS, FIELDS, LIMITS, ImportRefused, column_letter
from survey.roster.models import Respondent, RosterImport
from survey.timeutil import VIETNAM, as_utc

bp = Blueprint("roster", __name__, url_prefix="/admin")

ROSTER_ROLES = (*ADMINS, FOCAL_POINT)
PAGE_SIZE = 200  # rows of each kind shown on a preview
LIST_PAGE_SIZE = 50  # people per page of the respondent list


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


SORTS = {"name": (Respondent.full_name,), "position": (Respondent.position,), "agency": (Agency.name,),
         "group": (Respondent.group_id,), "email": (Respondent.email,), "created": (Respondent.created_at,)}
STATUS_COLUMNS = {"invited": "Đã mời", "opened": "Đã mở phiếu", "started": "Đã bắt đầu", "submitted": "Đã nộp"}


@bp.get("/rounds/<int:round_id>/respondents")
@roles_required(*ROSTER_ROLES)
def list_respondents(round_id: int):
    round_ = round_in_scope(round_id)
    return _render_list(round_)


def _render_list(round_: Round, error: str | None = None, status: int = 200):
    session = db.session()
    own = _own_agency_id()
    agency_id = own or request.args.get("agency_id", type=int)
    group_id = request.args.get("group_id", type=int)
    search = request.args.get("q", "").strip()
    sort = request.args.get("sort", "agency")
    sort = sort if sort in SORTS else "agency"
    descending = request.args.get("dir") == "desc"
    conditions = [Respondent.round_id == round_.id, Respondent.removed_at.is_(None)]
    if agency_id:
        conditions.append(Respondent.agency_id == agency_id)
    if group_id:
        conditions.append(Respondent.group_id == group_id)
    if search:
        like = f"%{search}%"
        conditions.append(Respondent.full_name.ilike(like) | Respondent.email.ilike(like) |
                          Respondent.phone.ilike(like))
    total = session.scalar(select(func.count()).select_from(Respondent).where(*conditions))
    pages = max(ceil(total / LIST_PAGE_SIZE), 1)
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    tests = stage_tests(round_)  # openings count inside the round's window only
    order = [c.desc() if descending else c.asc() for c in SORTS[sort]]
    query = (select(Respondent, *(tests[stage].label(stage) for stage in STATUS_COLUMNS))
             .outerjoin(Agency, Respondent.agency_id == Agency.id).where(*conditions)
             .order_by(*order, Respondent.full_name, Respondent.id)
             .offset((page - 1) * LIST_PAGE_SIZE).limit(LIST_PAGE_SIZE))
    found = session.execute(query).all()
    args = {"agency_id": agency_id if not own else None, "group_id": group_id, "q": search or None}
    return render_template(
        "roster/list.html", round=round_, rows=found, total=total, page=page, pages=pages, sort=sort,
        descending=descending, args=args, statuses=STATUS_COLUMNS, error=error,
        agencies=province_agencies(session, round_.province_id), agency_id=agency_id, group_id=group_id,
        search=search, own=own, actions=BULK_ACTIONS if own is None else {"remove": BULK_ACTIONS["remove"]},
    ), status


@bp.post("/rounds/<int:round_id>/respondents/bulk")
@roles_required(*ROSTER_ROLES)
def bulk_respondents(round_id: int):
    """Remove, invite or remind the ticked people (invitations are administrators' only)."""
    round_ = round_in_scope(round_id)
    session = db.session()
    own = _own_agency_id()
    form = BulkForm()
    try:
        if not form.validate_on_submit():
            raise RosterError(form_errors(form))
        query = select(Respondent).where(Respondent.round_id == round_.id, Respondent.id.in_(form.respondent.data),
                                         Respondent.removed_at.is_(None))
        if own is not None:
            query = query.where(Respondent.agency_id == own)
        chosen = list(session.scalars(query))
        if len(chosen) != len(set(form.respondent.data)):
            abort(404)
        if form.action.data == "remove":
            removed = people.remove_respondents(session, chosen, confirmed=form.confirm.data)
            flash(f"Đã xóa {removed} người khỏi danh sách (vẫn lưu trong nhật ký).")
        elif own is not None:
            abort(403)
        else:
            action = campaigns.invite if form.action.data == "invite" else campaigns.remind
            outcome = action(session, round_, mail_context(current_app.config),
                             respondent_ids=[r.id for r in chosen], actor=current_user())
            flash(outcome.summary(INVITATION if form.action.data == "invite" else REMINDER))
    except (RosterError, MailError) as problem:
        return _render_list(round_, str(problem), 422)
    return redirect(request.form.get("back") or url_for("roster.list_respondents", round_id=round_.id), 303)


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


def grouped_problems(problems: list[dict]) -> list[dict]:
    """Identical problems once, with their rows ("31 dòng: cơ quan … chưa có trong danh mục"),
    blocking ones first, then skipped rows, then warnings."""
    groups: dict[tuple, dict] = {}
    for problem in problems:
        key = (problem.get("kind", "error"), problem["column"], problem["message"])
        groups.setdefault(key, {"kind": key[0], "column": key[1], "message": key[2], "rows": []})["rows"].append(
            problem["row"])
    order = {"error": 0, "duplicate": 1, "skipped": 2, "warning": 3}
    return sorted(groups.values(), key=lambda g: (order.get(g["kind"], 0), g["rows"][0]))


def unknown_agencies(problems: list[dict]) -> list[dict]:
    """Agency names the catalogue lacks, each with its number of rows and the closest agency."""
    found: dict[str, dict] = {}
    for problem in problems:
        if problem.get("agency_text"):
            entry = found.setdefault(problem["agency_text"], {"name": problem["agency_text"], "rows": 0,
                                                               "suggestion": problem.get("suggestion")})
            entry["rows"] += 1
    return sorted(found.values(), key=lambda e: -e["rows"])


def _render_preview(imp: RosterImport, error: str | None = None, status: int = 200):
    session = db.session()
    round_ = imp.round
    catalogue = province_agencies(session, round_.province_id)
    agencies = {a.id: a.name for a in catalogue}
    groups = {g.id: g.label for g in round_.groups}
    titles = imp.summary.get("titles") or []
    width = max(len(titles), max(imp.mapping.values(), default=-1) + 1)
    columns = [(i, f"{column_letter(i)}{': ' + titles[i] if i < len(titles) and titles[i] else ''}") for i in range(width)]
    plan = imports.preview_plan(session, imp)
    decided = [c for c in (plan.update + plan.kept if plan else []) if "existing" in c]
    return render_template(
        "roster/preview.html", imp=imp, round=round_, plan=plan, agencies=agencies, groups=groups,
        columns=columns, fields=FIELDS, labels=FIELD_LABELS, error=error, limit=PAGE_SIZE,
        grouped=grouped_problems(imp.problems), blocking=imports.blocking_problems(imp),
        unknown=unknown_agencies(imp.problems), catalogue=[a for a in catalogue if a.is_active],
        kinds=AGENCY_KINDS, decided=decided, decisions=imp.decisions or {},
        may_decide=current_user().role in ADMINS,
    ), status


@bp.post("/imports/<int:import_id>/decisions")
@roles_required(*ADMINS)
def decide(import_id: int):
    """The province administrator keeps the listed entry or takes the file's, per conflict."""
    imp = _in_scope(RosterImport, import_id)
    plan = imports.preview_plan(db.session(), imp)
    rows = [c["row"] for c in (plan.conflicts + plan.kept + plan.update if plan else []) if "existing" in c]
    form = decisions_form(rows)
    try:
        if not form.validate_on_submit():
            raise RosterError(form_errors(form))
        decided = imports.decide_conflicts(db.session(), imp, form.choices())
    except RosterError as problem:
        return _render_preview(imp, str(problem), 422)
    flash(f"Đã ghi quyết định cho {decided} người.")
    return redirect(url_for("roster.preview", import_id=imp.id), 303)


@bp.post("/imports/<int:import_id>/agencies")
@roles_required(*ADMINS)
def resolve_agency(import_id: int):
    """Map an unknown agency name of the file to the catalogue (or add it), then read the file again."""
    imp = _in_scope(RosterImport, import_id)
    session = db.session()
    form = AgencyNameForm()
    try:
        if not form.validate_on_submit():
            raise RosterError(form_errors(form))
        target = None
        if form.action.data == "map":
            target = session.get(Agency, form.agency_id.data)
            if target is None or target.province_id != imp.round.province_id:
                abort(404)
        agency = imports.resolve_agency_name(session, imp, form.name.data, agency=target, new_code=form.code.data,
                                             new_kind=form.kind.data)
    except (ImportRefused, RosterError) as problem:
        return _render_preview(imp, str(problem), 422)
    flash(f"Từ nay “{form.name.data}” được hiểu là {agency.name}; đã kiểm tra lại tệp.")
    return redirect(url_for("roster.preview", import_id=imp.id), 303)


@bp.get("/rounds/<int:round_id>/imports")
@roles_required(*ROSTER_ROLES)
def pending_imports(round_id: int):
    """Uploads waiting at their preview: who uploaded what, how long ago; open or discard."""
    round_ = round_in_scope(round_id)
    session = db.session()
    waiting = imports.pending_imports(session, round_, _own_agency_id())
    owners = {u.id: u for u in session.scalars(select(User).where(User.id.in_({i.user_id for i in waiting})))}
    now = datetime.now(timezone.utc)
    return render_template("roster/imports.html", round=round_, imports=waiting, owners=owners,
                           ages={i.id: _age(now - as_utc(i.created_at)) for i in waiting},
                           stale={i.id for i in waiting if imports.is_stale(i)},
                           blocking={i.id: len({p["row"] for p in imports.blocking_problems(i)}) for i in waiting})


def _age(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} phút"
    if minutes < 48 * 60:
        return f"{minutes // 60} giờ"
    return f"{minutes // (24 * 60)} ngày"


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
    if request.form.get("back") == "imports":
        return redirect(url_for("roster.pending_imports", round_id=imp.round_id), 303)
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
