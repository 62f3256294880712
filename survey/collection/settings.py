"""Settings of the collection points, from the environment, checked at start-up (survey.config)."""

from __future__ import annotations

from limits import parse_many

from survey.collection.limits import DEFAULT_ADDRESS_LIMIT, DEFAULT_DEVICE_LIMIT


def from_environment(env, error) -> dict:
    storage = env.get("SURVEY_RATE_LIMIT_STORAGE", "memory://")
    if not storage.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        raise error("SURVEY_RATE_LIMIT_STORAGE must be memory:// or a redis:// address")
    device = env.get("SURVEY_POINT_LIMIT_DEVICE", DEFAULT_DEVICE_LIMIT)
    address = env.get("SURVEY_POINT_LIMIT_ADDRESS", DEFAULT_ADDRESS_LIMIT)
    for name, value in (("SURVEY_POINT_LIMIT_DEVICE", device), ("SURVEY_POINT_LIMIT_ADDRESS", address)):
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
    return {"RATELIMIT_STORAGE_URI": storage, "POINT_LIMIT_DEVICE": device, "POINT_LIMIT_ADDRESS": address,
            "POINT_BURST": burst}
