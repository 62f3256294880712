"""`survey assessment …` commands: thin wrappers over the self-assessment's services."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from survey import db
from survey.assessment import reminders
from survey.assessment.models import AssessmentCycle
from survey.assessment.services import AssessmentError, frozen_version
from survey.invitations.outbox import MailError, mail_context

group = click.Group("assessment", help="Self-assessment of the PAR Index: reminders to focal points.")


@group.command("remind")
@click.argument("round_id", type=int, required=False)
@click.option("--now", "manual", is_flag=True, help="remind every part not submitted now, whatever the stage")
@with_appcontext
def remind_command(round_id: int | None, manual: bool) -> None:
    """Queue the reminders due today (run daily, e.g. from cron); without ROUND_ID, every open cycle."""
    try:
        context = mail_context(current_app.config)
    except MailError as error:
        raise click.ClickException(str(error)) from None
    with db.unit_of_work() as session:
        query = select(AssessmentCycle).where(AssessmentCycle.opened_at.is_not(None)).order_by(AssessmentCycle.id)
        if round_id is not None:
            query = query.where(AssessmentCycle.round_id == round_id)
        cycles = [c for c in session.scalars(query) if frozen_version(session, c) is None]
        if round_id is not None and not cycles:
            raise click.ClickException(f"Đợt khảo sát mã {round_id} không có kỳ tự đánh giá đang mở.")
        for cycle in cycles:
            try:
                outcome = reminders.remind(session, cycle, context, manual=manual)
            except AssessmentError as error:
                raise click.ClickException(str(error)) from None
            click.echo(f"{cycle.round.title}: {outcome.summary()}")
