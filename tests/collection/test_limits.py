"""Per-device and per-address limits at a point: refused plainly, nothing stored beyond them."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.collection.helpers import answers_form, form_token_of, make_point, stored
from tests.live_server import gunicorn_server


def test_a_device_over_its_limit_is_refused_and_a_new_device_is_not(app, client, survey_round):
    _, point_id, token = make_point(app, survey_round)
    app.config.update(POINT_LIMIT_DEVICE="2 per hour", POINT_LIMIT_ADDRESS="3 per hour")
    form = form_token_of(client.get(f"/p/{token}").text)
    assert [client.post(f"/p/{token}", data=answers_form(app, form)).status_code for _ in range(3)] == [302, 302, 429]
    refused = client.post(f"/p/{token}", data=answers_form(app, form))
    assert refused.status_code == 429 and "thử lại sau" in refused.text

    other = app.test_client()  # another phone on the same Wi-Fi: its own device, the shared address limit
    other.get(f"/p/{token}")
    assert other.post(f"/p/{token}", data=answers_form(app, form)).status_code == 302
    assert other.post(f"/p/{token}", data=answers_form(app, form)).status_code == 429  # address: 3 per hour
    assert stored(app, collection_point_id=point_id) == 3


def test_a_post_without_the_device_cookie_shares_one_device_per_address(app, client, survey_round):
    _, point_id, token = make_point(app, survey_round)
    app.config.update(POINT_LIMIT_DEVICE="1 per hour")
    form = form_token_of(client.get(f"/p/{token}").text)
    bare = app.test_client(use_cookies=False)
    assert bare.post(f"/p/{token}", data=answers_form(app, form)).status_code == 302
    assert app.test_client(use_cookies=False).post(f"/p/{token}", data=answers_form(app, form)).status_code == 429
    assert stored(app, collection_point_id=point_id) == 1


def test_limits_are_per_point(app, client, survey_round):
    round_id, first, token = make_point(app, survey_round)
    _, second, other_token = make_point(app, survey_round, round_id=round_id, name="Một cửa UBND xã Tả Van")
    app.config.update(POINT_LIMIT_DEVICE="1 per hour")
    for t in (token, other_token):
        form = form_token_of(client.get(f"/p/{t}").text)
        assert client.post(f"/p/{t}", data=answers_form(app, form)).status_code == 302
    assert stored(app, collection_point_id=first) == 1 and stored(app, collection_point_id=second) == 1


@pytest.mark.server
def test_concurrent_posts_over_the_limit_store_no_more_than_the_limit(app, survey_round, database_url):
    """Two gunicorn workers sharing the counters in Redis; 24 simultaneous posts from one address, limit 5."""
    _, point_id, token = make_point(app, survey_round)
    env = {"SURVEY_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379", "SURVEY_POINT_LIMIT_DEVICE": "100 per hour",
           "SURVEY_POINT_LIMIT_ADDRESS": "5 per hour"}
    with gunicorn_server(database_url, workers=2, extra_env=env) as base:
        page = requests.get(f"{base}/p/{token}", timeout=30)
        data = answers_form(app, form_token_of(page.text))

        def post(_):
            # Each post is its own device (no cookie kept): only the address limit binds.
            return requests.post(f"{base}/p/{token}", data=data, allow_redirects=False, timeout=60).status_code

        with ThreadPoolExecutor(max_workers=24) as pool:
            statuses = list(pool.map(post, range(24)))
    assert all(s < 500 for s in statuses), statuses
    assert statuses.count(302) == 5 and statuses.count(429) == 19, statuses
    assert stored(app, collection_point_id=point_id) == 5


def test_the_in_memory_counters_start_no_thread_per_hit_and_still_drop_expired_entries():
    from limits import parse
    from limits.strategies import MovingWindowRateLimiter

    from survey.collection.limits import SweptMemoryStorage

    storage = SweptMemoryStorage()
    storage.timer.join()  # the one timer limits starts with the storage
    limiter = MovingWindowRateLimiter(storage)
    two_per_second = parse("2 per second")
    assert [limiter.hit(two_per_second, "device") for _ in range(3)] == [True, True, False]
    assert [limiter.hit(parse("100 per hour"), "address") for _ in range(50)] == [True] * 50
    # limits' own MemoryStorage would have started a new Timer on these hits.
    assert not storage.timer.is_alive()

    time.sleep(1.05)  # the device's entries leave their window, and the next sweep is due
    assert limiter.hit(two_per_second, "device")  # the window moved on
    entries = {key.split("/")[1]: len(events) for key, events in storage.events.items()}
    assert entries == {"device": 1, "address": 50}  # the device's two old entries were dropped by the sweep


def test_an_unreachable_redis_falls_back_to_counting_in_memory(caplog):
    from survey.collection.limits import PointLimits

    limits = PointLimits("redis://127.0.0.1:1")  # nothing listens there
    checks = [("2 per hour", "point:x:device:a"), ("3 per hour", "point:x:address:b")]
    assert [limits.allow(checks) for _ in range(3)] == [True, True, False]  # counted, not refused
    assert "counting in memory" in caplog.text
    assert limits.allow([("2 per hour", "point:x:device:c"), ("3 per hour", "point:x:address:b")])
    assert not limits.allow([("2 per hour", "point:x:device:d"), ("3 per hour", "point:x:address:b")])
