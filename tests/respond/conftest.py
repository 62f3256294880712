import pytest

from survey import db


@pytest.fixture
def writing():
    """Write intent declared, as a POST request declares it (SQLite's writers then queue)."""
    token = db.write_intent.set(True)
    yield
    db.write_intent.reset(token)
