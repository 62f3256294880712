"""Respondent pages. Every page works without JavaScript; JavaScript only adds autosave."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, jsonify, make_response, redirect, render_template, request, url_for

from survey import db
from survey.respond import answers as answer_rules
from survey.respond import services
from survey.respond.form_tokens import check_form_token, form_token
from survey.respond.fragments import section_answers_markup, section_list_markup, section_questions_markup
from survey.respond.links import record_opened
from survey.respond.services import LinkRefused, Refusal
from survey.timeutil import format_local

bp = Blueprint("respond", __name__, url_prefix="/r")

# Submissions retried after finding the draft changed since it was read (another tab saving).
SUBMIT_RETRIES = 3


@bp.after_request
def never_cache(response):
    # Pages behind a personal link must not be kept by shared caches or the back button of a
    # shared phone; only a save's answer says otherwise (kept_for_history).
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def kept_for_history(page):
    """A save's answer, kept by this browser alone so that its back and forward buttons show it again.

    Without JavaScript the page a save answers with is a history entry made by
    a POST. Sent ``no-store``, going back to it finds nothing to show: Chromium
    offers to post the form again ("Confirm Form Resubmission") instead of a
    page. Kept in the browser's own cache (``private``: never by a shared
    one), back and forward show it without a request, with the answers the
    respondent had on it when leaving (the browser restores a form's fields
    on those steps). The submission's confirmation clears that cache
    (``Clear-Site-Data``), so a shared phone keeps no answers once the
    response is sent; before that, whoever holds the phone holds the link,
    which shows the draft anyway.
    """
    response = make_response(page)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def confirmation(page):
    """The submission's confirmation, which empties this browser's cache of the survey's pages."""
    response = make_response(page)
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


bp.add_app_template_global(section_questions_markup)
bp.add_app_template_global(section_list_markup)
bp.add_app_template_global(section_answers_markup)
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


def with_visit(*, must_be_open: bool = True):
    def decorator(view):
        @wraps(view)
        def wrapper(token: str, **kwargs):
            if request.method == "POST":
                # Before anything is read: a forged form costs no query and writes nothing.
                check_form_token(token, request.form.get("csrf_token"))
            try:
                visit = services.open_link(db.connection(), token)
                if must_be_open and not visit.submitted:
                    services.require_open(visit)
            except LinkRefused as refusal:
                return refusal_page(refusal)
            return view(visit, token=token, **kwargs)
        return wrapper
    return decorator


# A respondent's request is one read (the visit), without a transaction:
# pages need nothing more, the landing page adds one self-contained UPDATE
# recording the first opening, a save one UPDATE of the draft in the version
# read (survey.respond.services.save_answers_as_read), and the submission's
# writes are one transaction of their own (survey.responses.store_response).
# A save that finds the draft changed since it was read, or a first save that
# could not insert it on its own (PostgreSQL: Dialect.insert_first_draft),
# reads again with the respondent locked.
@bp.get("/<token>")
@db.reads_statement_by_statement
@with_visit(must_be_open=False)
def landing(visit, token):
    if visit.submitted:
        return render_template("respond/already.html", visit=visit, token=token, sent=False)
    state = visit.round.state()
    if state != "open":
        return refusal_page(LinkRefused(Refusal.SCHEDULED if state == "scheduled" else Refusal.CLOSED, visit.round))
    # Recorded only inside the window: a visit before the opening must not use up the first opening.
    record_opened(db.connection(), visit.link)
    answers = services.draft_answers(visit)
    return render_template(
        "respond/landing.html", visit=visit, token=token, minutes=_minutes_needed(visit.questionnaire),
        progress=answer_rules.progress(visit.questionnaire, answers), has_draft=bool(answers),
    )


# What the landing page announces: a rough reading-and-choosing time, not a measured one.
_SECONDS_PER_CHOICE, _SECONDS_PER_TEXT = 15, 60


def _minutes_needed(questionnaire) -> int:
    seconds = sum(_SECONDS_PER_TEXT if q.kind == "text" else _SECONDS_PER_CHOICE for q in questionnaire.questions)
    return max(1, round(seconds / 60))


