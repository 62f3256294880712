"""Collection points: the public page a QR code opens, and the administrators' pages."""

from __future__ import annotations

import gzip

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from survey import db
from survey.accounts.access import ADMINS, current_user, round_in_scope, roles_required
from survey.collection import fragments, limits, posters, services
from survey.collection.forms import ActionForm, PointForm, ProceduresUploadForm
from survey.collection.models import CHANNEL_LABELS, CollectionPoint, Procedure
from survey.respond.form_tokens import check_form_token, form_token
from survey.spreadsheets import SpreadsheetRefused

public = Blueprint("point", __name__, url_prefix="/p")
admin = Blueprint("collection", __name__, url_prefix="/admin/rounds/<int:round_id>")
public.add_app_template_global(fragments.procedures_markup, "point_procedures_markup")
public.add_app_template_global(fragments.sections_markup, "point_sections_markup")


# --- the citizen's page ---------------------------------------------------------------------

@public.after_request
def never_cache(response):
    # A phone or tablet handed from one citizen to the next must not show the previous answers.
    response.headers["Cache-Control"] = "no-store"
    return response


@public.errorhandler(429)
def too_many(_e):
    return render_template("collection/refused.html", message=(
        "Thiết bị hoặc mạng này đã gửi nhiều phiếu tại điểm khảo sát trong thời gian ngắn nên phiếu chưa được ghi. "
        "Xin vui lòng thử lại sau."), point=None), 429


def _refused(refusal: services.PointRefused, status: int | None = None):
    default = {services.Refusal.INVALID: 404, services.Refusal.UNAVAILABLE: 503}.get(refusal.reason, 403)
    return render_template("collection/refused.html", message=refusal.message, point=None), status or default


def _form_page(point, *, answers=None, errors=(), procedure_code="", status=200):
    response = current_app.make_response((render_template(
        "collection/point.html", point=point, answers=answers or {}, errors=errors,
        procedure_code=procedure_code, form_token=form_token(point.token)), status))
    return limits.give_device_cookie(response)


# The blank form of a point, as sent: (body, its gzip) per everything the page shows.
_BLANK_PAGES_KEPT = 256


def _blank_page(point) -> tuple[bytes, bytes]:
    """The body of ``point``'s blank form and its gzip, rendered and compressed once per process.

    A blank form depends on nothing of the request: the form token is derived from the
    point's token, and the key holds everything else the page shows (the list of
    procedures is the parsed tuple open_point keeps per list text, so an imported list, a
    renamed point or a new questionnaire version is a new key, never a stale page). The
    page is 65 KB for 40 questions and 200 procedures, 6 KB compressed: the difference is
    seconds on a weak mobile connection, and compressing once costs nothing per request.
    """
    pages = current_app.extensions.setdefault("survey.blank_point_pages", {})
    key = (point.token, point.name, point.place, point.round_title, point.round_year,
           point.questionnaire.content_hash, point.asks_dossier, point.procedures)
    page = pages.get(key)
    if page is None:
        body = render_template("collection/point.html", point=point, answers={}, errors=(), procedure_code="",
                               form_token=form_token(point.token)).encode()
        page = (body, gzip.compress(body, compresslevel=9, mtime=0))
        if len(pages) >= _BLANK_PAGES_KEPT:
            pages.clear()
        pages[key] = page
    return page


@public.get("/<token>")
@db.reads_statement_by_statement  # one read, no transaction: no BEGIN and COMMIT around it
def answer(token):
    try:
        point = services.open_point(db.connection(), token)
    except services.PointRefused as refusal:
        return _refused(refusal)
    body, compressed = _blank_page(point)
    response = current_app.response_class(mimetype="text/html")
    response.vary.add("Accept-Encoding")
    if "gzip" in request.accept_encodings:
        response.set_data(compressed)
        response.content_encoding = "gzip"
    else:
        response.set_data(body)
    return limits.give_device_cookie(response)


@public.post("/<token>")
# One read, then one write that commits on its own, unless the point's guards need a transaction.
@db.reads_statement_by_statement
@limits.limited
def submit(token):
    # Bound to the point's token: a page of another site cannot post here blindly.
    check_form_token(token, request.form.get("csrf_token"))
    connection = db.connection()
    procedure_code = request.form.get("procedure", "").strip()
    try:
        # The list of procedures only if the form is shown again: the one chosen is read with the point.
        point = services.open_point(connection, token, procedures=False, procedure_code=procedure_code)
    except services.PointRefused as refusal:
        return _refused(refusal)
    try:
        answers = services.read_answers(point.questionnaire, request.form, request.form.getlist)
        stored = services.submit_at_point(connection, point, answers, procedure_code=procedure_code,
                                          dossier=request.form.get("dossier", ""),
                                          secret_key=current_app.secret_key)
    except services.FormRefused as refused:
        return _form_page(services.with_procedures(connection, point), answers=refused.answers,
                          errors=refused.messages, procedure_code=procedure_code, status=422)
    except services.DossierUsed:
        return render_template("collection/refused.html", point=point, message=(
            "Hồ sơ này đã được đánh giá trong đợt khảo sát; mỗi hồ sơ chỉ gửi được một phiếu. "
            "Câu trả lời lần này chưa được ghi.")), 409
    except services.PointRefused as refusal:
        return _refused(refusal, 409)
    # Post/redirect/get: a refresh of the thanks page cannot post the answers again.
    return redirect(url_for(".thanks", token=token, full=1 if stored.quota_reached else None))


