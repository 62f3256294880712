"""Kiosk mode: a point's questionnaire on a tablet at the counter, one citizen after another.

The kiosk link (/p/<kiosk token>/kiosk) is secret, set up by staff on the
tablet; the public poster's link never opens kiosk mode, because kiosk mode
has no per-device limit (one device serves everyone). Nothing of one
citizen's answers may reach the next: every page is ``no-store`` (the
blueprint's rule), the form is ``autocomplete="off"`` so the browser does not
restore it on Back, and survey/static/kiosk.js resets it on ``pageshow``,
sends answers without navigating (no history entry holds them) and restarts
after the thanks and after inactivity.

Each submission carries a random id (drawn by the page, or by the server for
a page without JavaScript); ``services.submit_at_point`` stores a response
for an id once, so a submission retried after a network drop is stored once.
"""

from __future__ import annotations

from flask import current_app, jsonify, redirect, render_template, request, url_for

from survey import db
from survey.collection import limits, services
from survey.collection.settings import DEFAULT_KIOSK_IDLE_SECONDS, DEFAULT_KIOSK_THANKS_SECONDS
from survey.collection.views import public
from survey.respond.form_tokens import check_form_token, form_token


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _page(point, *, answers=None, errors=(), status=200):
    return render_template(
        "collection/kiosk.html", point=point, answers=answers or {}, errors=errors, procedure_code="",
        form_token=form_token(point.token), submission_id=services.new_submission_id(),
        idle_seconds=current_app.config.get("KIOSK_IDLE_SECONDS", DEFAULT_KIOSK_IDLE_SECONDS),
        thanks_seconds=current_app.config.get("KIOSK_THANKS_SECONDS", DEFAULT_KIOSK_THANKS_SECONDS)), status


def _refused(message: str, status: int):
    if _wants_json():
        return jsonify(error=message), status
    return render_template("collection/refused.html", message=message, point=None), status


@public.get("/<token>/kiosk")
def kiosk(token):
    try:
        point = services.open_point(db.connection(), token, kiosk=True)
    except services.PointRefused as refusal:
        return _refused(refusal.message, 404 if refusal.reason is services.Refusal.INVALID else 403)
    return _page(point)


@public.post("/<token>/kiosk")
@limits.kiosk_limited
def kiosk_submit(token):
    check_form_token(token, request.form.get("csrf_token"))
    connection = db.connection()
    procedure_code = request.form.get("procedure", "").strip()
    try:
        point = services.open_point(connection, token, kiosk=True, procedures=False, procedure_code=procedure_code)
    except services.PointRefused as refusal:
        return _refused(refusal.message, 404 if refusal.reason is services.Refusal.INVALID else 403)
    try:
        answers = services.read_answers(point.questionnaire, request.form, request.form.getlist)
        services.submit_at_point(connection, point, answers, channel="kiosk",
                                 procedure_code=procedure_code,
                                 dossier=request.form.get("dossier", ""), secret_key=current_app.secret_key,
                                 submission_id=request.form.get("submission_id", ""))
    except services.FormRefused as refused:
        if _wants_json():
            return jsonify(errors=refused.messages), 422
        return _page(services.with_procedures(connection, point), answers=refused.answers, errors=refused.messages,
                     status=422)
    except services.AlreadyReceived:
        # The page sent it before and missed the answer: it is stored, say so again.
        if _wants_json():
            return jsonify(status="already")
    except services.DossierUsed:
        return _refused("Hồ sơ này đã được đánh giá trong đợt khảo sát; mỗi hồ sơ chỉ gửi được một phiếu. "
                        "Câu trả lời lần này chưa được ghi.", 409)
    except services.PointRefused as refusal:
        return _refused(refusal.message, 409)
    else:
        if _wants_json():
            return jsonify(status="stored")
    return redirect(url_for(".kiosk_thanks", token=token), 303)


@public.get("/<token>/kiosk/cam-on")
def kiosk_thanks(token):
    if not services.plausible_kiosk_token(token):
        return _refused(services.REFUSAL_TEXT[services.Refusal.INVALID], 404)
    seconds = current_app.config.get("KIOSK_THANKS_SECONDS", DEFAULT_KIOSK_THANKS_SECONDS)
    # Without JavaScript too, the tablet goes back to a new, empty questionnaire by itself.
    return render_template("collection/kiosk_thanks.html", token=token), 200, {
        "Refresh": f"{seconds}; url={url_for('.kiosk', token=token)}"}
