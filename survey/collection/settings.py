"""Settings of the collection points, from the environment, checked at start-up (survey.config)."""

from __future__ import annotations

from limits import parse_many

from survey.collection.limits import DEFAULT_ADDRESS_LIMIT, DEFAULT_DEVICE_LIMIT, DEFAULT_KIOSK_LIMIT

# Kiosk pages restart after this long without a touch, and this long after the thanks.
DEFAULT_KIOSK_IDLE_SECONDS = 120
DEFAULT_KIOSK_THANKS_SECONDS = 8


def from_environment(env, error) -> dict:
    storage = env.get("SURVEY_RATE_LIMIT_STORAGE", "memory://")
    if not storage.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        raise error("SURVEY_RATE_LIMIT_STORAGE must be memory:// or a redis:// address")
    device = env.get("SURVEY_POINT_LIMIT_DEVICE", DEFAULT_DEVICE_LIMIT)
    address = env.get("SURVEY_POINT_LIMIT_ADDRESS", DEFAULT_ADDRESS_LIMIT)
    kiosk = env.get("SURVEY_POINT_LIMIT_KIOSK", DEFAULT_KIOSK_LIMIT)
    for name, value in (("SURVEY_POINT_LIMIT_DEVICE", device), ("SURVEY_POINT_LIMIT_ADDRESS", address),
                        ("SURVEY_POINT_LIMIT_KIOSK", kiosk)):
        try:
            parse_many(value)
        except ValueError:
            raise error(f"{name} must read like '5 per hour', not {value!r}") from None
    try:
        burst = int(env.get("SURVEY_POINT_BURST", "20"))
    except ValueError:
        raise error("SURVEY_POINT_BURST must be a whole number") from None
    if burst < 2:
        raise error("SURVEY_POINT_BURST must be at least 2")
    seconds = {}
    for name, default, least in (("SURVEY_KIOSK_IDLE_SECONDS", DEFAULT_KIOSK_IDLE_SECONDS, 5),
                                 ("SURVEY_KIOSK_THANKS_SECONDS", DEFAULT_KIOSK_THANKS_SECONDS, 1)):
        try:
            seconds[name] = int(env.get(name, str(default)))
        except ValueError:
            raise error(f"{name} must be a whole number of seconds") from None
        if seconds[name] < least:
            raise error(f"{name} must be at least {least}")
    return {"POINT_LIMIT_STORAGE": storage, "POINT_LIMIT_DEVICE": device, "POINT_LIMIT_ADDRESS": address,
            "POINT_LIMIT_KIOSK": kiosk, "POINT_BURST": burst,
            "KIOSK_IDLE_SECONDS": seconds["SURVEY_KIOSK_IDLE_SECONDS"],
            "KIOSK_THANKS_SECONDS": seconds["SURVEY_KIOSK_THANKS_SECONDS"]}