@public.get("/<token>/cam-on")
def thanks(token):
    if not services.plausible_token(token):
        abort(404)
    return render_template("collection/thanks.html", token=token, quota_reached=bool(request.args.get("full")))


# --- administrators -------------------------------------------------------------------------

def _point_in_round(round_, point_id: int) -> CollectionPoint:
    point = db.session().get(CollectionPoint, point_id)
    if point is None or point.round_id != round_.id:
        abort(404)
    return point


def _point_acted_on(round_id: int, point_id: int) -> CollectionPoint:
    """The point a button of the points page acts on, once its CSRF token is checked."""
    point = _point_in_round(round_in_scope(round_id), point_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return point


def public_address(point: CollectionPoint) -> str:
    return f"{current_app.config['BASE_URL']}/p/{point.token}"


@admin.route("/points", methods=["GET", "POST"])
@roles_required(*ADMINS)
def points(round_id):
    round_ = round_in_scope(round_id)
    session = db.session()
    form = PointForm()
    form.group_id.choices = [SelectChoice(g.id, g.label) for g in round_.groups]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            group = next(g for g in round_.groups if g.id == form.group_id.data)
            try:
                point = services.create_point(session, round_, group, name=form.name.data, place=form.place.data or "",
                                              quota=form.quota.data, quota_policy=form.quota_policy.data,
                                              asks_dossier=form.asks_dossier.data)
            except services.PointError as problem:
                form.name.errors = [*form.name.errors, str(problem)]
                status = 422
            else:
                flash(f"Đã tạo điểm khảo sát “{point.name}”.")
                return redirect(url_for(".points", round_id=round_id))
        else:
            status = 422
    listed = session.scalars(select(CollectionPoint).where(CollectionPoint.round_id == round_id)
                             .order_by(CollectionPoint.name)).all()
    threshold = current_app.config.get("POINT_BURST", services.DEFAULT_BURST_THRESHOLD)
    return render_template("collection/points.html", round=round_, points=listed, form=form, action=ActionForm(),
                           collected=services.responses_per_point(session, round_id),
                           bursts=services.bursts(session, round_id, threshold), threshold=threshold,
                           address=public_address, kiosk_address=kiosk_address, channels=CHANNEL_LABELS), status


@admin.post("/points/<int:point_id>/close")
@roles_required(*ADMINS)
def close_point(round_id, point_id):
    point = _point_acted_on(round_id, point_id)
    closing = request.form.get("closed") == "1"
    services.set_point_closed(db.session(), point, closing)
    flash(f"Đã {'đóng' if closing else 'mở lại'} điểm khảo sát “{point.name}”.")
    return redirect(url_for(".points", round_id=round_id))


@admin.post("/points/<int:point_id>/kiosk")
@roles_required(*ADMINS)
def point_kiosk(round_id, point_id):
    point = _point_acted_on(round_id, point_id)
    enabling = request.form.get("kiosk") == "1"
    services.set_kiosk(db.session(), point, enabling)
    flash(f"Đã {'cấp đường dẫn kiosk mới cho' if enabling else 'tắt chế độ kiosk của'} điểm khảo sát “{point.name}”.")
    return redirect(url_for(".points", round_id=round_id))


def kiosk_address(point: CollectionPoint) -> str:
    return f"{current_app.config['BASE_URL']}/p/{point.kiosk_token}/kiosk"


@admin.get("/points/<int:point_id>/<any(poster, card):printout>.pdf")
@roles_required(*ADMINS)
def point_pdf(round_id, point_id, printout):
    round_ = round_in_scope(round_id)
    point = _point_in_round(round_, point_id)
    draw = posters.poster if printout == "poster" else posters.table_card
    pdf = draw(point_name=point.name, place=point.place, round_title=round_.title, address=public_address(point))
    return current_app.response_class(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{printout}-{point.id}.pdf"'})


@admin.route("/procedures", methods=["GET", "POST"])
@roles_required(*ADMINS)
def procedures(round_id):
    round_ = round_in_scope(round_id)
    session = db.session()
    form = ProceduresUploadForm()
    result, refused, status = None, None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            upload = form.file.data
            try:
                result = services.import_procedures(session, round_, upload.read(), upload.filename or "")
            except SpreadsheetRefused as problem:
                refused, status = str(problem), 422
        else:
            status = 422
    listed = session.scalars(select(Procedure).where(Procedure.province_id == round_.province_id)
                             .order_by(Procedure.field, Procedure.code)).all()
    return render_template("collection/procedures.html", round=round_, form=form, result=result, refused=refused,
                           procedures=listed, user=current_user()), status
