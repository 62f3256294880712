"""`survey rounds …` commands: thin wrappers over services."""

import click

group = click.Group("rounds", help="Survey rounds.")
