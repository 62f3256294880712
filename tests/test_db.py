"""The engines: the SQLite writer queue and its checkpoints, the PostgreSQL pool check; nothing warns."""

from __future__ import annotations

import fcntl
import os
import threading
import time
import warnings

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError
from sqlalchemy.pool import NullPool

from survey import db, dialects
from survey.db import make_engine, write_intent


def lock_is_free(path: str) -> bool:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)


def test_a_second_writer_waits_for_the_first_to_finish(tmp_path):
    path = tmp_path / "queue.db"
    engine = make_engine(f"sqlite:///{path}")
    lock = f"{path}-writer.lock"
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE log (who TEXT)"))
    first_inside, events = threading.Event(), []
    release_first = threading.Event()

    def first():
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO log VALUES ('first')"))
            first_inside.set()
            release_first.wait(10)
            events.append("first commits")

    def second():
        first_inside.wait(10)
        with engine.begin() as connection:
            events.append("second begins")
            connection.execute(text("INSERT INTO log VALUES ('second')"))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_inside.wait(10)
    assert not lock_is_free(lock)
    # A reader is not queued behind the writer (WAL): it runs while the writer holds the lock.
    token = write_intent.set(False)
    try:
        with engine.connect() as reader:
            assert reader.execute(text("SELECT count(*) FROM log")).scalar() == 0
    finally:
        write_intent.reset(token)
    release_first.set()
    for t in threads:
        t.join(10)
    assert events == ["first commits", "second begins"]
    assert lock_is_free(lock)
    engine.dispose()


def test_the_lock_is_released_when_a_transaction_fails(tmp_path):
    path = tmp_path / "fail.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT * FROM no_such_table"))
    except Exception:
        pass
    assert lock_is_free(f"{path}-writer.lock")
    engine.dispose()


def test_requests_emit_no_warnings_from_the_pool_hooks(app, client, survey_round):
    _, tokens = survey_round()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert client.get(f"/r/{tokens['hdnd'][0]}/section/1").status_code == 200
        with app.app_context(), db.unit_of_work() as session:
            session.execute(text("SELECT 1"))
    assert [str(w.message) for w in caught] == []


def wal_size(path) -> int:
    wal = f"{path}-wal"
    return os.path.getsize(wal) if os.path.exists(wal) else 0


def test_writers_checkpoint_the_wal_after_leaving_the_queue(tmp_path):
    """Without checkpoints the WAL grows with every write; with them it is reused from its start."""
    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE page (body TEXT)"))

    def write_many(n):
        token = write_intent.set(True)  # as a POST request declares it
        try:
            for _ in range(n):
                with engine.connect() as connection:
                    connection.execute(text("INSERT INTO page VALUES (:body)"), {"body": "x" * 3000})
                    assert not lock_is_free(f"{path}-writer.lock")  # a writer, in the queue
                    connection.commit()
                    db.end_writes(connection)
                    assert lock_is_free(f"{path}-writer.lock")  # released right after the commit
        finally:
            write_intent.reset(token)

    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pages == dialects.AUTOCHECKPOINT_SAFETY_NET_PAGES  # SQLite's own checkpoint is only a safety net
    write_many(dialects.CHECKPOINT_EVERY)
    after_first_round = wal_size(path)
    write_many(dialects.CHECKPOINT_EVERY)
    # Had nothing been checkpointed, the second round would have doubled the file.
    assert 0 < wal_size(path) < after_first_round * 1.5
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM page")).scalar() == 2 * dialects.CHECKPOINT_EVERY
    engine.dispose()


def test_pooled_postgresql_connections_closed_by_the_server_are_replaced(database_url, backend):
    """A server restart ends every pooled connection; the next request must not fail on one of them."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server")
    engine = make_engine(database_url, pool_size=2)
    try:
        with engine.connect() as connection:
            victim = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with make_engine(database_url, poolclass=NullPool).connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim}).scalar()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the termination is asynchronous
            with make_engine(database_url, poolclass=NullPool).connect() as admin:
                alive = admin.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                      {"pid": victim}).scalar()
            if not alive:
                break
            time.sleep(0.05)
        with engine.connect() as connection:  # the pool hands out the dead connection first, unless checked
            assert connection.execute(text("SELECT pg_backend_pid()")).scalar() != victim
    finally:
        engine.dispose()


@pytest.mark.parametrize("begin", [True, False])
def test_begin_writes_turns_a_statement_by_statement_connection_into_a_transaction(app, begin):
    """What the submission relies on: after begin_writes, a rollback undoes the writes."""
    with app.test_request_context("/r/" + "x" * 32 + "/submit", method="POST"):  # declared statement by statement
        connection = db.connection()
        connection.execute(text("SELECT 1"))
        if begin:
            db.begin_writes(connection)
        connection.execute(text("INSERT INTO provinces (code, name) VALUES ('TST', 'tỉnh Thử')"))
        connection.rollback()
    with app.app_context():
        kept = db.session().execute(text("SELECT count(*) FROM provinces WHERE code = 'TST'")).scalar()
    # Without begin_writes each statement commits on its own, so the rollback has nothing to undo.
    assert kept == (0 if begin else 1)


@pytest.mark.parametrize("statement_by_statement", [True, False])
def test_large_aggregate_settings_last_for_its_statements_only(database_url, backend, statement_by_statement):
    """The respondent-level grouping gets its memory; the connection goes back to the pool as it was."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no such settings")
    engine = make_engine(database_url, poolclass=NullPool)
    if statement_by_statement:
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    read = text("SELECT current_setting('work_mem'), current_setting('enable_sort')")
    try:
        with engine.connect() as connection:
            before = connection.execute(read).one()
            with dialects.of(connection).large_aggregate(connection):
                assert connection.execute(read).one() == ("256MB", "off")
            assert connection.execute(read).one() == before
            if not statement_by_statement:
                # A failed statement aborts the transaction; the rollback discards the settings.
                with pytest.raises(DataError), dialects.of(connection).large_aggregate(connection):
                    connection.execute(text("SELECT 1 / 0"))
                connection.rollback()
                assert connection.execute(read).one() == before
    finally:
        engine.dispose()
