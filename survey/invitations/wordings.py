"""The wording of a round's invitations and reminders: the shipped default or the round's own."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.accounts.services import record
from survey.invitations.emails import TemplateProblem, Wording, check_wording, default_wording
from survey.invitations.models import KINDS, MailTemplate
from survey.invitations.outbox import MailError
from survey.rounds.models import Round
from survey.timeutil import utcnow


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise MailError(f"Loại thư không hợp lệ: {kind}.")


def wording_for(session: Session, round_: Round, kind: str) -> tuple[Wording, bool]:
    """The round's wording of ``kind`` and whether it is the round's own (else the shipped default)."""
    check_kind(kind)
    row = session.scalar(select(MailTemplate).where(MailTemplate.round_id == round_.id, MailTemplate.kind == kind))
    if row is None:
        return default_wording(kind), False
    return Wording(row.subject, row.body_text, row.body_html), True


def save_wording(session: Session, round_: Round, kind: str, wording: Wording, *, actor: User | None) -> MailTemplate:
    check_kind(kind)
    try:
        check_wording(wording)
    except TemplateProblem as problem:
        raise MailError(str(problem)) from None
    row = session.scalar(select(MailTemplate).where(MailTemplate.round_id == round_.id, MailTemplate.kind == kind))
    if row is None:
        row = MailTemplate(round_id=round_.id, kind=kind)
        session.add(row)
    row.subject, row.body_text, row.body_html = wording.subject.strip(), wording.body_text, wording.body_html
    row.updated_at = utcnow()
    row.updated_by_id = actor.id if actor else None
    session.flush()
    record(session, "mail.template", round_id=round_.id, province_id=round_.province_id, target=kind, actor=actor)
    return row


def reset_wording(session: Session, round_: Round, kind: str, *, actor: User | None = None) -> None:
    check_kind(kind)
    session.execute(delete(MailTemplate).where(MailTemplate.round_id == round_.id, MailTemplate.kind == kind))
    session.flush()
    record(session, "mail.template_reset", round_id=round_.id, province_id=round_.province_id, target=kind,
           actor=actor)
