"""Writing messages to the outbox, in the caller's transaction.

Each message carries a new personal link: tokens are stored only as hashes,
so a reminder cannot repeat an earlier link. Issuing the link revokes the
previous one; the respondent's draft belongs to them, not to the link, so
nothing they saved is lost. The rendered message (with the token) sits in
the outbox only until it is delivered or fails, then is erased. Its
Message-ID is fixed here, so a copy sent again after a crash is recognisable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import insert
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.invitations.emails import Renderer, TemplateProblem, Wording, build_message, new_message_id
from survey.invitations.models import OutboxMessage
from survey.respond.links import issue_link, issue_links
from survey.roster.models import Respondent
from survey.rounds.models import Agency, Round
from survey.timeutil import format_local, utcnow


class MailError(ValueError):
    """A refusal with a Vietnamese reason; nothing was written."""


@dataclass(frozen=True)
class MailContext:
    sender: str
    base_url: str


def mail_context(config) -> MailContext:
    sender = config.get("MAIL_FROM")
    if not sender:
        raise MailError("Chưa cấu hình địa chỉ gửi thư (SURVEY_SMTP_FROM); không thể xếp thư vào hàng đợi.")
    return MailContext(sender=sender, base_url=config["BASE_URL"].rstrip("/"))

def normalised_email(address: str | None) -> str | None:
    """The address ready for the envelope, or None if it is not a valid address."""
    if not address or not address.strip():
        return None
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def round_context(round_: Round) -> dict:
    """The template variables every message of a round shares."""
    return {"round_title": round_.title, "province": round_.province.name, "deadline": format_local(round_.closes_at)}


class Enqueuer:
    """Renders and queues messages of one kind for one round (compiles the templates once)."""

    def __init__(self, session: Session, round_: Round, kind: str, wording: Wording, context: MailContext,
                 actor: User | None):
        try:
            self.renderer = Renderer(wording)
        except TemplateProblem as problem:
            raise MailError(str(problem)) from None
        self.session, self.round, self.kind, self.context, self.actor = session, round_, kind, context, actor
        self.common = round_context(round_)
        self._groups = {g.id: g.label for g in round_.groups}
        self._agencies: dict[int, str] = {}

    def _agency_name(self, agency_id: int | None) -> str:
        if agency_id is None:
            return ""
        if agency_id not in self._agencies:
            self._agencies[agency_id] = self.session.get(Agency, agency_id).name
        return self._agencies[agency_id]

    def enqueue_all(self, recipients: list[tuple[Respondent, str]]) -> int:
        """Queue one message per (respondent, address), each with a new link replacing the previous one."""
        now = utcnow()
        tokens = issue_links(self.session, [respondent.id for respondent, _address in recipients])
        messages = [self._message(respondent, address, tokens[respondent.id], now) for respondent, address in recipients]
        for start in range(0, len(messages), 500):
            self.session.execute(insert(OutboxMessage), messages[start:start + 500])
        return len(recipients)

    def enqueue(self, respondent: Respondent, recipient: str) -> OutboxMessage:
        """One message (a re-send): issue_link revokes the previous link."""
        token = issue_link(self.session, respondent)
        message = OutboxMessage(**self._message(respondent, recipient, token, utcnow()))
        self.session.add(message)
        return message

    def _message(self, respondent: Respondent, recipient: str, token: str, now: datetime) -> dict:
        rendered = self.renderer.render({
            **self.common, "full_name": respondent.full_name, "link": f"{self.context.base_url}/r/{token}",
            "group": self._groups.get(respondent.group_id, ""), "agency": self._agency_name(respondent.agency_id),
        })
        message_id = new_message_id(self.context.sender)
        return {
            "round_id": self.round.id, "respondent_id": respondent.id, "kind": self.kind, "message_id": message_id,
            "sender": self.context.sender, "recipient": recipient, "subject": rendered.subject,
            "body": build_message(sender=self.context.sender, recipient=recipient, message_id=message_id,
                                  rendered=rendered),
            "created_by_id": self.actor.id if self.actor else None, "next_attempt_at": now, "created_at": now,
        }
