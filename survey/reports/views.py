"""Analysts' pages and downloads (issue 5): load -> check access -> one service -> respond."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from analysis.charts import figure_bytes
from analysis.scoring import STATUS_VI
from analysis.sipas_breakdown import DIMENSION_TITLES, DIMENSIONS, INDICATOR_TITLES, RULES
from survey import db
from survey.accounts.access import ADMINS, current_user, roles_required, round_in_scope
from survey.accounts.models import ANALYST, PROVINCE_ADMIN, SYSTEM_ADMIN
from survey.questionnaire_registry import catalog
from survey.assessment.services import cycle_of
from survey.reports import charts, comments, computation, exports, freezing
from survey.reports.forms import FreezeForm
from survey.reports.options import OPTION_CHOICES, OptionsError, options_query, parse_options

bp = Blueprint("reports", __name__, url_prefix="/admin")

READERS = (ANALYST, PROVINCE_ADMIN, SYSTEM_ADMIN)
CHART_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def _refuse(problem: Exception):
    page = render_template("errors/error.html", title="Tùy chọn phân tích không dùng được", message=str(problem))
    abort(Response(page, status=400))


def _options():
    try:
        return parse_options(request.args)
    except OptionsError as problem:
        _refuse(problem)


def _computed(round_, options):
    # Cronbach's alpha streams every response: computed only when asked for.
    reliability = request.args.get("reliability") == "1"
    try:
        return computation.compute(db.session(), round_, catalog(), options, reliability=reliability)
    except OptionsError as problem:
        _refuse(problem)


def _query(options):
    query = options_query(options)
    if request.args.get("reliability") == "1":
        query["reliability"] = "1"
    return query


@bp.get("/rounds/<int:round_id>/analysis")
@roles_required(*READERS)
def round_summary(round_id: int):
    round_ = round_in_scope(round_id)
    options = _options()
    computed = _computed(round_, options)
    return render_template("reports/summary.html", round=round_, c=computed, r=computed.result,
                           options=options, query=_query(options), choices=OPTION_CHOICES,
                           unscored=computation.unscored_subcriteria(computed),
                           frozen=freezing.comparisons(freezing.frozen_results(db.session(), round_), computed))


@bp.get("/rounds/<int:round_id>/analysis/sipas")
@roles_required(*READERS)
def sipas_breakdown(round_id: int):
    round_ = round_in_scope(round_id)
    options = _options()
    computed = _computed(round_, options)
    breakdown = computation.sipas_breakdown(db.session(), round_, computed)
    if breakdown is None:
        abort(404)
    return render_template("reports/sipas_breakdown.html", round=round_, r=computed.result, b=breakdown,
                           query=_query(options), dimensions=DIMENSIONS, titles=DIMENSION_TITLES,
                           indicator_titles=INDICATOR_TITLES, rules=RULES)


@bp.get("/rounds/<int:round_id>/analysis/fields/<int:field>")
@roles_required(*READERS)
def field_detail(round_id: int, field: int):
    round_ = round_in_scope(round_id)
    options = _options()
    computed = _computed(round_, options)
    structure = computed.frames.structure_model
    field_model = structure.field(field) if structure else None
    if field_model is None:
        abort(404)
    return render_template("reports/field.html", round=round_, r=computed.result, field=field_model,
                           criteria=computation.field_breakdown(computed, field_model),
                           query=_query(options), status_vi=STATUS_VI)


@bp.get("/rounds/<int:round_id>/analysis/charts/<chart>.<fmt>")
@roles_required(*READERS)
def chart(round_id: int, chart: str, fmt: str):
    round_ = round_in_scope(round_id)
    if fmt not in CHART_TYPES:
        abort(404)
    options = _options()
    computed = _computed(round_, options)
    if chart == "sipas-months":
        figure = charts.sipas_trend(computation.sipas_breakdown(db.session(), round_, computed))
    else:
        figure = charts.chart(computed, chart, request.args.get("question"), request.args.get("group"))
    if figure is None:
        abort(404)
    return Response(figure_bytes(figure, fmt), mimetype=CHART_TYPES[fmt])


@bp.get("/rounds/<int:round_id>/analysis/export/<kind>")
@roles_required(*READERS)
def export(round_id: int, kind: str):
    round_ = round_in_scope(round_id)
    if kind not in exports.EXPORTS:
        abort(404)
    options = _options()
    computed = _computed(round_, options)
    payload, name, mimetype = exports.export_bytes(db.session(), round_, computed, kind)
    return Response(payload, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.get("/rounds/<int:round_id>/analysis/comments")
@roles_required(*READERS)
def round_comments(round_id: int):
    round_ = round_in_scope(round_id)
    options = _options()
    found = comments.round_comments(db.session(), round_, catalog(), options.min_cell)
    return render_template("reports/comments.html", round=round_, comments=found, warning=comments.WARNING)


@bp.get("/rounds/<int:round_id>/analysis/comments.xlsx")
@roles_required(*READERS)
def export_comments(round_id: int):
    round_ = round_in_scope(round_id)
    payload, name, mimetype = comments.comments_workbook(db.session(), round_, catalog(), _options().min_cell)
    return Response(payload, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.get("/rounds/<int:round_id>/analysis/self-assessment")
@roles_required(*READERS)
def self_assessment(round_id: int):
    """The retired points upload: the PAR total now counts the self-assessment cycle's points."""
    round_ = round_in_scope(round_id)
    cycle = cycle_of(db.session(), round_)
    flash("Chức năng nhập điểm tự đánh giá đã được thay bằng kỳ tự đánh giá: Chỉ số CCHC tính theo điểm thẩm định "
          "đã chốt, hoặc theo kết quả của Bộ Nội vụ khi đã nhập tại trang “Kết quả của Bộ Nội vụ”. Điểm đã nhập "
          "trước đây được chuyển thành phiên bản thẩm định của kỳ.")
    if cycle is None:
        return redirect(url_for("assessment.overview", round_id=round_.id))
    return redirect(url_for("assessment.official_results", round_id=round_.id))


