"""The respondent's journey through the Flask test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select

from survey import create_app, db
from survey.questionnaire_registry import catalog
from survey.respond.form_tokens import form_token
from survey.respond.models import Answer, Draft, Response, Submission
from tests.conftest import csrf_token_in, make_test_config
from tests.respond.forms import first_valid_option, section_form


def count(app, model) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


def questionnaire_of(app, group_code="department"):
    from survey.demo.data import DEMO_BINDINGS

    binding = next(b for b in DEMO_BINDINGS if catalog_of(app).get(b.questionnaire_key, b.questionnaire_version).group_code == group_code)
    return catalog_of(app).get(binding.questionnaire_key, binding.questionnaire_version)


def catalog_of(app):
    with app.app_context():
        return catalog()


def fill_everything(client, token, questionnaire, *, only_required=False):
    """Answer every section as a browser without JavaScript does; returns the last reply, the review page.

    Each save answers with the next section itself (then the review), not with a redirect.
    """
    page = client.get(f"/r/{token}/section/1")
    assert page.status_code == 200
    sections = questionnaire.sections
    for number, section in enumerate(sections, start=1):
        assert f"<h1>{section.title}</h1>" in page.text
        page = client.post(f"/r/{token}/section/{number}",
                           data=section_form(section, csrf_token_in(page.text), only_required=only_required,
                                             action="next" if number < len(sections) else "review"))
        assert page.status_code == 200, page.text
    assert "Xem lại và gửi phiếu" in page.text
    return page


def fill_and_submit(client, token, questionnaire):
    """Answer everything, then submit from the review page; returns the submission's reply."""
    review = fill_everything(client, token, questionnaire)
    return client.post(f"/r/{token}/submit", data={"csrf_token": csrf_token_in(review.text)})


def test_landing_explains_who_why_anonymity_and_deadline(client, survey_round):
    _, tokens = survey_round()
    page = client.get(f"/r/{tokens['department'][0]}")
    assert page.status_code == 200
    text = page.text
    assert "Bộ Nội vụ" in text and "Sở Nội vụ tỉnh Lào Cai" in text
    assert "Cam kết ẩn danh" in text
    assert "Hạn trả lời" in text
    assert "Bắt đầu trả lời" in text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_landing_puts_the_essentials_and_the_start_button_before_the_introduction(app, client, survey_round):
    _, tokens = survey_round()
    text = client.get(f"/r/{tokens['department'][0]}").text
    questionnaire = questionnaire_of(app)
    essentials = text[:text.index("<details")]
    for said in ("Đơn vị khảo sát:", "Bộ Nội vụ", "Mục đích:", "Hạn trả lời:", "Ẩn danh:",
                 f"{len(questionnaire.questions)} câu trong {len(questionnaire.sections)} phần", "Bắt đầu trả lời"):
        assert said in essentials
    assert "Thời gian:</strong> khoảng " in essentials
    folded = text[text.index("<details"):]
    assert "Cam kết ẩn danh" in folded and questionnaire.intro.split("\n\n")[0][:40] in folded


