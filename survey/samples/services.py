"""Drawing a sample from the dossier register, inviting it, and forgetting its contacts at the close.

A drawn citizen becomes a respondent of the round's citizen group (no name:
"Ông/Bà"; no agency, so no agency's focal point sees their contacts), whose
``response_channel`` is "sample": the personal-link pages store their response
with that channel and nothing else of the dossier. From there the existing
engine does the rest: personal links, the outbox, the worker, reminders,
monitoring.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.accounts.services import record
from survey.collection.models import Procedure
from survey.invitations import exports
from survey.invitations.campaigns import Outcome, queue_invitations
from survey.invitations.emails import EMAIL_TEMPLATES, Wording
from survey.invitations.models import OutboxMessage
from survey.invitations.outbox import MailContext, normalised_email
from survey.respond.models import AccessLink, Submission
from survey.rounds.models import Round, RoundGroup
from survey.roster.current import resolver
from survey.roster.importing import citizen_codes
from survey.roster.models import Respondent
from survey.samples import sampling
from survey.samples.models import SIZE_BY_RULE, SIZE_ENTERED, DossierSample, SampleMember
from survey.samples.register import ProcedureRef, Register, read_register
from survey.spreadsheets import SheetSpec, write_csv, write_xlsx
from survey.timeutil import VIETNAM, as_utc, utcnow

CHANNEL = "sample"  # survey.collection.models.CHANNELS
MEMBER_NAME = "Ông/Bà"  # the register has no names; templates say "Kính gửi {{ full_name }}"
MEMBER_POSITION = "Người dân (mẫu từ sổ hồ sơ)"
_SEED_SHAPE = re.compile(r"^[0-9]{1,40}$")


class SampleError(ValueError):
    """A sample that cannot be drawn, invited or exported; the message is Vietnamese."""


def citizen_group(round_: Round) -> RoundGroup:
    codes = citizen_codes()
    groups = sorted((g for g in round_.groups if g.code in codes), key=lambda g: g.id)
    if not groups:
        raise SampleError("Đợt khảo sát không có nhóm người dân, tổ chức (phiếu SIPAS): không thể mời mẫu từ sổ hồ sơ.")
    return groups[0]


def read_round_register(session: Session, round_: Round, data: bytes, filename: str) -> Register:
    """The register checked against the province's procedures and agencies (RegisterRefused otherwise)."""
    procedures = {code: ProcedureRef(id_, code) for id_, code in session.execute(
        select(Procedure.id, Procedure.code).where(Procedure.province_id == round_.province_id))}
    return read_register(data, filename, procedures=procedures, agency=resolver(session, round_).agency)


def draw_sample(session: Session, round_: Round, register: Register, *, filename: str, size: int | None = None,
                seed: str | None = None, margin: float = sampling.DEFAULT_MARGIN,
                actor: User | None = None) -> DossierSample:
    """Draw and store a stratified sample of ``register``; its members become the citizen group's respondents."""
    if round_.state() == "closed":
        raise SampleError("Đợt khảo sát đã kết thúc: không rút mẫu mới.")
    group = citizen_group(round_)
    seed = (seed or "").strip() or sampling.new_seed()
    if not _SEED_SHAPE.match(seed):
        raise SampleError("Hạt giống (seed) là một dãy chữ số, tối đa 40 chữ số.")
    population = len(register.dossiers)
    if size is not None and size > population:
        raise SampleError(f"Cỡ mẫu {size} lớn hơn số hồ sơ trong sổ ({population}).")
    n = size if size is not None else sampling.size_by_rule(population, margin)

    strata: dict[tuple[str, str], list] = {}
    for dossier in sorted(register.dossiers, key=lambda d: d.stratum):
        strata.setdefault(dossier.stratum, []).append(dossier)
    allocation = sampling.allocate({key: len(rows) for key, rows in strata.items()}, n)
    drawn = sampling.draw({key: [d.code for d in rows] for key, rows in strata.items()}, allocation, seed)

    period = register.period
    sample = DossierSample(
        round_id=round_.id, group_id=group.id, filename=filename[:255],
        register_sha256=sampling.register_digest(d.digest_line() for d in register.dossiers),
        period_from=period[0], period_to=period[1], seed=seed, margin=margin,
        size_source=SIZE_ENTERED if size is not None else SIZE_BY_RULE, population=population, size=n,
        strata=[{"agency": a, "agency_name": rows[0].agency.name, "procedure": p, "population": len(rows),
                 "drawn": allocation[(a, p)]} for (a, p), rows in strata.items()],
        created_by_id=actor.id if actor else None)
    session.add(sample)
    session.flush()

    # One person per e-mail in a round (a unique index): a citizen drawn twice, or already on the
    # roster, is e-mailed once; the other dossier keeps its phone for the SMS export.
    taken = set(session.scalars(select(Respondent.email_normalised).where(
        Respondent.round_id == round_.id, Respondent.removed_at.is_(None), Respondent.email_normalised.is_not(None))))
    shared = 0
    for index, (key, rows) in enumerate(strata.items()):
        chosen = set(drawn[key])
        for dossier in (d for d in rows if d.code in chosen):
            email = dossier.email or None
            if email and email.lower() in taken:
                email, shared = None, shared + 1
            if email:
                taken.add(email.lower())
            person = Respondent(round_id=round_.id, group_id=group.id, full_name=MEMBER_NAME,
                                position=MEMBER_POSITION, email=email, email_normalised=email.lower() if email else None,
                                phone=dossier.phone or None, response_channel=CHANNEL)
            session.add(person)
            session.flush()
            session.add(SampleMember(sample_id=sample.id, respondent_id=person.id, stratum=index,
                                     dossier_code=dossier.code))
    session.flush()
    record(session, "sample.draw", target=filename[:255], round_id=round_.id, province_id=round_.province_id,
           actor=actor, details={"sample_id": sample.id, "seed": seed, "population": population, "size": n,
                                 "size_source": sample.size_source, "margin": margin, "strata": len(strata),
                                 "register_sha256": sample.register_sha256, "email_shared": shared})
    return sample


