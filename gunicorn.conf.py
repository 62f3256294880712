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


# The application is imported once, by the master, and the workers are forked
# from it: four workers each importing it (pandas, scipy and matplotlib for the
# reports) cost 24 s of CPU on the 2-core machine against 7 s once, and the
# forked workers share those pages (wsgi.py freezes them for the collector).
preload_app = True


def post_fork(_server, _worker):
    # Nothing connects while the application is created; should that change, a
    # worker must not share the master's pooled connections (SQLAlchemy's
    # advice for forked processes: forget them without closing them).
    wsgi = sys.modules.get("wsgi")
    app = getattr(wsgi, "app", None)
    if app is not None:
        from survey import db

        db.forget_inherited_connections(app)
