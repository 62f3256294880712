"""Personal links: 192 random bits, only their SHA-256 stored."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from survey.respond.models import AccessLink
from survey.roster.models import Respondent
from survey.timeutil import utcnow

TOKEN_BYTES = 24  # 192 bits, URL-safe base64: 32 characters
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def issue_link(session: Session, respondent: Respondent) -> str:
    """A new link for ``respondent``, revoking the previous one; the token is shown once, never stored."""
    return issue_links(session, [respondent.id])[respondent.id]


_BATCH = 500


def issue_links(session: Session, respondent_ids: list[int]) -> dict[int, str]:
    """New links for many people at once (a campaign, an export): respondent id -> token.

    Earlier links of the same people are revoked. Bulk statements per 500 people,
    so a province-wide campaign stays one short web request.
    """
    now = utcnow()
    tokens: dict[int, str] = {}
    for start in range(0, len(respondent_ids), _BATCH):
        chunk = respondent_ids[start:start + _BATCH]
        session.execute(
            update(AccessLink).where(AccessLink.respondent_id.in_(chunk), AccessLink.revoked_at.is_(None))
            # "fetch": links already loaded in this session see their revocation.
            .values(revoked_at=now).execution_options(synchronize_session="fetch")
        )
        rows = []
        for respondent_id in chunk:
            token = secrets.token_urlsafe(TOKEN_BYTES)
            tokens[respondent_id] = token
            rows.append({"respondent_id": respondent_id, "token_hash": hash_token(token), "issued_at": now})
        session.execute(insert(AccessLink), rows)
    return tokens


def hash_token_if_plausible(token: str) -> str | None:
    """The hash to look up, or None for a string that cannot be a token (no query needed)."""
    return hash_token(token) if _TOKEN_SHAPE.match(token) else None


def find_active_link(session: Session, token: str) -> AccessLink | None:
    """The unrevoked link for ``token``; None for anything malformed, unknown or revoked."""
    token_hash = hash_token_if_plausible(token)
    if token_hash is None:
        return None
    return session.scalar(
        select(AccessLink).where(AccessLink.token_hash == token_hash, AccessLink.revoked_at.is_(None))
    )


def record_opened(session: Session, link) -> None:
    """Set the first opening of ``link`` (anything with ``id`` and ``first_opened_at``) once.

    Later visits see it on the loaded link and write nothing.

    The UPDATE keeps its own IS NULL guard, so two first visits at once still record one time.
    """
    if link.first_opened_at is not None:
        return
    session.execute(
        update(AccessLink).where(AccessLink.id == link.id, AccessLink.first_opened_at.is_(None))
        .values(first_opened_at=utcnow()).execution_options(synchronize_session=False)
    )
