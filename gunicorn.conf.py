"""Read by gunicorn from its working directory (the project root) unless given ``-c``.

The configuration is checked once, in the master, before any worker starts:
when several workers each found it wrong, gunicorn's own shutdown raced
between their exits and ended in a traceback of its own.
"""

import sys

from survey.config import ConfigError, from_environment


def on_starting(_server):
    try:
        from_environment()
    except ConfigError as error:
        print(f"survey: configuration: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
