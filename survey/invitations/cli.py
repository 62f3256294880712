"""`survey mail …` commands: thin wrappers over services and the worker."""

from __future__ import annotations

import logging
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from survey.rounds.cli import round_or_fail

group = click.Group("mail", help="Invitations, reminders and the outbox worker.")


@contextmanager
def _stop_on_signals():
    """An event set by SIGTERM or Ctrl-C (the worker stops between messages); handlers restored after."""
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@group.command("run")
@click.option("--rate", type=int, default=None, help="messages per minute (default SURVEY_MAIL_RATE; 0 = no limit)")
@click.option("--until-idle", is_flag=True, help="stop when the outbox holds nothing to send")
@click.option("--retry-base", type=float, default=60.0, show_default=True, help="first retry delay, seconds")
@click.option("--lease", type=float, default=300.0, show_default=True,
              help="seconds after which a claim of a dead worker is taken over")
@click.option("--poll", type=float, default=5.0, show_default=True, help="seconds between looks at an empty outbox")
@with_appcontext
def run_worker(rate, until_idle, retry_base, lease, poll) -> None:
    """Send the outbox through SMTP (SURVEY_SMTP_*), retrying temporary failures. Stops on Ctrl-C or SIGTERM."""
    from survey.invitations.delivery import SmtpSettings
    from survey.invitations.outbox import MailError
    from survey.invitations.worker import Worker, WorkerOptions

    logging.basicConfig(level=logging.INFO, format="%(asctime)s mail worker: %(message)s")
    config = current_app.config
    try:
        smtp = SmtpSettings.from_config(config)
    except MailError as error:
        raise click.ClickException(str(error)) from None
    options = WorkerOptions(rate_per_minute=config.get("MAIL_RATE", 60) if rate is None else rate,
                            retry_base=retry_base, lease=lease, poll_interval=poll)
    click.echo(f"Gửi thư qua {smtp.host}:{smtp.port} ({smtp.security}), "
               f"{options.rate_per_minute or 'không giới hạn'} thư/phút.")
    with _stop_on_signals() as stop:
        stats = Worker(current_app._get_current_object(), smtp, options).run(stop, until_idle=until_idle)
    click.echo(f"Đã gửi {stats.sent}, thử lại sau {stats.retried}, lỗi {stats.failed}.")


@group.command("sink")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8025, show_default=True)
@with_appcontext
def sink(host: str, port: int) -> None:
    """A local SMTP server for development: every message becomes a .eml file in SURVEY_MAIL_SINK_DIR."""
    from survey.invitations.sink import sink_controller

    # No --folder: the page /admin/mail/sink reads the same setting, and must find what was written.
    folder = current_app.config.get("MAIL_SINK_DIR")
    if not folder:
        raise click.ClickException("Chưa đặt SURVEY_MAIL_SINK_DIR (thư mục lưu thư); "
                                   "ngoài môi trường phát triển không có thư mục mặc định.")
    controller = sink_controller(Path(folder), host, port)
    controller.start()
    click.echo(f"Máy chủ thư thử nghiệm tại {host}:{port}; thư được lưu trong {folder}/")
    try:
        with _stop_on_signals() as stop:
            while not stop.wait(1):
                pass
    finally:
        controller.stop()


@group.command("invite")
@click.argument("round_id", type=int)
@click.option("--again", is_flag=True, help="also those already invited (they get a new link)")
@with_appcontext
def invite(round_id: int, again: bool) -> None:
    """Queue invitations for a whole round (the web page also targets a group, an agency or a selection)."""
    _campaign(round_id, "invite", include_invited=again)


@group.command("remind")
@click.argument("round_id", type=int)
@with_appcontext
def remind(round_id: int) -> None:
    """Queue reminders to those who have not submitted (within the round's cap and interval)."""
    _campaign(round_id, "remind")


def _campaign(round_id: int, action: str, **kwargs) -> None:
    from survey import db
    from survey.invitations import campaigns
    from survey.invitations.outbox import MailError, mail_context

    with db.unit_of_work() as session:
        round_ = round_or_fail(session, round_id)
        try:
            context = mail_context(current_app.config)
            started = time.monotonic()
            outcome = getattr(campaigns, action)(session, round_, context, **kwargs)
        except MailError as error:
            raise click.ClickException(str(error)) from None
    kind = "invitation" if action == "invite" else "reminder"
    click.echo(f"{outcome.summary(kind)} ({time.monotonic() - started:.1f} s)")


@group.command("status")
@click.argument("round_id", type=int)
@with_appcontext
def status(round_id: int) -> None:
    """Outbox counts of a round by kind and status."""
    from sqlalchemy import func, select

    from survey import db
    from survey.invitations.models import KIND_LABELS, STATUS_LABELS, OutboxMessage

    session = db.session()
    round_or_fail(session, round_id)
    rows = session.execute(select(OutboxMessage.kind, OutboxMessage.status, func.count())
                           .where(OutboxMessage.round_id == round_id)
                           .group_by(OutboxMessage.kind, OutboxMessage.status)
                           .order_by(OutboxMessage.kind, OutboxMessage.status)).all()
    if not rows:
        click.echo("Chưa có thư nào.")
    for kind, state, count in rows:
        click.echo(f"{KIND_LABELS[kind]:10} {STATUS_LABELS[state]:14} {count}")
