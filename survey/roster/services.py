"""The roster of a round: imports (preview, confirm), single edits, the dashboard and exports.

Services flush, never commit: a request or CLI unit of work commits once, so a confirmed import
is written entirely or not at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.respond.models import AccessLink, Submission
from survey.rounds.models import Agency, Round, RoundGroup, RoundQuota
from survey.roster import importing
from survey.roster.importing import AgencyRef, GroupRef, ImportRefused, Resolver
from survey.roster.models import Respondent, RosterImport
from survey.roster.normalise import InvalidValue, normalise_email, normalise_name, normalise_phone, spreadsheet_safe
from survey.timeutil import as_utc, utcnow


class RosterError(ValueError):
    """A refused roster action; the message is Vietnamese and shown as is."""


# --- context ----------------------------------------------------------------------------------

def province_agencies(session: Session, round_: Round) -> list[Agency]:
    return list(session.scalars(select(Agency).where(Agency.province_id == round_.province_id)
                                .order_by(Agency.kind, Agency.name)))


def _resolver(session: Session, round_: Round) -> Resolver:
    return Resolver(
        [GroupRef(g.id, g.code, g.label) for g in round_.groups],
        [AgencyRef(a.id, a.code, a.name) for a in province_agencies(session, round_) if a.is_active],
    )


def _existing(session: Session, round_id: int) -> list[dict]:
    columns = [Respondent.id, *(getattr(Respondent, name) for name in importing.COMPARED)]
    result = session.execute(select(*columns).where(Respondent.round_id == round_id, Respondent.removed_at.is_(None)))
    return [dict(row._mapping) for row in result]


def _locked_ids(session: Session, round_id: int) -> frozenset[int]:
    return frozenset(session.scalars(select(Submission.respondent_id).where(Submission.round_id == round_id)))


def _agency_names(session: Session, round_: Round) -> dict[int, str]:
    return {a.id: a.name for a in province_agencies(session, round_)}


# --- import -----------------------------------------------------------------------------------

def _plan(session: Session, round_: Round, rows: list[dict], agency_id: int | None) -> importing.Plan:
    return importing.plan_rows(rows, _existing(session, round_.id), agency_names=_agency_names(session, round_),
                               own_agency_id=agency_id, locked_ids=_locked_ids(session, round_.id))


def _analyse(session: Session, imp: RosterImport, round_: Round,
             progress: Callable[[int], None] | None = None) -> None:
    """Parse the stored file with the import's mapping and store rows, problems and the plan's counts."""
    table = importing.read_table(imp.content, imp.filename, progress)
    header = importing.find_header(table, {k: int(v) for k, v in imp.mapping.items()} or None)
    forced = AgencyRef(imp.agency.id, imp.agency.code, imp.agency.name) if imp.agency else None
    parsed = importing.parse_rows(table, header, _resolver(session, round_), forced_agency=forced)
    plan = _plan(session, round_, parsed.rows, imp.agency_id)
    problems = sorted(parsed.problems + plan.problems, key=lambda p: p.row)
    bad_rows = {p.row for p in problems}
    imp.mapping = {k: v for k, v in header.mapping.items()}
    imp.rows = [r for r in parsed.rows if r["row"] not in bad_rows]
    imp.problems = [p.as_dict() for p in problems]
    imp.row_count = parsed.data_rows
    imp.summary = {
        "header_row": header.row_number,
        "titles": header.titles,
        "add": len(plan.add), "update": len(plan.update), "unchanged": len(plan.unchanged),
        "errors": len({p.row for p in problems if p.kind == "error"}),
        "duplicates": len({p.row for p in problems if p.kind == "duplicate"}),
    }


# A list left at its preview keeps people's names and contacts on the server (the file and its
# rows). After this long it is discarded: by the next upload, of any round, or by
# `survey roster discard-stale`; until then it can no longer be confirmed nor counted.
PREVIEW_LIFETIME = timedelta(hours=24)


STALE_PREVIEW = "Bản xem trước này đã quá 24 giờ nên không còn dùng được; vui lòng tải tệp lên lại."


def is_stale(imp: RosterImport, now: datetime | None = None) -> bool:
    return imp.status == "pending" and as_utc(imp.created_at) < (now or utcnow()) - PREVIEW_LIFETIME


def _discard(imp: RosterImport) -> None:
    imp.status, imp.content, imp.rows = "discarded", None, []


def discard_stale_imports(session: Session, now: datetime | None = None) -> int:
    """Discard every preview older than PREVIEW_LIFETIME (its file and rows go); returns how many."""
    cutoff = (now or utcnow()) - PREVIEW_LIFETIME
    stale = session.scalars(select(RosterImport).where(RosterImport.status == "pending",
                                                       RosterImport.created_at < cutoff)).all()
    for imp in stale:
        _discard(imp)
    session.flush()
    return len(stale)


def start_import(session: Session, round_: Round, *, filename: str, content: bytes, user: User | None,
                 agency: Agency | None = None, mapping: dict[str, int] | None = None,
                 progress: Callable[[int], None] | None = None) -> RosterImport:
    """Read and validate an uploaded list and keep it for preview. Writes no respondent.

    Raises ImportRefused (nothing stored) when the file itself is unusable.
    """
    if not round_.groups:
        raise RosterError("Đợt khảo sát chưa có nhóm đối tượng nào.")
    discard_stale_imports(session)
    imp = RosterImport(round_id=round_.id, agency_id=agency.id if agency else None, agency=agency,
                       user_id=user.id if user else None, filename=(filename or "danh-sach")[:255],
                       content=content, mapping=_checked_mapping(mapping or {}), status="pending")
    _analyse(session, imp, round_, progress)
    session.add(imp)
    session.flush()
    return imp


def remap_import(session: Session, imp: RosterImport, mapping: dict[str, int]) -> None:
    """Re-read the stored file with columns chosen by the user."""
    _require_pending(imp)
    imp.mapping = _checked_mapping(mapping)
    if not imp.mapping:
        raise RosterError("Vui lòng chọn cột “Họ và tên”.")
    _analyse(session, imp, imp.round)
    session.flush()


def _checked_mapping(mapping: dict[str, int]) -> dict[str, int]:
    if mapping and "full_name" not in mapping:
        raise RosterError("Vui lòng chọn cột “Họ và tên”.")
    columns = list(mapping.values())
    if len(columns) != len(set(columns)):
        raise RosterError("Mỗi cột chỉ được chọn cho một thông tin.")
    if any(c < 0 or c >= importing.MAX_COLUMNS for c in columns):
        raise RosterError(f"Cột phải nằm trong {importing.MAX_COLUMNS} cột đầu tiên.")
    return mapping


def _require_pending(imp: RosterImport, *, fresh: bool = True) -> None:
    if imp.status != "pending":
        raise RosterError("Lần nhập này đã được xác nhận hoặc đã hủy; vui lòng tải tệp lên lại.")
    if fresh and is_stale(imp):
        raise RosterError(STALE_PREVIEW)


@dataclass
class Applied:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def confirm_import(session: Session, imp: RosterImport) -> Applied:
    """Apply the previewed rows: all of them or, on any failure, none (the caller's transaction)."""
    _require_pending(imp)
    if imp.problems:
        raise RosterError("Danh sách còn lỗi hoặc trùng lặp; vui lòng sửa tệp và tải lên lại trước khi xác nhận.")
    round_ = imp.round
    # Planned again against the roster as it is now: someone may have edited it since the preview.
    plan = _plan(session, round_, imp.rows, imp.agency_id)
    if plan.problems:
        first = plan.problems[0]
        raise RosterError(f"Danh sách đã thay đổi kể từ khi xem trước (dòng {first.row}: {first.message}) "
                          "Vui lòng tải tệp lên lại.")
    now = utcnow()
    fields = [f for f in importing.COMPARED]
    if plan.update:
        session.execute(update(Respondent), [
            {"id": row["id"], **{f: row[f] or None for f in fields}, "updated_at": now, "import_id": imp.id}
            for row in plan.update
        ])
    if plan.add:
        session.execute(insert(Respondent), [
            {"round_id": round_.id, **{f: row.get(f) or None for f in fields}, "created_at": now,
             "import_id": imp.id}
            for row in plan.add
        ])
    imp.status, imp.applied_at, imp.content = "applied", now, None
    session.flush()
    return Applied(len(plan.add), len(plan.update), len(plan.unchanged))


def discard_import(session: Session, imp: RosterImport) -> None:
    _require_pending(imp, fresh=False)  # an expired preview can still be thrown away by hand
    _discard(imp)
    session.flush()


# --- single respondents -----------------------------------------------------------------------

def add_respondent(
    session: Session,
    round_: Round,
    group: RoundGroup,
    *,
    full_name: str,
    email: str | None = None,
    phone: str | None = None,
    position: str | None = None,
    agency: Agency | None = None,
) -> Respondent:
    """A respondent from trusted code (demo, tests); the web form goes through save_respondent."""
    email_normalised = email.lower() if email else None
    respondent = Respondent(
        round_id=round_.id, group_id=group.id, full_name=full_name, email=email, phone=phone,
        email_normalised=email_normalised, position=position, agency_id=agency.id if agency else None,
    )
    session.add(respondent)
    session.flush()
    return respondent


@dataclass
class PersonForm:
    full_name: str
    position: str
    email: str
    phone: str
    group_id: int | None
    agency_id: int | None
    problems: dict[str, str] = field(default_factory=dict)


def save_respondent(session: Session, round_: Round, form: PersonForm, *,
                    respondent: Respondent | None = None, own_agency_id: int | None = None) -> Respondent | None:
    """Create or edit one respondent with the import's rules; None with form.problems when invalid."""
    values: dict = {}
    for name, check in (("full_name", normalise_name), ("phone", normalise_phone)):
        try:
            values[name] = check(getattr(form, name))
        except InvalidValue as error:
            form.problems[name] = str(error)
    try:
        values["email"], values["email_normalised"] = normalise_email(form.email)
    except InvalidValue as error:
        form.problems["email"] = str(error)
    values["position"] = form.position.strip()[:255] or None
    group = next((g for g in round_.groups if g.id == form.group_id), None)
    if group is None:
        form.problems["group_id"] = "Vui lòng chọn nhóm đối tượng."
    agency_id = own_agency_id if own_agency_id is not None else form.agency_id
    agency = session.get(Agency, agency_id) if agency_id else None
    if agency_id and (agency is None or agency.province_id != round_.province_id):
        form.problems["agency_id"] = "Cơ quan, đơn vị không thuộc tỉnh."
    elif agency is None and not (group and group.code == "citizen"):
        form.problems["agency_id"] = "Vui lòng chọn cơ quan, đơn vị."
    if form.problems:
        return None
    values.update(group_id=group.id, agency_id=agency.id if agency else None)
    others = [p for p in _existing(session, round_.id) if respondent is None or p["id"] != respondent.id]
    plan = importing.plan_rows([{**values, "row": 0}], others, agency_names=_agency_names(session, round_))
    if plan.update or plan.unchanged or plan.problems:
        form.problems["email"] = "Người này đã có trong danh sách (trùng e-mail, số điện thoại hoặc họ tên và cơ quan)."
        return None
    if respondent is not None and respondent.group_id != group.id and \
            session.scalar(select(exists().where(Submission.respondent_id == respondent.id))):
        form.problems["group_id"] = "Người này đã nộp phiếu; không thể đổi nhóm đối tượng."
        return None
    if respondent is None:
        respondent = Respondent(round_id=round_.id, **{k: v or None for k, v in values.items()})
        session.add(respondent)
    else:
        for name, value in values.items():
            setattr(respondent, name, value or None)
        respondent.updated_at = utcnow()
    session.flush()
    return respondent


def has_link(session: Session, respondent: Respondent) -> bool:
    return bool(session.scalar(select(exists().where(AccessLink.respondent_id == respondent.id))))


def remove_respondent(session: Session, respondent: Respondent, *, confirmed: bool) -> None:
    """Soft removal: revokes the person's links; after invitations it needs an explicit confirmation."""
    if respondent.removed_at is not None:
        raise RosterError("Người này đã bị xóa khỏi danh sách.")
    if has_link(session, respondent) and not confirmed:
        raise RosterError("Người này đã được gửi đường dẫn khảo sát. Vui lòng xác nhận việc xóa.")
    now = utcnow()
    respondent.removed_at = now
    session.execute(update(AccessLink).where(AccessLink.respondent_id == respondent.id,
                                             AccessLink.revoked_at.is_(None)).values(revoked_at=now))
    session.flush()


# --- dashboard --------------------------------------------------------------------------------

@dataclass
class Cell:
    expected: int = 0
    listed: int = 0
    no_email: int = 0
    no_phone: int = 0


@dataclass
class Dashboard:
    groups: list[RoundGroup]
    agencies: list[Agency]
    cells: dict[tuple[int | None, int], Cell]
    not_submitted: list[Agency]  # agencies with a quota and nobody listed
    days_left: int | None
    totals: Cell
    open_problems: int


def dashboard(session: Session, round_: Round, today: date, agency_id: int | None = None) -> Dashboard:
    cells: dict[tuple[int | None, int], Cell] = {}
    quota_query = select(RoundQuota).where(RoundQuota.round_id == round_.id)
    count_query = (
        select(Respondent.agency_id, Respondent.group_id, func.count(),
               func.count() - func.count(Respondent.email), func.count() - func.count(Respondent.phone))
        .where(Respondent.round_id == round_.id, Respondent.removed_at.is_(None))
        .group_by(Respondent.agency_id, Respondent.group_id)
    )
    if agency_id is not None:
        quota_query = quota_query.where(RoundQuota.agency_id == agency_id)
        count_query = count_query.where(Respondent.agency_id == agency_id)
    for quota in session.scalars(quota_query):
        cells.setdefault((quota.agency_id, quota.group_id), Cell()).expected = quota.expected
    for agency, group, listed, no_email, no_phone in session.execute(count_query):
        cell = cells.setdefault((agency, group), Cell())
        cell.listed, cell.no_email, cell.no_phone = listed, no_email, no_phone
    agencies = [a for a in province_agencies(session, round_)
                if any(k[0] == a.id for k in cells) and (agency_id is None or a.id == agency_id)]
    listed_by_agency: dict[int | None, int] = {}
    for (agency, _), cell in cells.items():
        listed_by_agency[agency] = listed_by_agency.get(agency, 0) + cell.listed
    not_submitted = [a for a in agencies if listed_by_agency.get(a.id, 0) == 0]
    totals = Cell(*(sum(getattr(c, f) for c in cells.values()) for f in ("expected", "listed", "no_email", "no_phone")))
    pending = select(RosterImport).where(RosterImport.round_id == round_.id, RosterImport.status == "pending",
                                         RosterImport.created_at >= utcnow() - PREVIEW_LIFETIME)
    if agency_id is not None:
        pending = pending.where(RosterImport.agency_id == agency_id)
    open_problems = sum(len(i.problems) for i in session.scalars(pending))
    days_left = (round_.ministry_deadline - today).days if round_.ministry_deadline else None
    return Dashboard(list(round_.groups), agencies, cells, not_submitted, days_left, totals, open_problems)


# --- export -----------------------------------------------------------------------------------

EXPORT_HEADER = ["STT", "Họ và tên", "Chức vụ", "Cơ quan/đơn vị", "Nhóm đối tượng", "Số điện thoại", "Email"]


def export_rows(session: Session, round_: Round, agency_id: int | None = None) -> list[tuple[RoundGroup, list[list]]]:
    """The consolidated list, grouped by respondent group, in the Ministry's column order."""
    query = (select(Respondent, Agency.name).outerjoin(Agency, Respondent.agency_id == Agency.id)
             .where(Respondent.round_id == round_.id, Respondent.removed_at.is_(None))
             .order_by(Respondent.group_id, Agency.name, Respondent.full_name, Respondent.id))
    if agency_id is not None:
        query = query.where(Respondent.agency_id == agency_id)
    by_group: dict[int, list[list]] = {g.id: [] for g in round_.groups}
    labels = {g.id: g.label for g in round_.groups}
    for person, agency_name in session.execute(query):
        rows = by_group[person.group_id]
        rows.append([len(rows) + 1, person.full_name, person.position or "", agency_name or "",
                     labels[person.group_id], person.phone or "", person.email or ""])
    return [(g, by_group[g.id]) for g in round_.groups]


def _sheet_title(label: str, used: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\
    title = "".join(" " if ch in "[]:*?/\\" else ch for ch in label)
    if len(title) > 31:  # cut at a word, not inside one
        title = title[:32].rsplit(" ", 1)[0].rstrip(" ,;-")
    title = title.strip() or "Nhóm"
    base, n = title, 2
    while title in used:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title


def export_xlsx(round_: Round, grouped: list[tuple[RoundGroup, list[list]]]) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook(write_only=True)
    used: set[str] = set()
    for group, rows in grouped:
        sheet = workbook.create_sheet(_sheet_title(group.label, used))
        sheet.append([f"DANH SÁCH ĐỐI TƯỢNG KHẢO SÁT — {group.label.upper()}"])
        sheet.append([f"{round_.province.name}, năm {round_.year}"])
        sheet.append([])
        header = []
        for text in EXPORT_HEADER:
            cell = openpyxl.cell.WriteOnlyCell(sheet, value=text)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for row in rows:
            # Strings are written as strings; one that starts like a formula is defused.
            sheet.append([spreadsheet_safe(v) for v in row])
    if not grouped:
        workbook.create_sheet("Danh sách")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_csv(grouped: list[tuple[RoundGroup, list[list]]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADER)
    number = 0
    for _group, rows in grouped:
        for row in rows:
            number += 1
            writer.writerow([number, *(spreadsheet_safe(v) for v in row[1:])])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel then reads the diacritics


# --- agencies from a file ----------------------------------------------------------------------

_AGENCY_COLUMNS = {"code": ("code", "ma"), "name": ("name", "ten"), "kind": ("kind", "loai")}


def agency_rows_from_file(content: bytes, filename: str) -> list[dict[str, str]]:
    """Agencies from a sheet whose first row names the columns code / name / kind (or Mã, Tên, Loại)."""
    from survey.roster.normalise import fold

    table = importing.read_table(content, filename)
    header_number, header = table.rows[0]
    columns = {}
    for name, accepted in _AGENCY_COLUMNS.items():
        found = [i for i, text in enumerate(header) if fold(text).split(" ")[0] in accepted]
        if not found:
            raise ImportRefused(f"Dòng {header_number}: thiếu cột “{name}” (mã, tên, loại).")
        columns[name] = found[0]
    return [{f: (cells[c] if c < len(cells) else "") for f, c in columns.items()}
            for _, cells in table.rows[1:] if any(cells)]


__all__ = ["ImportRefused", "RosterError"]
