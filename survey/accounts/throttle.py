"""Sign-in throttling: exponential back-off per (account, client address).

Why not a lock of the account for everyone: behind a shared address (a reverse proxy
without SURVEY_PROXY_HOPS, an office's NAT) or with a known e-mail, anyone could keep a
real user out. Failures therefore count per account *and* address, and, over all accounts,
per address (with a higher allowance). After the free failures each further failure doubles
the wait, up to ``MAX_BACKOFF``. An attempt refused during a back-off is not checked and not
counted, so it cannot extend the wait. A success forgets the account's failures from that
address.

Kept in the database rather than in the collection points' rate-limit storage: every worker and process
shares it without Redis, administrators can list and clear locks (the limiter's storages
cannot enumerate their keys), and the back-off is driven by failed checks, not by requests.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.accounts.models import ANY_ACCOUNT, SYSTEM_ADMIN, SignInThrottle, User
from survey.timeutil import as_utc

FREE_FAILURES = 5  # per account and address
FREE_FAILURES_PER_ADDRESS = 30  # over all accounts from one address
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
# Failures older than this are forgotten: a user who mistypes now and then never backs off.
FORGET_AFTER = timedelta(hours=24)


def locked_until(session: Session, email: str, address: str, now: datetime) -> datetime | None:
    """The end of the back-off that refuses ``email`` from ``address`` now, if any."""
    ends = session.scalars(select(SignInThrottle.locked_until).where(
        SignInThrottle.address == address, SignInThrottle.email.in_((email, ANY_ACCOUNT)),
        SignInThrottle.locked_until.is_not(None))).all()
    ends = [as_utc(end) for end in ends if as_utc(end) > now]
    return max(ends, default=None)


def count_failure(session: Session, email: str, address: str, now: datetime) -> None:
    for key, free in ((email, FREE_FAILURES), (ANY_ACCOUNT, FREE_FAILURES_PER_ADDRESS)):
        row = _row_for_update(session, key, address, now)
        if now - as_utc(row.last_failure_at) > FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= free:
            doublings = min(row.failures - free, 16)  # past the cap anyway; keeps the number small
            row.locked_until = now + min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** doublings)
    session.flush()


def forget(session: Session, email: str, address: str) -> None:
    """A success from this address: the account's failures there no longer count."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.email == email, SignInThrottle.address == address))


def _row_for_update(session: Session, email: str, address: str, now: datetime) -> SignInThrottle:
    query = select(SignInThrottle).where(SignInThrottle.email == email, SignInThrottle.address == address)
    row = session.scalar(query.with_for_update())
    if row is not None:
        return row
    row = SignInThrottle(email=email, address=address, failures=0, last_failure_at=now)
    try:
        with session.begin_nested():  # a concurrent first failure may insert the same key
            session.add(row)
    except IntegrityError:
        row = session.scalar(query.with_for_update())
    return row


def throttles_in_scope(user: User) -> Select:
    """The throttles an administrator may see: a province administrator's, those of their province's accounts."""
    query = select(SignInThrottle).order_by(SignInThrottle.locked_until.desc(), SignInThrottle.last_failure_at.desc())
    if user.role != SYSTEM_ADMIN:
        query = query.where(SignInThrottle.email.in_(select(User.email).where(User.province_id == user.province_id)))
    return query


def is_locked(throttle: SignInThrottle, now: datetime) -> bool:
    return throttle.locked_until is not None and as_utc(throttle.locked_until) > now

