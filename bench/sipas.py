"""Issue 16 benchmark: SIPAS where citizens are, a collection point and paper forms under load.

(a) For each database, gunicorn (4 sync workers, loopback) serves the
    application and a second gunicorn the baselines of ``bench.baseline``; wrk
    (2 threads x 32 connections) loads a collection point's public page
    (``GET /p/<token>``) and its submission (``POST /p/<token>``), each
    alternating with its baseline in short slices (``wrk.Paired``). The point's
    submission limits (per device and per address) are raised far
    above the load for this run: every post comes from one address, and the
    limits are what a real crowd never reaches, not what is measured here.
(b) On PostgreSQL, an open-loop client sends submissions at a fixed rate for a
    fixed time (wrk2 is not available: wrk is closed-loop, its rate follows the
    server's). Each submission carries a tag of its own in the free-text answer;
    afterwards the database must hold every acknowledged submission exactly once.
(c) For each database, clerks double-enter paper forms through the entry page
    as a browser does (post, then the next form's page), two clerks per batch,
    with some forms keyed differently by the second clerk; the supervisor then
    reconciles each difference on its page.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode, urlsplit

import requests
from sqlalchemy import func, select

from bench import wrk
from bench.journey import load_average
from bench.respond import prepared_database
from survey import db
from survey.accounts.models import PROVINCE_ADMIN
from survey.accounts.services import create_user
from survey.collection import paper, services
from survey.collection.models import PaperEntry, PaperForm, Procedure
from survey.questionnaire_registry import catalog
from survey.respond.form_tokens import form_token
from survey.respond.models import Answer, Response
from survey.rounds.services import GroupBinding, create_round, get_or_create_province
from survey.timeutil import utcnow
from tests import live_server
from tests.live_server import gunicorn_server

PAIRS = 5
SLICE_SECONDS = 4
WARMUP_SECONDS = 2
# Far above anything wrk sends from its one address: the limits are not what (a) and (b) measure.
NO_LIMITS = {"SURVEY_POINT_LIMIT_DEVICE": "100000000 per hour", "SURVEY_POINT_LIMIT_ADDRESS": "100000000 per hour"}
CLERK_PAIRS = 4
PASSWORD = "mat-khau-do-hieu-nang-2023"
TAG_QUESTION_KIND = "text"
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def setting(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_SIPAS_{name}", default)


@dataclass(frozen=True)
class Seeded:
    questionnaire: object
    round_id: int
    point_token: str  # (a)
    sustained_point_id: int  # (b): its responses are counted apart from (a)'s
    sustained_token: str
    procedure_codes: list[str]
    batch_ids: list[int]  # (c), one per pair of clerks
    clerks: list[tuple[str, str]]  # (c), e-mails: (first, second) per pair
    supervisor: str


def seed(app, procedures: int) -> Seeded:
    """A SIPAS round open now: two points, the province's procedures, clerks, a supervisor and paper batches."""
    with app.app_context(), db.unit_of_work() as session:
        citizens = max((q for q in catalog().questionnaires.values() if q.survey == "sipas"),
                       key=lambda q: q.version_tuple)
        province = get_or_create_province(session, "BENCH", "tỉnh Thử nghiệm")
        now = utcnow()
        round_ = create_round(session, catalog(), province=province, year=2023, title="Đợt đo SIPAS",
                              opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30),
                              bindings=[GroupBinding(citizens.key, citizens.version)])
        group = round_.groups[0]
        codes = [f"1.{i:06d}.000.00.00.H99" for i in range(procedures)]
        session.add_all(Procedure(province_id=province.id, code=code, name=f"Thủ tục hành chính số {i}",
                                  field=f"Lĩnh vực {i % 12}") for i, code in enumerate(codes))
        point = services.create_point(session, round_, group, name="Bộ phận Một cửa tỉnh", place="Tầng 1")
        sustained = services.create_point(session, round_, group, name="Bộ phận Một cửa xã", place="Trụ sở xã")
        supervisor = create_user(session, email="giamsat@bench.vn", full_name="Người đối chiếu", password=PASSWORD,
                                 role=PROVINCE_ADMIN, province=province)
        clerks, batch_ids = [], []
        for pair in range(CLERK_PAIRS):
            emails = tuple(create_user(session, email=f"nhap{pair}{side}@bench.vn", full_name=f"Cán bộ nhập {pair}{side}",
                                       password=PASSWORD, role=PROVINCE_ADMIN, province=province).email
                           for side in "ab")
            clerks.append(emails)
            batch = paper.create_batch(session, round_, group, point=point, collected_on=date(2023, 11, 20),
                                       team=f"Tổ khảo sát số {pair + 1}", user=supervisor)
            batch_ids.append(batch.id)
        return Seeded(citizens, round_.id, point.token, sustained.id, sustained.token, codes, batch_ids, clerks,
                      supervisor.email)


