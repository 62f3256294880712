"""Paper forms: printing, batches, keyboard-first double entry and the supervisor's resolution.

Who does what: a province administrator creates batches and resolves the
differences against the paper (the supervisor); keying is done by the
province administrators and the agencies' focal points of the province
(the clerks), each form by two different people.
"""

from __future__ import annotations

import time

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import bindparam, select
from wtforms.fields.choices import SelectChoice

from survey import db, dialects
from survey.accounts.access import ADMINS, current_user, round_in_scope, roles_required
from survey.accounts.models import FOCAL_POINT, PROVINCE_ADMIN, SYSTEM_ADMIN, User
from survey.collection import fragments, paper, paper_pdf
from survey.collection.forms import PaperBatchForm, asks_procedure, keyed_values, paper_form_class
from survey.collection.models import CollectionPoint, PaperBatch, Procedure
from survey.collection.views import admin

for _fragment in (fragments.paper_procedure_codes, fragments.paper_question_text, fragments.paper_entry_input):
    admin.add_app_template_global(_fragment)
from survey.questionnaire_registry import catalog

CLERKS = (SYSTEM_ADMIN, PROVINCE_ADMIN, FOCAL_POINT)


def _batch_in_round(round_, batch_id: int) -> PaperBatch:
    batch = db.session().get(PaperBatch, batch_id)
    if batch is None or batch.round_id != round_.id:
        abort(404)
    return batch


def _batch_form(round_) -> PaperBatchForm:
    form = PaperBatchForm()
    form.group_id.choices = [SelectChoice(g.id, g.label) for g in round_.groups]
    points = db.session().scalars(select(CollectionPoint).where(CollectionPoint.round_id == round_.id)
                                  .order_by(CollectionPoint.name))
    form.point_id.choices = [SelectChoice(0, "— Không thuộc điểm khảo sát nào —")] + [
        SelectChoice(p.id, p.name) for p in points]
    return form


def _paper_page(round_, form: PaperBatchForm, status: int = 200, *, print_problem: str = ""):
    session = db.session()
    batches = session.scalars(select(PaperBatch).where(PaperBatch.round_id == round_.id)
                              .order_by(PaperBatch.collected_on.desc(), PaperBatch.id.desc())).all()
    versions = sorted(catalog().questionnaires.values(), key=lambda q: (q.key, q.version_tuple))
    return render_template("collection/paper.html", round=round_, form=form, batches=batches,
                           progress={b.id: paper.batch_progress(session, b) for b in batches},
                           clerks=paper.clerk_stats(session, round_.id), versions=versions,
                           supervises=current_user().role in ADMINS, print_problem=print_problem), status


@admin.get("/paper")
@roles_required(*CLERKS)
def paper_forms(round_id):
    return _paper_page(round_in_scope(round_id), _batch_form(round_in_scope(round_id)))


@admin.post("/paper/batches")
@roles_required(*ADMINS)
def create_paper_batch(round_id):
    round_ = round_in_scope(round_id)
    form = _batch_form(round_)
    if not form.validate_on_submit():
        return _paper_page(round_, form, 422)
    group = next(g for g in round_.groups if g.id == form.group_id.data)
    point = db.session().get(CollectionPoint, form.point_id.data) if form.point_id.data else None
    batch = paper.create_batch(db.session(), round_, group, point=point, collected_on=form.collected_on.data,
                               team=form.team.data or "", user=current_user())
    flash(f"Đã tạo lô phiếu giấy số {batch.id}.")
    return redirect(url_for(".paper_entry", round_id=round_id, batch_id=batch.id))


