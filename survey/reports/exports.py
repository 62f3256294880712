"""The round's downloadable files; each export is audited where it is produced."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from analysis.pdf_report import GroupCount, Issuer, write_report_pdf
from analysis.report import add_breakdown_sheets, write_breakdown_csvs, write_csvs, write_workbook
from survey.accounts.services import record
from survey.reports.charts import report_figures
from survey.reports.comments import add_comments_sheet
from survey.reports.computation import Computed, sipas_breakdown
from survey.reports.spss import write_anonymised_sav
from survey.rounds.models import Round
from survey.timeutil import VIETNAM, utcnow

EXPORTS = {
    "xlsx": ("ket-qua.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "csv": ("ket-qua-csv.zip", "application/zip"),
    "sav": ("phieu-an-danh.sav", "application/x-spss-sav"),
    "pdf": ("bao-cao.pdf", "application/pdf"),
}


def export_bytes(session: Session, round_: Round, computed: Computed, kind: str, *,
                 audit: bool = True) -> tuple[bytes, str, str]:
    """The file of one export kind, its download name and MIME type; the export is audited
    (unless the caller audits the larger action it is part of, such as a freeze)."""
    if kind not in EXPORTS:
        raise KeyError(kind)
    name, mimetype = EXPORTS[kind]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if kind == "xlsx":
            write_workbook(path, computed.result)
            breakdown = sipas_breakdown(session, round_, computed)
            if breakdown is not None:
                add_breakdown_sheets(path, breakdown)
            add_comments_sheet(session, round_, computed, path)
        elif kind == "csv":
            written = write_csvs(Path(tmp) / "csv", computed.result)
            breakdown = sipas_breakdown(session, round_, computed)
            if breakdown is not None:
                written += write_breakdown_csvs(Path(tmp) / "csv", breakdown)
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in written:
                    archive.write(file, file.name)
        elif kind == "sav":
            write_anonymised_sav(session, round_, computed, path)
        else:
            groups = [GroupCount(g.code, g.label, computed.response_counts[g.code], computed.roster_counts[g.code])
                      for g in round_.groups]
            issuer = Issuer.for_province(round_.province.name, utcnow().astimezone(VIETNAM).date())
            write_report_pdf(path, computed.result, issuer, groups, report_figures(computed),
                             breakdown=sipas_breakdown(session, round_, computed))
        payload = path.read_bytes()
    if audit:
        record(session, f"reports.export_{kind}", target=name, round_id=round_.id, province_id=round_.province_id,
               details={"options": computed.result.options.as_dict()})
    return payload, f"dot-{round_.id}-{name}", mimetype


def write_report_directory(session: Session, round_: Round, computed: Computed, directory: Path,
                           progress: Callable[[str], None] | None = None) -> list[Path]:
    """Every export of the round into ``directory`` (the CLI's `report`)."""
    notify = progress or (lambda step: None)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in EXPORTS:
        notify(kind)
        payload, name, _ = export_bytes(session, round_, computed, kind)
        target = directory / name
        target.write_bytes(payload)
        written.append(target)
    return written
