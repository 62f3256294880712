"""Round administration pages (issue 3)."""

from flask import Blueprint

bp = Blueprint("rounds", __name__, url_prefix="/admin/rounds")