@admin.get("/paper/print.pdf")
@roles_required(*ADMINS)
def print_paper_form(round_id):
    """Any questionnaire version (?q=key@version, the round's citizen form by default), numbered or not."""
    round_ = round_in_scope(round_id)
    wanted = request.args.get("q", "")
    if wanted:
        key, _, version = wanted.partition("@")
        try:
            questionnaire = catalog().get(key, version)
        except KeyError:
            abort(404)
    else:  # the citizens' form, which is what goes out on paper
        questionnaire = next((q for q in (catalog().get(g.questionnaire_key, g.questionnaire_version)
                                          for g in round_.groups) if q.survey == "sipas"), None)
        if questionnaire is None:
            abort(404)
    first = request.args.get("from", "")
    count = request.args.get("count", "1")
    if not count.isdigit() or not 0 < int(count) <= paper_pdf.MAX_COPIES or (first and not first.isdigit()):
        abort(400)
    numbers = [int(first) + i for i in range(int(count))] if first else [None] * int(count)
    procedure = None
    code = request.args.get("procedure", "").strip()
    if code and asks_procedure(questionnaire):
        procedure = paper.printed_procedure(db.session(), round_, code)
        if procedure is None:
            return _paper_page(round_, _batch_form(round_), 422, print_problem=(
                f"Mã thủ tục “{code}” không có trong danh mục thủ tục hành chính của tỉnh; phiếu chưa được in."))
    pdf = paper_pdf.questionnaire_pdf(questionnaire, numbers=numbers, subtitle=round_.title,
                                      asks_procedure=asks_procedure(questionnaire),
                                      procedure=(procedure.code, procedure.name) if procedure else None)
    return current_app.response_class(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="phieu-{questionnaire.key}-{questionnaire.version}.pdf"'})


def _elapsed(started: str | None) -> int | None:
    try:
        return paper.clamp_seconds(time.time() - float(started or ""))
    except ValueError:
        return None


@admin.route("/paper/<int:batch_id>/entry", methods=["GET", "POST"])
@roles_required(*CLERKS)
def paper_entry(round_id, batch_id):
    round_ = round_in_scope(round_id)
    batch = _batch_in_round(round_, batch_id)
    questionnaire = paper.questionnaire_of(batch)
    form = paper_form_class(questionnaire)()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            number = int(form.form_number.data)
            try:
                answers, procedure_id = paper.read_keyed(db.session(), batch, keyed_values(form, questionnaire),
                                                         _procedure_typed(form))
                outcome = paper.enter_form(db.session(), batch, current_user(), number, answers,
                                           procedure_id=procedure_id, seconds=_elapsed(form.started.data))
            except paper.EntryRefused as refused:
                _show_refused(form, refused)
                status = 422
            except paper.PaperError as problem:
                form.form_number.errors = [str(problem)]
                status = 422
            else:
                flash({paper.Outcome.FIRST: f"Đã ghi lần nhập thứ nhất của phiếu số {number}.",
                       paper.Outcome.STORED: f"Phiếu số {number}: hai lần nhập khớp nhau, phiếu đã được ghi nhận.",
                       paper.Outcome.DIFFERENT: f"Phiếu số {number}: lần nhập này khác lần nhập thứ nhất; "
                                                "người đối chiếu sẽ kiểm tra theo phiếu giấy."}[outcome])
                return redirect(url_for(".paper_entry", round_id=round_id, batch_id=batch_id, next=number + 1))
        else:
            status = 422
    else:
        following = request.args.get("next", "")
        form.form_number.data = following if following.isdigit() else ""
        form.started.data = f"{time.time():.0f}"
    first_error = next((f.id for f in form if f.errors), None)
    return render_template("collection/paper_entry.html", round=round_, batch=batch, form=form,
                           questionnaire=questionnaire, first_error=first_error,
                           procedures=_procedures(round_) if "procedure" in form else ()), status


def _procedure_typed(form) -> str | None:
    """The procedure code typed, or None if the form does not ask for one."""
    return (form.procedure.data or "") if "procedure" in form else None


def _show_refused(form, refused: paper.EntryRefused) -> None:
    for code, messages in refused.messages.items():
        form[f"q_{code}"].errors = list(messages)
    if refused.procedure:
        form.procedure.errors = [refused.procedure]


_PROCEDURE_CODES = (select(Procedure.id, Procedure.code, Procedure.name)
                    .where(Procedure.province_id == bindparam("province")).order_by(Procedure.code))


def _procedures(round_) -> tuple:
    """The province's procedures as (id, code, name), offered as the clerk types a code."""
    connection = db.session().connection()
    return tuple(dialects.of(connection).fetch_plain_rows(connection, _PROCEDURE_CODES, {"province": round_.province_id}))


@admin.get("/paper/<int:batch_id>")
@roles_required(*CLERKS)
def paper_batch(round_id, batch_id):
    round_ = round_in_scope(round_id)
    batch = _batch_in_round(round_, batch_id)
    return render_template("collection/paper_batch.html", round=round_, batch=batch,
                           progress=paper.batch_progress(db.session(), batch),
                           supervises=current_user().role in ADMINS)


@admin.route("/paper/<int:batch_id>/forms/<int:form_number>", methods=["GET", "POST"])
@roles_required(*ADMINS)
def resolve_paper_form(round_id, batch_id, form_number):
    round_ = round_in_scope(round_id)
    batch = _batch_in_round(round_, batch_id)
    session = db.session()
    try:
        found = paper.disagreement(session, batch, form_number)
    except paper.PaperError:
        abort(404)
    questionnaire = paper.questionnaire_of(batch)
    form = paper_form_class(questionnaire, codes=found.codes, procedure=found.procedure_differs)()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                paper.resolve(session, batch, form_number, keyed_values(form, questionnaire), current_user(),
                              procedure=_procedure_typed(form) or "")
            except paper.EntryRefused as refused:
                _show_refused(form, refused)
                status = 422
            else:
                flash(f"Phiếu số {form_number} đã được đối chiếu và ghi nhận.")
                return redirect(url_for(".paper_batch", round_id=round_id, batch_id=batch_id))
        else:
            status = 422
    names = {u.id: u.full_name for u in session.scalars(
        select(User).where(User.id.in_((found.first.clerk_id, found.second.clerk_id))))}
    return render_template("collection/paper_resolve.html", round=round_, batch=batch, form=form, found=found,
                           questionnaire=questionnaire, names=names, keyed=paper.keyed_text,
                           procedure_codes=paper.procedure_codes(session, (found.first.procedure_id,
                                                                           found.second.procedure_id)),
                           first_error=next((f.id for f in form if f.errors), None)), status
