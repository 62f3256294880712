"""Entry point for gunicorn: `gunicorn -w 4 wsgi:app`."""

import gc

from survey import create_app

app = create_app()

# What start-up created (modules, the questionnaire catalogue, pandas and
# matplotlib for the reports) lives as long as the worker: frozen, the cyclic
# garbage collector stops walking those ~260,000 objects, a full pass of
# which took ~120 ms in the middle of some request.
gc.freeze()
