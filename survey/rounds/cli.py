"""`survey rounds …` commands: thin wrappers over services."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from survey.rounds import services as round_services
from survey.timeutil import VIETNAM

group = click.Group("rounds", help="Survey rounds.")


def _moment(value: str) -> datetime:
    """'2023-12-01' or '2023-12-01T08:00', Vietnam time."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=VIETNAM).astimezone(UTC)
    except ValueError:
        raise click.BadParameter(f"không phải ngày giờ: {value}") from None


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"không phải ngày: {value}") from None


def round_or_fail(session, round_id: int):
    from survey.rounds.models import Round

    round_ = session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"Không có đợt khảo sát mã {round_id}.")
    return round_


@group.command("list")
@with_appcontext
def list_command() -> None:
    from sqlalchemy import select

    from survey import db
    from survey.rounds.models import Round

    for round_ in db.session().scalars(select(Round).order_by(Round.year, Round.id)):
        groups = ", ".join(f"{g.code}={g.questionnaire_key}@{g.questionnaire_version}" for g in round_.groups)
        click.echo(f"{round_.id:4} {round_.year} {round_.province.code:6} {round_.state():9} {round_.title}  [{groups}]")


@group.command("create")
@click.option("--province", "province_code", required=True)
@click.option("--year", type=int, required=True)
@click.option("--title", required=True)
@click.option("--opens", required=True, help="YYYY-MM-DD[THH:MM], Vietnam time")
@click.option("--closes", required=True, help="YYYY-MM-DD[THH:MM], Vietnam time")
@click.option("--group", "groups", multiple=True, help="KEY:VERSION of a published questionnaire, repeatable")
@click.option("--ministry-deadline", help="YYYY-MM-DD (default 10/12 of the year)")
@with_appcontext
def create_command(province_code, year, title, opens, closes, groups, ministry_deadline) -> None:
    """Create a round with the 2023 plan's milestones."""
    from sqlalchemy import select

    from survey import db
    from survey.questionnaire_registry import catalog
    from survey.rounds.models import Province
    from survey.rounds.services import GroupBinding, RoundError, create_round

    bindings = []
    for spec in groups:
        key, _, version = spec.partition(":")
        if not version:
            raise click.BadParameter(f"--group {spec}: dạng KEY:VERSION")
        bindings.append(GroupBinding(key, version))
    with db.unit_of_work() as session:
        province = session.scalar(select(Province).where(Province.code == province_code))
        if province is None:
            raise click.ClickException(f"Không có tỉnh mã {province_code}.")
        try:
            round_ = create_round(session, catalog(), province=province, year=year, title=title,
                                  opens_at=_moment(opens), closes_at=_moment(closes), bindings=bindings,
                                  ministry_deadline=_day(ministry_deadline) if ministry_deadline else None)
        except RoundError as problem:
            raise click.ClickException(str(problem)) from None
        click.echo(f"Đã tạo đợt khảo sát mã {round_.id}.")


@group.command("bind")
@click.argument("round_id", type=int)
@click.argument("key")
@click.argument("version")
@with_appcontext
def bind_command(round_id: int, key: str, version: str) -> None:
    """Add a group, or move it to another questionnaire version (before the round opens); shows the diff."""
    from questionnaires import diff_questionnaires
    from survey import db
    from survey.questionnaire_registry import catalog
    from survey.rounds.services import GroupBinding, RoundError, bind_group, previous_version

    cat = catalog()
    with db.unit_of_work() as session:
        round_ = round_or_fail(session, round_id)
        try:
            group_ = bind_group(session, cat, round_, GroupBinding(key, version))
        except RoundError as problem:
            raise click.ClickException(str(problem)) from None
    previous = previous_version(cat, key, version)
    click.echo(f"Nhóm {group_.code} dùng {key} {version}.")
    if previous is not None:
        click.echo(diff_questionnaires(previous, cat.get(key, version)).format())


def _state_command(name: str, action):
    @group.command(name)
    @click.argument("round_id", type=int)
    @with_appcontext
    def command(round_id: int) -> None:
        from survey import db
        from survey.rounds.services import RoundError

        with db.unit_of_work() as session:
            round_ = round_or_fail(session, round_id)
            try:
                action(session, round_)
            except RoundError as problem:
                raise click.ClickException(str(problem)) from None
        click.echo(f"Đợt {round_id}: {round_.state()}.")

    command.__doc__ = f"{name.capitalize()} the round now (sets its window)."
    return command


_state_command("open", round_services.open_round)
_state_command("close", round_services.close_round)


@group.command("import-agencies")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--province", "province_code", required=True)
@with_appcontext
def import_agencies_command(file: Path, province_code: str) -> None:
    """Create or update a province's agencies from a .csv/.xlsx with columns code, name, kind."""
    from sqlalchemy import select

    from survey import db
    from survey.rounds.agencies import AgencyError, agency_rows_from_file, import_agencies
    from survey.rounds.models import Province

    with db.unit_of_work() as session:
        province = session.scalar(select(Province).where(Province.code == province_code))
        if province is None:
            raise click.ClickException(f"Không có tỉnh mã {province_code}.")
        try:
            added, updated = import_agencies(session, province, agency_rows_from_file(file.read_bytes(), file.name),
                                             source=file.name)
        except AgencyError as problem:
            raise click.ClickException(str(problem)) from None
    click.echo(f"Đã thêm {added} và cập nhật {updated} cơ quan, đơn vị.")
