"""Versioned questionnaires and PAR Index structures: data files, their schema and loader.

Pure Python (PyYAML + jsonschema); never imports flask, sqlalchemy or ``survey`` so that
the web app, the CLI and ``analysis`` can all share it. See FORMAT.md for the file formats.
"""

from .diff import QuestionnaireDiff, diff_questionnaires
from .loader import DEFAULT_ROOT, Catalog, load_catalog, load_questionnaire, load_structure
from .model import (
    Criterion,
    Field,
    LoadError,
    Option,
    Problem,
    Question,
    Questionnaire,
    Scale,
    Section,
    Structure,
    SubCriterion,
)

__all__ = [
    "DEFAULT_ROOT",
    "Catalog",
    "Criterion",
    "Field",
    "LoadError",
    "Option",
    "Problem",
    "Question",
    "Questionnaire",
    "QuestionnaireDiff",
    "Scale",
    "Section",
    "Structure",
    "SubCriterion",
    "diff_questionnaires",
    "load_catalog",
    "load_questionnaire",
    "load_structure",
]
