import pytest


@pytest.fixture(autouse=True)
def generous_limits(app):
    """The rate limits are tested on their own (test_limits.py); elsewhere a test posts freely."""
    app.config.update(POINT_LIMIT_DEVICE="1000 per hour", POINT_LIMIT_ADDRESS="1000 per hour")