def citizen_form(questionnaire, csrf: str, procedure: str, tag: str = "") -> list[tuple[str, str]]:
    """What an honest citizen posts: the first valid option everywhere (two for a multiple choice)."""
    fields = [("csrf_token", csrf), ("procedure", procedure)]
    for question in questionnaire.questions:
        name = f"q_{question.code}"
        if question.kind == "text":
            fields.append((name, tag or "Ý kiến của người dân"))
        else:
            valid = [o.code for o in question.scale.options if not o.is_missing]
            fields.extend((name, code) for code in valid[:2 if question.kind == "multi" else 1])
    return fields


# --- (a) the point's page and submission under 32 clients ---------------------------------

def point_under_load(ours: str, theirs: str, seeded: Seeded, csrf: str, backend: str):
    page_lines = [f"GET /p/{seeded.point_token}"]
    submit_lines = [f"POST /p/{seeded.point_token} "
                    + urlencode(citizen_form(seeded.questionnaire, csrf, code)) for code in seeded.procedure_codes[:50]]
    for lines, server in ((page_lines, ours), (submit_lines, ours), (["GET /page"], theirs),
                          (["POST /insert x=1"], theirs)):
        wrk.run("warm-up", server, lines, seconds=WARMUP_SECONDS)
    prefix = f"[{backend}] "
    page = wrk.paired(prefix + "(a) point's page", ours, [page_lines] * PAIRS,
                      prefix + "baseline: minimal 2 KB page", theirs, ["GET /page"], seconds=SLICE_SECONDS)
    submit = wrk.paired(prefix + "(a) point's submission", ours, [submit_lines] * PAIRS,
                        prefix + "baseline: one-row insert", theirs, ["POST /insert x=1"], seconds=SLICE_SECONDS)
    return page, submit


# --- (b) a fixed rate for a fixed time ------------------------------------------------------

@dataclass
class Sent:
    tag: str
    status: int  # 0: no answer (see ``failure``)
    latency: float  # from the moment the submission was due, so a late start counts against the server
    acknowledged: bool
    failure: str = ""  # why there was no answer: "timeout" or the connection error's name


async def _post(host: str, port: int, payload: bytes, timeout: float) -> tuple[int, bytes]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(payload)
        await writer.drain()
        head = await asyncio.wait_for(reader.read(), timeout)  # gunicorn's sync workers close after answering
    finally:
        writer.close()
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, head


