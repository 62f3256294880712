"""Rendered markup that depends only on an immutable questionnaire version, cached.

A question's HTML depends only on the questionnaire version (immutable, named
by its content hash) and on the respondent's current answer to it; the list of
sections depends only on the version and the current section (its links are
relative, so no token is in it). Both are rendered once and reused: escaping
every label on every page view was the largest cost of the respondent's most
frequent request.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from markupsafe import Markup

from questionnaires import Questionnaire

_LIMIT = 8192  # distinct fragments kept; plenty for a province's forms
_cache: dict[tuple, Markup] = {}


def cached_markup(key: tuple, render: Callable[[], str]) -> Markup:
    """The markup of ``key``, rendered once (also used by the collection points' pages, whose keys
    begin with their own names, never with a content hash as these do)."""
    markup = _cache.get(key)
    if markup is None:
        if len(_cache) >= _LIMIT:
            _cache.clear()
        markup = _cache[key] = Markup(render())
    return markup


def _macro(template: str, name: str):
    return getattr(current_app.jinja_env.get_template(template).module, name)


def question_markup(questionnaire: Questionnaire, code: str, value) -> Markup:
    frozen = tuple(value) if isinstance(value, list) else value
    # The content hash, not the object, keys the cache: a republished file is another entry,
    # and hashing the frozen questionnaire would walk its whole tree on every call.
    return cached_markup(
        (questionnaire.content_hash, "question", code, frozen),
        lambda: _macro("respond/_question.html", "question_fieldset")(
            questionnaire.question(code), {code: value} if value else {}),
    )


def section_questions_markup(questionnaire: Questionnaire, section, answers: dict) -> Markup:
    """Every question of ``section`` with the respondent's answers: one template call, not one per question."""
    return Markup("").join(question_markup(questionnaire, q.code, answers.get(q.code)) for q in section.questions)


def section_list_markup(questionnaire: Questionnaire, current: int) -> Markup:
    """The quick links to every section, relative to a section page's own address."""
    return cached_markup(
        (questionnaire.content_hash, "sections", current),
        lambda: _macro("respond/_section_list.html", "section_list")(questionnaire.sections, current),
    )


def answer_markup(questionnaire: Questionnaire, code: str, value) -> Markup:
    """A question and the answer given to it, as the review page lists them."""
    frozen = tuple(value) if isinstance(value, list) else value
    return cached_markup(
        (questionnaire.content_hash, "answer", code, frozen),
        lambda: _macro("respond/_answer.html", "answer_item")(questionnaire.question(code), value),
    )


def section_answers_markup(questionnaire: Questionnaire, section, answers: dict) -> Markup:
    """Every question of ``section`` with the answer given, for the review page."""
    return Markup("").join(answer_markup(questionnaire, q.code, answers.get(q.code)) for q in section.questions)
