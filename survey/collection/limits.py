"""Submission limits at a collection point, per device and per client address (Flask-Limiter).

Why Flask-Limiter: its moving-window counters are atomic in memory and in
Redis, with their own expiry, so concurrent posts over the limit are refused
without any code of ours, and the counters never reach the database, let
alone a table next to the answers. Storage comes from ``RATELIMIT_STORAGE_URI``
(setting ``SURVEY_RATE_LIMIT_STORAGE``): ``memory://`` by default, which
counts per process (one gunicorn worker, a test), or ``redis://127.0.0.1:6379``
to share the counters between workers and servers. If Redis is unreachable
the limiter falls back to memory instead of refusing citizens.

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
import secrets
import time

from flask import current_app, request
from flask_limiter import Limiter
from limits.storage import MemoryStorage

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
    the request waited 3 ms for each of 252 thread starts, about a quarter of the
    submission's time. Sweeping inline once a second frees the same memory.
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


limiter = Limiter(_address, strategy="moving-window", in_memory_fallback_enabled=True)


def init_app(app, blueprint: str) -> None:
    """The limiter, its request hooks confined to ``blueprint``'s requests."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    if app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = "survey-memory://"
    app.config.setdefault("POINT_LIMIT_DEVICE", DEFAULT_DEVICE_LIMIT)
    app.config.setdefault("POINT_LIMIT_ADDRESS", DEFAULT_ADDRESS_LIMIT)
    app.config.setdefault("POINT_LIMIT_KIOSK", DEFAULT_KIOSK_LIMIT)
    limiter.init_app(app)
    _confine_hooks(app, blueprint)


def _confine_hooks(app, blueprint: str) -> None:
    """Move the limiter's application-wide hooks to ``blueprint``'s scope.

    Flask-Limiter installs a before-request check, an after-request header
    hook and a teardown for every request of the application. Only the
    collection points' posts are limited (the decorators below), and on every
    other page the three hooks cost about 5 % of the respondent's page for
    nothing. In the blueprint's scope they run first among its hooks, as they
    did application-wide (Flask runs the application's hooks before a
    blueprint's, and there are none of the application's they must follow).
    """
    def is_limiters(hook) -> bool:
        owner = getattr(hook, "__self__", None)
        if owner is None and isinstance(hook, functools.partial):
            owner = hook.args[0] if hook.args else None
        return owner is limiter

    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        moved = [hook for hook in hooks.get(None, []) if is_limiters(hook)]
        if not moved:
            raise RuntimeError("Flask-Limiter registered no application-wide hook: review _confine_hooks")
        hooks[None] = [hook for hook in hooks[None] if not is_limiters(hook)]
        if hooks is app.before_request_funcs:
            moved = [_on_posts_only(hook) for hook in moved]
        hooks.setdefault(blueprint, [])[:0] = moved


def _on_posts_only(check):
    """The limiter's before-request check, skipped on page views.

    Every limit is on posts (the decorators below), yet the check resolves and
    filters the limits of every request: about a sixth of a point's page view.
    """
    @functools.wraps(check)
    def on_posts(*args, **kwargs):
        if request.method == "POST":
            return check(*args, **kwargs)
        return None
    return on_posts


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
    """Both limits on a point's submission (POST only)."""
    view = limiter.limit(device_limit, key_func=device_key, methods=["POST"], scope="point-device")(view)
    return limiter.limit(address_limit, key_func=address_key, methods=["POST"], scope="point-address")(view)


def kiosk_key() -> str:
    return f"kiosk:{_point()}"


def kiosk_limit() -> str:
    return current_app.config["POINT_LIMIT_KIOSK"]


def kiosk_limited(view):
    """The kiosk link's limit (POST only); no device cookie: the device is the kiosk."""
    return limiter.limit(kiosk_limit, key_func=kiosk_key, methods=["POST"], scope="point-kiosk")(view)


def give_device_cookie(response, path: str):
    if DEVICE_COOKIE not in request.cookies:
        response.set_cookie(DEVICE_COOKIE, secrets.token_hex(16), max_age=DEVICE_COOKIE_SECONDS, path=path,
                            httponly=True, samesite="Strict", secure=current_app.config.get("SESSION_COOKIE_SECURE", True))
    return response
