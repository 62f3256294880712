"""Submission limits at a collection point, per device and per client address (limits).

Why the ``limits`` library: its moving-window counters are atomic in memory
and in Redis, with their own expiry, so concurrent posts over the limit are
refused without any counting of ours, and the counters never reach the
database, let alone a table next to the answers. Storage comes from
``POINT_LIMIT_STORAGE`` (setting ``SURVEY_RATE_LIMIT_STORAGE``): ``memory://``
by default, which counts per process (one gunicorn worker, a test), or
``redis://127.0.0.1:6379`` to share the counters between workers and servers.
If Redis is unreachable the counters fall back to memory instead of refusing
citizens, and Redis is tried again half a minute later.

It is used directly, not through Flask-Limiter: only two views are limited,
and Flask-Limiter's hooks resolved and filtered limits on every request of
the application (a sixth of a point's page view, the tenth of a submission),
hooks this module had to move and wrap to keep them off other pages.

Every post counts, accepted or not: counting only accepted ones would need a
check before and an increment after the submission, which concurrent posts
would slip between.

The device is a random value in a cookie scoped to the point's own path
(``/p/<token>``), set by the form page and kept for the limit's window. A
token kept in the page would not do: it is issued anew with each page, so a
script fetching the page before each post would never be limited. The
cookie is sent nowhere else on the site, holds nothing but randomness, and
expires with the window; it is not stored by us. A post without it (a
browser refusing cookies, a script) shares one device counter per address,
so refusing cookies cannot escape the device limit. The address limit is the
looser of the two: a commune's Wi-Fi puts many citizens behind one address.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time

from flask import abort, current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

DEVICE_COOKIE = "thiet_bi"
DEFAULT_DEVICE_LIMIT = "5 per hour"
DEFAULT_ADDRESS_LIMIT = "60 per hour"
DEVICE_COOKIE_SECONDS = 3600
# A kiosk is one device serving a counter's citizens one after another: one limit per kiosk
# link, about one citizen every 15 seconds at most, which no honest counter reaches.
DEFAULT_KIOSK_LIMIT = "240 per hour"


# How often the in-memory counters drop the entries that left their window (memory only: the
# moving window itself compares timestamps, so an entry not yet dropped is never counted).
SWEEP_SECONDS = 1.0


class SweptMemoryStorage(MemoryStorage):
    """``memory://`` that drops expired entries at most once a second, on the request's own thread.

    limits' MemoryStorage starts a ``threading.Timer`` thread, 10 ms out, whenever none
    is alive, i.e. on nearly every hit of a busy worker: in a profile of 500 submissions
    the request waited 3 ms for each of 252 thread starts, an eighth of the submissions'
    time. Sweeping inline once a second frees the same memory.
    The override relies on the name limits gives its private method (mangled as
    ``_MemoryStorage__schedule_expiry``); were it renamed, the timer would simply come
    back, which ``tests/collection/test_limits.py`` notices.
    """

    STORAGE_SCHEME = ["survey-memory"]
    _next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_SECONDS
            self._MemoryStorage__expire_events()


def _address() -> str:
    return request.remote_addr or "unknown"


# After a failure of the shared storage, posts are counted in memory this long before it is tried again.
RETRY_SECONDS = 30.0


class PointLimits:
    """The limits' counters: the configured storage, or memory while that is unreachable."""

    def __init__(self, uri: str):
        self.storage = storage_from_string("survey-memory://" if uri == "memory://" else uri, wrap_exceptions=True)
        self.counters = MovingWindowRateLimiter(self.storage)
        in_memory = isinstance(self.storage, MemoryStorage)
        self.fallback = None if in_memory else MovingWindowRateLimiter(SweptMemoryStorage())
        self.unreachable_until = 0.0

    def allow(self, checks: list[tuple[str, str]]) -> bool:
        """Count one post against the (limit, key) pairs of ``checks`` in order; False at the first one reached."""
        items = [(item, key) for limit, key in checks for item in _parsed(limit)]
        if self.fallback is not None and time.monotonic() < self.unreachable_until:
            return self._hit(self.fallback, items)
        try:
            return self._hit(self.counters, items)
        except StorageError as failure:
            if self.fallback is None:
                raise
            log.warning("Rate-limit storage unreachable, counting in memory for %.0f s: %s", RETRY_SECONDS, failure)
            self.unreachable_until = time.monotonic() + RETRY_SECONDS
            return self._hit(self.fallback, items)

    @staticmethod
    def _hit(counters: MovingWindowRateLimiter, items) -> bool:
        # In order, stopping at the first limit reached (the device's, then the address's): a post
        # refused for its device does not use up the allowance of the other devices behind its address.
        return all(counters.hit(item, key) for item, key in items)


