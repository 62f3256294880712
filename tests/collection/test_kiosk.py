"""Kiosk mode: a secret link per point, no-store pages, and a submission id stored once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from survey import db
from survey.collection import services
from survey.collection.models import CollectionPoint, KioskReceipt
from survey.timeutil import utcnow
from tests.collection.helpers import answers_form, form_token_of, make_point, stored
from tests.conftest import csrf_token_in

JSON = {"Accept": "application/json"}


@pytest.fixture
def kiosk(app, survey_round):
    round_id, point_id, token = make_point(app, survey_round)
    with app.app_context(), db.unit_of_work() as session:
        point = session.get(CollectionPoint, point_id)
        services.set_kiosk(session, point, True)
        return round_id, point_id, token, point.kiosk_token


def submission_of(html: str) -> str:
    import re

    return re.search(r'name="submission_id" value="([0-9a-f]{32})"', html).group(1)


def test_a_kiosk_submission_id_is_stored_once_however_often_it_is_retried(app, client, kiosk):
    round_id, point_id, _, kiosk_token = kiosk
    page = client.get(f"/p/{kiosk_token}/kiosk")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'autocomplete="off"' in page.text and "Set-Cookie" not in page.headers  # no device cookie either
    data = answers_form(app, form_token_of(page.text), submission_id=submission_of(page.text))
    first = client.post(f"/p/{kiosk_token}/kiosk", data=data, headers=JSON)
    assert first.status_code == 200 and first.json == {"status": "stored"}
    for _ in range(2):  # the acknowledgement was lost: the page sends it again
        again = client.post(f"/p/{kiosk_token}/kiosk", data=data, headers=JSON)
        assert again.status_code == 200 and again.json == {"status": "already"}
    assert stored(app, channel="kiosk", collection_point_id=point_id) == 1
    # Another submission (another id) is another response.
    other = client.post(f"/p/{kiosk_token}/kiosk", data={**data, "submission_id": "ab" * 16}, headers=JSON)
    assert other.json == {"status": "stored"} and stored(app, channel="kiosk") == 2
    with app.app_context():
        receipts = db.session().scalars(select(KioskReceipt)).all()
    columns = set(KioskReceipt.__table__.columns.keys())
    assert len(receipts) == 2 and all(r.round_id == round_id for r in receipts)
    assert columns == {"id", "round_id", "submission_id", "received_on"}  # no point, no time, no response


def test_without_javascript_the_kiosk_thanks_then_returns_to_a_new_form(app, client, kiosk):
    _, _, _, kiosk_token = kiosk
    page = client.get(f"/p/{kiosk_token}/kiosk")
    data = answers_form(app, form_token_of(page.text), submission_id=submission_of(page.text))
    reply = client.post(f"/p/{kiosk_token}/kiosk", data=data)
    assert reply.status_code == 303 and reply.headers["Location"].endswith(f"/p/{kiosk_token}/kiosk/cam-on")
    thanks = client.get(reply.headers["Location"])
    assert "Cảm ơn" in thanks.text and thanks.headers["Refresh"].endswith(f"url=/p/{kiosk_token}/kiosk")
    assert thanks.headers["Cache-Control"] == "no-store"
    # A resent post (the browser's "resend form") stores nothing more and still thanks.
    assert client.post(f"/p/{kiosk_token}/kiosk", data=data).status_code == 303
    assert stored(app, channel="kiosk") == 1
    # A new page has a new submission id.
    assert submission_of(client.get(f"/p/{kiosk_token}/kiosk").text) != data["submission_id"]


def test_bad_kiosk_posts_store_nothing_and_say_why(app, client, kiosk):
    _, _, _, kiosk_token = kiosk
    page = client.get(f"/p/{kiosk_token}/kiosk")
    data = answers_form(app, form_token_of(page.text), submission_id="not-an-id")
    refused = client.post(f"/p/{kiosk_token}/kiosk", data=data, headers=JSON)
    assert refused.status_code == 422 and "mã lượt gửi" in refused.json["errors"][0]
    incomplete = client.post(f"/p/{kiosk_token}/kiosk", data={"csrf_token": form_token_of(page.text),
                                                               "submission_id": "cd" * 16}, headers=JSON)
    assert incomplete.status_code == 422 and incomplete.json["errors"]
    assert stored(app) == 0
    with app.app_context():
        assert db.session().scalars(select(KioskReceipt)).all() == []  # a refused post leaves no receipt


def test_the_public_link_never_opens_kiosk_mode_and_a_kiosk_can_be_turned_off(app, client, login, kiosk):
    round_id, point_id, token, kiosk_token = kiosk
    assert client.get(f"/p/{token}/kiosk").status_code == 404
    assert client.get(f"/p/{'a' * 24}/kiosk").status_code == 404
    login("province_admin")
    listing = client.get(f"/admin/rounds/{round_id}/points")
    assert f"http://localhost/p/{kiosk_token}/kiosk" in listing.text
    off = client.post(f"/admin/rounds/{round_id}/points/{point_id}/kiosk",
                      data={"csrf_token": csrf_token_in(listing.text), "kiosk": "0"})
    assert off.status_code == 302
    assert client.get(f"/p/{kiosk_token}/kiosk").status_code == 404


def test_kiosk_receipts_are_purged_after_their_days_and_with_the_round(app, kiosk, client):
    _, _, _, kiosk_token = kiosk
    page = client.get(f"/p/{kiosk_token}/kiosk")
    client.post(f"/p/{kiosk_token}/kiosk", headers=JSON,
                data=answers_form(app, form_token_of(page.text), submission_id=submission_of(page.text)))
    with app.app_context(), db.unit_of_work() as session:
        assert services.purge_expired_receipts(session, utcnow() + timedelta(days=1)) == 0
        assert services.purge_expired_receipts(session, utcnow() + timedelta(days=3)) == 1
    assert stored(app, channel="kiosk") == 1  # the response stays
