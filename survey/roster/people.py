"""One person at a time: add, edit and remove respondents of a round, with the import's rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from survey.accounts.services import record
from survey.respond.models import AccessLink, Submission
from survey.rounds.models import Agency, Round, RoundGroup
from survey.roster import current, importing
from survey.roster.current import RosterError
from survey.roster.models import Respondent
from survey.roster.normalise import InvalidValue, normalise_email, normalise_name, normalise_phone
from survey.timeutil import utcnow

EDITABLE = ("full_name", "position", "email", "phone", "group_id", "agency_id")


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
    """A respondent from trusted code (demo, tests, benchmarks); people typed in go through save_respondent."""
    email_normalised = email.lower() if email else None
    respondent = Respondent(
        round_id=round_.id, group_id=group.id, full_name=full_name, email=email, phone=phone,
        email_normalised=email_normalised, position=position, agency_id=agency.id if agency else None,
    )
    session.add(respondent)
    session.flush()
    return respondent


@dataclass
class PersonDetails:
    """What a staff member typed for one person (raw strings; ids as chosen in the lists)."""

    full_name: str = ""
    position: str = ""
    email: str = ""
    phone: str = ""
    group_id: int | None = None
    agency_id: int | None = None


class PersonRefused(ValueError):
    """The details cannot be saved; ``problems`` maps a field name to its Vietnamese message."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def _checked(session: Session, round_: Round, details: PersonDetails, own_agency_id: int | None) -> dict:
    problems: dict[str, str] = {}
    values: dict = {}
    for name, check in (("full_name", normalise_name), ("phone", normalise_phone)):
        try:
            values[name] = check(getattr(details, name))
        except InvalidValue as error:
            problems[name] = str(error)
    try:
        values["email"], values["email_normalised"] = normalise_email(details.email)
    except InvalidValue as error:
        problems["email"] = str(error)
    values["position"] = (details.position or "").strip()[:255] or None
    group = next((g for g in round_.groups if g.id == details.group_id), None)
    if group is None:
        problems["group_id"] = "Vui lòng chọn nhóm đối tượng."
    agency_id = own_agency_id if own_agency_id is not None else details.agency_id
    agency = session.get(Agency, agency_id) if agency_id else None
    if agency_id and (agency is None or agency.province_id != round_.province_id):
        problems["agency_id"] = "Cơ quan, đơn vị không thuộc tỉnh."
    elif agency is None and not (group and group.code in importing.citizen_codes()):
        problems["agency_id"] = "Vui lòng chọn cơ quan, đơn vị."
    if problems:
        raise PersonRefused(problems)
    values.update(group_id=group.id, agency_id=agency.id if agency else None)
    return values


def save_respondent(session: Session, round_: Round, details: PersonDetails, *,
                    respondent: Respondent | None = None, own_agency_id: int | None = None) -> Respondent:
    """Create (``respondent`` None) or edit one respondent; raises PersonRefused, changing nothing."""
    values = _checked(session, round_, details, own_agency_id)
    others = [p for p in current.listed_people(session, round_.id) if respondent is None or p["id"] != respondent.id]
    plan = importing.plan_rows([{**values, "row": 0}], others, agency_names=current.agency_names(session, round_))
    if plan.update or plan.unchanged or plan.problems or plan.conflicts:
        raise PersonRefused({"email": "Người này đã có trong danh sách "
                                      "(trùng e-mail, số điện thoại hoặc họ tên và cơ quan)."})
    if respondent is not None and respondent.group_id != values["group_id"] and \
            session.scalar(select(exists().where(Submission.respondent_id == respondent.id))):
        raise PersonRefused({"group_id": "Người này đã nộp phiếu; không thể đổi nhóm đối tượng."})
    if respondent is None:
        respondent = Respondent(round_id=round_.id, **{k: v or None for k, v in values.items()})
        session.add(respondent)
        session.flush()
        record(session, "roster.add", target=respondent.full_name, round_id=round_.id,
               province_id=round_.province_id, details={"respondent": respondent.id})
        return respondent
    before = {k: getattr(respondent, k) for k in EDITABLE}
    for name, value in values.items():
        setattr(respondent, name, value or None)
    respondent.updated_at = utcnow()
    session.flush()
    changed = sorted(k for k, v in before.items() if getattr(respondent, k) != v)
    record(session, "roster.edit", target=respondent.full_name, round_id=round_.id,
           province_id=round_.province_id, details={"respondent": respondent.id, "changed": changed})
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
    record(session, "roster.remove", target=respondent.full_name, round_id=respondent.round_id,
           province_id=respondent.round.province_id, details={"respondent": respondent.id})


def remove_respondents(session: Session, respondents: list[Respondent], *, confirmed: bool) -> int:
    """Soft-remove several ticked people at once, with the single removal's rule; returns how many.

    All or none: when some of them were already sent a link and the removal is not confirmed,
    nobody is removed.
    """
    live = [r for r in respondents if r.removed_at is None]
    linked = set(session.scalars(select(AccessLink.respondent_id).where(
        AccessLink.respondent_id.in_([r.id for r in live])))) if live else set()
    if linked and not confirmed:
        raise RosterError(f"{len(linked)} người trong số đã chọn đã được gửi đường dẫn khảo sát. "
                          "Vui lòng đánh dấu ô xác nhận để xóa cả những người này.")
    for respondent in live:
        remove_respondent(session, respondent, confirmed=True)
    return len(live)
