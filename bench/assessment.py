"""Issue 15 benchmark: the consolidation page and the report bundle of a full self-assessment.

(a) The consolidation page (Tổng hợp) of a province whose cycle has all 88 sub-criteria
    scored and 500 evidence documents, signed in as the province administrator, served by
    gunicorn (4 sync workers) under wrk, against the respondent pages' baseline (a minimal
    2 KB Flask page served the same way), measured in alternating slices (``wrk.Paired``).
(b) The report bundle from the frozen version: the .docx, the .xlsx annex and the zip of
    500 evidence files of 200 KB with its index sheet, against writing the same 500 files
    into a zip with ``zipfile`` alone; alternating runs, median ratio (target <= 1.5x).
"""

from __future__ import annotations

import gc
import io
import os
import re
import statistics
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import select

from bench import baseline, wrk
from survey import create_app, db, migrate
from survey.accounts.models import User
from survey.accounts.services import create_user
from survey.assessment import evidence as files
from survey.assessment import exports, services
from survey.assessment.models import Part
from survey.db import make_engine
from survey.demo.data import DEMO_BINDINGS
from survey.questionnaire_registry import catalog
from survey.rounds.agencies import get_or_create_agency
from survey.rounds.models import Round
from survey.rounds.services import create_round, get_or_create_province
from survey.timeutil import utcnow
from tests import live_server
from tests.databases import temporary_database
from tests.live_server import gunicorn_server

DOCUMENTS = 500
DOCUMENT_BYTES = 200 * 1024
AGENCIES = ("SNV", "STP", "VPUB", "STC", "STTTT", "SKHDT")
PASSWORD = "mat-khau-do-hieu-nang-2023"
PAIRS = 5
SLICE_SECONDS = 4
WARMUP_SECONDS = 2
BUNDLE_RUNS = 5


