"""0015_agency_digests: the outbox takes digests, every earlier message is kept both ways."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from survey import migrate
from tests.databases import engine_at, temporary_database

MESSAGE = ("INSERT INTO outbox_messages (id, round_id, kind, message_id, sender, recipient, subject, status, "
           "attempts, next_attempt_at, created_at) VALUES ({id}, 1, '{kind}', '<{id}@x.vn>', 's@x.vn', 'r@x.vn', "
           "'Thư', 'queued', 0, '2023-11-01 08:00:00', '2023-11-01 08:00:00')")
PREVIOUS = "0014_agency_aliases"  # the head this revision follows
MESSAGES = "SELECT id, kind, recipient, subject, status FROM outbox_messages ORDER BY id"


def test_0015_widens_the_outbox_kinds_and_keeps_every_message(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        migrate.upgrade(url, PREVIOUS)
        with engine_at(url) as engine:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO provinces (id, code, name) VALUES (1, 'LCI', 'Lào Cai')"))
                connection.execute(text(
                    "INSERT INTO rounds (id, province_id, year, title, opens_at, closes_at, created_at) "
                    "VALUES (1, 1, 2023, 'Đợt 2023', '2023-11-01 08:00:00', '2023-12-01 17:00:00', "
                    "'2023-11-01 08:00:00')"))
                connection.execute(text(MESSAGE.format(id=1, kind="invitation")))
                connection.execute(text(MESSAGE.format(id=2, kind="reminder")))
                before = connection.execute(text(MESSAGES)).all()
            with engine.connect() as connection, pytest.raises(IntegrityError):
                connection.execute(text(MESSAGE.format(id=3, kind="digest")))

        migrate.upgrade(url, "0015_agency_digests")
        with engine_at(url) as engine:
            with engine.begin() as connection:
                assert connection.execute(text(MESSAGES)).all() == before
                connection.execute(text(MESSAGE.format(id=3, kind="digest")))
                connection.execute(text(
                    "INSERT INTO digest_schedules (round_id, interval_days, next_run_at, updated_at) "
                    "VALUES (1, 7, '2023-11-02 08:00:00', '2023-11-01 08:00:00')"))
            with engine.connect() as connection, pytest.raises(IntegrityError):
                connection.execute(text(MESSAGE.format(id=4, kind="spam")))

        migrate.downgrade(url, PREVIOUS)
        with engine_at(url) as engine:
            with engine.connect() as connection:
                # The digests (to focal points, which the old schema cannot hold) go; nothing else does.
                assert connection.execute(text(MESSAGES)).all() == before
