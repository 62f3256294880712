"""`survey roster …` commands: thin wrappers over services."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from survey.rounds.cli import round_or_fail

group = click.Group("roster", help="Respondent roster import and export.")


@group.command("discard-stale")
@with_appcontext
def discard_stale_command() -> None:
    """Discard the uploaded lists left at their preview for more than 24 hours (for cron)."""
    from survey import db
    from survey.roster.imports import discard_stale_imports

    with db.unit_of_work() as session:
        count = discard_stale_imports(session)
    click.echo(f"Đã hủy {count} bản xem trước quá 24 giờ (tệp và các dòng đã đọc được xóa).")


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--round", "round_id", type=int, required=True, help="round id")
@click.option("--agency", "agency_code", help="import into this agency only (as its focal point would)")
@click.option("--yes", is_flag=True, help="apply without asking when the preview has no problems")
@with_appcontext
def import_command(file: Path, round_id: int, agency_code: str | None, yes: bool) -> None:
    """Preview FILE (.xlsx/.csv) against the round's roster, then apply it all or nothing."""
    from sqlalchemy import select

    from survey import db
    from survey.rounds.models import Agency
    from survey.roster import imports
    from survey.roster.current import RosterError
    from survey.roster.importing import ImportRefused

    content = file.read_bytes()
    with db.unit_of_work() as session:
        round_ = round_or_fail(session, round_id)
        agency = None
        if agency_code:
            agency = session.scalar(select(Agency).where(Agency.province_id == round_.province_id,
                                                         Agency.code == agency_code))
            if agency is None:
                raise click.ClickException(f"Không có cơ quan mã {agency_code}.")
        # The progress bar counts sheet rows read (the slow part on large workbooks).
        with click.progressbar(length=max(1, len(content) // 150), label="Đọc tệp", file=sys.stderr) as bar:
            try:
                imp = imports.start_import(session, round_, filename=file.name, content=content, user=None,
                                            agency=agency, progress=bar.update)
            except (ImportRefused, RosterError) as problem:
                raise click.ClickException(str(problem)) from None
            bar.update(bar.length)
        s = imp.summary
        click.echo(f"Dòng tiêu đề {s['header_row']}; {imp.row_count} dòng dữ liệu: thêm {s['add']}, "
                   f"cập nhật {s['update']}, không đổi {s['unchanged']}, lỗi {s['errors']}, trùng {s['duplicates']}, "
                   f"bỏ qua {s['skipped']}, cảnh báo {s['warning']}, cần quyết định {s['conflicts']}.")
        for problem in imp.problems[:200]:
            click.echo(f"  dòng {problem['row']}, {problem['column'] or 'cả dòng'}: {problem['message']}", err=True)
        if imports.blocking_problems(imp):
            raise click.ClickException("Danh sách còn lỗi hoặc trùng lặp; không có gì được ghi.")
        # Keeping or moving someone listed elsewhere is decided by a person on the preview page:
        # the preview is kept (committed with this unit of work) for the web, nobody is written.
        waiting = imp.id if s["conflicts"] else None
        if waiting is None:
            if not (yes or click.confirm("Ghi các thay đổi này?", default=False)):
                raise click.ClickException("Đã hủy; không có gì được ghi.")
            try:
                applied = imports.confirm_import(session, imp)
            except RosterError as problem:
                raise click.ClickException(str(problem)) from None
    if waiting is not None:
        raise click.ClickException(
            f"{s['conflicts']} người đã có trong danh sách ở nhóm hoặc cơ quan khác: hãy quyết định trên trang xem "
            f"trước /admin/imports/{waiting} (giữ trong 24 giờ); chưa có ai được ghi vào danh sách.")
    click.echo(f"Đã ghi: thêm {applied.added}, cập nhật {applied.updated}, không đổi {applied.unchanged}.")


@group.command("export")
@click.option("--round", "round_id", type=int, required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help=".xlsx (Ministry layout, one sheet per group) or .csv")
@with_appcontext
def export_command(round_id: int, out: Path) -> None:
    """Write the consolidated list in the Ministry's layout."""
    from survey import db
    from survey.roster.exports import FORMATS, export_roster

    kind = out.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise click.ClickException("--out phải là tệp .xlsx hoặc .csv")
    with db.unit_of_work() as session:
        body, count = export_roster(session, round_or_fail(session, round_id), kind)
        out.write_bytes(body)
    click.echo(f"Đã xuất {count} người vào {out}.")
