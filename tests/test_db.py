"""The SQLite writer queue: writers wait for each other, readers do not, nothing warns."""

from __future__ import annotations

import fcntl
import os
import threading
import warnings

from sqlalchemy import text

from survey import db
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
