"""SIPAS where citizens are: collection points with QR codes and their abuse controls (issue 16).

A new way of collecting answers, built as docs/design.md asks: its own
models, services and pages, storing every response through
``survey.responses.store_response`` with its channel, point and procedure.
"""

from __future__ import annotations


def init_app(app) -> None:
    """Register the submission limits and both blueprints (called by survey.create_app)."""
    from survey.collection import kiosk_views, limits, paper_views  # noqa: F401  (their routes join the blueprints)
    from survey.collection.cli import group
    from survey.collection.views import admin, public

    app.config.setdefault("POINT_BURST", 20)
    limits.init_app(app)
    app.register_blueprint(public)
    app.register_blueprint(admin)
    app.cli.add_command(group)