@functools.lru_cache(maxsize=64)
def _parsed(limit: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limit))


def init_app(app) -> None:
    """The points' counters, from ``POINT_LIMIT_STORAGE``, and the default limits."""
    app.config.setdefault("POINT_LIMIT_STORAGE", "memory://")
    app.config.setdefault("POINT_LIMIT_DEVICE", DEFAULT_DEVICE_LIMIT)
    app.config.setdefault("POINT_LIMIT_ADDRESS", DEFAULT_ADDRESS_LIMIT)
    app.config.setdefault("POINT_LIMIT_KIOSK", DEFAULT_KIOSK_LIMIT)
    app.extensions["survey.point_limits"] = PointLimits(app.config["POINT_LIMIT_STORAGE"])


def _limited(*checks):
    """A view that answers 429 once any of ``checks`` (each giving a limit and its key) is reached."""
    def decorate(view):
        @functools.wraps(view)
        def limited_view(*args, **kwargs):
            if not current_app.extensions["survey.point_limits"].allow([check() for check in checks]):
                abort(429)
            return view(*args, **kwargs)
        return limited_view
    return decorate


def _point() -> str:
    return (request.view_args or {}).get("token", "")


def device_key() -> str:
    device = request.cookies.get(DEVICE_COOKIE, "")
    if len(device) != 32 or not device.isalnum():
        device = "none:" + _address()
    return f"point:{_point()}:device:{device}"


def address_key() -> str:
    return f"point:{_point()}:address:{_address()}"


def device_limit() -> str:
    return current_app.config["POINT_LIMIT_DEVICE"]


def address_limit() -> str:
    return current_app.config["POINT_LIMIT_ADDRESS"]


def limited(view):
    """Both limits on a point's submission (a post view)."""
    return _limited(lambda: (device_limit(), device_key()), lambda: (address_limit(), address_key()))(view)


def kiosk_key() -> str:
    return f"kiosk:{_point()}"


def kiosk_limit() -> str:
    return current_app.config["POINT_LIMIT_KIOSK"]


def kiosk_limited(view):
    """The kiosk link's limit (a post view); no device cookie: the device is the kiosk."""
    return _limited(lambda: (kiosk_limit(), kiosk_key()))(view)


def give_device_cookie(response):
    """A device cookie for a visitor without one, scoped to the point's address (the request's own).

    The header is written here rather than by werkzeug's ``dump_cookie``, which
    quotes and dates it (``Expires`` from ``Max-Age``): on the point's page,
    the busiest public page, that cost a twentieth of the request. Every
    browser in use honours ``Max-Age``; the value and the path need no quoting
    (hexadecimal, and the path of a plausible token).
    """
    if DEVICE_COOKIE not in request.cookies:
        secure = "; Secure" if current_app.config.get("SESSION_COOKIE_SECURE", True) else ""
        response.headers.add("Set-Cookie", f"{DEVICE_COOKIE}={secrets.token_hex(16)}; "
                                           f"Max-Age={DEVICE_COOKIE_SECONDS}; Path={request.script_root}{request.path}; "
                                           f"HttpOnly; SameSite=Strict{secure}")
    return response