def members(session: Session, sample: DossierSample) -> list[int]:
    """The respondent ids of the sample's members (none once purged)."""
    return list(session.scalars(select(SampleMember.respondent_id).where(SampleMember.sample_id == sample.id)
                                .order_by(SampleMember.id)))


def _refuse_purged(sample: DossierSample) -> None:
    if sample.purged_at is not None:
        raise SampleError("Thông tin liên hệ của mẫu này đã được xóa khi đợt khảo sát kết thúc.")


def sample_wording() -> Wording:
    return Wording(subject="Mời Ông/Bà đánh giá sự hài lòng về thủ tục hành chính — {{ round_title }}",
                   body_text=(EMAIL_TEMPLATES / "sample_invitation.txt").read_text(encoding="utf-8"),
                   body_html=(EMAIL_TEMPLATES / "sample_invitation.html").read_text(encoding="utf-8"))


def invite_by_email(session: Session, sample: DossierSample, context: MailContext, *, actor: User | None = None,
                    dry_run: bool = False) -> Outcome:
    """Queue the sample's invitation for members with an e-mail and no link yet, through the campaign engine.

    Reminders, re-sends and corrected addresses then go through the campaign
    and monitoring pages like anyone else's.
    """
    _refuse_purged(sample)
    ids = members(session, sample)
    # A member who already holds a link (from an e-mail or an SMS export) is not e-mailed a new one:
    # it would revoke the link they may be about to open.
    holding = set(session.scalars(select(AccessLink.respondent_id).where(AccessLink.respondent_id.in_(ids))))
    outcome = queue_invitations(session, sample.round, context, respondent_ids=[i for i in ids if i not in holding],
                                actor=actor, dry_run=dry_run, wording=sample_wording())
    for _ in holding:
        outcome.skip("already_invited")
    if not dry_run:
        record(session, "sample.invite", round_id=sample.round_id, province_id=sample.round.province_id, actor=actor,
               details={"sample_id": sample.id, "enqueued": outcome.enqueued, "skipped": outcome.skipped})
    return outcome


# --- the SMS export -------------------------------------------------------------------------

SMS_TARGETS = {
    "no_email": "Người chưa nộp có số điện thoại nhưng không được mời qua e-mail",
    "pending": "Mọi người chưa nộp có số điện thoại (thay đường dẫn đã gửi qua e-mail)",
}
SMS_FORMATS = ("csv", "xlsx")
SMS_HEADER = ["Số điện thoại", "Nội dung tin nhắn"]


def sms_chosen(session: Session, sample: DossierSample, target: str) -> list[Respondent]:
    """Who an SMS export would reach: members with a phone who have not submitted (nothing issued yet)."""
    if target not in SMS_TARGETS:
        raise SampleError("Lựa chọn xuất tin nhắn không hợp lệ.")
    _refuse_purged(sample)
    ids = members(session, sample)
    submitted = set(session.scalars(select(Submission.respondent_id).where(Submission.respondent_id.in_(ids))))
    people = session.scalars(select(Respondent).where(Respondent.id.in_(ids)).order_by(Respondent.id))
    return [p for p in people if p.phone and p.id not in submitted
            and (target == "pending" or normalised_email(p.email) is None)]


