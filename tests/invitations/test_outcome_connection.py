"""The worker's outcome connection: one commit per statement, without an fsync wait on PostgreSQL."""

from __future__ import annotations

from survey.invitations.outcomes import OutcomeWriter


def test_outcome_connection_commits_each_statement_and_relaxes_durability_on_postgresql(database_url, backend):
    writer = OutcomeWriter(database_url)
    try:
        connection = writer._connection()
        cursor = connection.connection.cursor()
        if backend == "postgresql":
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "off"
            assert connection.connection.driver_connection.autocommit
        else:
            assert connection.connection.driver_connection.isolation_level is None  # no implicit BEGIN
        cursor.close()
    finally:
        writer.close()
