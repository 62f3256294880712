"""The `survey` command: Flask's CLI bound to this app, plus our own groups.

Commands are thin wrappers over services.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from survey import migrate
from survey.accounts.models import ROLES


def _create_app():
    from survey import create_app
    from survey.config import ConfigError

    try:
        return create_app()
    except ConfigError as error:
        # An operator's mistake, not a bug: one line naming the setting, exit status 1, no traceback.
        raise click.ClickException(f"configuration: {error}") from None


class _SurveyGroup(FlaskGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        # Flask prints the whole traceback of an application that fails to
        # load while listing commands (`survey`, `survey --help`): a refused
        # configuration is the one line of _create_app instead.
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except click.ClickException as refused:
            refused.show()
            ctx.exit(refused.exit_code)
        return super().list_commands(ctx)


@click.group(cls=_SurveyGroup, create_app=_create_app)
def main() -> None:
    """Nền tảng khảo sát Chỉ số CCHC và SIPAS."""


def register_commands(app) -> None:
    from survey.backup import backup_command, restore_command

    db_group.add_command(backup_command)
    db_group.add_command(restore_command)
    app.cli.add_command(db_group)
    app.cli.add_command(questionnaires_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(users_group)
    from survey.assessment.cli import group as assessment_group
    from survey.invitations.cli import group as mail_group
    from survey.reports.cli import group as analysis_group
    from survey.roster.cli import group as roster_group
    from survey.rounds.cli import group as rounds_group

    for group in (rounds_group, roster_group, mail_group, analysis_group, assessment_group):
        app.cli.add_command(group)


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


@db_group.command("check-counts")
@click.option("--repair", is_flag=True, help="Rebuild the counts of the groups that differ from their answers.")
@with_appcontext
def db_check_counts(repair: bool) -> None:
    """Compare answer_counts, which submissions add to, with a GROUP BY over the answers."""
    from survey import db
    from survey.responses import counts

    with db.unit_of_work(write=repair) as session:
        differing = counts.differing_groups(session)
        if not differing:
            click.echo("Số đếm câu trả lời (answer_counts) khớp với các câu trả lời đã lưu.")
            return
        from survey.rounds.models import RoundGroup

        for group_id in differing:
            group = session.get(RoundGroup, group_id)
            click.echo(f"Số đếm không khớp với câu trả lời: đợt {group.round_id} “{group.round.title}”, "
                       f"nhóm {group.code} ({group.label}).", err=True)
        if not repair:
            sys.exit(1)
        counts.recount(session, differing)
    click.echo(f"Đã đếm lại {len(differing)} nhóm từ câu trả lời đã lưu.")


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
    if current_app.config.get("ENV_MODE") != "development":
        # The demo creates a system administrator whose password is published in the README.
        raise click.ClickException(
            "Lệnh demo chỉ chạy trong môi trường phát triển (SURVEY_ENV=development): nó tạo tài khoản "
            "quản trị hệ thống với mật khẩu công khai. Không có gì được ghi vào cơ sở dữ liệu.")
    from survey import db
    from survey.demo.data import DEMO_PASSWORD, demo_point, load_demo, load_demo_accounts
    from survey.questionnaire_registry import catalog

    with db.unit_of_work() as session:
        round_, links = load_demo(session, catalog())
        accounts = load_demo_accounts(session)
        base = current_app.config["BASE_URL"]
        click.echo(f"Trang quản trị: {base}/admin/  —  tài khoản minh họa (mật khẩu chung: {DEMO_PASSWORD}):")
        for email, role in accounts:
            click.echo(f"  {role:34} {email}")
        click.echo(f"Đợt khảo sát minh họa: {round_.title} (mã đợt {round_.id})")
        for link in links:
            click.echo(f"  {link.group_label:42} {link.full_name:24} {base}/r/{link.token}")
        point = demo_point(session, round_)
        click.echo(f"Điểm khảo sát SIPAS (người dân trả lời ẩn danh, không cần đăng nhập): {point.name}")
        click.echo(f"  trang của điểm (mã QR)   {base}/p/{point.token}")
        click.echo(f"  máy kiosk tại quầy       {base}/p/{point.kiosk_token}/kiosk")


# --- accounts -----------------------------------------------------------------------------

@click.group("users", help="Staff accounts.")
def users_group() -> None:
    pass


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--province", "province_code", help="province code (all roles but system_admin)")
@click.option("--agency", "agency_code", help="agency code (focal_point)")
@click.password_option("--password", help="at least 10 characters; prompted if omitted")
@with_appcontext
def users_create(email, full_name, role, province_code, agency_code, password) -> None:
    """Create a staff account (there is no self-registration)."""
    from sqlalchemy import select

    from survey import db
    from survey.accounts.services import AccountError, create_user
    from survey.rounds.models import Agency, Province

    with db.unit_of_work() as session:
        province = agency = None
        if province_code:
            province = session.scalar(select(Province).where(Province.code == province_code))
            if province is None:
                raise click.ClickException(f"Không có tỉnh mã {province_code}.")
        if agency_code:
            if province is None:
                raise click.ClickException("--agency cần --province.")
            agency = session.scalar(select(Agency).where(Agency.province_id == province.id, Agency.code == agency_code))
            if agency is None:
                raise click.ClickException(f"Không có cơ quan mã {agency_code} trong tỉnh {province_code}.")
        try:
            user = create_user(session, email=email, full_name=full_name, password=password, role=role,
                               province=province, agency=agency)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Đã tạo tài khoản {user.email} ({user.role_label}).")


@users_group.command("set-password")
@click.option("--email", required=True)
@click.password_option("--password", help="at least 10 characters; prompted if omitted")
@with_appcontext
def users_set_password(email, password) -> None:
    """Set a new password for an account (a forgotten one); every session of that account ends."""
    from survey import db
    from survey.accounts.services import AccountError, reset_password

    with db.unit_of_work() as session:
        try:
            user = reset_password(session, email, password)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Đã đặt mật khẩu mới cho {user.email}; các phiên đăng nhập của tài khoản này đã kết thúc.")
