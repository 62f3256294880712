"""The `survey` command: Flask's CLI bound to this app, plus our own groups.

Commands are thin wrappers over services.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from survey import migrate


def _create_app():
    from survey import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main() -> None:
    """Nền tảng khảo sát Chỉ số CCHC và SIPAS."""


def register_commands(app) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(questionnaires_group)
    app.cli.add_command(demo_command)


# --- database -----------------------------------------------------------------------------

@click.group("db", help="Database schema migrations (Alembic).")
def db_group() -> None:
    pass


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database at revision {revision}.")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    migrate.current(current_app.config["DATABASE_URL"])


# --- questionnaires -----------------------------------------------------------------------

@click.group("questionnaires", help="List, check and compare questionnaire versions.")
def questionnaires_group() -> None:
    pass


@questionnaires_group.command("list")
@with_appcontext
def questionnaires_list() -> None:
    from survey.questionnaire_registry import catalog

    cat = catalog()
    for key in sorted(cat.keys()):
        for q in cat.versions(key):
            click.echo(f"{q.key:28} {q.version:8} {q.survey:6} {q.group_code:12} {len(q.questions):3} câu  {q.content_hash[:12]}  {q.title}")
    for (key, version), structure in sorted(cat.structures.items()):
        click.echo(f"[cấu trúc] {key} {version}: {structure.total_points:g} điểm, {structure.survey_points:g} điểm điều tra XHH")


@questionnaires_group.command("check")
@with_appcontext
def questionnaires_check() -> None:
    """Validate every file (done at start-up) and compare rounds' pinned hashes with the files."""
    from survey import db
    from survey.questionnaire_registry import check_rounds

    problems = check_rounds(db.session())
    for problem in problems:
        click.echo(f"LỖI: {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo("Tất cả phiếu hợp lệ; các đợt khảo sát dùng đúng phiên bản đã công bố.")


@questionnaires_group.command("diff")
@click.argument("key")
@click.argument("old_version")
@click.argument("new_version")
@with_appcontext
def questionnaires_diff(key: str, old_version: str, new_version: str) -> None:
    from questionnaires import diff_questionnaires
    from survey.questionnaire_registry import catalog

    cat = catalog()
    try:
        old, new = cat.get(key, old_version), cat.get(key, new_version)
    except KeyError as missing:
        raise click.ClickException(f"Không có phiếu {missing}") from None
    click.echo(diff_questionnaires(old, new).format())


# --- demo ---------------------------------------------------------------------------------

@click.command("demo", help="Load the Lào Cai 2023 demo round and print fresh personal links.")
@with_appcontext
def demo_command() -> None:
    from survey import db
    from survey.demo.data import load_demo
    from survey.questionnaire_registry import catalog

    with db.unit_of_work() as session:
        round_, links = load_demo(session, catalog())
        base = current_app.config["BASE_URL"]
        click.echo(f"Đợt khảo sát minh họa: {round_.title} (mã đợt {round_.id})")
        for link in links:
            click.echo(f"  {link.group_label:42} {link.full_name:24} {base}/r/{link.token}")
