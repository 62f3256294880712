"""`survey reports …` commands: thin wrappers over services."""

import click

group = click.Group("analysis", help="Index computation and reports.")
