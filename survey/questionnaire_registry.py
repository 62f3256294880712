"""The questionnaire catalog of a running app, and the immutability check.

The catalog is loaded once at start-up (a broken file stops the start with
every problem listed). A round pins the content hash of each questionnaire it
uses; if the file has changed since, that round's pages are refused rather
than served with questions the earlier respondents never saw.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

from flask import current_app

from questionnaires import DEFAULT_ROOT, Catalog, Questionnaire, load_catalog

log = logging.getLogger(__name__)


class QuestionnaireChanged(RuntimeError):
    """The file of a questionnaire version in use no longer matches the pinned hash."""

    def __init__(self, questionnaire: Questionnaire, pinned_hash: str):
        self.questionnaire = questionnaire
        self.pinned_hash = pinned_hash
        super().__init__(
            f"{questionnaire.path}: questionnaire {questionnaire.key} version {questionnaire.version} "
            f"has changed since a round started using it (pinned {pinned_hash[:12]}, file now "
            f"{questionnaire.content_hash[:12]}). A version in use is immutable: restore the file "
            f"and publish the change as a new version."
        )


class QuestionnaireMissing(RuntimeError):
    pass


def init_app(app) -> None:
    root = Path(app.config.get("QUESTIONNAIRE_DIR") or DEFAULT_ROOT).resolve()
    app.extensions["survey.catalog"] = _catalog_of(root, _contents_digest(root))


@lru_cache(maxsize=4)
def _catalog_of(root: Path, digest: str) -> Catalog:
    # Parsing and schema-checking the folder takes most of an app's start (about 0.8 s); an
    # app built again in the same process over the same files (the CLI's commands, each test)
    # shares the catalog, which nothing modifies after loading. Any change of a file's bytes
    # gives another digest, so an edited folder is always read again, and its problems reported.
    return load_catalog(root)


def _contents_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def catalog() -> Catalog:
    return current_app.extensions["survey.catalog"]


def pinned_questionnaire(key: str, version: str, pinned_hash: str, cat: Catalog | None = None) -> Questionnaire:
    cat = cat or catalog()
    try:
        questionnaire = cat.get(key, version)
    except KeyError:
        raise QuestionnaireMissing(f"questionnaire {key} version {version} is not in the catalog") from None
    if questionnaire.content_hash != pinned_hash:
        raise QuestionnaireChanged(questionnaire, pinned_hash)
    return questionnaire


def check_rounds(session) -> list[str]:
    """Every round group whose pinned questionnaire is missing or has changed."""
    from sqlalchemy import select

    from survey.rounds.models import RoundGroup

    problems = []
    for group in session.scalars(select(RoundGroup).order_by(RoundGroup.round_id, RoundGroup.position)):
        try:
            pinned_questionnaire(group.questionnaire_key, group.questionnaire_version, group.questionnaire_hash)
        except (QuestionnaireChanged, QuestionnaireMissing) as problem:
            problems.append(f"round {group.round_id} group {group.code}: {problem}")
    return problems
