"""Analysts' pages and downloads (issue 5)."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/admin")
