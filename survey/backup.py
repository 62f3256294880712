"""Back up and restore the whole database: one file, taken while the platform runs.

SQLite: the online backup API copies a consistent snapshot page by page while
writers carry on (WAL), and the copy is checked with ``PRAGMA
integrity_check`` before it replaces anything. PostgreSQL: ``pg_dump`` in its
custom format (compressed, one consistent snapshot) and ``pg_restore``. The
password goes to the tools through their environment (PGPASSWORD), never on a
command line that ``ps`` shows to every user of the machine.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import Engine


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Contents:
    """Rows per table, to say what a backup holds or a restore wrote."""

    rows: dict[str, int]

    def describe(self) -> str:
        total = sum(self.rows.values())
        return f"{len(self.rows)} bảng, {total} dòng"


def backup(engine: Engine, target: Path) -> None:
    """Write a backup of ``engine``'s database to ``target`` (replaced only once complete)."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_copy(_sqlite_path(engine), partial)
        else:
            _pg_tool(engine, ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"])
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def restore(engine: Engine, source: Path, *, force: bool = False) -> None:
    """Replace ``engine``'s database by the backup at ``source``; refuse a database holding data unless ``force``."""
    if not source.is_file():
        raise BackupError(f"Không có tệp sao lưu {source}.")
    if not force:
        held = {name: n for name, n in contents(engine).rows.items() if n and name != "alembic_version"}
        if held:
            raise BackupError(
                f"Cơ sở dữ liệu đích đang có dữ liệu ({sum(held.values())} dòng trong {len(held)} bảng); "
                "không ghi đè. Dùng --force nếu thực sự muốn thay toàn bộ bằng bản sao lưu.")
    engine.dispose()  # no pooled connection of ours may keep the old database open
    if engine.dialect.name == "sqlite":
        _sqlite_restore(source, _sqlite_path(engine))
    else:
        _pg_tool(engine, ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                          "--single-transaction", "--exit-on-error", str(source)])


def contents(engine: Engine) -> Contents:
    with engine.connect() as connection:
        names = sorted(inspect(connection).get_table_names())
        return Contents({name: connection.scalar(select(func.count()).select_from(table(name))) for name in names})


# --- SQLite -------------------------------------------------------------------------------

def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("Chỉ sao lưu được cơ sở dữ liệu SQLite nằm trong một tệp.")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"Không có cơ sở dữ liệu SQLite tại {source}.")
    with closing(_open(source)) as origin, closing(_open(target)) as copy:
        # All pages in one step: the copy is one snapshot, however busy the writers are.
        origin.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        _check_integrity(copy, target)


def _sqlite_restore(source: Path, target: Path) -> None:
    with closing(_open(source)) as backup_file:
        _check_integrity(backup_file, source)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(_open(target)) as live:
            backup_file.backup(live)
            live.execute("PRAGMA journal_mode=WAL")  # as the application opens it (survey.db)


def _check_integrity(connection: sqlite3.Connection, path: Path) -> None:
    verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        raise BackupError(f"Tệp {path} bị hỏng (PRAGMA integrity_check: {verdict}).")


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=30)


# --- PostgreSQL ---------------------------------------------------------------------------

def _pg_tool(engine: Engine, command: list[str]) -> None:
    program = shutil.which(command[0])
    if program is None:
        raise BackupError(f"Không tìm thấy chương trình {command[0]} (gói postgresql-client).")
    url = engine.url
    env = dict(os.environ)
    # libpq's own variables: the tools read them, and nothing secret reaches the command line.
    settings = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username, "PGPASSWORD": url.password,
                "PGDATABASE": url.database, "PGSSLMODE": url.query.get("sslmode")}
    env.update({name: str(value) for name, value in settings.items() if value is not None})
    finished = subprocess.run([program, *command[1:], f"--dbname={url.database}"], env=env,
                              capture_output=True, text=True)
    if finished.returncode != 0:
        raise BackupError(f"{command[0]} thất bại (mã {finished.returncode}): {finished.stderr.strip()}")


# --- command line: `survey db backup PATH`, `survey db restore PATH` ------------------------

@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Sao lưu toàn bộ cơ sở dữ liệu vào PATH trong khi hệ thống vẫn chạy."""
    from survey import db

    with _refusals():
        backup(db.engine(), path)
    click.echo(f"Đã sao lưu cơ sở dữ liệu vào {path} ({path.stat().st_size:,} byte).")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Ghi đè cả khi cơ sở dữ liệu đích đang có dữ liệu.")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Thay cơ sở dữ liệu (SURVEY_DATABASE_URL) bằng bản sao lưu PATH. Dừng ứng dụng trước khi khôi phục."""
    from survey import db

    engine = db.engine()
    with _refusals():
        restore(engine, path, force=force)
    restored = contents(engine)
    click.echo(f"Đã khôi phục {path} vào {engine.url.render_as_string(hide_password=True)}: {restored.describe()}.")
    for name, rows in restored.rows.items():
        click.echo(f"  {name:24} {rows:>10,}")


@contextmanager
def _refusals():
    """A refused or failed backup is one line and exit status 1, not a traceback."""
    try:
        yield
    except BackupError as error:
        raise click.ClickException(str(error)) from None
