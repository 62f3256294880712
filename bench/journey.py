"""Issue 17 benchmark: complete responses, start to finish, by 16 concurrent simulated respondents.

For each database, gunicorn (4 sync workers, loopback) serves the application
with the statement counter of ``bench.statement_count``; a second gunicorn
serves the bare Flask page of ``bench.baseline``. Each simulated respondent
takes a prepared link and answers like a browser without JavaScript: the
landing page, the start link, every section read and saved with valid answers
(following a redirect when the server answers with one), the review page, the
submission, and the confirmation, checked. It reads the form's hidden fields
and ``action`` from each page, as a browser does.

Measured over the journeys (each respondent starts none after the deadline
and finishes the one under way, so every journey counted is complete):

* complete responses per second, requests and SQL statements per response;
* p50/p99 per kind of request;
* server CPU per response: the web workers' and, on PostgreSQL, the database
  backends' user + system time, read from /proc before and after;
* in the same run, before and after the journeys, the bare page under wrk
  (32 connections): its workers' CPU per request;
* the client's own CPU per response (it must not be the bottleneck);
* in the database: every confirmed response stored once, nothing more.
"""

from __future__ import annotations

import html
import http.client
import os
import re
import statistics
import threading
import time
from collections import defaultdict
from urllib.parse import urlencode, urljoin, urlsplit

from sqlalchemy import func, select, text

from bench import statement_count, wrk
from bench.respond import prepared_database, round_of_people, settle
from survey import db
from survey.db import make_engine
from survey.respond.models import Answer, Draft, Response, Submission
from tests.live_server import gunicorn_process

RESPONDENTS = 16
LINKS = 6_000
BARE_SECONDS = 5
WARMUP_JOURNEYS = 2  # per respondent thread, before measuring: templates, statements, pools

