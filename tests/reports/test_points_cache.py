"""The survey points' cache: computed once per state of the answers and options, never stale.

Hand-computed from tests/reports' HAND_DATA (option weights A 1, B 0.6, C 0.2, D 0; E "don't
know"): sub-criterion 1.5.1 (0.5 points) pools HĐND delegates (A, A, B, C, D, E) and department
leaders (0.8); the two division leaders are below k = 5 and, by default, not pooled.
"""

from __future__ import annotations

import pytest

from analysis.options import AnalysisOptions
from survey import db
from survey.questionnaire_registry import catalog
from survey.reports import points_cache
from survey.rounds.models import Round
from tests.reports.conftest import insert_responses


@pytest.fixture
def empty_cache():
    points_cache.clear()
    yield
    points_cache.clear()


def points(app, round_id, options=None):
    """1.5.1's points, and whether they were computed (True) or served from the cache (False)."""
    before = dict(points_cache.stats)
    with app.app_context():
        session = db.session()
        found = points_cache.survey_points(session, session.get(Round, round_id), catalog(), options)
    computed = points_cache.stats["computed"] - before["computed"]
    served = points_cache.stats["served"] - before["served"]
    assert computed + served == 1
    return found["1.5.1"], bool(computed)


def test_points_are_served_until_an_answer_or_an_option_changes(app, answered_round, empty_cache):
    round_id = answered_round()
    # (2.8 / 5 + 0.8) / 2 × 0.5 = 0.34
    assert points(app, round_id) == (0.34, True)
    assert points(app, round_id) == (0.34, False)
    assert points(app, round_id, AnalysisOptions()) == (0.34, False)  # the defaults are the same key
    # "Don't know" scored 0: HĐND (2.8 / 6); (0.4667 + 0.8) / 2 × 0.5 = 0.3167
    zero = AnalysisOptions(dont_know="zero")
    assert points(app, round_id, zero) == (0.32, True)
    assert points(app, round_id, zero) == (0.32, False)
    assert points(app, round_id) == (0.34, False)

    with app.app_context(), db.unit_of_work() as session:
        insert_responses(session, session.get(Round, round_id), {"hdnd": [{"Q1.01": ["A"]}]})
    # One more HĐND "A": (3.8 / 6 + 0.8) / 2 × 0.5 = 0.3583; computed again, not served.
    assert points(app, round_id) == (0.36, True)
    assert points(app, round_id) == (0.36, False)
    # "Don't know" scored 0 with it: (3.8 / 7 + 0.8) / 2 × 0.5 = 0.3357
    assert points(app, round_id, zero) == (0.34, True)


def test_the_same_answers_in_another_round_are_not_confused(app, answered_round, empty_cache):
    first = answered_round()
    second = answered_round(data={"hdnd": [{"Q1.01": ["A"]} for _ in range(5)], "department": []}, title="Đợt hai")
    assert points(app, first) == (0.34, True)
    # HĐND all A (1.0), the only group with answers: 1.0 × 0.5
    assert points(app, second) == (0.5, True)
    assert points(app, first) == (0.34, False)
