"""Issue 2 benchmark: the respondent pages under 32 concurrent clients, beside two baselines.

For each database: gunicorn (4 sync workers) serves the app on loopback, wrk
loads (a) the largest section page of the longest questionnaire, (b) draft
saves of that section, (c) submissions with distinct links. A second gunicorn
serves the baselines, a minimal 2 KB Flask page and a minimal one-row
SQLAlchemy insert; each scenario alternates with its baseline in short slices
(see ``wrk.Paired``).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import requests
from sqlalchemy import func, insert, select

from survey import create_app, db, migrate
from survey.db import make_engine
from survey.questionnaire_registry import catalog
from survey.respond import services
from survey.respond.form_tokens import form_token
from survey.respond.links import issue_links
from survey.respond.models import Draft, Submission
from survey.rounds.services import GroupBinding, create_round, get_or_create_province
from survey.roster.models import Respondent
from survey.timeutil import utcnow
from bench import baseline, wrk
from tests.databases import temporary_database
from tests import live_server
from tests.live_server import gunicorn_server

SUBMIT_LINKS = 36_000  # 6 slices (a warm-up and 5 pairs) of 6,000: a slice never runs out
PAGE_LINKS = 2_000
PAIRS = 5
SLICE_SECONDS = 4
WARMUP_SECONDS = 2


def _answers_for(questionnaire, questions):
    return {
        q.code: ("Ý kiến" if q.kind == "text" else [next(o.code for o in q.scale.options if not o.is_missing)])
        for q in questions
    }


def round_of_people(session, title: str, people: int):
    """A round of the longest questionnaire, open now, with ``people`` respondents and a link each.

    Links come from the same bulk ``issue_links`` the campaigns use. Returns the
    questionnaire, the respondents' ids in order and their tokens by id.
    """
    longest = max((catalog().get(*key) for key in catalog().questionnaires), key=lambda q: len(q.questions))
    province = get_or_create_province(session, "BENCH", "tỉnh Thử nghiệm")
    now = utcnow()
    round_ = create_round(
        session, catalog(), province=province, year=2023, title=title,
        opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=1),
        bindings=[GroupBinding(longest.key, longest.version)],
    )
    group = round_.groups[0]
    session.execute(insert(Respondent), [{"round_id": round_.id, "group_id": group.id, "full_name": f"Người {i}"}
                                         for i in range(people)])
    ids = session.scalars(select(Respondent.id).where(Respondent.round_id == round_.id)
                          .order_by(Respondent.id)).all()
    return longest, ids, issue_links(session, list(ids))


def seed(app):
    """The round, 38,000 people with links, and a complete draft for each of those who will submit.

    The drafts are what ``services.save_answers`` stores for a first save of every
    answer (checked on one person below), inserted in one statement.
    """
    with app.app_context(), db.unit_of_work() as session:
        longest, ids, tokens = round_of_people(session, "Đợt đo hiệu năng", PAGE_LINKS + SUBMIT_LINKS)
        now = utcnow()
        page_tokens = [tokens[i] for i in ids[:PAGE_LINKS]]
        submit_ids = ids[PAGE_LINKS:]
        complete = _answers_for(longest, longest.questions)
        first = services.save_answers(session, services.open_link(session, tokens[submit_ids[0]]), complete)
        assert first == complete
        session.execute(insert(Draft), [{"respondent_id": i, "answers": complete, "started_at": now, "updated_at": now}
                                        for i in submit_ids[1:]])
        submit_tokens = [tokens[i] for i in submit_ids]
        form_tokens = {t: form_token(t) for t in page_tokens + submit_tokens}
    return longest, page_tokens, submit_tokens, form_tokens


def settle(app) -> None:
    """PostgreSQL statistics for the tables just loaded, as a database in service has them.

    Without this, autovacuum analyses them at some moment of the measurement
    and competes for the CPU: the page figure moved by a third between
    otherwise identical runs. Only the loaded tables: statistics taken of the
    empty ledger would plan its look-ups as scans of an empty table while it
    grows during the run (in service, autovacuum analyses it again as it
    grows). SQLite has no background work to settle.
    """
    engine = app.extensions["survey.engine"]
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE provinces, rounds, round_groups, respondents, access_links, drafts")
        # And the loaded pages written out now, not by a checkpoint in the middle of a measurement.
        connection.exec_driver_sql("CHECKPOINT")


@contextmanager
def prepared_database(backend: str):
    """A migrated temporary database with the baselines' table, the app on it, and a scratch folder."""
    with tempfile.TemporaryDirectory() as tmp, temporary_database(backend, Path(tmp)) as url:
        migrate.upgrade(url)
        setup_engine = make_engine(url)
        # The baseline's table exists before its workers start: four workers creating it
        # at once on PostgreSQL could collide, and gunicorn stops when a worker fails to boot.
        baseline.metadata.create_all(setup_engine)
        setup_engine.dispose()
        # The server's key: the form tokens computed here must be those its pages carry.
        app = create_app({"SECRET_KEY": live_server.SECRET_KEY, "DATABASE_URL": url,
                          "QUESTIONNAIRE_DIR": None, "BASE_URL": "http://127.0.0.1"})
        try:
            yield url, app, Path(tmp)
        finally:
            db.dispose(app)


