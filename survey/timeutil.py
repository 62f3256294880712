"""Time in one place: UTC in the database, Vietnam time on screens."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Datetimes read back from SQLite are naive; they were stored as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def week_start(moment: datetime) -> date:
    """Monday of the Vietnam-time week of ``moment``: how coarsely responses keep time."""
    local = as_utc(moment).astimezone(VIETNAM).date()
    return local - timedelta(days=local.weekday())


def format_local(moment: datetime) -> str:
    return as_utc(moment).astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")
