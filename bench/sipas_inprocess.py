"""In-process CPU per request of a collection point's page, its submission and the paper entry page.

Not a benchmark of the server (no gunicorn, no wrk, no concurrency): each
request is one raw WSGI call into the application, timed with
``time.process_time`` over many calls, beside the minimal 2 KB page of
``bench.baseline`` called the same way in the same process. It exists to
compare code before and after a change on a shared, noisy machine, where
requests per second under wrk move with the load.

    python -m bench.sipas_inprocess [sqlite|postgresql] [requests]
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask
from werkzeug.test import EnvironBuilder

from bench import baseline
from bench.sipas import CSRF_FIELD, PASSWORD, citizen_form, seed
from survey import create_app, db, migrate
from survey.respond.form_tokens import form_token
from tests import live_server
from tests.databases import temporary_database


def _call(app, environ) -> tuple[str, bytes]:
    status = []
    body = b"".join(app.wsgi_app(environ, lambda s, h, exc_info=None: status.append(s)))
    return status[0], body


def cpu_per_request(app, make_environ, n: int, expected: str) -> tuple[float, int]:
    """Milliseconds of CPU per request over ``n`` calls (after 20 to warm up), and the body's size."""
    for _ in range(20):
        status, body = _call(app, make_environ())
        assert status.startswith(expected), (status, body[:500])
    started = time.process_time()
    for _ in range(n):
        _call(app, make_environ())
    return (time.process_time() - started) * 1000 / n, len(body)


def paper_entry_page(app, seeded, n: int) -> tuple[float, int]:
    """A clerk's entry page (signed in: the test client carries the session cookie)."""
    client = app.test_client()
    login = client.get("/admin/login")
    client.post("/admin/login", data={"email": seeded.clerks[0][0], "password": PASSWORD,
                                      "csrf_token": CSRF_FIELD.search(login.text).group(1)})
    url = f"/admin/rounds/{seeded.round_id}/paper/{seeded.batch_ids[0]}/entry"
    for _ in range(20):
        reply = client.get(url)
        assert reply.status_code == 200, reply.status_code
    started = time.process_time()
    for _ in range(n):
        client.get(url)
    return (time.process_time() - started) * 1000 / n, len(reply.data)


def main() -> None:
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    bare = Flask("bare")
    bare.get("/page")(lambda: baseline.PAGE)
    with tempfile.TemporaryDirectory() as tmp, temporary_database(backend, Path(tmp)) as url:
        migrate.upgrade(url)
        app = create_app({"SECRET_KEY": live_server.SECRET_KEY, "DATABASE_URL": url, "QUESTIONNAIRE_DIR": None,
                          "BASE_URL": "http://127.0.0.1", "POINT_LIMIT_DEVICE": "100000000 per hour",
                          "POINT_LIMIT_ADDRESS": "100000000 per hour"})
        try:
            seeded = seed(app, 200)
            token = seeded.point_token
            with app.app_context():
                csrf = form_token(token)
            form = urlencode(citizen_form(seeded.questionnaire, csrf, seeded.procedure_codes[7])).encode()

            def page():
                return EnvironBuilder(path=f"/p/{token}").get_environ()

            def post():
                return EnvironBuilder(path=f"/p/{token}", method="POST", input_stream=io.BytesIO(form),
                                      content_type="application/x-www-form-urlencoded",
                                      content_length=len(form)).get_environ()

            base_ms, _ = cpu_per_request(bare, lambda: EnvironBuilder(path="/page").get_environ(), n, "200")
            page_ms, size = cpu_per_request(app, page, n, "200")
            post_ms, _ = cpu_per_request(app, post, n, "302")
            print(f"[{backend}] {n} requests each, in-process CPU per request (time.process_time):")
            print(f"  minimal 2 KB page   {base_ms:7.3f} ms")
            print(f"  point's page        {page_ms:7.3f} ms  ({size:,} bytes)  {base_ms / page_ms:6.1%} of the minimal page")
            print(f"  point's submission  {post_ms:7.3f} ms")
            entry_ms, size = paper_entry_page(app, seeded, n)
            print(f"  paper entry page    {entry_ms:7.3f} ms  ({size:,} bytes, through the test client)")
        finally:
            db.dispose(app)


if __name__ == "__main__":
    main()