_FORM = re.compile(r'<form method="post" action="([^"]*)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_H1 = re.compile(r"<h1>(.*?)</h1>", re.S)


class JourneyFailed(AssertionError):
    pass


def seconds() -> int:
    return int(os.environ.get("BENCH_JOURNEY_SECONDS", "60"))


def seed(app) -> tuple:
    """A round of the longest questionnaire and LINKS people with a link each (no draft)."""
    with app.app_context(), db.unit_of_work() as session:
        longest, ids, tokens = round_of_people(session, "Đợt đo hành trình", LINKS)
    return longest, [tokens[i] for i in ids]


def _answers(section) -> list[tuple[str, str]]:
    fields = []
    for question in section.questions:
        if question.kind == "text":
            fields.append((f"q_{question.code}", "Ý kiến"))
        else:
            fields.append((f"q_{question.code}", next(o.code for o in question.scale.options if not o.is_missing)))
    return fields


class Client:
    """One simulated respondent: a keep-alive-capable connection and the figures it gathers."""

    def __init__(self, base: str, questionnaire, figures: dict):
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.questionnaire = questionnaire
        self.figures = figures  # kind -> list of seconds (this thread's own lists)
        self.requests = 0

    def _send(self, kind: str, method: str, path: str, body: str | None = None) -> tuple[int, dict, str]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            payload = response.read().decode()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            raise
        self.figures[kind].append(time.perf_counter() - started)
        self.requests += 1
        if "cookie" in {h.lower() for h in response.headers}:
            raise JourneyFailed(f"{path} set a cookie")
        return response.status, response.headers, payload

    def _follow(self, kind_after_redirect: str, status: int, headers, payload: str, path: str):
        """A redirect is followed like a browser does (one more request); otherwise the page is the answer."""
        if status in (301, 302, 303):
            location = urlsplit(urljoin(path, headers["Location"]))
            path = location.path + (f"?{location.query}" if location.query else "")
            status, headers, payload = self._send(kind_after_redirect, "GET", path)
        if status != 200:
            raise JourneyFailed(f"{path}: HTTP {status}")
        return path, payload

    @staticmethod
    def _form(payload: str, path: str) -> tuple[str, list[tuple[str, str]]]:
        match = _FORM.search(payload)
        if match is None:
            raise JourneyFailed(f"{path}: no form")
        action = urlsplit(urljoin(path, html.unescape(match.group(1)))).path
        return action, [(name, html.unescape(value)) for name, value in _HIDDEN.findall(match.group(2))]

    def journey(self, token: str) -> None:
        path = f"/r/{token}"
        status, _headers, payload = self._send("landing", "GET", path)
        if status != 200 or "Bắt đầu trả lời" not in payload:
            raise JourneyFailed(f"landing: HTTP {status}")
        path = f"/r/{token}/section/1"
        status, headers, payload = self._send("section GET", "GET", path)
        path, payload = self._follow("section GET", status, headers, payload, path)
        sections = self.questionnaire.sections
        for number, section in enumerate(sections, start=1):
            title = _H1.search(payload)
            if title is None or html.unescape(title.group(1)).strip() != section.title:
                raise JourneyFailed(f"section {number}: expected {section.title!r}, got {title and title.group(1)!r}")
            action, hidden = self._form(payload, path)
            button = ("action", "next" if number < len(sections) else "review")
            status, headers, payload = self._send("section POST", "POST", action,
                                                  urlencode(hidden + _answers(section) + [button]))
            path, payload = self._follow("section GET" if number < len(sections) else "review GET",
                                         status, headers, payload, action)
        if "Xem lại và gửi phiếu" not in payload or "đã trả lời đủ các câu bắt buộc" not in payload:
            raise JourneyFailed("review page missing or incomplete")
        action, hidden = self._form(payload, path)
        status, headers, payload = self._send("submit POST", "POST", action, urlencode(hidden))
        path, payload = self._follow("confirmation GET", status, headers, payload, action)
        if 'id="confirmation"' not in payload or "Cảm ơn Ông/Bà đã hoàn thành phiếu khảo sát" not in payload:
            raise JourneyFailed("no confirmation after submitting")


class Links:
    def __init__(self, tokens: list[str]):
        self._tokens = iter(tokens)
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            token = next(self._tokens, None)
        if token is None:
            raise RuntimeError(f"the {LINKS} prepared links ran out: raise journey.LINKS")
        return token


def run_respondents(base: str, questionnaire, links: Links, *, deadline: float | None, journeys_each: int = 0):
    """Run RESPONDENTS threads until ``deadline`` (or ``journeys_each`` journeys each); their figures."""
    results = []
    errors: list[BaseException] = []

    def respondent():
        figures = defaultdict(list)
        client = Client(base, questionnaire, figures)
        confirmed = []
        try:
            done = 0
            while (deadline is None and done < journeys_each) or (deadline is not None and time.monotonic() < deadline):
                token = links.next()
                client.journey(token)
                confirmed.append(token)
                done += 1
        except BaseException as problem:  # reported by the main thread
            errors.append(problem)
        results.append((figures, client.requests, confirmed))

    threads = [threading.Thread(target=respondent) for _ in range(RESPONDENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# --- CPU from /proc --------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the benchmark's database (none for SQLite)."""
    if not url.startswith("postgresql"):
        return []
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")))
    finally:
        engine.dispose()


class CpuMeter:
    def __init__(self, pids_of):
        self.pids_of = pids_of  # called at start and stop: processes may appear in between

    def __enter__(self):
        self.before = {pid: cpu_seconds(pid) for pid in self.pids_of()}
        return self

    def __exit__(self, *_exc):
        after = {pid: cpu_seconds(pid) for pid in self.pids_of() | set(self.before)}
        self.seconds = sum(after[pid] - self.before.get(pid, 0.0) for pid in after)


def bare_page(base: str, master_pid: int) -> tuple[float, int]:
    """CPU seconds of the bare page's workers per request, under wrk for BARE_SECONDS."""
    with CpuMeter(lambda: set(children(master_pid))) as meter:
        figures = wrk.run("bare page", base, ["GET /page"], seconds=BARE_SECONDS)
    return meter.seconds / figures.requests, figures.requests


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_backend(backend: str) -> None:
    with prepared_database(backend) as (url, app, scratch):
        questionnaire, tokens = seed(app)
        settle(app)
        counts = scratch / "statements"
        counts.mkdir()
        links = Links(tokens)
        with gunicorn_process(url, extra_args=("-c", "python:bench.statement_count"),
                              extra_env={"BENCH_STATEMENT_COUNT_DIR": str(counts)}) as (ours, master), \
                gunicorn_process(url, app="bench.baseline:create_app()") as (bare, bare_master):
            run_respondents(ours, questionnaire, links, deadline=None, journeys_each=WARMUP_JOURNEYS)
            wrk.run("warm-up", bare, ["GET /page"], seconds=2)
            bare_before, bare_requests_before = bare_page(bare, bare_master.pid)
            workers = set(children(master.pid))
            statements_before = statement_count.settled_total(str(counts))
            client_before = time.process_time()
            started = time.monotonic()
            with CpuMeter(lambda: workers) as in_workers, CpuMeter(lambda: set(backend_pids(url))) as in_backends:
                results = run_respondents(ours, questionnaire, links, deadline=started + seconds())
            elapsed = time.monotonic() - started
            client_cpu = time.process_time() - client_before
            statements = statement_count.settled_total(str(counts)) - statements_before
            bare_after, bare_requests_after = bare_page(bare, bare_master.pid)
        confirmed = [token for _figures, _requests, tokens_ in results for token in tokens_]
        responses = len(confirmed)
        requests_sent = sum(r for _f, r, _t in results)
        by_kind = defaultdict(list)
        for figures, _requests, _tokens in results:
            for kind, values in figures.items():
                by_kind[kind].extend(values)
        bare_cpu = (bare_before + bare_after) / 2
        per_response = (in_workers.seconds + in_backends.seconds) / responses
        print(f"[{backend}] {responses} complete responses in {elapsed:.1f} s by {RESPONDENTS} respondents: "
              f"{responses / elapsed:.1f} responses/s")
        print(f"[{backend}] requests per response: {requests_sent / responses:.2f}; SQL statements per response "
              f"(transaction control included): {statements / responses:.2f}")
        for kind in ("landing", "section GET", "section POST", "review GET", "submit POST", "confirmation GET"):
            if by_kind.get(kind):
                values = by_kind[kind]
                print(f"[{backend}]   {kind:17} {len(values) / responses:5.2f} per response   "
                      f"p50 {statistics.median(values) * 1000:6.1f} ms   p99 {_percentile(values, 0.99) * 1000:6.1f} ms")
        print(f"[{backend}] server CPU per response: {per_response * 1000:.1f} ms (web workers "
              f"{in_workers.seconds / responses * 1000:.1f}, database backends "
              f"{in_backends.seconds / responses * 1000:.1f}); bare page CPU per request: {bare_cpu * 1000:.3f} ms "
              f"(before {bare_before * 1000:.3f}, after {bare_after * 1000:.3f}; "
              f"{bare_requests_before + bare_requests_after} requests); "
              f"ratio {per_response / bare_cpu:.0f}x (target <= 60x)")
        print(f"[{backend}] client CPU per response: {client_cpu / responses * 1000:.1f} ms "
              f"({client_cpu / elapsed:.0%} of one core)")
        verify(app, confirmed, questionnaire, warmed_up=RESPONDENTS * WARMUP_JOURNEYS)


def verify(app, confirmed: list[str], questionnaire, *, warmed_up: int) -> None:
    """Every confirmed response stored once: ledger, responses and answers match the journeys exactly."""
    from survey.respond.links import hash_token
    from survey.respond.models import AccessLink

    with app.app_context():
        session = db.session()
        ledger = session.scalar(select(func.count()).select_from(Submission))
        responses = session.scalar(select(func.count()).select_from(Response))
        answers = session.scalar(select(func.count()).select_from(Answer))
        drafts = session.scalar(select(func.count()).select_from(Draft))
        hashes = [hash_token(t) for t in confirmed]
        entered = 0
        for start in range(0, len(hashes), 500):
            entered += session.scalar(
                select(func.count()).select_from(Submission)
                .join(AccessLink, AccessLink.respondent_id == Submission.respondent_id)
                .where(AccessLink.token_hash.in_(hashes[start:start + 500])))
    expected = len(confirmed) + warmed_up
    problems = []
    if entered != len(confirmed):
        problems.append(f"{entered} of {len(confirmed)} confirmed respondents are in the ledger")
    if not ledger == responses == expected:
        problems.append(f"ledger {ledger}, responses {responses}, expected {expected}")
    if answers != expected * len(questionnaire.questions):
        problems.append(f"answers {answers}, expected {expected * len(questionnaire.questions)}")
    if drafts:
        problems.append(f"{drafts} drafts left")
    print(f"checked in the database: {expected} confirmed responses (warm-up included), ledger {ledger}, "
          f"responses {responses}, answers {answers}, drafts left {drafts}: "
          + ("stored once each" if not problems else "MISMATCH: " + "; ".join(problems)))
    if problems:
        raise RuntimeError("; ".join(problems))


def main() -> None:
    print(f"Complete responses: {RESPONDENTS} simulated respondents without JavaScript, {seconds()} s per "
          f"database (BENCH_JOURNEY_SECONDS); gunicorn 4 sync workers; load average {load_average()}")
    for backend in os.environ.get("BENCH_JOURNEY_DATABASES", "sqlite,postgresql").split(","):
        run_backend(backend)
        print(f"[{backend}] load average at the end: {load_average()}")


def load_average() -> str:
    """The machine's 1, 5 and 15-minute load: the figures above are only comparable at a similar load."""
    with open("/proc/loadavg") as load:
        return " ".join(load.read().split()[:3])
