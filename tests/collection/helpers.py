"""Rounds with collection points, and the posts an honest citizen would send."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from survey import db
from survey.collection import services
from survey.questionnaire_registry import catalog
from survey.respond.models import Answer, Response, Submission
from survey.rounds.models import Round
from tests.respond.forms import section_form

CITIZENS = "sipas-citizens"
FORM_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def make_point(app, survey_round, *, opens_in=timedelta(days=-1), closes_in=timedelta(days=30), round_id=None,
               **options):
    """A round (no respondents, unless ``round_id`` is given) and one point on its citizen group.

    Returns (round_id, point_id, token).
    """
    if round_id is None:
        round_id, _ = survey_round(per_group=0, opens_in=opens_in, closes_in=closes_in)
    with app.app_context(), db.unit_of_work() as session:
        round_ = session.get(Round, round_id)
        group = next(g for g in round_.groups if g.questionnaire_key == CITIZENS)
        point = services.create_point(session, round_, group, name=options.pop("name", "Bộ phận Một cửa Sở Tư pháp"),
                                      place="Tầng 1, 399 Hoàng Liên", **options)
        return round_id, point.id, point.token


def citizen_questionnaire(app):
    with app.app_context():
        return catalog().get(CITIZENS, "2023.1")


def answers_form(app, form_token: str, **extra) -> dict:
    data: dict = {}
    for section in citizen_questionnaire(app).sections:
        data.update(section_form(section, form_token))
    data.pop("action", None)
    data["csrf_token"] = form_token
    data.update(extra)
    return data


def form_token_of(html: str) -> str:
    match = FORM_TOKEN.search(html)
    assert match, "the point's page has no form token"
    return match.group(1)


def stored(app, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(Response)
        for name, value in where.items():
            query = query.where(getattr(Response, name) == value)
        return db.session().scalar(query)


def answer_rows(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Answer))


def ledger_rows(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Submission))
