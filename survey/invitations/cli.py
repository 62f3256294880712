"""`survey invitations …` commands: thin wrappers over services."""

import click

group = click.Group("mail", help="Invitations, reminders and the outbox worker.")
