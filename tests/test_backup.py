"""`survey db backup` under write load, `survey db restore` into a new database: nothing lost, nothing torn."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from survey import create_app, db
from survey.db import Base
from tests.conftest import make_test_config
from tests.databases import temporary_database
from tests.respond.test_journey import fill_and_submit, questionnaire_of

# The submission path's tables: who submitted (the ledger), what was answered, and the running counts.
SUBMITTED = ("submissions", "responses", "answers", "answer_counts")


@pytest.fixture
def restored_app(backend, tmp_path):
    """An application on a new, empty database (not migrated: the restore brings the schema)."""
    directory = tmp_path / "restored"
    directory.mkdir()
    with temporary_database(backend, directory) as url:
        app = create_app(make_test_config(url))
        yield app
        db.dispose(app)


def rows(app, name: str) -> list[str]:
    with app.app_context():
        found = db.session().execute(select(Base.metadata.tables[name])).all()
    return sorted(repr(tuple(row)) for row in found)


def answers_by_response(app) -> dict[object, list[str]]:
    answers = Base.metadata.tables["answers"]
    grouped = defaultdict(list)
    with app.app_context():
        for row in db.session().execute(select(answers)):
            grouped[row.response_id].append(repr(tuple(row)))
    return {response: sorted(found) for response, found in grouped.items()}


def count(app, name: str) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Base.metadata.tables[name]))


def test_a_backup_taken_under_load_restores_every_response_ledger_row_and_count(app, restored_app, survey_round,
                                                                                tmp_path):
    _, tokens = survey_round(per_group=12)
    questionnaire = questionnaire_of(app)
    first_submitted, failures = threading.Event(), []

    def respondents_submitting():
        client = app.test_client()
        try:
            for token in tokens["department"]:
                reply = fill_and_submit(client, token, questionnaire)
                assert reply.status_code == 200, reply.text  # the confirmation page, rendered by the submission
                first_submitted.set()
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)
        finally:
            first_submitted.set()

    writer = threading.Thread(target=respondents_submitting)
    writer.start()
    try:
        first_submitted.wait(timeout=300)
        under_load = tmp_path / "under-load.backup"
        taken = app.test_cli_runner().invoke(args=["db", "backup", str(under_load)])
    finally:
        writer.join()
    assert not failures, failures
    assert taken.exit_code == 0, taken.output
    assert count(app, "submissions") == len(tokens["department"])

    restored = restored_app.test_cli_runner().invoke(args=["db", "restore", str(under_load)])
    assert restored.exit_code == 0, restored.output
    assert "Đã khôi phục" in restored.output
    # A consistent snapshot: every submission with its response, every response with all its answers,
    # each as stored in the source, and the counts equal to what the answers add up to.
    assert 1 <= count(restored_app, "submissions") == count(restored_app, "responses")
    for name in ("submissions", "responses"):
        assert set(rows(restored_app, name)) <= set(rows(app, name))
    source_answers, restored_answers = answers_by_response(app), answers_by_response(restored_app)
    with restored_app.app_context():
        responses = set(db.session().scalars(select(Base.metadata.tables["responses"].c.id)))
    assert set(restored_answers) == responses
    for response, answers in restored_answers.items():
        assert answers == source_answers[response]
    checked = restored_app.test_cli_runner().invoke(args=["db", "check-counts"])
    assert checked.exit_code == 0, checked.output

    # Once the load is over, a backup restores everything, table by table.
    quiet = tmp_path / "quiet.backup"
    assert app.test_cli_runner().invoke(args=["db", "backup", str(quiet)]).exit_code == 0
    refused = restored_app.test_cli_runner().invoke(args=["db", "restore", str(quiet)])
    assert refused.exit_code != 0 and "--force" in refused.output
    forced = restored_app.test_cli_runner().invoke(args=["db", "restore", "--force", str(quiet)])
    assert forced.exit_code == 0, forced.output
    for name in Base.metadata.tables:
        assert rows(restored_app, name) == rows(app, name), name
    assert count(restored_app, "submissions") == len(tokens["department"])
    assert all(count(restored_app, name) for name in SUBMITTED)
