"""CSRF protection for the personal-link pages, bound to the link instead of a cookie.

Staff pages keep Flask-WTF's session-bound tokens. A respondent's forms carry
HMAC-SHA256(secret key, purpose, link token) instead:

* a page of another site cannot post a valid form without knowing the link,
  and whoever knows the link holds the respondent's credential anyway, so a
  session adds no protection here;
* the respondent's phone keeps no cookie from us (nothing left behind on a
  shared device, nothing refused by a mail app's built-in browser);
* no session is loaded, verified and signed on every page of the busiest path.

A re-issued link gets a new token, so a form from a revoked link is refused.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from flask_wtf.csrf import CSRFError

_PURPOSE = b"respond-form-token\x00"


def form_token(link_token: str) -> str:
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, _PURPOSE + link_token.encode(), hashlib.sha256).hexdigest()


def check_form_token(link_token: str, submitted: str | None) -> None:
    """Raise CSRFError (answered by the common Vietnamese error page) unless ``submitted`` fits the link."""
    if not submitted or not hmac.compare_digest(submitted.encode(), form_token(link_token).encode()):
        raise CSRFError("The form token is missing or does not belong to this link.")
