"""The parts of a collection point's form that are the same for every citizen, rendered once and reused.

A point's page is the questionnaire's every section plus the province's list
of procedures (200 in the benchmark, 17 KB of options). Both depend only on
what they are keyed by here: the sections on the questionnaire version
(immutable, named by its content hash) and the round's year; the procedure
list on the rows read for this very request, so a list changed by an import
is a different key and is never served stale. Escaping every label and every
option on every page was most of the page's time. A page re-shown with the
citizen's answers or chosen procedure (a refused form, rare) is rendered
without the cache, so the cache holds only the empty form.
"""

from __future__ import annotations

from flask import current_app
from markupsafe import Markup

from survey.collection.forms import entry_length_limit
# The respondent's pages' bounded cache of rendered markup; the keys here never meet theirs
# (each starts with a name of its own).
from survey.respond.fragments import cached_markup


def _macro(name: str):
    return getattr(current_app.jinja_env.get_template("collection/_point_fragments.html").module, name)


def procedures_markup(procedures: tuple, chosen: str = "") -> Markup:
    """The procedure ``<select>``, grouped by field; ``procedures`` as ``PointVisit.procedures``."""
    if chosen:
        return Markup(_macro("procedure_select")(procedures, chosen))
    # The rows themselves are the key: comparing 200 short tuples costs microseconds, and
    # no version number can fall behind the table.
    return cached_markup(("procedures", procedures), lambda: _macro("procedure_select")(procedures, ""))


def sections_markup(questionnaire, year: int | None, answers: dict) -> Markup:
    """Every section of the questionnaire with its questions, ``[năm]`` replaced by the round's year."""
    if answers:
        return Markup(_macro("sections")(questionnaire, year, answers))
    return cached_markup(("sections", questionnaire.content_hash, year), lambda: _macro("sections")(questionnaire, year, {}))


# --- the paper entry page: a clerk keys form after form of the same version -----------------

def paper_procedure_codes(procedures: tuple) -> Markup:
    """The ``<datalist>`` of the province's procedure codes; ``procedures`` as (id, code, name) rows."""
    return cached_markup(("paper-procedures", procedures), lambda: _macro("paper_procedure_codes")(procedures))


def paper_question_text(questionnaire, question) -> Markup:
    """A question's text and the codes of its options, as the clerk reads them beside the input."""
    return cached_markup(("paper-text", questionnaire.content_hash, question.code),
                   lambda: _macro("paper_question_text")(question))


def paper_entry_input(questionnaire, question, value, *, invalid: bool, autofocus: bool) -> Markup:
    """A question's input: the markup WTForms' ``field(...)`` wrote, its fixed attributes rendered once.

    The attributes stay in WTForms' (alphabetical) order, so the page reads as it did.
    """
    fixed = cached_markup(("paper-input", questionnaire.content_hash, question.code),
                    lambda: _macro("paper_input_attributes")(question, entry_length_limit(question)))
    described = Markup(' aria-describedby="h_') + question.code + Markup('"') if question.kind != "text" else ""
    return (Markup("<input") + described + Markup(' aria-invalid="true"' if invalid else ' aria-invalid="false"')
            + Markup(" autofocus" if autofocus else "") + Markup(" ") + fixed + Markup(' type="text" value="')
            + (value or "") + Markup('">'))
