"""A province's agencies (sở, ban, ngành, UBND cấp xã…): the catalogue and its import from a file."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.services import record
from survey.rounds.models import Agency, AgencyAlias, Province
from survey.roster.normalise import clean_text, fold
from survey.spreadsheets import SpreadsheetRefused, read_sheet

AGENCY_KINDS = {"department": "Sở, ban, ngành", "council": "Văn phòng HĐND", "district": "Cấp huyện",
                "commune": "Cấp xã", "other": "Khác"}
# A kind as written in a file: the code, or the label the pages show ("Cấp huyện"), folded.
_KIND_WORDS = {**{code: code for code in AGENCY_KINDS}, **{fold(label): code for code, label in AGENCY_KINDS.items()},
               "so": "department", "ban nganh": "department", "so ban nganh": "department", "hdnd": "council",
               "huyen": "district", "xa": "commune", "phuong": "commune"}
# Accepted first words of each column's header, folded (no diacritics, lower case).
_AGENCY_COLUMNS = {"code": ("code", "ma"), "name": ("name", "ten"), "kind": ("kind", "loai")}


class AgencyError(ValueError):
    """A refused agency file or action; the message is Vietnamese and shown as is."""


def province_agencies(session: Session, province_id: int) -> list[Agency]:
    return list(session.scalars(select(Agency).where(Agency.province_id == province_id)
                                .order_by(Agency.kind, Agency.name)))


def get_or_create_agency(session: Session, province: Province, code: str, name: str, kind: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.province_id == province.id, Agency.code == code))
    if agency is None:
        agency = Agency(province_id=province.id, code=code, name=name, kind=kind)
        session.add(agency)
        session.flush()
    return agency


def agency_rows_from_file(content: bytes, filename: str) -> list[dict[str, str]]:
    """Agencies from a sheet whose first row names the columns code / name / kind (or Mã, Tên, Loại)."""
    try:
        sheet = read_sheet(content, filename)
    except SpreadsheetRefused as problem:
        raise AgencyError(str(problem)) from None
    header_number, header = sheet.rows[0]
    titles = [clean_text(text) for text in header]
    columns = {}
    for name, accepted in _AGENCY_COLUMNS.items():
        found = [i for i, text in enumerate(titles) if fold(text).split(" ")[0] in accepted]
        if not found:
            raise AgencyError(f"Dòng {header_number}: thiếu cột “{name}” (mã, tên, loại).")
        columns[name] = found[0]
    return [{f: (clean_text(cells[c]) if c < len(cells) else "") for f, c in columns.items()}
            for _, cells in sheet.rows[1:]]


def import_agencies(session: Session, province: Province, rows: list[dict[str, str]], *,
                    source: str | None = None) -> tuple[int, int]:
    """Create or rename the province's agencies from rows with code, name, kind; returns (added, updated).

    ``source`` names the file for the audit log (None: rows typed in a form or given by code).
    """
    added = updated = 0
    seen = set()
    shown = ", ".join(f"“{label}”" for label in AGENCY_KINDS.values())
    existing = {a.code: a for a in session.scalars(select(Agency).where(Agency.province_id == province.id))}
    for number, row in enumerate(rows, start=2):
        code, name, written = (row.get(k, "").strip() for k in ("code", "name", "kind"))
        if not code or not name:
            raise AgencyError(f"Dòng {number}: thiếu mã hoặc tên cơ quan.")
        kind = agency_kind(written)
        if kind is None:
            raise AgencyError(f"Dòng {number}: loại cơ quan “{written[:40]}” không hợp lệ (một trong {shown}).")
        if code in seen:
            raise AgencyError(f"Dòng {number}: mã cơ quan {code[:40]} lặp lại.")
        seen.add(code)
        agency = existing.get(code)
        if agency is None:
            session.add(Agency(province_id=province.id, code=code, name=name, kind=kind, is_active=True))
            added += 1
        elif (agency.name, agency.kind, agency.is_active) != (name, kind, True):
            agency.name, agency.kind, agency.is_active = name, kind, True
            updated += 1
    session.flush()
    record(session, "agency.import", target=province.name, province_id=province.id,
           details={"added": added, "updated": updated, **({"file": source} if source else {})})
    return added, updated


def agency_kind(text: str) -> str | None:
    """The kind's code for a code or a label as the pages show it ("Cấp huyện" -> "district")."""
    return _KIND_WORDS.get(text.strip()) or _KIND_WORDS.get(fold(text))


def add_agency(session: Session, province: Province, *, code: str, name: str, kind: str) -> Agency:
    """One new agency of the province (from a form or an import preview); audited."""
    code, name = clean_text(code), clean_text(name)
    if not code or not name:
        raise AgencyError("Vui lòng nhập mã và tên cơ quan.")
    if agency_kind(kind) is None:
        raise AgencyError("Vui lòng chọn loại cơ quan.")
    if session.scalar(select(Agency.id).where(Agency.province_id == province.id, Agency.code == code)):
        raise AgencyError(f"Mã cơ quan {code[:40]} đã có trong danh mục.")
    agency = Agency(province_id=province.id, code=code[:32], name=name[:255], kind=agency_kind(kind), is_active=True)
    session.add(agency)
    session.flush()
    record(session, "agency.add", target=agency.name, province_id=province.id, details={"code": agency.code})
    return agency


def remember_alias(session: Session, province: Province, name: str, agency: Agency) -> AgencyAlias:
    """From now on, lists of the province that write ``name`` mean ``agency``; audited."""
    if agency.province_id != province.id or not agency.is_active:
        raise AgencyError("Cơ quan được chọn không thuộc danh mục đang dùng của tỉnh.")
    folded = fold(name)
    if not folded:
        raise AgencyError("Tên cơ quan trống.")
    alias = session.scalar(select(AgencyAlias).where(AgencyAlias.province_id == province.id,
                                                     AgencyAlias.folded == folded))
    if alias is None:
        alias = AgencyAlias(province_id=province.id, folded=folded[:255])
        session.add(alias)
    alias.name, alias.agency_id = clean_text(name)[:255], agency.id
    session.flush()
    record(session, "agency.alias", target=agency.name, province_id=province.id, details={"name": alias.name})
    return alias


def deactivate_agency(session: Session, agency: Agency) -> None:
    """Stop offering the agency in forms and imports; its people and history stay."""
    agency.is_active = False
    session.flush()
    record(session, "agency.deactivate", target=agency.name, province_id=agency.province_id)
