"""Storing responses: the one way in for every channel that collects answers.

A personal link, a public collection point, a kiosk or a paper form entered
by staff all call ``store_response`` with a round, a group, the
questionnaire version and the answers (already checked against that
questionnaire, see ``survey.respond.answers``). It writes the anonymous
response, its answer rows and what they add to ``answer_counts`` in the
caller's transaction, and, when a listed person is behind the response, their
entry in the exactly-once ledger. Nothing else writes those tables (a test
in tests/test_layering.py fails if anything does).
"""

from survey.dialects import Written
from survey.responses.storage import answer_rows, store_response, store_responses_in_bulk

__all__ = ["Written", "answer_rows", "store_response", "store_responses_in_bulk"]
