"""A broken rules file beside the structure is the operator's to fix: said plainly, nothing written, no 500."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from survey import create_app, db
from survey.assessment.models import AssessmentCycle
from survey.questionnaire_registry import DEFAULT_ROOT
from tests.conftest import make_test_config
from tests.databases import empty_all_tables


@pytest.fixture
def app(database_url, tmp_path):
    """The usual test app, reading a copy of the shipped questionnaires whose rules file is broken."""
    root = tmp_path / "questionnaires"
    shutil.copytree(DEFAULT_ROOT, root)
    (root / "structures" / "par-province" / "2023.1" / "rules.yaml").write_text("rules: [", encoding="utf-8")
    app = create_app(make_test_config(database_url, QUESTIONNAIRE_DIR=str(root)))
    yield app
    empty_all_tables(app.extensions["survey.engine"])
    db.dispose(app)


def test_starting_a_cycle_with_a_broken_rules_file_says_so_and_writes_nothing(app, actor, assessment_round):
    admin = actor("province_admin")
    reply = admin.post(f"/admin/assessment/rounds/{assessment_round}/start", follow_redirects=True)
    assert reply.status_code < 500
    assert "Tệp quy tắc chấm điểm hoặc phân công kèm bộ tiêu chí không hợp lệ" in reply.text
    assert "rules.yaml" in reply.text
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(AssessmentCycle)) == 0
