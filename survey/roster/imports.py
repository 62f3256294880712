"""The import workflow: upload → preview (kept as a RosterImport) → confirm or discard.

The file is parsed by the pure engine in ``importing``; this module keeps the preview, applies it
to the roster all or nothing, and records each step in the audit log. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.accounts.services import record
from survey.rounds.agencies import AgencyError, add_agency, remember_alias
from survey.rounds.models import Agency, Round
from survey.roster import current, importing
from survey.roster.current import RosterError
from survey.roster.importing import AgencyRef
from survey.roster.models import Respondent, RosterImport
from survey.timeutil import as_utc, utcnow

# A list left at its preview keeps people's names and contacts on the server (the file and its
# rows). After this long it is discarded: by the next upload, of any round, or by
# `survey roster discard-stale`; until then it can no longer be confirmed nor counted.
PREVIEW_LIFETIME = timedelta(hours=24)

STALE_PREVIEW = "Bản xem trước này đã quá 24 giờ nên không còn dùng được; vui lòng tải tệp lên lại."


@dataclass
class Applied:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def _audit(session: Session, imp: RosterImport, action: str, details: dict) -> None:
    record(session, action, target=imp.filename, round_id=imp.round_id, province_id=imp.round.province_id,
           details={"import": imp.id, **details})


def _analyse(session: Session, imp: RosterImport, round_: Round, mapping: dict[str, int],
             progress: Callable[[int], None] | None = None) -> None:
    """Parse the stored file with ``mapping`` and keep rows, problems and the plan's counts.

    The import changes only once the whole file has been read, so a refused file leaves it as it was.
    """
    table = importing.read_table(imp.content, imp.filename, progress)
    header = importing.find_header(table, mapping or None)
    forced = AgencyRef(imp.agency.id, imp.agency.code, imp.agency.name) if imp.agency else None
    parsed = importing.parse_rows(table, header, current.resolver(session, round_), forced_agency=forced)
    plan = current.plan(session, round_, parsed.rows, imp.agency_id, imp.decisions)
    problems = sorted(parsed.problems + plan.problems, key=lambda p: p.row)
    # Rows with a warning are imported; skipped rows (another agency's person) are not kept at all.
    left_out = {p.row for p in problems if p.kind != "warning"}
    imp.mapping = dict(header.mapping)
    imp.rows = [r for r in parsed.rows if r["row"] not in left_out]
    imp.problems = [p.as_dict() for p in problems]
    imp.row_count = parsed.data_rows
    imp.summary = {
        "header_row": header.row_number,
        "titles": header.titles,
        "add": len(plan.add), "update": len(plan.update), "unchanged": len(plan.unchanged),
        "conflicts": len(plan.conflicts),
        **{kind: len({p.row for p in problems if p.kind == kind}) for kind in ("error", "duplicate", "warning",
                                                                               "skipped")},
    }
    # The counts the dashboard and older pages read.
    imp.summary["errors"], imp.summary["duplicates"] = imp.summary["error"], imp.summary["duplicate"]


def blocking_problems(imp: RosterImport) -> list[dict]:
    return [p for p in imp.problems if p.get("kind", "error") in importing.BLOCKING]


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
        _audit(session, imp, "roster.import_discard", {"stale": True})
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
                       content=content, mapping={}, status="pending")
    _analyse(session, imp, round_, checked_mapping(mapping or {}), progress)
    session.add(imp)
    session.flush()
    _audit(session, imp, "roster.upload", dict(imp.summary))
    return imp


def remap_import(session: Session, imp: RosterImport, mapping: dict[str, int]) -> None:
    """Re-read the stored file with columns chosen by the user."""
    _require_pending(imp)
    mapping = checked_mapping(mapping)
    if not mapping:
        raise RosterError("Vui lòng chọn cột “Họ và tên”.")
    _analyse(session, imp, imp.round, mapping)
    session.flush()


def checked_mapping(mapping: dict[str, int]) -> dict[str, int]:
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


def preview_plan(session: Session, imp: RosterImport) -> importing.Plan | None:
    """What confirming would do now (None once the import is no longer pending)."""
    if imp.status != "pending":
        return None
    return current.plan(session, imp.round, imp.rows, imp.agency_id, imp.decisions)


def decide_conflicts(session: Session, imp: RosterImport, choices: dict[int, str]) -> int:
    """Record the province administrator's choice ("keep" or "take") for conflicts of the preview.

    Bound to the person each row matched now: if the roster changes so that the row matches
    someone else, the old choice no longer applies and the conflict is asked again.
    """
    _require_pending(imp)
    plan = preview_plan(session, imp)
    # Undecided conflicts, and decided ones (whose choice can still be changed).
    open_conflicts = {c["row"]: c for c in plan.conflicts + plan.kept + plan.update if "existing" in c}
    decisions = dict(imp.decisions or {})
    decided = 0
    for row, choice in choices.items():
        conflict = open_conflicts.get(row)
        if conflict is None or choice not in ("keep", "take"):
            continue
        decisions[str(row)] = {"id": conflict["id"], "choice": choice}
        decided += 1
    if not decided:
        raise RosterError("Chưa chọn cách xử lý cho người nào.")
    imp.decisions = decisions
    session.flush()
    _audit(session, imp, "roster.import_decide", {"decided": decided,
                                                  "take": sum(d["choice"] == "take" for d in decisions.values())})
    return decided


def resolve_agency_name(session: Session, imp: RosterImport, name: str, *, agency: Agency | None = None,
                        new_code: str | None = None, new_kind: str | None = None) -> Agency:
    """Map an agency name of the file to an existing agency (remembered for the province) or add it,
    then read the file again so that its rows resolve."""
    _require_pending(imp)
    if name not in {p.get("agency_text") for p in imp.problems}:
        raise RosterError("Tên cơ quan này không có trong tệp đang xem trước.")
    province = imp.round.province
    try:
        if agency is not None:
            remember_alias(session, province, name, agency)
        else:
            agency = add_agency(session, province, code=new_code or "", name=name, kind=new_kind or "")
    except AgencyError as refused:
        raise RosterError(str(refused)) from None
    _analyse(session, imp, imp.round, dict(imp.mapping))
    session.flush()
    return agency


def pending_imports(session: Session, round_: Round, agency_id: int | None = None) -> list[RosterImport]:
    """The round's previews not yet confirmed nor discarded, newest first (a focal point: their agency's)."""
    query = (select(RosterImport).where(RosterImport.round_id == round_.id, RosterImport.status == "pending")
             .order_by(RosterImport.created_at.desc(), RosterImport.id.desc()))
    if agency_id is not None:
        query = query.where(RosterImport.agency_id == agency_id)
    return list(session.scalars(query))


def confirm_import(session: Session, imp: RosterImport) -> Applied:
    """Apply the previewed rows: all of them or, on any failure, none (the caller's transaction)."""
    _require_pending(imp)
    if blocking_problems(imp):
        raise RosterError("Danh sách còn lỗi hoặc trùng lặp; vui lòng sửa tệp và tải lên lại trước khi xác nhận.")
    round_ = imp.round
    # Planned again against the roster as it is now: someone may have edited it since the preview.
    plan = current.plan(session, round_, imp.rows, imp.agency_id, imp.decisions)
    if plan.problems:
        first = plan.problems[0]
        raise RosterError(f"Danh sách đã thay đổi kể từ khi xem trước (dòng {first.row}: {first.message}) "
                          "Vui lòng tải tệp lên lại.")
    if plan.conflicts:
        raise RosterError(f"Còn {len(plan.conflicts)} người đã có trong danh sách ở nhóm hoặc cơ quan khác chưa được "
                          "quyết định (giữ như cũ hay lấy theo tệp); quản trị viên cấp tỉnh cần chọn trước khi xác nhận.")
    now = utcnow()
    fields = importing.COMPARED
    try:
        # A savepoint: when the database refuses a row part-way, none of the rows stay written and
        # the session can still show the preview with the refusal.
        with session.begin_nested():
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
    except IntegrityError:
        raise RosterError("Cơ sở dữ liệu từ chối một dòng trong lúc ghi; không dòng nào được ghi. "
                          "Vui lòng tải tệp lên lại.") from None
    imp.status, imp.applied_at, imp.content = "applied", now, None
    session.flush()
    applied = Applied(len(plan.add), len(plan.update), len(plan.unchanged) + len(plan.kept))
    _audit(session, imp, "roster.import", {"added": applied.added, "updated": applied.updated,
                                           "unchanged": applied.unchanged})
    return applied


def discard_import(session: Session, imp: RosterImport) -> None:
    _require_pending(imp, fresh=False)  # an expired preview can still be thrown away by hand
    _discard(imp)
    session.flush()
    _audit(session, imp, "roster.import_discard", {})
