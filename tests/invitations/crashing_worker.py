"""A worker process that dies right after the server accepted its Nth message, before recording it.

`python -m tests.invitations.crashing_worker DATABASE_URL SMTP_PORT N`: os._exit
skips every cleanup, as a kill -9 or a power cut would.
"""

from __future__ import annotations

import os
import sys

from survey import create_app
from survey.invitations.delivery import SmtpSettings
from survey.invitations.worker import Worker, WorkerOptions
from tests.conftest import make_test_config

CRASH_STATUS = 9


def main(database_url: str, port: int, crash_at: int) -> None:
    app = create_app(make_test_config(database_url))
    accepted = 0

    def after_send(_message) -> None:
        nonlocal accepted
        accepted += 1
        if accepted == crash_at:
            os._exit(CRASH_STATUS)

    Worker(app, SmtpSettings("127.0.0.1", port), WorkerOptions(rate_per_minute=0, batch_size=10, poll_interval=0.05),
           after_send=after_send).run(until_idle=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
