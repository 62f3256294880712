"""Entry point for gunicorn: `gunicorn -w 4 wsgi:app`."""

import gc
import sys

from survey import create_app
from survey.config import ConfigError

# gunicorn halts (instead of booting workers again and again) when a worker
# exits with this status, its APP_LOAD_ERROR; any other status is respawned.
APP_LOAD_ERROR = 4

try:
    app = create_app()
except ConfigError as error:
    # One line naming the setting, rather than a traceback through the loader.
    print(f"survey: configuration: {error}", file=sys.stderr, flush=True)
    sys.exit(APP_LOAD_ERROR)

# What start-up created (modules, the questionnaire catalogue, pandas and
# matplotlib for the reports) lives as long as the worker: frozen, the cyclic
# garbage collector stops walking those ~260,000 objects, a full pass of
# which took ~120 ms in the middle of some request.
gc.freeze()