def seed(app) -> int:
    """A round of a province whose cycle is scored, backed by 500 documents, submitted and frozen."""
    with app.app_context(), db.unit_of_work() as session:
        province = get_or_create_province(session, "BENCH", "tỉnh Thử nghiệm")
        now = utcnow()
        round_ = create_round(session, catalog(), province=province, year=2023, title="Đợt đo hiệu năng",
                              opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30),
                              bindings=DEMO_BINDINGS)
        for code in AGENCIES:
            get_or_create_agency(session, province, code, f"Sở {code}", "department")
        create_user(session, email="admin@bench.example.vn", full_name="Sở Nội vụ", password=PASSWORD,
                    role="province_admin", province=province)
        chair = create_user(session, email="chair@bench.example.vn", full_name="Chủ tịch Hội đồng",
                            password=PASSWORD, role="council_chair", province=province)
        cycle = services.start_cycle(session, round_, catalog())
        services.open_self_assessment(session, cycle)
        ctx = services.context(cycle, catalog())
        parts = list(session.scalars(select(Part).where(Part.cycle_id == cycle.id).order_by(Part.id)))
        codes = {p.id: services.codes_of(session, cycle, p.agency_id) for p in parts}
        for index in range(DOCUMENTS):
            part = parts[index % len(parts)]
            mine = codes[part.id]
            data = b"%PDF-1.4\n" + os.urandom(DOCUMENT_BYTES - 9)
            services.add_evidence(session, cycle, part, chair, filename=f"van-ban-{index:03d}.pdf", data=data,
                                  number=f"{index}/QĐ-UBND", issued_on=None, issuer="UBND tỉnh",
                                  summary=f"Văn bản số {index}", codes=[mine[index // len(parts) % len(mine)]])
        for part in parts:
            for code in codes[part.id]:
                services.save_entry(session, ctx, part, code, chair, level="1", numerator="9", denominator="10",
                                    explanation="Có báo cáo.")
            services.submit_part(session, ctx, part)
        services.close_appraisal(session, ctx, chair, "Kết quả thẩm định 2023")
        return round_.id


def sign_in(base: str) -> str:
    """The session cookie of the province administrator, signed in through the login page."""
    browser = requests.Session()
    page = browser.get(f"{base}/admin/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    reply = browser.post(f"{base}/admin/login", data={"email": "admin@bench.example.vn", "password": PASSWORD,
                                                      "csrf_token": token}, allow_redirects=False)
    assert reply.status_code == 302, reply.text
    return "; ".join(f"{k}={v}" for k, v in browser.cookies.items())


def board_figures(backend: str, url: str, round_id: int) -> wrk.Paired:
    board = [f"GET /admin/assessment/rounds/{round_id}/board"]
    with gunicorn_server(url) as ours, gunicorn_server(url, app="bench.baseline:create_app()") as theirs:
        cookie = sign_in(ours)
        page = requests.get(f"{ours}{board[0][4:]}", headers={"Cookie": cookie})
        assert page.status_code == 200 and "Tổng hợp kết quả tự đánh giá" in page.text, page.status_code
        print(f"[{backend}] consolidation page: {len(page.content) / 1024:.0f} KB of HTML")
        for label, base, path, headers in (("consolidation page", ours, board[0][4:], {"Cookie": cookie}),
                                           ("minimal page", theirs, "/page", {})):
            times = []
            for _ in range(7):
                started = time.perf_counter()
                assert requests.get(f"{base}{path}", headers=headers).status_code == 200
                times.append(time.perf_counter() - started)
            print(f"[{backend}] {label}, one request at a time: median {statistics.median(times) * 1000:.0f} ms")
        wrk.run("warm-up", ours, board, cookie=cookie, seconds=WARMUP_SECONDS)
        wrk.run("warm-up", theirs, ["GET /page"], seconds=WARMUP_SECONDS)
        ours_slices, theirs_slices = [], []
        for _ in range(PAIRS):
            ours_slices.append(wrk.run(f"[{backend}] consolidation page, 88 sub-criteria, {DOCUMENTS} documents",
                                       ours, board, cookie=cookie, seconds=SLICE_SECONDS))
            theirs_slices.append(wrk.run(f"[{backend}] baseline: minimal 2 KB page", theirs, ["GET /page"],
                                         seconds=SLICE_SECONDS))
    return wrk.Paired(tuple(ours_slices), tuple(theirs_slices))


def bundle_figures(app, round_id: int, root: Path) -> tuple[list[float], list[float]]:
    """Seconds per run of the bundle (docx + xlsx + zip) and of the zip alone, alternating."""
    with app.app_context():
        session = db.session()
        round_ = session.get(Round, round_id)
        frozen = services.frozen_version(session, services.cycle_of(session, round_))
        paths = sorted({files.path_for(e["sha256"], root) for r in frozen.rows for e in r["evidence"]})
        assert len(paths) == DOCUMENTS
        ours, theirs = [], []
        for _ in range(BUNDLE_RUNS):
            start = time.perf_counter()
            docx = exports.docx_bytes(round_, frozen)
            annex = exports.xlsx_bytes(round_, frozen)
            archive = io.BytesIO()
            exports.evidence_zip(frozen, root, archive)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            plain = io.BytesIO()
            with zipfile.ZipFile(plain, "w", zipfile.ZIP_STORED) as bare:
                for number, path in enumerate(paths):
                    bare.write(path, f"tai-lieu/{number:05d}.pdf")
            theirs.append(time.perf_counter() - start)
        print(f"bundle: report {len(docx) / 1024:.0f} KB, annex {len(annex) / 1024:.0f} KB, "
              f"evidence zip {archive.tell() / 2**20:.1f} MB; bare zip {plain.tell() / 2**20:.1f} MB")
    return ours, theirs


def run_backend(backend: str, *, bundle: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp, temporary_database(backend, Path(tmp)) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        baseline.metadata.create_all(engine)  # before four baseline workers race to create it
        engine.dispose()
        root = Path(tmp) / "evidence"
        app = create_app({"SECRET_KEY": live_server.SECRET_KEY, "DATABASE_URL": url, "QUESTIONNAIRE_DIR": None,
                          "BASE_URL": "http://127.0.0.1", "ASSESSMENT_EVIDENCE_DIR": str(root)})
        started = time.perf_counter()
        round_id = seed(app)
        print(f"[{backend}] seeded a frozen cycle with {DOCUMENTS} documents of {DOCUMENT_BYTES // 1024} KB "
              f"in {time.perf_counter() - started:.0f} s")
        page = board_figures(backend, url, round_id)
        print(page.scenario.row())
        print(page.baseline.row())
        print(page.row(f"[{backend}] consolidation page / minimal page:", "(no target; the respondent page's is >= 30 %)"))
        if bundle:
            ours, theirs = bundle_figures(app, round_id, root)
            ratios = [a / b for a, b in zip(ours, theirs)]
            print(f"report bundle (docx + xlsx + zip of {DOCUMENTS} x {DOCUMENT_BYTES // 1024} KB): median "
                  f"{statistics.median(ours) * 1000:.0f} ms; zipfile alone: median {statistics.median(theirs) * 1000:.0f} ms")
            print(f"bundle / zipfile alone: {statistics.median(ratios):.2f}x (median of {len(ratios)} alternating runs: "
                  f"{', '.join(f'{r:.2f}' for r in ratios)}) (target <= 1.5x)")
        db.dispose(app)


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    # Eight workers (ours and the baseline's) import the application at once; on a loaded 2-core
    # machine that has taken longer than the tests' 90 s.
    live_server.START_TIMEOUT_SECONDS = max(live_server.START_TIMEOUT_SECONDS, 300)
    print(f"machine at start: {_load()}")
    print(f"Self-assessment: gunicorn 4 sync workers, wrk 2 threads x 32 connections, {PAIRS} pairs of "
          f"{SLICE_SECONDS} s slices after a {WARMUP_SECONDS} s warm-up of each")
    backends = os.environ.get("BENCH_ASSESSMENT_DATABASES", "sqlite,postgresql").split(",")
    for index, backend in enumerate(backends):
        # The bundle reads files and writes a zip: the database does not take part, once is enough.
        run_backend(backend, bundle=index == 0)
        print(f"machine after {backend}: {_load()}")


def board_in_process(app, round_id: int, requests_: int = 20) -> tuple[float, float]:
    """Median process CPU and wall seconds of the consolidation page through the test client (no server)."""
    client = app.test_client()
    page = client.get("/admin/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/admin/login", data={"email": "admin@bench.example.vn", "password": PASSWORD,
                                             "csrf_token": token}).status_code == 302
    path = f"/admin/assessment/rounds/{round_id}/board"
    assert client.get(path).status_code == 200  # this process computes the survey points once
    gc.collect()  # the seeding's garbage is not the page's
    cpu, wall = [], []
    for _ in range(requests_):
        started, used = time.perf_counter(), time.process_time()
        assert client.get(path).status_code == 200
        cpu.append(time.process_time() - used)
        wall.append(time.perf_counter() - started)
    return statistics.median(cpu), statistics.median(wall)


def in_process() -> None:
    """``python -m bench.assessment --in-process``: both figures without gunicorn or wrk.

    CPU per request is what a loaded machine distorts least; the bundle is timed as in (b).
    """
    print(f"machine at start: {_load()}")
    for index, backend in enumerate(os.environ.get("BENCH_ASSESSMENT_DATABASES", "sqlite,postgresql").split(",")):
        with tempfile.TemporaryDirectory() as tmp, temporary_database(backend, Path(tmp)) as url:
            migrate.upgrade(url)
            root = Path(tmp) / "evidence"
            app = create_app({"SECRET_KEY": live_server.SECRET_KEY, "DATABASE_URL": url, "QUESTIONNAIRE_DIR": None,
                              "BASE_URL": "http://127.0.0.1", "ASSESSMENT_EVIDENCE_DIR": str(root)})
            round_id = seed(app)
            cpu, wall = board_in_process(app, round_id)
            print(f"[{backend}] consolidation page in-process, median of 20: CPU {cpu * 1000:.1f} ms, "
                  f"wall {wall * 1000:.1f} ms ({_load()})")
            if index == 0:
                ours, theirs = bundle_figures(app, round_id, root)
                ratios = [a / b for a, b in zip(ours, theirs)]
                print(f"bundle / zipfile alone: {statistics.median(ratios):.2f}x "
                      f"({', '.join(f'{r:.2f}' for r in ratios)}) ({_load()})")
            db.dispose(app)


if __name__ == "__main__":
    import sys

    in_process() if "--in-process" in sys.argv[1:] else main()