def ascii_text(text: str) -> str:
    """Vietnamese without diacritics: an SMS with them is UCS-2, 70 characters a part instead of 160."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


def sms_text(round_: Round, link: str) -> str:
    deadline = as_utc(round_.closes_at).astimezone(VIETNAM).strftime("%d/%m/%Y")
    # About 96 characters before the link: with a 64-character link, one SMS part of 160.
    return ascii_text(f"Sở Nội vụ {round_.province.name} mời Ông/Bà đánh giá việc giải quyết hồ sơ TTHC "
                      f"(ẩn danh), hạn {deadline}: {link}")


def sms_export(session: Session, sample: DossierSample, context: MailContext, *, target: str, fmt: str,
               confirmed: int, actor: User | None = None) -> bytes:
    """New personal links (replacing earlier ones) for the chosen members, as phone + message rows.

    ``confirmed`` is the number the administrator was shown; if it changed, nothing is issued.
    """
    if fmt not in SMS_FORMATS:
        raise SampleError("Định dạng tệp không hợp lệ.")
    if sample.round.state() == "closed":
        raise SampleError("Đợt khảo sát đã kết thúc: đường dẫn mới sẽ không còn dùng được.")
    chosen = sms_chosen(session, sample, target)
    if not chosen:
        raise SampleError("Không có ai phù hợp với lựa chọn này; chưa cấp đường dẫn nào.")
    if len(chosen) != confirmed:
        raise exports.CountChanged(confirmed, len(chosen))
    issued = exports.issue_links(session, sample.round, context, chosen)
    rows = [(item.phone, sms_text(sample.round, item.link)) for item in issued]
    record(session, "sample.sms_export", round_id=sample.round_id, province_id=sample.round.province_id, actor=actor,
           details={"sample_id": sample.id, "target": target, "format": fmt, "links": len(rows)})
    if fmt == "csv":
        return write_csv(SMS_HEADER, rows)
    return write_xlsx([SheetSpec("Tin nhắn", header=SMS_HEADER, rows=rows, widths=(16, 120))])


# --- progress and the purge ----------------------------------------------------------------

@dataclass(frozen=True)
class StratumProgress:
    agency: str
    agency_name: str
    procedure: str
    population: int
    drawn: int
    with_email: int | None  # None once purged: contacts are gone
    with_phone: int | None
    invited: int
    submitted: int


def progress(session: Session, sample: DossierSample) -> list[StratumProgress]:
    """Per stratum: register size, drawn, contacts, invited (any message or link), submitted."""
    if sample.purged_at is not None:
        return [StratumProgress(s["agency"], s["agency_name"], s["procedure"], s["population"], s["drawn"], None, None,
                                s.get("invited", 0), s.get("submitted", 0)) for s in sample.strata]
    counts = _member_counts(session, sample)
    return [StratumProgress(s["agency"], s["agency_name"], s["procedure"], s["population"], s["drawn"],
                            counts["email"][i], counts["phone"][i], counts["invited"][i], counts["submitted"][i])
            for i, s in enumerate(sample.strata)]


def _member_counts(session: Session, sample: DossierSample) -> dict[str, Counter]:
    rows = session.execute(
        select(SampleMember.stratum, Respondent.email_normalised.is_not(None), Respondent.phone.is_not(None),
               select(AccessLink.id).where(AccessLink.respondent_id == SampleMember.respondent_id).exists(),
               select(Submission.id).where(Submission.respondent_id == SampleMember.respondent_id).exists())
        .join(Respondent, Respondent.id == SampleMember.respondent_id)
        .where(SampleMember.sample_id == sample.id))
    counts = {name: Counter() for name in ("email", "phone", "invited", "submitted")}
    for stratum, email, phone, invited, submitted in rows:
        counts["email"][stratum] += bool(email)
        counts["phone"][stratum] += bool(phone)
        counts["invited"][stratum] += bool(invited)
        counts["submitted"][stratum] += bool(submitted)
    return counts


def purge_closed_rounds(session: Session, now: datetime | None = None) -> dict[int, int]:
    """Forget the contacts and dossier codes of every sample whose round has closed; {round_id: members}.

    Kept: per stratum, how many were drawn, invited and answered. Deleted: the
    members (dossier codes), the phones and e-mails of their respondents, and
    the recipient and body of their outbox messages. The respondents stay, as
    "Ông/Bà" with no contact, so the ledger and monitoring still count them.
    """
    now = now or utcnow()
    purged: dict[int, int] = {}
    waiting = session.scalars(select(DossierSample).join(Round, Round.id == DossierSample.round_id)
                              .where(DossierSample.purged_at.is_(None), Round.closes_at <= now)
                              .order_by(DossierSample.id)).all()
    for sample in waiting:
        counts = _member_counts(session, sample)
        sample.strata = [{**s, "invited": counts["invited"][i], "submitted": counts["submitted"][i]}
                         for i, s in enumerate(sample.strata)]
        ids = select(SampleMember.respondent_id).where(SampleMember.sample_id == sample.id).scalar_subquery()
        session.execute(update(Respondent).where(Respondent.id.in_(ids))
                        .values(email=None, email_normalised=None, phone=None)
                        .execution_options(synchronize_session="fetch"))
        session.execute(update(OutboxMessage).where(OutboxMessage.respondent_id.in_(ids))
                        .values(recipient="", body=None).execution_options(synchronize_session="fetch"))
        removed = session.execute(delete(SampleMember).where(SampleMember.sample_id == sample.id)).rowcount
        sample.purged_at = now
        purged[sample.round_id] = purged.get(sample.round_id, 0) + removed
        record(session, "sample.purge", round_id=sample.round_id, province_id=sample.round.province_id,
               details={"sample_id": sample.id, "members": removed})
    session.flush()
    return purged


def round_samples(session: Session, round_id: int) -> list[DossierSample]:
    return list(session.scalars(select(DossierSample).where(DossierSample.round_id == round_id)
                                .order_by(DossierSample.id.desc())))
