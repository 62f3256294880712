"""Roster pages: import, preview, confirm, edit, export (issue 3)."""

from flask import Blueprint

bp = Blueprint("roster", __name__, url_prefix="/admin")
