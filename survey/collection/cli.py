"""``survey collection purge``: what the abuse controls kept, deleted once a round has closed."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from survey import db
from survey.collection import services


@click.group("collection", help="Điểm khảo sát SIPAS (collection points).")
def group():
    pass


@group.command("purge", help="Delete the dossier hashes, arrival windows and kiosk receipts of every closed "
                              "round, the contacts of its samples from the dossier register, and kiosk receipts "
                              "past their days.")
@with_appcontext
def purge_command():
    with db.unit_of_work() as session:
        purged = services.purge_closed_rounds(session)
        expired = services.purge_expired_receipts(session)
    if expired:
        click.echo(f"kiosk receipts: {expired} expired rows deleted")
    if not purged and not expired:
        click.echo("Nothing to purge.")
    for round_id, rows in purged.items():
        click.echo(f"round {round_id}: {rows} rows deleted")