def _frozen_page(round_, options, form, problems: list[str]):
    return render_template("reports/frozen_list.html", round=round_, options=options, choices=OPTION_CHOICES,
                           frozen=freezing.frozen_results(db.session(), round_), form=form, problems=problems,
                           may_freeze=current_user().role in ADMINS)


@bp.get("/rounds/<int:round_id>/analysis/frozen")
@roles_required(*READERS)
def frozen_results(round_id: int):
    round_ = round_in_scope(round_id)
    options = _options()
    return _frozen_page(round_, options, FreezeForm(data=options_query(options)), [])


@bp.post("/rounds/<int:round_id>/analysis/frozen")
@roles_required(*ADMINS)
def freeze_results(round_id: int):
    round_ = round_in_scope(round_id)
    form = FreezeForm()
    chosen = {name: form[name].data for name in OPTION_CHOICES.keys() | {"min_cell"}}
    try:
        options = parse_options(chosen)
    except OptionsError as problem:
        options, problems = parse_options({}), [str(problem)]
    else:
        problems = [] if form.validate() else [m for messages in form.errors.values() for m in messages]
    if not problems:
        try:
            frozen = freezing.freeze(db.session(), round_, catalog(), options, form.name.data, actor=current_user())
        except (OptionsError, freezing.FreezeError) as problem:
            problems = [str(problem)]
        else:
            flash(f"Đã khóa kết quả chính thức “{frozen.name}”.")
            return redirect(url_for("reports.frozen_detail", round_id=round_.id, frozen_id=frozen.id))
    return _frozen_page(round_, options, form, problems), 422


@bp.get("/rounds/<int:round_id>/analysis/frozen/<int:frozen_id>")
@roles_required(*READERS)
def frozen_detail(round_id: int, frozen_id: int):
    round_ = round_in_scope(round_id)
    frozen = freezing.frozen_result(db.session(), round_, frozen_id)
    if frozen is None:
        abort(404)
    options = freezing.frozen_options(frozen)
    changes, problem = None, None
    try:
        # Alpha is left out: it streams every response, too slow for a page (the comparison skips it).
        changes = freezing.compare(frozen, computation.compute(db.session(), round_, catalog(), options))
    except OptionsError as error:
        problem = str(error)
    return render_template("reports/frozen.html", round=round_, frozen=frozen, changes=changes, problem=problem,
                           intact=freezing.is_intact(frozen), query=options_query(options))


@bp.get("/rounds/<int:round_id>/analysis/frozen/<int:frozen_id>/<kind>")
@roles_required(*READERS)
def frozen_download(round_id: int, frozen_id: int, kind: str):
    round_ = round_in_scope(round_id)
    frozen = freezing.frozen_result(db.session(), round_, frozen_id)
    file = freezing.download(db.session(), frozen, kind) if frozen is not None else None
    if file is None:
        abort(404)
    return Response(file.content, mimetype=file.mimetype, headers={
        "Content-Disposition": f'attachment; filename="chinh-thuc-{frozen.id}-{file.filename}"',
        "Cache-Control": "no-store"})
