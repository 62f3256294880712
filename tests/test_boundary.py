"""What a request may carry: control characters and ids out of range are stopped at the boundary."""

from __future__ import annotations

import pytest

from survey import create_app, db
from tests.conftest import STAFF_PASSWORD, csrf_token_in, make_test_config
from tests.respond.forms import section_form
from tests.respond.test_journey import questionnaire_of

REFUSED = "ký tự điều khiển không được phép"


def test_a_nul_in_the_sign_in_e_mail_is_refused_with_a_reason(client, staff):
    email = staff("province_admin")
    page = client.get("/admin/login")
    reply = client.post("/admin/login", data={"email": email + "\x00", "password": STAFF_PASSWORD,
                                              "csrf_token": csrf_token_in(page.text)})
    assert reply.status_code == 400
    assert REFUSED in reply.text


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b", "\x7f", "\x85"])
def test_control_characters_in_a_roster_search_are_refused(client, login, survey_round, character):
    round_id, _ = survey_round()
    login("province_admin")
    reply = client.get(f"/admin/rounds/{round_id}/respondents", query_string={"q": f"Người{character}"})
    assert reply.status_code == 400
    assert REFUSED in reply.text
    # Tabs and line breaks are not refused: a textarea sends them.
    assert client.get(f"/admin/rounds/{round_id}/respondents", query_string={"q": "Người\t\r\n"}).status_code == 200


def test_a_nul_in_the_audit_filter_is_refused(client, login):
    login("system_admin")
    reply = client.get("/admin/audit", query_string={"action": "auth\x00"})
    assert reply.status_code == 400
    assert REFUSED in reply.text
    assert client.get("/admin/audit", query_string={"action": "auth"}).status_code == 200


def test_a_nul_in_a_json_body_is_refused_in_json(client):
    reply = client.post("/admin/login", json={"email": "a@example.vn\x00"})
    assert reply.status_code == 400
    assert REFUSED in reply.get_json()["message"]


def test_a_nul_in_a_link_is_refused_not_looked_up(client, survey_round):
    survey_round()
    assert client.get("/r/abc%00def").status_code == 400


def test_a_nul_pasted_into_a_free_text_answer_is_dropped_and_the_submission_goes_through(app, client, survey_round):
    _, tokens = survey_round()
    token = tokens["department"][0]
    questionnaire = questionnaire_of(app)
    typed = "Ý kiến\x00 có ký tự lạ\x0b"
    for number, section in enumerate(questionnaire.sections, start=1):
        page = client.get(f"/r/{token}/section/{number}")
        data = section_form(section, csrf_token_in(page.text))
        free_text = [name for name in data if name[2:] in {q.code for q in section.questions if q.kind == "text"}]
        data.update({name: typed for name in free_text})
        reply = client.post(f"/r/{token}/section/{number}", data=data)
        assert reply.status_code == 200 and "không hợp lệ" not in reply.text, reply.text  # saved: the next page
        if free_text:
            assert "Ý kiến có ký tự lạ" in client.get(f"/r/{token}/section/{number}").text
    review = client.get(f"/r/{token}/review")
    submitted = client.post(f"/r/{token}/submit", data={"csrf_token": csrf_token_in(review.text)})
    assert submitted.status_code == 200, submitted.text
    assert "đã được gửi" in client.get(f"/r/{token}").text


def test_ids_beyond_the_integer_range_are_not_found(client, login, survey_round):
    round_id, tokens = survey_round()
    login("province_admin")
    assert client.get(f"/admin/rounds/{round_id}/respondents").status_code == 200
    for path in ("/admin/rounds/99999999999/respondents", "/admin/rounds/2147483648/roster",
                 "/admin/respondents/99999999999/edit", "/admin/rounds/99999999999/quotas",
                 f"/r/{tokens['department'][0]}/section/99999999999"):
        assert client.get(path).status_code == 404, path


def test_hsts_in_production_with_secure_cookies_only(database_url):
    for overrides, expected in [({"SESSION_COOKIE_SECURE": True}, "max-age=31536000"),
                                ({"SESSION_COOKIE_SECURE": False}, None),
                                ({"SESSION_COOKIE_SECURE": True, "ENV_MODE": "development"}, None)]:
        app = create_app(make_test_config(database_url, **overrides))
        try:
            for path in ("/admin/login", "/r/" + "A" * 32):
                assert app.test_client().get(path).headers.get("Strict-Transport-Security") == expected, overrides
        finally:
            db.dispose(app)
