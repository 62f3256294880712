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
from tests.respond.test_counts import counts_from_answers, stored_counts

pytestmark = pytest.mark.server


def prefill_drafts(app, tokens):
    """Complete drafts written through the same service the pages use (two options where several are allowed)."""
    def chosen(question):
        if question.kind == "text":
            return "Ý kiến"
        substantive = [o.code for o in question.scale.options if not o.is_missing]
        return substantive[:2] if question.kind == "multi" else substantive[:1]

    with app.app_context(), db.unit_of_work() as session:
        for token in tokens:
            visit = services.open_link(session, token)
            services.save_answers(session, visit, {q.code: chosen(q) for q in visit.questionnaire.questions})


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
    assert statuses == [200] * 50  # every caller is shown the confirmation, none an error
    with app.app_context():
        questions = len(catalog().get("par-department-leaders", "2023.1").questions)
    assert counts(app) == {"submissions": 1, "responses": 1, "answers": questions, "drafts": 0}
    assert stored_counts(app) == counts_from_answers(app)  # counted once, like the answers


def test_two_hundred_respondents_at_once_none_lost(app, survey_round, live_server):
    from survey.demo.data import DEMO_BINDINGS

    _, tokens = survey_round(per_group=40)
    everyone = [t for group in tokens.values() for t in group]
    assert len(everyone) == 40 * len(DEMO_BINDINGS) == 200
    prefill_drafts(app, everyone)
    statuses = submit_together(live_server, everyone)
    assert statuses == [200] * 200
    stored = counts(app)
    assert stored["submissions"] == 200 and stored["responses"] == 200 and stored["drafts"] == 0
    with app.app_context():
        questionnaires = [catalog().get(b.questionnaire_key, b.questionnaire_version) for b in DEMO_BINDINGS]
        expected_answers = sum(40 * len(q.questions) for q in questionnaires)
        multiple_choice_questions = sum(1 for q in questionnaires for x in q.questions if x.kind == "multi")
    assert stored["answers"] == expected_answers + 40 * multiple_choice_questions
    # Concurrent submissions in the same group (and, on PostgreSQL, the same slots) lose no count.
    assert stored_counts(app) == counts_from_answers(app)
