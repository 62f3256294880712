"""SQL statements per complete response, on SQLite and PostgreSQL (issue 17: at most 30).

A round trip to the database is what each statement costs on PostgreSQL, and a
call into the library holding the writer queue on SQLite. Counted the way the
journey benchmark counts them (``bench.statement_count``: transaction control
included), for one respondent without JavaScript walking the longest
questionnaire through the test client: the landing page, the first section, a
save of every section answered with the next page, the review, the submission.
"""

from __future__ import annotations

import pytest

from bench.statement_count import Counter, install_in_app
from tests.conftest import csrf_token_in
from tests.respond.forms import section_form
from tests.respond.test_journey import questionnaire_of

TARGET = 30


@pytest.fixture
def counted(app):
    counter = Counter()
    install_in_app(app, counter)
    return counter


def walk(client, token, questionnaire, counter) -> dict[str, list[int]]:
    """The statements of each request of a complete response, by kind of request."""
    spent: dict[str, list[int]] = {}

    def send(kind, method, path, **kwargs):
        before = counter.total
        reply = getattr(client, method)(path, **kwargs)
        assert reply.status_code == 200, (kind, reply.status_code, reply.text[:500])
        spent.setdefault(kind, []).append(counter.total - before)
        return reply

    assert "Bắt đầu trả lời" in send("landing", "get", f"/r/{token}").text
    page = send("section GET", "get", f"/r/{token}/section/1")
    sections = questionnaire.sections
    for number, section in enumerate(sections, start=1):
        last = number == len(sections)
        page = send("first save" if number == 1 else "save", "post", f"/r/{token}/section/{number}",
                    data=section_form(section, csrf_token_in(page.text), action="review" if last else "next"))
    assert "đã trả lời đủ các câu bắt buộc" in page.text
    sent = send("submit", "post", f"/r/{token}/submit", data={"csrf_token": csrf_token_in(page.text)})
    assert "Cảm ơn Ông/Bà đã hoàn thành phiếu khảo sát" in sent.text
    return spent


def test_a_complete_response_takes_at_most_thirty_statements(app, client, survey_round, counted, backend):
    _, tokens = survey_round(per_group=1)
    questionnaire = questionnaire_of(app)
    assert len(questionnaire.sections) == 10
    spent = walk(client, tokens["department"][0], questionnaire, counted)

    total = sum(sum(each) for each in spent.values())
    assert total <= TARGET, spent
    # Each kind of request as designed: a page is one read; a save one read and one
    # self-contained write (the first inserts the draft); the submission one read and its writes.
    assert {kind: set(each) for kind, each in spent.items()} == EXPECTED[backend], spent


EXPECTED = {
    "sqlite": {"landing": {2}, "section GET": {1}, "first save": {2}, "save": {2}, "submit": {7}},
    "postgresql": {"landing": {2}, "section GET": {1}, "first save": {5}, "save": {2}, "submit": {2}},
}
