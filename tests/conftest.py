from __future__ import annotations

import re
from datetime import timedelta

import pytest

from survey import create_app, db, migrate
from survey.timeutil import utcnow
from tests.databases import empty_all_tables, temporary_database

BACKENDS = ("sqlite", "postgresql")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def pytest_addoption(parser):
    parser.addoption(
        "--databases", default=",".join(BACKENDS),
        help="comma-separated backends that database tests run on (sqlite,postgresql)",
    )


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        chosen = [b for b in metafunc.config.getoption("--databases").split(",") if b]
        unknown = set(chosen) - set(BACKENDS)
        if unknown:
            raise pytest.UsageError(f"unknown --databases {sorted(unknown)}")
        metafunc.parametrize("backend", chosen, scope="session")


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    """A migrated database for the whole session, emptied after each test."""
    with temporary_database(backend, tmp_path_factory.mktemp(backend)) as url:
        migrate.upgrade(url)
        yield url


def make_test_config(database_url: str, **overrides) -> dict:
    config = {
        "ENV_MODE": "production",
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "QUESTIONNAIRE_DIR": None,
        "BASE_URL": "http://localhost",
        "SESSION_COOKIE_SECURE": False,
        # A real, cheap hash: scrypt's 0.14 s per password was a sixth of the staff tests' time.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    config.update(overrides)
    return config


@pytest.fixture
def app(database_url):
    app = create_app(make_test_config(database_url))
    yield app
    empty_all_tables(app.extensions["survey.engine"])
    db.dispose(app)


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_in(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def survey_round(app):
    """Factory: a round around now (or shifted) with the demo bindings and respondents; returns tokens."""
    from survey import db
    from survey.demo.data import DEMO_BINDINGS
    from survey.questionnaire_registry import catalog
    from survey.respond.links import issue_link
    from survey.rounds.services import create_round, get_or_create_province
    from survey.roster.people import add_respondent

    def build(*, per_group: int = 2, opens_in: timedelta = timedelta(days=-1),
              closes_in: timedelta = timedelta(days=30), bindings=DEMO_BINDINGS, title: str = "Đợt thử nghiệm"):
        with app.app_context(), db.unit_of_work() as session:
            province = get_or_create_province(session, "LCI", "tỉnh Lào Cai")
            now = utcnow()
            round_ = create_round(
                session, catalog(), province=province, year=2023, title=title,
                opens_at=now + opens_in, closes_at=now + closes_in, bindings=bindings,
            )
            tokens: dict[str, list[str]] = {}
            for group in round_.groups:
                for i in range(per_group):
                    person = add_respondent(session, round_, group, full_name=f"Người {group.code} {i}")
                    tokens.setdefault(group.code, []).append(issue_link(session, person))
            return round_.id, tokens

    return build


@pytest.fixture(scope="session")
def live_server(database_url):
    from tests.live_server import gunicorn_server

    with gunicorn_server(database_url) as base:
        yield base


STAFF_PASSWORD = "mat-khau-thu-nghiem-2023"


@pytest.fixture
def staff(app):
    """Factory: a staff account of a role (province LCI, agency STP for a focal point); returns its e-mail."""
    from survey import db
    from survey.accounts.services import create_user
    from survey.rounds.agencies import get_or_create_agency
    from survey.rounds.services import get_or_create_province

    def make(role: str, *, province_code: str = "LCI", agency_code: str = "STP", email: str | None = None):
        with app.app_context(), db.unit_of_work() as session:
            province = get_or_create_province(session, province_code, f"tỉnh {province_code}")
            agency = get_or_create_agency(session, province, agency_code, f"Cơ quan {agency_code}", "department")
            user = create_user(
                session, email=email or f"{role}.{province_code.lower()}@example.vn", full_name=f"Cán bộ {role}",
                password=STAFF_PASSWORD, role=role, province=None if role == "system_admin" else province,
                agency=agency if role == "focal_point" else None,
            )
            return user.email

    return make


@pytest.fixture
def login(client, staff):
    """Sign the test client in as a new account of ``role``; returns the e-mail."""

    def sign_in(role: str, **kwargs) -> str:
        email = staff(role, **kwargs)
        page = client.get("/admin/login")
        reply = client.post("/admin/login", data={"email": email, "password": STAFF_PASSWORD,
                                                  "csrf_token": csrf_token_in(page.text)})
        assert reply.status_code == 302, reply.text
        return email

    return sign_in
