"""What a request may carry, checked once before any view runs.

PostgreSQL refuses a NUL in text ("A string literal cannot contain NUL"), and
an id beyond its ``integer`` type fails the bound cast: both used to surface
as a 500 from deep inside a service. Refusing them here keeps every view and
service free of such checks.
"""

from __future__ import annotations

import re

from flask import Flask, jsonify, render_template, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

# C0 controls but tab, newline and carriage return (which a textarea sends), DEL, and C1 controls:
# none has a meaning in a name, an address or an answer, and NUL cannot be stored at all.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# The largest value of the ``integer`` columns every id lives in (PostgreSQL and SQLite alike).
LARGEST_ID = 2**31 - 1

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

REFUSAL_TITLE = "Dữ liệu gửi lên không hợp lệ"
REFUSAL_TEXT = ("Dữ liệu gửi lên có ký tự điều khiển không được phép (ví dụ ký tự NUL). "
                "Vui lòng xoá ký tự đó (thường do sao chép từ tài liệu khác) và thử lại; dữ liệu chưa được ghi.")


class BoundedInt(IntegerConverter):
    """Flask's ``int`` converter, bounded by the database's integer: a larger id is simply not found (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=LARGEST_ID, signed=False):  # werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    """Install the bounded ``int`` converter and the check of request data.

    Call after the hook that sets body limits (the check parses the form) and
    before blueprints are registered (routes bind their converters then).
    """
    app.url_map.converters["int"] = BoundedInt
    app.before_request(refuse_control_characters)


def refuse_control_characters():
    texts = [*request.args.items(multi=True), *(request.view_args or {}).items()]
    if request.mimetype in FORM_TYPES:
        if request.blueprint == "respond":
            # A respondent cannot see, and so cannot remove, a NUL pasted into
            # an answer: refusing it would block their submission for good. It
            # carries no meaning, so it is dropped instead. One search over the
            # whole form first: nearly every form has none to drop.
            items = list(request.form.items(multi=True))
            if CONTROL_CHARACTERS.search("\n".join(text for item in items for text in item)):
                request.form = ImmutableMultiDict(
                    [(CONTROL_CHARACTERS.sub("", key), CONTROL_CHARACTERS.sub("", value)) for key, value in items])
        else:
            texts += request.form.items(multi=True)
            texts += [(name, upload.filename or "") for name, upload in request.files.items(multi=True)]
    elif request.is_json:
        texts.append(("", request.get_json(silent=True)))
    if not _any_control(texts):
        return None
    if request.is_json or request.headers.get("X-Requested-With"):
        return jsonify(ok=False, message=REFUSAL_TEXT), 400
    return render_template("errors/error.html", title=REFUSAL_TITLE, message=REFUSAL_TEXT), 400


def _any_control(pairs) -> bool:
    flat = [text for pair in pairs for text in pair]
    if all(isinstance(text, str) for text in flat):
        # One search over the whole request (newline is allowed): a form of 40 answers is 80 searches otherwise.
        return CONTROL_CHARACTERS.search("\n".join(flat)) is not None
    return any(_has_control(text) for text in flat)


def _has_control(value) -> bool:
    if isinstance(value, str):
        return CONTROL_CHARACTERS.search(value) is not None
    if isinstance(value, dict):
        return any(_has_control(k) or _has_control(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_control(v) for v in value)
    return False