def run_backend(backend: str) -> list[wrk.Paired]:
    with prepared_database(backend) as (url, app, _scratch):
        longest, page_tokens, submit_tokens, form_tokens = seed(app)
        settle(app)
        number, section = max(enumerate(longest.sections, start=1), key=lambda item: len(item[1].questions))
        submit_slices = _slices([f"POST /r/{t}/submit {urlencode({'csrf_token': form_tokens[t]})}"
                                 for t in submit_tokens], PAIRS + 1)
        page_lines = [f"GET /r/{t}/section/{number}" for t in page_tokens]
        # Each link saves two different sets of answers in turn: a save that changes
        # nothing writes nothing, and it is the writes this scenario measures.
        draft_lines = [f"POST /r/{t}/section/{number} {urlencode({**form, 'csrf_token': form_tokens[t]})}"
                       for form in (_section_form(section, 0), _section_form(section, 1)) for t in page_tokens]
        # Both servers run side by side; only the one being measured is loaded.
        with gunicorn_server(url) as ours, gunicorn_server(url, app="bench.baseline:create_app()") as theirs:
            # Respondent pages set no cookie: each form carries a token bound to its link.
            assert not requests.get(f"{ours}/r/{page_tokens[0]}/section/{number}").cookies
            for lines, server in ((page_lines, ours), (draft_lines, ours), (submit_slices[0], ours),
                                  (["GET /page"], theirs), (["POST /insert x=1"], theirs)):
                wrk.run("warm-up", server, lines, seconds=WARMUP_SECONDS)  # templates, statements, caches
            prefix = f"[{backend}] "
            page = wrk.paired(prefix + f"(a) questionnaire page, {len(section.questions)} questions", ours,
                              [page_lines] * PAIRS, prefix + "baseline: minimal 2 KB page", theirs, ["GET /page"],
                              seconds=SLICE_SECONDS)
            draft = wrk.paired(prefix + "(b) draft save", ours, [draft_lines] * PAIRS,
                               prefix + "baseline: one-row insert", theirs, ["POST /insert x=1"],
                               seconds=SLICE_SECONDS)
            submit = wrk.paired(prefix + "(c) submit, distinct links", ours, submit_slices[1:],
                                prefix + "baseline: one-row insert", theirs, ["POST /insert x=1"],
                                seconds=SLICE_SECONDS)
        if any(part.requests >= len(submit_slices[1]) for part in submit.scenario_slices):
            # wrk would have cycled back to links already used: "already answered" pages, not submissions.
            raise RuntimeError(f"a submit slice ran out of its {len(submit_slices[1])} links: raise SUBMIT_LINKS")
        with app.app_context():
            stored = db.session().scalar(select(func.count()).select_from(Submission))
        print(f"[{backend}] submissions stored: {stored} for {submit.scenario.requests} measured submit requests "
              f"and a warm-up of up to {len(submit_slices[0])} links ({len(submit_tokens)} links prepared; wrk "
              "does not count requests still in flight at its stop)")
    return [page, draft, submit]


def _section_form(section, choice: int) -> dict:
    """A save of every question of ``section``: texts, and the ``choice``-th valid option of the others."""
    form = {"action": "stay"}
    for question in section.questions:
        options = [o.code for o in question.scale.options if not o.is_missing] if question.kind != "text" else []
        form[f"q_{question.code}"] = f"Ý kiến {choice}" if question.kind == "text" else options[choice % len(options)]
    return form


def _slices(lines: list[str], count: int) -> list[list[str]]:
    size = len(lines) // count
    return [lines[i * size:(i + 1) * size] for i in range(count)]


def _p99s(slices) -> str:
    return ", ".join(f"{part.p99_ms:.0f}" for part in slices) + " ms"


def main() -> None:
    print(f"Respondent pages: gunicorn 4 sync workers, wrk 2 threads x 32 connections; each scenario and its "
          f"baseline measured alternately, {PAIRS} pairs of {SLICE_SECONDS} s slices, after a {WARMUP_SECONDS} s "
          "warm-up of each")
    for backend in os.environ.get("BENCH_RESPOND_DATABASES", "sqlite,postgresql").split(","):
        page, draft, submit = run_backend(backend)
        for figures in (page.scenario, page.baseline, draft.scenario, submit.scenario, submit.baseline):
            print(figures.row())
        print(page.row(f"[{backend}] questionnaire page / minimal page:", "(target >= 30 %)"))
        print(submit.row(f"[{backend}] submit / one-row insert:         ", "(target >= 30 %)"))
        print(f"[{backend}] submit p99, worst slice: {submit.scenario.p99_ms:.0f} ms (target < 150 ms); errors: "
              f"{sum(p.scenario.errors + p.baseline.errors for p in (page, draft, submit))} (target 0)")
        # A slow spell of the shared machine shows in the baseline's slice too.
        print(f"[{backend}] p99 by slice, submit: {_p99s(submit.scenario_slices)}; one-row insert: "
              f"{_p99s(submit.baseline_slices)}")
        print(draft.row(f"[{backend}] draft save / one-row insert:     ", "(no target)"))
