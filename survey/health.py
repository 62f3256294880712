"""``GET /healthz`` for load balancers and monitoring: is the database answering?

It says "ok" or "unavailable" and nothing else (no version, no error text):
the address is public. No session is opened and nothing is audited.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

# Reads the schema's own table: on SQLite, SELECT 1 succeeds even on an empty
# file created by mistake in the wrong place.
PROBE = text("SELECT version_num FROM alembic_version")


@bp.get("/healthz")
def healthz():
    try:
        # The statement-by-statement engine: one round trip, no BEGIN/COMMIT.
        with current_app.extensions["survey.statement_engine"].connect() as connection:
            connection.execute(PROBE).first()
    except SQLAlchemyError:
        log.warning("health check: the database did not answer", exc_info=True)
        return _plain("unavailable", 503)
    return _plain("ok", 200)


def _plain(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain", headers={"Cache-Control": "no-store"})
