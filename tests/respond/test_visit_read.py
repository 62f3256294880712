"""The pages read a visit through psycopg directly on PostgreSQL: it must equal what SQLAlchemy reads."""

from __future__ import annotations

import pytest

from survey import db
from survey.dialects import PostgreSQL
from survey.respond import services


def read_both_ways(app, token):
    with app.app_context(), db.unit_of_work(write=False) as session:
        through_sqlalchemy = services.open_link(session, token)
    with app.test_request_context(f"/r/{token}/section/1"):  # a page declared reads_statement_by_statement
        through_the_pages_connection = services.open_link(db.connection(), token)
    return through_sqlalchemy, through_the_pages_connection


def test_the_pages_read_equals_the_orm_sessions(app, survey_round, client):
    _, tokens = survey_round(per_group=1)
    fresh, started = tokens["department"][0], tokens["citizen"][0]
    with app.app_context(), db.unit_of_work() as session:
        visit = services.open_link(session, started)
        services.save_answers(session, visit, {"E1.1": ["4"], "X1": ["A", "B"]})
    client.get(f"/r/{started}")  # records the first opening: a timestamp to compare too

    for token in (fresh, started):
        ours, theirs = read_both_ways(app, token)
        assert ours == theirs
    started_visit = read_both_ways(app, started)[1]
    assert started_visit.stored_draft == {"E1.1": ["4"], "X1": ["A", "B"]}
    assert started_visit.draft_updated_at is not None  # the submission's guard compares it as read
    assert started_visit.link.first_opened_at is not None and not started_visit.submitted


def test_the_pages_read_keeps_its_cursor_and_renews_it_with_the_connection(app, survey_round, backend):
    if backend != "postgresql":
        pytest.skip("the cursor is kept on PostgreSQL's autocommit connections only")
    _, tokens = survey_round(per_group=1)
    token = tokens["department"][0]
    with app.test_request_context(f"/r/{token}/section/1"):
        connection = db.connection()
        first = services.open_link(connection, token)
        cursor = connection.connection.info[PostgreSQL._VISIT_CURSOR]
        assert services.open_link(connection, token) == first
        assert connection.connection.info[PostgreSQL._VISIT_CURSOR] is cursor

        connection.invalidate()  # as when the server ended the backend: a new DBAPI connection next
        assert services.open_link(connection, token) == first
        renewed = connection.connection.info[PostgreSQL._VISIT_CURSOR]
        assert renewed is not cursor and renewed.connection is connection.connection.driver_connection