def _section_or_404(visit, number: int):
    sections = visit.questionnaire.sections
    if not 1 <= number <= len(sections):
        abort(404)
    return sections[number - 1]


def _section_page(visit, token, number: int, answers: dict, *, errors=(), saved: bool = False):
    return render_template(
        "respond/section.html", visit=visit, token=token, number=number, section=_section_or_404(visit, number),
        answers=answers, errors=errors, saved=saved, progress=answer_rules.progress(visit.questionnaire, answers),
    )


def _review_page(visit, token, answers: dict, *, progress=None, incomplete: bool = False):
    sections = visit.questionnaire.sections
    return render_template(
        "respond/review.html", visit=visit, token=token, link_base=url_for(".landing", token=token),
        progress=progress or answer_rules.progress(visit.questionnaire, answers),
        section_of=_section_numbers(visit.questionnaire), answers=answers, incomplete=incomplete,
        answered_per_section=[(s, sum(1 for q in s.questions if q.code in answers)) for s in sections],
    )


@bp.get("/<token>/section/<int:number>")
@db.reads_statement_by_statement
@with_visit()
def section(visit, token, number):
    if visit.submitted:
        return redirect(url_for(".landing", token=token))
    return _section_page(visit, token, number, services.draft_answers(visit))


# A save answers with the page it leads to, not with a redirect to it: one
# round trip per section instead of two. That page's address stays the
# section posted to, which is safe to post again (a refresh): it stores that
# section's answers again, and a post that changes nothing writes nothing.
# The back and forward buttons show the page from the browser's own cache
# (kept_for_history). Its relative links and form action resolve against
# that address to the right section. With JavaScript, the page replaces
# itself and puts its own address in the history (survey/static/autosave.js).
@bp.post("/<token>/section/<int:number>")
@db.reads_statement_by_statement
@with_visit()
def save_section(visit, token, number):
    current = _section_or_404(visit, number)
    try:
        updates = answer_rules.parse_section(current, request.form, request.form.getlist)
        answers = _save(visit, token, updates)
    except answer_rules.InvalidAnswers as invalid:
        if wants_json():
            return jsonify(ok=False, messages=invalid.messages), 400
        return _section_page(visit, token, number, services.draft_answers(visit), errors=invalid.messages), 400
    except services.AlreadySubmitted:
        if wants_json():
            return jsonify(ok=False, reason="submitted", message="Phiếu đã được gửi; không thể thay đổi."), 409
        return redirect(url_for(".landing", token=token))
    except LinkRefused as refusal:
        return refusal_page(refusal)

    if wants_json():
        progress = answer_rules.progress(visit.questionnaire, answers)
        return jsonify(ok=True, answered=progress.answered, total=progress.total)

    action = request.form.get("action", "next")
    last = len(visit.questionnaire.sections)
    if action == "prev" and number > 1:
        return kept_for_history(_section_page(visit, token, number - 1, answers))
    if action == "stay":
        return kept_for_history(_section_page(visit, token, number, answers, saved=True))
    if action == "next" and number < last:
        return kept_for_history(_section_page(visit, token, number + 1, answers))
    return kept_for_history(_review_page(visit, token, answers))


def _save(visit, token: str, updates: dict) -> dict:
    """Save without a lock if the draft is as read; otherwise read it again with the respondent locked."""
    connection = db.connection()
    saved = services.save_answers_as_read(connection, visit, updates)
    if saved is not None:
        return saved
    db.begin_writes(connection)
    return services.save_answers(connection, services.open_link(connection, token, for_update=True), updates)


def _section_numbers(questionnaire):
    return {q.code: index for index, s in enumerate(questionnaire.sections, start=1) for q in s.questions}


@bp.get("/<token>/review")
@db.reads_statement_by_statement
@with_visit()
def review(visit, token):
    if visit.submitted:
        return redirect(url_for(".landing", token=token))
    return _review_page(visit, token, services.draft_answers(visit))


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
        # The confirmation itself, not a redirect to it. Posting again (a
        # refresh, a double click) finds the person in the ledger, stores
        # nothing and confirms again: their response is stored.
        return confirmation(render_template("respond/already.html", visit=visit, token=token, sent=True))
    return _review_page(visit, token, services.draft_answers(visit), progress=outcome.progress, incomplete=True), 422
