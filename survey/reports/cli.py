"""`survey analysis …` commands: thin wrappers over the reports services."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click
from flask.cli import with_appcontext

from survey import db
from survey.questionnaire_registry import catalog
from survey.reports import computation, freezing
from survey.reports.exports import write_report_directory
from survey.reports.options import OptionsError, parse_options
from survey.rounds.models import Round

group = click.Group("analysis", help="Index computation and reports.")

_STEP_VI = {
    "counts": "đếm câu trả lời trong cơ sở dữ liệu", "respondents": "khoảng tin cậy theo người trả lời",
    "weights": "trọng số hậu phân tầng",
    "items": "điểm từng câu hỏi", "subcriteria": "điểm tiêu chí thành phần", "fields": "tổng theo lĩnh vực",
    "frequencies": "tần suất", "sipas": "chỉ số SIPAS", "par": "Chỉ số CCHC", "reliability": "độ tin cậy (Cronbach)",
    "xlsx": "ghi bảng tính .xlsx", "csv": "ghi CSV", "sav": "ghi SPSS .sav", "pdf": "ghi báo cáo PDF",
}


def _options(dont_know, pooling, weighting, hidden_groups, min_cell):
    try:
        return parse_options({"dont_know": dont_know, "pooling": pooling, "weighting": weighting,
                              "hidden_groups": hidden_groups, "min_cell": "" if min_cell is None else str(min_cell)})
    except OptionsError as problem:
        raise click.BadParameter(str(problem)) from None


def _progress(quiet: bool):
    def notify(step: str) -> None:
        if not quiet:
            click.echo(f"… {_STEP_VI.get(step, step)}", err=True)
    return notify


def _round(session, round_id: int) -> Round:
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise click.ClickException(f"Không có đợt khảo sát {round_id}.")
    return round_


def _compute(session, round_, options, reliability, progress):
    try:
        return computation.compute(session, round_, catalog(), options, reliability=reliability, progress=progress)
    except OptionsError as problem:
        raise click.ClickException(str(problem)) from None


def option_flags(command):
    for flag in reversed([
        click.option("--round", "round_id", type=int, required=True, help="round id"),
        click.option("--dont-know", type=click.Choice(["exclude", "zero"]), default=None),
        click.option("--pooling", type=click.Choice(["equal", "size"]), default=None),
        click.option("--weighting", type=click.Choice(["none", "group"]), default=None),
        # Checked by parse_options, as on the page: the refusal is in Vietnamese (exit code 2).
        click.option("--hidden-groups", default=None, metavar="[exclude|include]",
                     help="pool groups below k (include) or not (exclude, the default)"),
        click.option("--min-cell", type=int, default=None, help="suppression threshold k (default 5)"),
        click.option("--reliability/--no-reliability", default=True, help="Cronbach's alpha (streams responses)"),
    ]):
        command = flag(command)
    return command


@group.command("compute")
@option_flags
@click.option("--json", "as_json", is_flag=True, help="print every result as JSON")
@with_appcontext
def compute_command(round_id, dont_know, pooling, weighting, hidden_groups, min_cell, reliability, as_json):
    """Compute a round's indices (survey points, PAR score, SIPAS)."""
    options = _options(dont_know, pooling, weighting, hidden_groups, min_cell)
    with db.unit_of_work(write=False) as session:
        round_ = _round(session, round_id)
        computed = _compute(session, round_, options, reliability, _progress(as_json))
        breakdown = computation.sipas_breakdown(session, round_, computed) if as_json else None
    result = computed.result
    if as_json:
        # The breakdown beside the figures a freeze keeps (freezing.figures): frozen results keep it
        # in their files (workbook, CSV, PDF), and their figures stay comparable with earlier freezes.
        figures = freezing.figures(computed)
        figures["sipas_breakdown"] = breakdown.to_json_dict() if breakdown is not None else None
        click.echo(json.dumps(figures, ensure_ascii=False, indent=1))
        return
    total = result.survey_total
    click.echo(f"Điểm điều tra XHH: {total['points']:.2f} / {total['max_points']:.2f}")
    for row in result.field_totals[~result.field_totals["is_total"]].itertuples():
        click.echo(f"  {row.field}. {row.field_title}: {row.survey_points:.2f} / {row.survey_max:.2f}")
    unscored = computation.unscored_subcriteria(computed)
    if unscored:
        click.echo(f"Tiêu chí thành phần chưa có điểm ({len(unscored)}, ngưỡng k = {result.options.min_cell}):")
        for row in unscored:
            click.echo(f"  {row['code']} {row['title']}: {row['reason']}")
    sipas = result.sipas.sipas if result.sipas is not None else math.nan
    click.echo(f"SIPAS: {sipas:.2f} %" if math.isfinite(sipas) else "SIPAS: chưa có dữ liệu")
    if result.par is not None:
        click.echo(f"Chỉ số CCHC: {result.par.total:.2f} / {result.par.max_total:.2f} ({result.par.classification})")
        if result.par.source_label:
            click.echo(f"  Điểm tự đánh giá: {result.par.source_label}")


@group.command("report")
@option_flags
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@with_appcontext
def report_command(round_id, dont_know, pooling, weighting, hidden_groups, min_cell, reliability, out_dir):
    """Write the workbook, CSV files, SPSS file and PDF report of a round into DIR."""
    options = _options(dont_know, pooling, weighting, hidden_groups, min_cell)
    notify = _progress(False)
    with db.unit_of_work() as session:  # writes: every export is audited
        round_ = _round(session, round_id)
        computed = _compute(session, round_, options, reliability, notify)
        written = write_report_directory(session, round_, computed, out_dir, progress=notify)
    for path in written:
        click.echo(str(path))


@group.command("freeze")
@option_flags
@click.option("--name", required=True, help='e.g. "Kết quả gửi Hội đồng thẩm định 12/2026"')
@with_appcontext
def freeze_command(round_id, dont_know, pooling, weighting, hidden_groups, min_cell, reliability, name):
    """Freeze a round's result under NAME: figures, versions, every export file and a content hash."""
    options = _options(dont_know, pooling, weighting, hidden_groups, min_cell)
    with db.unit_of_work() as session:
        round_ = _round(session, round_id)
        try:
            frozen = freezing.freeze(session, round_, catalog(), options, name, reliability=reliability,
                                     progress=_progress(False))
        except (OptionsError, freezing.FreezeError) as problem:
            raise click.ClickException(str(problem)) from None
        # Said only after the commit: a freeze that fails to commit must not read as done.
        lines = [f"Đã khóa kết quả chính thức “{frozen.name}” (số {frozen.id}).",
                 f"Mã băm SHA-256: {frozen.content_sha256}",
                 *(f"  {file.filename}: {file.size} byte, {file.sha256}" for file in frozen.files)]
    for line in lines:
        click.echo(line)
