"""A real gunicorn server process (sync workers) serving the app on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# The server's secret key, for a test or benchmark that derives link-bound form tokens itself.
SECRET_KEY = "live-server-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# How long a server may take to answer its first request: on a loaded 2-core machine, four
# workers importing the application have taken more than 30 s.
START_TIMEOUT_SECONDS = 90


@contextmanager
def gunicorn_server(database_url: str, *, workers: int = 4, app: str = "wsgi:app", extra_env: dict | None = None):
    """The server's base URL, while it runs."""
    with gunicorn_process(database_url, workers=workers, app=app, extra_env=extra_env) as (base, _process):
        yield base


@contextmanager
def gunicorn_process(database_url: str, *, workers: int = 4, app: str = "wsgi:app", extra_env: dict | None = None,
                     extra_args: tuple[str, ...] = ()):
    """The server's base URL and its master process (whose children are the workers), while it runs."""
    port = free_port()
    env = dict(os.environ)
    env.update({
        "SURVEY_ENV": "production",
        "SURVEY_SECRET_KEY": SECRET_KEY,
        "SURVEY_DATABASE_URL": database_url,
        "SURVEY_SECURE_COOKIES": "0",
        "SURVEY_BASE_URL": f"http://127.0.0.1:{port}",
    })
    env.update(extra_env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60",
         # gunicorn 27's control socket has one default path per user: servers running side by side
         # (test workers, a benchmark's application and baseline) would replace and remove each other's.
         "--no-control-socket", *extra_args, app],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{process.stdout.read()}")
            try:
                requests.get(f"{base}/r/probe", timeout=5)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start in {START_TIMEOUT_SECONDS} s") from None
                time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