def test_review_shows_the_answers_section_by_section(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["department"][0]
    first = questionnaire_of(app).sections[0]
    page = client.get(f"/r/{token}/section/1")
    client.post(f"/r/{token}/section/1", data=section_form(first, csrf_token_in(page.text)))
    review = client.get(f"/r/{token}/review").text
    for question in first.questions:
        chosen = next(o for o in question.scale.options if o.code == first_valid_option(question)) if question.kind != "text" else None
        shown = review[review.index(f"<dt>{question.code}. "):]
        shown = shown[:shown.index("</dd>")]
        assert (chosen.label if chosen else "Ý kiến thử nghiệm") in shown
    second = questionnaire_of(app).sections[1].questions[0]
    unanswered = review[review.index(f"<dt>{second.code}. "):]
    assert "(chưa trả lời)" in unanswered[:unanswered.index("</dd>")]


@pytest.mark.parametrize("token", ["A" * 32, "short", "not a token at all with spaces!"])
def test_forged_or_malformed_link_reveals_nothing(client, survey_round, token):
    survey_round()
    page = client.get(f"/r/{token}")
    assert page.status_code == 404
    assert "Đường dẫn không hợp lệ" in page.text
    assert "Lào Cai" not in page.text and "Người" not in page.text


def test_revoked_link_looks_like_a_forged_one(app, client, survey_round):
    from survey.respond.links import find_active_link, issue_link

    _, tokens = survey_round()
    old = tokens["hdnd"][0]
    with app.app_context(), db.unit_of_work() as session:
        respondent = find_active_link(session, old).respondent
        new = issue_link(session, respondent)
    assert client.get(f"/r/{old}").status_code == 404
    assert client.get(f"/r/{new}").status_code == 200


def test_save_resume_and_see_missing_questions(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["department"][0]
    questionnaire = questionnaire_of(app)
    first = questionnaire.sections[0]
    page = client.get(f"/r/{token}/section/1")
    data = section_form(first, csrf_token_in(page.text), action="stay")
    reply = client.post(f"/r/{token}/section/1", data=data)
    assert reply.status_code == 200 and "Đã lưu câu trả lời" in reply.text
    assert f"<h1>{first.title}</h1>" in reply.text

    # A new browser (no cookies) resumes from the server-side draft.
    other = app.test_client()
    resumed = other.get(f"/r/{token}/section/1")
    question = first.questions[0]
    assert f'value="{first_valid_option(question)}" checked' in resumed.text
    assert "Tiếp tục trả lời" in other.get(f"/r/{token}").text

    review = other.get(f"/r/{token}/review")
    missing = [q for s in questionnaire.sections[1:] for q in s.questions if q.required]
    assert f"Còn {len(missing)} câu bắt buộc chưa trả lời" in review.text
    assert missing[0].code in review.text
    assert count(app, Submission) == 0


def test_submit_once_then_already_answered(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["department"][0]
    questionnaire = questionnaire_of(app)
    review = fill_everything(client, token, questionnaire)
    assert "đã trả lời đủ các câu bắt buộc" in review.text
    sent = client.post(f"/r/{token}/submit", data={"csrf_token": csrf_token_in(review.text)})
    assert sent.status_code == 200  # the confirmation itself, not a redirect to it
    assert "Cảm ơn Ông/Bà đã hoàn thành phiếu khảo sát" in sent.text

    assert count(app, Submission) == 1
    assert count(app, Response) == 1
    assert count(app, Answer) == len(questionnaire.questions)
    assert count(app, Draft) == 0

    # Refresh / double click: nothing more is stored.
    again = client.post(f"/r/{token}/submit", data={"csrf_token": csrf_token_in(review.text)})
    assert again.status_code == 200 and "Cảm ơn Ông/Bà đã hoàn thành phiếu khảo sát" in again.text
    assert "đã hoàn thành phiếu khảo sát này" in client.get(f"/r/{token}").text
    late_edit = client.post(f"/r/{token}/section/1",
                            data=section_form(questionnaire.sections[0], csrf_token_in(review.text)))
    assert late_edit.status_code == 302
    assert count(app, Submission) == 1 and count(app, Response) == 1 and count(app, Draft) == 0


def test_stored_response_cannot_be_traced_to_the_respondent(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["hdnd"][0]
    assert fill_and_submit(client, token, questionnaire_of(app, "hdnd")).status_code == 200
    with app.app_context():
        columns = {c["name"] for c in inspect(db.engine()).get_columns("responses")}
        answer_columns = {c["name"] for c in inspect(db.engine()).get_columns("answers")}
        response = db.session().scalars(select(Response)).one()
        ledger = db.session().scalars(select(Submission)).one()
    assert not any("respondent" in c or "link" in c or "token" in c for c in columns | answer_columns)
    # How it was collected (channel, collection point, procedure): places and services, never a person.
    assert columns == {"id", "round_id", "group_id", "questionnaire_key", "questionnaire_version", "submitted_week",
                       "channel", "collection_point_id", "procedure_id"}
    assert isinstance(response.submitted_week, dt.date) and response.submitted_week.weekday() == 0
    assert len(response.id) == 32 and response.id != str(ledger.id)


def test_submitted_rows_read_back_as_sent(app, client, survey_round):
    """The submission writes with the driver's own statements on SQLite: the ORM must read back what was sent."""
    _, tokens = survey_round()
    token = tokens["department"][0]
    questionnaire = questionnaire_of(app)
    before = dt.datetime.now(dt.timezone.utc)
    assert fill_and_submit(client, token, questionnaire).status_code == 200
    after = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        ledger = db.session().scalars(select(Submission)).one()
        response = db.session().scalars(select(Response)).one()
        stored = {(a.question_code, a.option_code, a.text_value, a.group_id)
                  for a in db.session().scalars(select(Answer).where(Answer.response_id == response.id))}
    submitted_at = ledger.submitted_at if ledger.submitted_at.tzinfo else ledger.submitted_at.replace(tzinfo=dt.timezone.utc)
    assert before <= submitted_at <= after
    vietnam_day = (after + timedelta(hours=7)).date()  # UTC+7, no daylight saving
    assert response.submitted_week == vietnam_day - timedelta(days=vietnam_day.weekday())
    assert (response.questionnaire_key, response.questionnaire_version) == (questionnaire.key, questionnaire.version)
    sent = {(q.code, None, "Ý kiến thử nghiệm", response.group_id) if q.kind == "text"
            else (q.code, first_valid_option(q), None, response.group_id) for q in questionnaire.questions}
    assert stored == sent


def test_tampered_option_is_refused_and_writes_nothing(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["department"][0]
    section = questionnaire_of(app).sections[0]
    page = client.get(f"/r/{token}/section/1")
    data = section_form(section, csrf_token_in(page.text))
    data[f"q_{section.questions[0].code}"] = ["Z9"]
    reply = client.post(f"/r/{token}/section/1", data=data)
    assert reply.status_code == 400
    assert "lựa chọn không hợp lệ" in reply.text and "Không có thay đổi nào được ghi" in reply.text
    assert count(app, Draft) == 0


def test_two_options_on_a_single_choice_question_are_refused(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["department"][0]
    section = questionnaire_of(app).sections[0]
    question = section.questions[0]
    page = client.get(f"/r/{token}/section/1")
    data = section_form(section, csrf_token_in(page.text))
    data[f"q_{question.code}"] = [o.code for o in question.scale.options[:2]]
    assert client.post(f"/r/{token}/section/1", data=data).status_code == 400
    assert count(app, Draft) == 0


def test_missing_csrf_token_is_refused_in_vietnamese(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["department"][0]
    data = section_form(questionnaire_of(app).sections[0], "forged")
    del data["csrf_token"]
    reply = client.post(f"/r/{token}/section/1", data=data)
    assert reply.status_code == 400 and "mã bảo mật của biểu mẫu" in reply.text and "chưa được ghi" in reply.text
    assert count(app, Draft) == 0
    wrong = client.post(f"/r/{token}/submit", data={"csrf_token": "forged"})
    assert wrong.status_code == 400
    assert count(app, Submission) == 0


def test_form_token_of_another_link_is_refused(app, client, survey_round):
    _, tokens = survey_round()
    mine, theirs = tokens["department"][0], tokens["department"][1]
    page = client.get(f"/r/{theirs}/section/1")
    assert "Set-Cookie" not in page.headers  # respondent pages keep no session
    their_token = csrf_token_in(page.text)
    reply = client.post(f"/r/{mine}/section/1", data=section_form(questionnaire_of(app).sections[0], their_token))
    assert reply.status_code == 400 and "mã bảo mật của biểu mẫu" in reply.text and "CSRF" not in reply.text and "thư mời mới nhất" in reply.text
    assert client.post(f"/r/{mine}/submit", data={"csrf_token": their_token}).status_code == 400
    assert count(app, Draft) == 0 and count(app, Submission) == 0
    # The same form with the link's own token is accepted.
    own = csrf_token_in(client.get(f"/r/{mine}/section/1").text)
    assert own != their_token
    assert client.post(f"/r/{mine}/section/1", data=section_form(questionnaire_of(app).sections[0], own)).status_code == 200
    assert count(app, Draft) == 1


def test_oversized_post_is_refused(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["department"][0]
    page = client.get(f"/r/{token}/section/1")
    reply = client.post(f"/r/{token}/section/1",
                        data={"csrf_token": csrf_token_in(page.text), "padding": "x" * 400_000})
    assert reply.status_code == 413 and "quá lớn" in reply.text
    assert count(app, Draft) == 0


def test_incomplete_submission_is_refused(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["department"][0]
    review = client.get(f"/r/{token}/review")
    reply = client.post(f"/r/{token}/submit", data={"csrf_token": csrf_token_in(review.text)})
    assert reply.status_code == 422 and "Phiếu chưa được gửi" in reply.text
    assert count(app, Submission) == 0 and count(app, Response) == 0


def test_closed_round_accepts_nothing(app, client, survey_round):
    _, tokens = survey_round(opens_in=timedelta(days=-30), closes_in=timedelta(minutes=-1))
    token = tokens["department"][0]
    page = client.get(f"/r/{token}")
    assert page.status_code == 403 and "Đợt khảo sát đã kết thúc" in page.text
    assert client.get(f"/r/{token}/section/1").status_code == 403
    # Even with the link's valid form token (from a page served while the round was open), it refuses.
    with app.app_context():
        csrf = form_token(token)
    reply = client.post(f"/r/{token}/section/1", data=section_form(questionnaire_of(app).sections[0], csrf))
    assert reply.status_code == 403
    assert client.post(f"/r/{token}/submit", data={"csrf_token": csrf}).status_code == 403
    assert count(app, Draft) == 0 and count(app, Submission) == 0


def test_round_not_yet_open(client, survey_round):
    _, tokens = survey_round(opens_in=timedelta(days=2), closes_in=timedelta(days=30))
    page = client.get(f"/r/{tokens['hdnd'][0]}")
    assert page.status_code == 403 and "Đợt khảo sát chưa mở" in page.text and "Phiếu sẽ mở lúc" in page.text


def test_autosave_returns_progress_as_json(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["citizen"][0]
    questionnaire = questionnaire_of(app, "citizen")
    page = client.get(f"/r/{token}/section/1")
    data = section_form(questionnaire.sections[0], csrf_token_in(page.text))
    reply = client.post(f"/r/{token}/section/1", data=data, headers={"X-Requested-With": "autosave"})
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["ok"] is True
    assert body["answered"] == len(questionnaire.sections[0].questions)
    assert body["total"] == len(questionnaire.questions)


def test_too_many_choices_on_a_multiple_choice_question(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["citizen"][0]
    questionnaire = questionnaire_of(app, "citizen")
    number, section, question = next(
        (n, s, q) for n, s in enumerate(questionnaire.sections, start=1) for q in s.questions
        if q.kind == "multi" and q.max_choices
    )
    page = client.get(f"/r/{token}/section/{number}")
    data = section_form(section, csrf_token_in(page.text))
    data[f"q_{question.code}"] = [o.code for o in question.scale.options if not o.is_missing][: question.max_choices + 1]
    reply = client.post(f"/r/{token}/section/{number}", data=data)
    assert reply.status_code == 400 and f"tối đa {question.max_choices}" in reply.text


def test_changed_questionnaire_file_is_refused_not_served(database_url, tmp_path, caplog):
    from survey.questionnaire_registry import check_rounds
    from survey.demo.data import load_demo
    from questionnaires import DEFAULT_ROOT

    root = tmp_path / "questionnaires"
    shutil.copytree(DEFAULT_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    app = create_app(make_test_config(database_url, QUESTIONNAIRE_DIR=str(root)))
    restarted = None
    try:
        with app.app_context(), db.unit_of_work() as session:
            _, links = load_demo(session, catalog())
        token = next(link.token for link in links if "sở, ban, ngành" in link.group_label and "cấp phòng" not in link.group_label)
        assert app.test_client().get(f"/r/{token}").status_code == 200

        edited = root / "forms" / "par-department-leaders" / "2023.1.yaml"
        edited.write_text(edited.read_text(encoding="utf-8").replace("Ông/Bà", "Ông/bà", 1), encoding="utf-8")
        restarted = create_app(make_test_config(database_url, QUESTIONNAIRE_DIR=str(root)))
        page = restarted.test_client().get(f"/r/{token}")
        assert page.status_code == 503 and "tạm thời không khả dụng" in page.text
        assert "par-department-leaders/2023.1.yaml" in caplog.text and "new version" in caplog.text
        with restarted.app_context():
            problems = check_rounds(db.session())
        assert len(problems) == 1 and "par-department-leaders" in problems[0]
    finally:
        from tests.databases import empty_all_tables
        empty_all_tables(app.extensions["survey.engine"])
        for each in (app, restarted):
            if each is not None:
                db.dispose(each)
