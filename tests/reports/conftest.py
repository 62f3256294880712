"""A round with a few hand-made anonymous responses, stored through ``survey.responses``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

# group -> list of responses, each {question: [options]}
HAND_DATA = {
    # 1.5.1 by HĐND delegates: A, A, B, C, D + one "don't know" -> s = 2.8 / 5 = 0.56
    "hdnd": [{"Q1.01": ["A"]}, {"Q1.01": ["A"]}, {"Q1.01": ["B"]}, {"Q1.01": ["C"]}, {"Q1.01": ["D"]},
             {"Q1.01": ["E"]}],
    # 1.5.1 by department leaders: Q1.01 all A, Q1.02 all B -> s = (5 + 3) / 10 = 0.8
    "department": [{"Q1.01": ["A"], "Q1.02": ["B"]} for _ in range(5)],
    # 2 division leaders: below k = 5
    "division": [{"Q1.01": ["D"], "Q1.02": ["D"]}, {"Q1.01": ["A"], "Q1.02": ["A"]}],
    # citizens: E1.1 = 4, 5, 3, 4, 9 (don't know) -> 3 satisfied of 4 valid; X1 (multiple choice)
    # chosen by 4 of 5 responses: A three times -> 75 % of those who answered.
    "citizen": [
        {"E1.1": ["4"], "X1": ["A", "B"]},
        {"E1.1": ["5"], "X1": ["A"]},
        {"E1.1": ["3"], "X1": ["C"]},
        {"E1.1": ["4"], "X1": ["A", "B", "C"]},
        {"E1.1": ["9"], "C1": None},
    ],
}


def insert_responses(session, round_, data=HAND_DATA):
    """Store ``data`` as anonymous responses of ``round_``, as every channel stores them."""
    from survey.questionnaire_registry import catalog
    from survey.responses import Written, store_response

    groups = {g.code: g for g in round_.groups}
    for code, responses in data.items():
        group = groups[code]
        questionnaire = catalog().get(group.questionnaire_key, group.questionnaire_version)
        for answers in responses:
            written = store_response(
                session.connection(), round_id=round_.id, group_id=group.id, questionnaire=questionnaire,
                answers={q: "x" if options is None else options for q, options in answers.items()},
                now=datetime(2023, 12, 4, 3, tzinfo=UTC),
            )
            assert written is Written.STORED


@pytest.fixture
def answered_round(app, survey_round):
    """Factory: a round (roster of ``per_group`` people per group) with HAND_DATA stored; returns its id."""
    from survey import db
    from survey.rounds.models import Round

    def build(per_group: int = 1, data=HAND_DATA, title: str = "Đợt thử nghiệm") -> int:
        round_id, _ = survey_round(per_group=per_group, title=title)
        with app.app_context(), db.unit_of_work() as session:
            insert_responses(session, session.get(Round, round_id), data)
        return round_id

    return build
