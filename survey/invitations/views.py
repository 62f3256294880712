"""Invitation, reminder and monitoring pages (issue 4)."""

from flask import Blueprint

bp = Blueprint("invitations", __name__, url_prefix="/admin")
