"""Rendered question markup, cached.

A question's HTML depends only on the questionnaire version (immutable, named
by its content hash) and on the respondent's current answer to it, so it can be
rendered once and reused: escaping every option label on every page view was
the largest cost of the respondent's most frequent request.
"""

from __future__ import annotations

from flask import current_app
from markupsafe import Markup

from questionnaires import Questionnaire

_LIMIT = 8192  # distinct (version, question, answer) fragments kept; plenty for a province's forms
_cache: dict[tuple, Markup] = {}


def question_markup(questionnaire: Questionnaire, code: str, value) -> Markup:
    frozen = tuple(value) if isinstance(value, list) else value
    # The content hash, not the object, keys the cache: a republished file is another entry,
    # and hashing the frozen questionnaire would walk its whole tree on every call.
    key = (questionnaire.content_hash, code, frozen)
    markup = _cache.get(key)
    if markup is None:
        if len(_cache) >= _LIMIT:
            _cache.clear()
        macro = current_app.jinja_env.get_template("respond/_question.html").module.question_fieldset
        markup = Markup(macro(questionnaire.question(code), {code: value} if value else {}))
        _cache[key] = markup
    return markup
