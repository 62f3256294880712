"""Paper batches, clerks signed in on their own clients, and what a clerk types for a form."""

from __future__ import annotations

import re

from sqlalchemy import select

from survey import db
from survey.rounds.models import Round
from tests.collection.helpers import CITIZENS, citizen_questionnaire
from tests.conftest import STAFF_PASSWORD, csrf_token_in


def signed_in(app, staff, role: str, email: str, **kwargs):
    """A test client of its own, signed in as a new account: two clerks keying side by side."""
    staff(role, email=email, **kwargs)
    client = app.test_client()
    page = client.get("/admin/login")
    reply = client.post("/admin/login", data={"email": email, "password": STAFF_PASSWORD,
                                              "csrf_token": csrf_token_in(page.text)})
    assert reply.status_code == 302, reply.text
    return client


def citizen_group_id(app, round_id: int) -> int:
    with app.app_context():
        round_ = db.session().get(Round, round_id)
        return next(g.id for g in round_.groups if g.questionnaire_key == CITIZENS)


def create_batch(app, client, round_id: int, *, point_id: int = 0, team: str = "Tổ khảo sát số 1") -> int:
    page = client.get(f"/admin/rounds/{round_id}/paper")
    assert page.status_code == 200, page.status_code
    reply = client.post(f"/admin/rounds/{round_id}/paper/batches", data={
        "csrf_token": csrf_token_in(page.text), "group_id": citizen_group_id(app, round_id), "point_id": point_id,
        "collected_on": "2023-11-20", "team": team})
    assert reply.status_code == 302, reply.text
    return int(re.search(r"/paper/(\d+)/entry", reply.headers["Location"]).group(1))


def keyed_form(app, **overrides) -> dict[str, str]:
    """What a clerk types for an honest form: the first option of each question (two for a multiple choice)."""
    keyed = {}
    for question in citizen_questionnaire(app).questions:
        if question.kind == "text":
            keyed[question.code] = "Không có ý kiến"
        elif question.kind == "multi":
            keyed[question.code] = "".join(o.code for o in question.scale.options[:2])
        else:
            keyed[question.code] = next(o.code for o in question.scale.options if not o.is_missing)
    keyed.update(overrides)
    return keyed


def key_form(client, round_id: int, batch_id: int, number: int, keyed: dict[str, str], *, procedure: str = ""):
    url = f"/admin/rounds/{round_id}/paper/{batch_id}/entry"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_token_in(page.text), "form_number": str(number), "started": "0",
            "procedure": procedure}
    data.update({f"q_{code}": value for code, value in keyed.items()})
    return client.post(url, data=data)


def batch_of(app, batch_id):
    from survey.collection.models import PaperBatch

    with app.app_context():
        return db.session().scalars(select(PaperBatch).where(PaperBatch.id == batch_id)).one()
