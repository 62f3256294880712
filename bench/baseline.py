"""The two baselines the respondent pages are measured against, served the same way.

* GET /page: a minimal Flask page returning 2 KB of HTML;
* POST /insert: a minimal endpoint inserting one row through SQLAlchemy.
"""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from survey.db import make_engine

PAGE = "<!doctype html><html><body>" + ("<p>Khảo sát cải cách hành chính.</p>" * 60)[:2000] + "</body></html>"
metadata = MetaData()
rows = Table("bench_rows", metadata, Column("id", Integer, primary_key=True), Column("payload", String(64)))


def create_app() -> Flask:
    app = Flask(__name__)
    engine = make_engine(os.environ["SURVEY_DATABASE_URL"])
    metadata.create_all(engine)
    # gunicorn preloads the app (gunicorn.conf.py) and forks its workers afterwards: a pooled
    # connection left here would be one PostgreSQL socket shared by every worker, whose requests
    # then hang or fail (seen: the baseline answering nothing under wrk).
    engine.dispose()

    @app.get("/page")
    def page():
        return PAGE

    @app.post("/insert")
    def insert_row():
        with engine.begin() as connection:
            connection.execute(insert(rows).values(payload="x" * 32))
        return "ok", 201

    return app