def open_loop(base: str, token: str, questionnaire, csrf: str, codes: list[str], *, rate: float,
              seconds: float) -> tuple[list[Sent], float]:
    """Submissions due every 1/rate seconds, each sent when due whatever the others are doing."""
    parts = urlsplit(base)
    total = int(rate * seconds)

    def request(i: int) -> bytes:
        body = urlencode(citizen_form(questionnaire, csrf, codes[i % len(codes)], tag=f"bench-{i}")).encode()
        return (f"POST /p/{token} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    payloads = [request(i) for i in range(total)]  # built beforehand: the client's own time is not the server's

    async def main() -> tuple[list[Sent], float]:
        loop = asyncio.get_running_loop()
        results: list[Sent] = []

        async def one(i: int, due: float):
            failure = ""
            try:
                status, head = await _post(parts.hostname, parts.port, payloads[i], timeout=30)
            except asyncio.TimeoutError:
                status, head, failure = 0, b"", "timeout"
            except (OSError, IndexError, ValueError) as problem:
                status, head, failure = 0, b"", type(problem).__name__
            acknowledged = status == 302 and b"/cam-on" in head.split(b"\r\n\r\n", 1)[0]
            results.append(Sent(f"bench-{i}", status, loop.time() - due, acknowledged, failure))

        start = loop.time() + 0.1
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        sent_over = loop.time() - start
        await asyncio.gather(*tasks)
        return results, sent_over

    return asyncio.run(main())


def stored_tags(app, point_id: int, questionnaire) -> tuple[list[str], int]:
    """The tags in the free-text answers of the point's responses, and the number of its responses.

    Read once the server has finished what it had accepted (a post the client
    gave up on may still be in its queue), and in one statement, so that both
    figures come from the same moment.
    """
    text_code = next(q.code for q in questionnaire.questions if q.kind == TAG_QUESTION_KIND)
    count = select(func.count()).select_from(Response).where(Response.collection_point_id == point_id)
    with app.app_context():
        session = db.session()
        previous, deadline = -1, time.monotonic() + 300
        while time.monotonic() < deadline:
            current = session.scalar(count)
            session.rollback()  # a new snapshot for the next look
            if current == previous:
                break
            previous = current
            time.sleep(3)
        rows = session.execute(select(Response.id, Answer.text_value).outerjoin(
            Answer, (Answer.response_id == Response.id) & (Answer.question_code == text_code))
            .where(Response.collection_point_id == point_id)).all()
    return [tag for _id, tag in rows if tag is not None], len({id_ for id_, _tag in rows})


def sustained(app, base: str, seeded: Seeded, csrf: str, backend: str) -> None:
    rate, seconds = float(setting("RATE", "200")), float(setting("SECONDS", "60"))
    sent, sent_over = open_loop(base, seeded.sustained_token, seeded.questionnaire, csrf, seeded.procedure_codes,
                                rate=rate, seconds=seconds)
    acknowledged = {s.tag for s in sent if s.acknowledged}
    latencies = sorted(s.latency for s in sent if s.acknowledged)
    statuses: dict[str, int] = {}
    for s in sent:
        outcome = str(s.status) if s.status else s.failure
        statuses[outcome] = statuses.get(outcome, 0) + 1
    tags, responses = stored_tags(app, seeded.sustained_point_id, seeded.questionnaire)
    distinct = set(tags)
    last_done = max(s.latency + i / rate for i, s in enumerate(sorted(sent, key=lambda s: int(s.tag[6:]))))
    print(f"[{backend}] (b) open loop: {len(sent)} submissions due at {rate:.0f}/s over {seconds:.0f} s, sent over "
          f"{sent_over:.1f} s ({len(sent) / sent_over:.1f}/s achieved); {len(acknowledged)} acknowledged "
          f"({len(acknowledged) / last_done:.1f}/s until the last answer, {last_done:.1f} s); statuses {statuses}")
    if latencies:
        print(f"[{backend}] (b) latency of the acknowledged, from the moment due: "
              f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
              f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms (target p99 < 150 ms)")
    problems = []
    if len(tags) != len(distinct):
        problems.append(f"{len(tags) - len(distinct)} stored twice")
    if acknowledged - distinct:
        problems.append(f"{len(acknowledged - distinct)} acknowledged but not stored")
    if responses != len(tags):
        problems.append(f"{responses} responses for {len(tags)} tagged answers")
    unacknowledged = len(distinct - acknowledged)
    print(f"[{backend}] (b) in the database: {responses} responses at the point, {len(distinct)} distinct tags, "
          f"{len(acknowledged)} acknowledged; stored without acknowledgement (a post that timed out): "
          f"{unacknowledged}: " + ("every acknowledged submission stored exactly once" if not problems
                                    else "MISMATCH: " + "; ".join(problems)))
    if problems:
        raise RuntimeError("; ".join(problems))


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- (c) paper forms double-entered ---------------------------------------------------------

def signed_in(base: str, email: str, round_id: int) -> tuple[requests.Session, str]:
    """A signed-in client of its own and the CSRF token of its session."""
    session = requests.Session()
    page = session.get(f"{base}/admin/login")
    reply = session.post(f"{base}/admin/login", data={"email": email, "password": PASSWORD,
                                                      "csrf_token": CSRF_FIELD.search(page.text).group(1)},
                         allow_redirects=False)
    if reply.status_code != 302:
        raise RuntimeError(f"{email} could not sign in: HTTP {reply.status_code}")
    return session, CSRF_FIELD.search(session.get(f"{base}/admin/rounds/{round_id}/paper").text).group(1)


def keyed(questionnaire, number: int, *, second: bool, codes: list[str], disagree_every: int) -> dict[str, str]:
    """What a clerk types for form ``number``: answers varying with the number, and its procedure.

    The second clerk misreads one question of every ``disagree_every``-th form
    and the procedure of every ``3 * disagree_every``-th one.
    """
    form = {"procedure": codes[number % len(codes)]}
    closed = [q for q in questionnaire.questions if q.kind != "text"]
    for index, question in enumerate(questionnaire.questions):
        if question.kind == "text":
            form[f"q_{question.code}"] = "" if number % 4 else "Ý kiến ghi trên phiếu"
        else:
            valid = [o.code for o in question.scale.options if not o.is_missing]
            form[f"q_{question.code}"] = valid[(number + index) % len(valid)]
    if second and number % disagree_every == 0:
        question = closed[number % len(closed)]
        valid = [o.code for o in question.scale.options if not o.is_missing]
        current = form[f"q_{question.code}"]
        form[f"q_{question.code}"] = next(v for v in valid if v != current)
    if second and number % (3 * disagree_every) == 0:
        form["procedure"] = codes[(number + 1) % len(codes)]
    return form


class PaperFailed(RuntimeError):
    pass


def clerk_keys(base: str, email: str, round_id: int, batch_id: int, numbers: range, questionnaire, codes,
               *, second: bool, disagree_every: int, timings: list[float]) -> None:
    session, csrf = signed_in(base, email, round_id)
    url = f"{base}/admin/rounds/{round_id}/paper/{batch_id}/entry"
    page = session.get(url)
    for number in numbers:
        started = time.perf_counter()
        data = {"csrf_token": csrf, "form_number": str(number), "started": f"{time.time() - 20:.0f}",
                **keyed(questionnaire, number, second=second, codes=codes, disagree_every=disagree_every)}
        page = session.post(url, data=data)  # answered with a redirect to the next form's page, followed
        timings.append(time.perf_counter() - started)
        if page.status_code != 200 or f"số {number}" not in page.text or "Chưa ghi được phiếu" in page.text:
            raise PaperFailed(f"form {number} of batch {batch_id} by {email}: HTTP {page.status_code}")


def reconcile(base: str, seeded: Seeded, questionnaire, codes, timings: list[float]) -> int:
    """The supervisor opens each batch's page, then each form waiting there, and types the paper's reading."""
    session, csrf = signed_in(base, seeded.supervisor, seeded.round_id)
    resolved = 0
    waiting = re.compile(r"/paper/(\d+)/forms/(\d+)")
    for batch_id in seeded.batch_ids:
        page = session.get(f"{base}/admin/rounds/{seeded.round_id}/paper/{batch_id}")
        for number in sorted({int(n) for _batch, n in waiting.findall(page.text)}):
            started = time.perf_counter()
            url = f"{base}/admin/rounds/{seeded.round_id}/paper/{batch_id}/forms/{number}"
            form = session.get(url)
            truth = keyed(questionnaire, number, second=False, codes=codes, disagree_every=1)
            fields = re.findall(r'name="(q_[^"]+|procedure)"', form.text)
            reply = session.post(url, data={"csrf_token": csrf, **{f: truth[f] for f in fields}},
                                 allow_redirects=False)
            timings.append(time.perf_counter() - started)
            if reply.status_code != 302:
                raise PaperFailed(f"resolving form {number} of batch {batch_id}: HTTP {reply.status_code}")
            resolved += 1
    return resolved


def paper_double_entry(app, base: str, seeded: Seeded, backend: str) -> None:
    forms = int(setting("PAPER_FORMS", "10000"))
    disagree_every = int(setting("PAPER_DISAGREE_EVERY", "25"))
    per_batch = forms // CLERK_PAIRS
    questionnaire, codes = seeded.questionnaire, seeded.procedure_codes
    timings: list[float] = []
    errors: list[BaseException] = []

    def clerk(email, batch_id, second):
        try:
            clerk_keys(base, email, seeded.round_id, batch_id, range(1, per_batch + 1), questionnaire, codes,
                       second=second, disagree_every=disagree_every, timings=timings)
        except BaseException as problem:  # reported by the main thread
            errors.append(problem)

    threads = [threading.Thread(target=clerk, args=(email, batch_id, side == 1))
               for (emails, batch_id) in zip(seeded.clerks, seeded.batch_ids) for side, email in enumerate(emails)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entry_seconds = time.monotonic() - started
    if errors:
        raise errors[0]
    passes = len(timings)
    timings.sort()
    with app.app_context():
        session = db.session()
        entered = session.scalar(select(func.count()).select_from(PaperEntry))
        agreed = session.scalar(select(func.count()).select_from(PaperForm))
    print(f"[{backend}] (c) {per_batch * CLERK_PAIRS} forms x 2 passes by {2 * CLERK_PAIRS} clerks "
          f"({CLERK_PAIRS} batches): {passes} passes in {entry_seconds:.1f} s = {passes / entry_seconds:.1f} passes/s, "
          f"{per_batch * CLERK_PAIRS / entry_seconds:.1f} forms/s; per pass (post + next page) "
          f"p50 {percentile(timings, 0.5) * 1000:.0f} ms, p99 {percentile(timings, 0.99) * 1000:.0f} ms")
    print(f"[{backend}] (c) after entry: {entered} passes stored, {agreed} forms reconciled at once, "
          f"{per_batch * CLERK_PAIRS - agreed} waiting for the supervisor")
    resolve_timings: list[float] = []
    started = time.monotonic()
    resolved = reconcile(base, seeded, questionnaire, codes, resolve_timings)
    resolve_seconds = time.monotonic() - started
    resolve_timings.sort()
    with app.app_context():
        session = db.session()
        reconciled = session.scalar(select(func.count()).select_from(PaperForm))
        stored = session.scalar(select(func.count()).select_from(Response).where(Response.channel == "paper"))
        with_procedure = session.scalar(select(func.count()).select_from(Response).where(
            Response.channel == "paper", Response.procedure_id.is_not(None)))
    print(f"[{backend}] (c) reconciliation by one supervisor: {resolved} forms in {resolve_seconds:.1f} s "
          f"({resolve_seconds / max(resolved, 1) * 1000:.0f} ms per form: the batch pages, each form's page and its "
          f"post; p99 per form {percentile(resolve_timings, 0.99) * 1000 if resolve_timings else 0:.0f} ms)")
    total = per_batch * CLERK_PAIRS
    ok = reconciled == stored == with_procedure == total
    print(f"[{backend}] (c) in the database: {reconciled} forms reconciled, {stored} paper responses "
          f"({with_procedure} with their procedure) for {total} forms: "
          + ("each form stored once" if ok else "MISMATCH"))
    if not ok:
        raise RuntimeError("paper forms: reconciled, stored and expected differ")


# --- the run --------------------------------------------------------------------------------

def print_point_figures(backend: str, page: wrk.Paired, submit: wrk.Paired) -> None:
    for figures in (page.scenario, page.baseline, submit.scenario, submit.baseline):
        print(figures.row())
    print(page.row(f"[{backend}] point's page / minimal page:     ", "(target >= 30 %)"))
    print(submit.row(f"[{backend}] point's submission / one-row insert:", "(target >= 30 %)"))
    print(f"[{backend}] p99, worst slice: page {page.scenario.p99_ms:.0f} ms, submission "
          f"{submit.scenario.p99_ms:.0f} ms (target < 150 ms); errors: "
          f"{sum(p.scenario.errors + p.baseline.errors for p in (page, submit))} (target 0)")
    print(f"[{backend}] p99 per slice (ms): submission "
          + ", ".join(f"{f.p99_ms:.0f}" for f in submit.scenario_slices) + "; one-row insert "
          + ", ".join(f"{f.p99_ms:.0f}" for f in submit.baseline_slices), flush=True)


def run_backend(backend: str) -> None:
    with prepared_database(backend) as (url, app, _scratch):
        seeded = seed(app, int(setting("PROCEDURES", "200")))
        with app.app_context():
            csrf = form_token(seeded.point_token)
            sustained_csrf = form_token(seeded.sustained_token)
        parts = setting("PARTS", "a,b,c").split(",")
        with gunicorn_server(url, extra_env=NO_LIMITS) as ours, \
                gunicorn_server(url, app="bench.baseline:create_app()") as theirs:
            if "a" in parts:
                page, submit = point_under_load(ours, theirs, seeded, csrf, backend)
                with app.app_context():
                    stored = db.session().scalar(select(func.count()).select_from(Response))
                print(f"[{backend}] (a) responses stored: {stored} for {submit.scenario.requests} measured "
                      "submissions and the warm-up (wrk does not count requests in flight at its stop)")
                print_point_figures(backend, page, submit)
            if "b" in parts and backend == "postgresql":
                sustained(app, ours, seeded, sustained_csrf, backend)
            if "c" in parts:
                paper_double_entry(app, ours, seeded, backend)


def main() -> None:
    # Four workers importing the application have taken more than the tests' 90 s to answer
    # when other work loads the two cores; a benchmark would rather wait than fail.
    live_server.START_TIMEOUT_SECONDS = max(live_server.START_TIMEOUT_SECONDS, 300)
    print(f"SIPAS: gunicorn 4 sync workers; point limits raised to {NO_LIMITS['SURVEY_POINT_LIMIT_DEVICE']} "
          f"for the run; {setting('PROCEDURES', '200')} procedures in the province's list; load average "
          f"{load_average()}")
    for backend in setting("DATABASES", "sqlite,postgresql").split(","):
        run_backend(backend)
        print(f"[{backend}] load average at the end: {load_average()}")
