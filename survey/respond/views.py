"""Respondent pages. Every page works without JavaScript; JavaScript only adds autosave."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from survey import db
from survey.respond import answers as answer_rules
from survey.respond import services
from survey.respond.form_tokens import check_form_token, form_token
from survey.respond.fragments import section_list_markup, section_questions_markup
from survey.respond.links import record_opened
from survey.respond.services import LinkRefused, Refusal
from survey.timeutil import format_local

bp = Blueprint("respond", __name__, url_prefix="/r")

# Submissions retried after finding the draft changed since it was read (another tab saving).
SUBMIT_RETRIES = 3


@bp.after_request
def never_cache(response):
    # Pages behind a personal link must not be kept by shared caches or the back button of a shared phone.
    response.headers["Cache-Control"] = "no-store"
    return response


bp.add_app_template_global(section_questions_markup)
bp.add_app_template_global(section_list_markup)
bp.add_app_template_global(form_token)


@bp.app_template_filter("local_time")
def local_time_filter(moment):
    return format_local(moment)


def wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "autosave"


def refusal_page(refusal: LinkRefused):
    status = {Refusal.INVALID: 404, Refusal.UNAVAILABLE: 503}.get(refusal.reason, 403)
    if wants_json():
        return jsonify(ok=False, reason=refusal.reason.value, message=_REFUSAL_TEXT[refusal.reason]), status
    return render_template("respond/refused.html", reason=refusal.reason.value, round=refusal.round,
                           message=_REFUSAL_TEXT[refusal.reason]), status


_REFUSAL_TEXT = {
    Refusal.INVALID: "Đường dẫn không hợp lệ hoặc đã được thay thế. Vui lòng kiểm tra lại đường dẫn "
                     "trong thư mời, hoặc liên hệ Sở Nội vụ để được cấp lại.",
    Refusal.SCHEDULED: "Đợt khảo sát chưa mở.",
    Refusal.CLOSED: "Đợt khảo sát đã kết thúc; phiếu không còn nhận câu trả lời.",
    Refusal.UNAVAILABLE: "Phiếu khảo sát tạm thời không khả dụng. Xin vui lòng quay lại sau; "
                         "các câu trả lời đã lưu vẫn được giữ nguyên.",
}


def with_visit(*, for_update: bool = False, must_be_open: bool = True):
    def decorator(view):
        @wraps(view)
        def wrapper(token: str, **kwargs):
            if request.method == "POST":
                # Before anything is read: a forged form costs no query and writes nothing.
                check_form_token(token, request.form.get("csrf_token"))
            try:
                visit = services.open_link(db.connection(), token, for_update=for_update)
                if must_be_open and not visit.submitted:
                    services.require_open(visit)
            except LinkRefused as refusal:
                return refusal_page(refusal)
            return view(visit, token=token, **kwargs)
        return wrapper
    return decorator


# A respondent's GET is one read (the visit), plus on the landing page one
# self-contained UPDATE recording the first opening: neither needs a
# transaction around it. On SQLite the landing page then queues as a writer
# only for its first UPDATE. Saving a draft keeps its transaction and locks;
# the submission reads without them and its writes are one transaction of
# their own (survey.responses.store_response).
@bp.get("/<token>")
@db.reads_statement_by_statement
@with_visit(must_be_open=False)
def landing(visit, token):
    if visit.submitted:
        return render_template("respond/already.html", visit=visit)
    state = visit.round.state()
    if state != "open":
        return refusal_page(LinkRefused(Refusal.SCHEDULED if state == "scheduled" else Refusal.CLOSED, visit.round))
    # Recorded only inside the window: a visit before the opening must not use up the first opening.
    record_opened(db.connection(), visit.link)
    answers = services.draft_answers(visit)
    return render_template(
        "respond/landing.html", visit=visit, token=token,
        progress=answer_rules.progress(visit.questionnaire, answers), has_draft=bool(answers),
    )


def _section_or_404(visit, number: int):
    sections = visit.questionnaire.sections
    if not 1 <= number <= len(sections):
        abort(404)
    return sections[number - 1]


@bp.get("/<token>/section/<int:number>")
@db.reads_statement_by_statement
@with_visit()
def section(visit, token, number):
    if visit.submitted:
        return redirect(url_for(".landing", token=token))
    current = _section_or_404(visit, number)
    answers = services.draft_answers(visit)
    return render_template(
        "respond/section.html", visit=visit, token=token, number=number, section=current,
        answers=answers, errors=[], progress=answer_rules.progress(visit.questionnaire, answers),
    )


@bp.post("/<token>/section/<int:number>")
@with_visit(for_update=True)
def save_section(visit, token, number):
    current = _section_or_404(visit, number)
    try:
        updates = answer_rules.parse_section(current, request.form, request.form.getlist)
        answers = services.save_answers(db.connection(), visit, updates)
    except answer_rules.InvalidAnswers as invalid:
        if wants_json():
            return jsonify(ok=False, messages=invalid.messages), 400
        answers = services.draft_answers(visit)
        return render_template(
            "respond/section.html", visit=visit, token=token, number=number, section=current,
            answers=answers, errors=invalid.messages, progress=answer_rules.progress(visit.questionnaire, answers),
        ), 400
    except services.AlreadySubmitted:
        if wants_json():
            return jsonify(ok=False, reason="submitted", message="Phiếu đã được gửi; không thể thay đổi."), 409
        return redirect(url_for(".landing", token=token))

    if wants_json():
        progress = answer_rules.progress(visit.questionnaire, answers)
        return jsonify(ok=True, answered=progress.answered, total=progress.total)

    action = request.form.get("action", "next")
    last = len(visit.questionnaire.sections)
    if action == "prev" and number > 1:
        return redirect(url_for(".section", token=token, number=number - 1))
    if action == "stay":
        return redirect(url_for(".section", token=token, number=number, saved=1))
    if action == "next" and number < last:
        return redirect(url_for(".section", token=token, number=number + 1))
    return redirect(url_for(".review", token=token))


def _section_numbers(questionnaire):
    return {q.code: index for index, s in enumerate(questionnaire.sections, start=1) for q in s.questions}


@bp.get("/<token>/review")
@db.reads_statement_by_statement
@with_visit()
def review(visit, token):
    if visit.submitted:
        return redirect(url_for(".landing", token=token))
    answers = services.draft_answers(visit)
    return render_template(
        "respond/review.html", visit=visit, token=token,
        progress=answer_rules.progress(visit.questionnaire, answers),
        section_of=_section_numbers(visit.questionnaire), answers=answers,
    )


@bp.post("/<token>/submit")
@db.reads_statement_by_statement
@with_visit()
def submit(visit, token):
    outcome = services.submit(db.connection(), visit)
    for _ in range(SUBMIT_RETRIES):
        if not outcome.stale:
            break
        # Another tab saved or submitted between the read and the writes: read
        # again and retry (on SQLite now inside the writer queue, so it holds).
        try:
            visit = services.open_link(db.connection(), token, for_update=True)
            outcome = services.submit(db.connection(), visit)  # refuses too if the round closed meanwhile
        except LinkRefused as refusal:
            return refusal_page(refusal)
    if outcome.stale:
        return render_template("errors/error.html", title="Phiếu đang được cập nhật",
                               message="Phiếu vừa được lưu từ một cửa sổ khác nên chưa được gửi. "
                                       "Vui lòng mở lại trang xem lại và gửi phiếu."), 409
    if outcome.submitted or outcome.already:
        # Post/redirect/get: a refresh or double click lands on "already answered".
        return redirect(url_for(".landing", token=token, sent=1 if outcome.submitted else None))
    return render_template(
        "respond/review.html", visit=visit, token=token, progress=outcome.progress,
        section_of=_section_numbers(visit.questionnaire),
        answers=services.draft_answers(visit), incomplete=True,
    ), 422
