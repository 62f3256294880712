"""Exactly-once submission under real concurrency, against gunicorn on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from survey import db
from survey.questionnaire_registry import catalog
from survey.respond import services
from survey.respond.models import Answer, Draft, Response, Submission
from tests.conftest import csrf_token_in

pytestmark = pytest.mark.server


def prefill_drafts(app, tokens):
    """Complete drafts written through the same service the pages use."""
    with app.app_context(), db.unit_of_work() as session:
        for token in tokens:
            visit = services.open_link(session, token)
            answers = {
                q.code: ("Ý kiến" if q.kind == "text" else [next(o.code for o in q.scale.options if not o.is_missing)])
                for q in visit.questionnaire.questions
            }
            services.save_answers(session, visit, answers)


def submit_together(base, tokens):
    """Each caller loads the review page, then all submit at the same instant."""
    barrier = threading.Barrier(len(tokens))

    def one(token):
        with requests.Session() as browser:
            review = browser.get(f"{base}/r/{token}/review", timeout=60)
            assert review.status_code == 200
            csrf = csrf_token_in(review.text)
            barrier.wait(timeout=60)
            return browser.post(f"{base}/r/{token}/submit", data={"csrf_token": csrf},
                                allow_redirects=False, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        return list(pool.map(one, tokens))


def counts(app):
    with app.app_context():
        s = db.session()
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in (Submission, Response, Answer, Draft)}


def test_fifty_simultaneous_submissions_through_one_link_store_one(app, survey_round, live_server):
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    prefill_drafts(app, [token])
    statuses = submit_together(live_server, [token] * 50)
    assert statuses == [302] * 50  # every caller lands on "already answered", none on an error
    with app.app_context():
        questions = len(catalog().get("par-department-leaders", "2023.1").questions)
    assert counts(app) == {"submissions": 1, "responses": 1, "answers": questions, "drafts": 0}


def test_two_hundred_respondents_at_once_none_lost(app, survey_round, live_server):
    from survey.demo.data import DEMO_BINDINGS

    _, tokens = survey_round(per_group=40)
    everyone = [t for group in tokens.values() for t in group]
    assert len(everyone) == 40 * len(DEMO_BINDINGS) == 200
    prefill_drafts(app, everyone)
    statuses = submit_together(live_server, everyone)
    assert statuses == [302] * 200
    stored = counts(app)
    assert stored["submissions"] == 200 and stored["responses"] == 200 and stored["drafts"] == 0
    with app.app_context():
        expected_answers = sum(
            40 * len(catalog().get(b.questionnaire_key, b.questionnaire_version).questions) for b in DEMO_BINDINGS
        )
    assert stored["answers"] == expected_answers
