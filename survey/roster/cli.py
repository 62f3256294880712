"""`survey roster …` commands: thin wrappers over services."""

import click

group = click.Group("roster", help="Respondent roster import and export.")
