"""Issue 2 benchmark: the respondent pages under 32 concurrent clients, beside two baselines.

For each database: gunicorn (4 sync workers) serves the app on loopback, wrk
loads (a) the largest section page of the longest questionnaire, (b) draft
saves of that section, (c) submissions with distinct links; then the same for
a minimal 2 KB Flask page and a minimal one-row SQLAlchemy insert.
"""

from __future__ import annotations

import os
import tempfile
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
from bench import answer_index, baseline, wrk
from tests.databases import temporary_database
from tests import live_server
from tests.live_server import gunicorn_server

SUBMIT_LINKS = 24_000
PAGE_LINKS = 2_000
SECONDS = 10
WARMUP_SECONDS = 2


def _answers_for(questionnaire, questions):
    return {
        q.code: ("Ý kiến" if q.kind == "text" else [next(o.code for o in q.scale.options if not o.is_missing)])
        for q in questions
    }


def seed(app):
    """The round, 14,000 people with links, and a complete draft for each of those who will submit.

    Links come from the same bulk ``issue_links`` the campaigns use; the drafts are
    what ``services.save_answers`` stores for a first save of every answer (checked
    on one person below), inserted in one statement.
    """
    with app.app_context(), db.unit_of_work() as session:
        longest = max((catalog().get(*key) for key in catalog().questionnaires), key=lambda q: len(q.questions))
        province = get_or_create_province(session, "BENCH", "tỉnh Thử nghiệm")
        now = utcnow()
        round_ = create_round(
            session, catalog(), province=province, year=2023, title="Đợt đo hiệu năng",
            opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=1),
            bindings=[GroupBinding(longest.key, longest.version)],
        )
        group = round_.groups[0]
        people = [{"round_id": round_.id, "group_id": group.id, "full_name": f"Người {i}"}
                  for i in range(PAGE_LINKS + SUBMIT_LINKS)]
        session.execute(insert(Respondent), people)
        ids = session.scalars(select(Respondent.id).where(Respondent.round_id == round_.id)
                              .order_by(Respondent.id)).all()
        tokens = issue_links(session, list(ids))
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


def run_backend(backend: str) -> list[wrk.Figures]:
    with tempfile.TemporaryDirectory() as tmp, temporary_database(backend, Path(tmp)) as url:
        migrate.upgrade(url)
        index_engine = make_engine(url)
        answer_index.apply(index_engine)
        index_engine.dispose()
        # The server's key: the form tokens computed here must be those its pages carry.
        app = create_app({"SECRET_KEY": live_server.SECRET_KEY, "DATABASE_URL": url,
                          "QUESTIONNAIRE_DIR": None, "BASE_URL": "http://127.0.0.1"})
        longest, page_tokens, submit_tokens, form_tokens = seed(app)
        settle(app)
        number, section = max(enumerate(longest.sections, start=1), key=lambda item: len(item[1].questions))
        results = []
        with gunicorn_server(url) as base:
            # Respondent pages set no cookie: each form carries a token bound to its link.
            assert not requests.get(f"{base}/r/{page_tokens[0]}/section/{number}").cookies
            results.append(wrk.run(
                f"[{backend}] (a) questionnaire page, {len(section.questions)} questions",
                base, [f"GET /r/{t}/section/{number}" for t in page_tokens],
                seconds=SECONDS, warmup_seconds=WARMUP_SECONDS))
            form = {"action": "stay"}
            for code, value in _answers_for(longest, section.questions).items():
                form[f"q_{code}"] = value if isinstance(value, str) else value[0]
            results.append(wrk.run(
                f"[{backend}] (b) draft save", base,
                [f"POST /r/{t}/section/{number} {urlencode({**form, 'csrf_token': form_tokens[t]})}" for t in page_tokens],
                seconds=SECONDS, warmup_seconds=WARMUP_SECONDS))
            submitted = wrk.run(f"[{backend}] (c) submit, distinct links", base,
                                [f"POST /r/{t}/submit {urlencode({'csrf_token': form_tokens[t]})}" for t in submit_tokens],
                                seconds=SECONDS, warmup_seconds=WARMUP_SECONDS)
            results.append(submitted)
        with app.app_context():
            stored = db.session().scalar(select(func.count()).select_from(Submission))
        sent = submitted.warmup_requests + submitted.requests
        print(f"[{backend}] submissions stored: {stored} for {sent} submit requests, warm-up included "
              f"({len(submit_tokens)} links prepared; wrk does not count requests still in flight at its stop)")
        db.dispose(app)

        # The baseline's table exists before its workers start: four workers creating it
        # at once on PostgreSQL could collide, and gunicorn stops when a worker fails to boot.
        baseline_engine = make_engine(url)
        baseline.metadata.create_all(baseline_engine)
        baseline_engine.dispose()
        with gunicorn_server(url, app="bench.baseline:create_app()") as base:
            results.append(wrk.run(f"[{backend}] baseline: minimal 2 KB page", base, ["GET /page"],
                                   seconds=SECONDS, warmup_seconds=WARMUP_SECONDS))
            results.append(wrk.run(f"[{backend}] baseline: one-row insert", base, ["POST /insert x=1"],
                                   seconds=SECONDS, warmup_seconds=WARMUP_SECONDS))
    return results


def main() -> None:
    print("Respondent pages: gunicorn 4 sync workers, wrk 2 threads x 32 connections, "
          f"{SECONDS} s per scenario after a {WARMUP_SECONDS} s warm-up; {answer_index.describe()}")
    for backend in os.environ.get("BENCH_RESPOND_DATABASES", "sqlite,postgresql").split(","):
        figures = run_backend(backend)
        for f in figures:
            print(f.row())
        page, draft, submit, base_page, base_insert = figures
        print(f"[{backend}] questionnaire page / minimal page: {page.requests_per_s / base_page.requests_per_s:6.1%} (target >= 30 %)")
        print(f"[{backend}] submit / one-row insert:          {submit.requests_per_s / base_insert.requests_per_s:6.1%} (target >= 30 %), "
              f"submit p99 {submit.p99_ms:.0f} ms (target < 150 ms)")
        print(f"[{backend}] draft save / one-row insert:      {draft.requests_per_s / base_insert.requests_per_s:6.1%}")
