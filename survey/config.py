"""Configuration from the environment (``SURVEY_`` prefix), checked at start-up."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    pass


def _instance_dir() -> Path:
    return Path(os.environ.get("SURVEY_INSTANCE_DIR", PROJECT_ROOT / "instance"))


def _development_secret(instance: Path) -> str:
    """A per-checkout key kept in instance/, so dev sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def from_environment(environ: dict[str, str] | None = None) -> dict:
    env = os.environ if environ is None else environ
    instance = _instance_dir()
    mode = env.get("SURVEY_ENV", "production")
    if mode not in {"production", "development"}:
        raise ConfigError(f"SURVEY_ENV must be 'production' or 'development', not {mode!r}")

    secret = env.get("SURVEY_SECRET_KEY")
    if not secret:
        if mode != "development":
            raise ConfigError(
                "SURVEY_SECRET_KEY is required (set SURVEY_ENV=development to use a generated one locally)"
            )
        secret = _development_secret(instance)
    else:
        _check_secret(secret)

    database_url = env.get("SURVEY_DATABASE_URL")
    if not database_url:
        if mode != "development":
            raise ConfigError("SURVEY_DATABASE_URL is required outside development")
        instance.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance / 'survey.db'}"

    return {
        "ENV_MODE": mode,
        "SECRET_KEY": secret,
        "DATABASE_URL": database_url,
        "QUESTIONNAIRE_DIR": env.get("SURVEY_QUESTIONNAIRE_DIR"),
        "BASE_URL": env.get("SURVEY_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "SESSION_COOKIE_SECURE": env.get("SURVEY_SECURE_COOKIES", "0" if mode == "development" else "1") == "1",
        **_mail_settings(env, mode),
        **_collection_settings(env),
        # One folder for `survey mail sink` (which writes it) and /admin/mail/sink (which reads it),
        # so the page shows what the sink received. Development defaults to instance/mail.
        "MAIL_SINK_DIR": env.get("SURVEY_MAIL_SINK_DIR") or (str(instance / "mail") if mode == "development" else None),
        "PROXY_HOPS": _proxy_hops(env),
        **_evidence_settings(env),
    }


def _proxy_hops(env) -> int:
    """How many reverse proxies in front of the app append to X-Forwarded-For (nginx alone: 1).

    The client address is read from that header only this many hops deep: with 0 the header is
    ignored, since anyone can send it, and trusting it would let a client choose the address
    the sign-in throttle and the audit log see.
    """
    value = env.get("SURVEY_PROXY_HOPS", "0")
    if not value.isdigit() or int(value) > 10:
        raise ConfigError(f"SURVEY_PROXY_HOPS must be a whole number from 0 to 10 (proxies in front of the app), "
                          f"not {value!r}")
    return int(value)


# Requests are capped at 60 MB (survey.MAX_CONTENT_LENGTH): an evidence file must fit in one with its form.
EVIDENCE_MAX_BYTES_CAP = 50 * 1024 * 1024
EVIDENCE_MAX_BYTES_FLOOR = 1024


def _evidence_settings(env) -> dict:
    """Where the self-assessment's evidence files are kept, and how large one may be.

    Unset, the folder is Flask's instance folder's ``evidence/`` and the limit is 20 MB
    (survey.assessment.evidence). The folder must be absolute (a relative one would move with the
    working directory of each process) and outside the static folder, which the web server serves.
    """
    out = {}
    folder = env.get("SURVEY_ASSESSMENT_EVIDENCE_DIR")
    if folder:
        path = Path(folder)
        if not path.is_absolute():
            raise ConfigError(f"SURVEY_ASSESSMENT_EVIDENCE_DIR must be an absolute path, not {folder!r}")
        static = PROJECT_ROOT / "survey" / "static"
        if path.resolve() == static.resolve() or static.resolve() in path.resolve().parents:
            raise ConfigError("SURVEY_ASSESSMENT_EVIDENCE_DIR must be outside survey/static, which the web server "
                              "serves to anyone: evidence files are read only through the access checks")
        out["ASSESSMENT_EVIDENCE_DIR"] = str(path)
    limit = env.get("SURVEY_ASSESSMENT_EVIDENCE_MAX_BYTES")
    if limit:
        if not limit.isdigit() or not EVIDENCE_MAX_BYTES_FLOOR <= int(limit) <= EVIDENCE_MAX_BYTES_CAP:
            raise ConfigError(f"SURVEY_ASSESSMENT_EVIDENCE_MAX_BYTES must be a whole number of bytes from "
                              f"{EVIDENCE_MAX_BYTES_FLOOR} to {EVIDENCE_MAX_BYTES_CAP} (50 MB; requests are capped "
                              f"at 60 MB), not {limit!r}")
        out["ASSESSMENT_EVIDENCE_MAX_BYTES"] = int(limit)
    return out


# A random key of 32 characters from any usual alphabet (hex, base64) has well over
# this many different characters; "x" * 32, 32 spaces or "abab..." do not.
SECRET_MIN_LENGTH = 32
SECRET_MIN_DISTINCT = 10
SECRET_HINT = "generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"


def _check_secret(secret: str) -> None:
    """Refuse keys that anyone could guess: a signed session cookie is only as strong as its key."""
    if len(secret.strip()) < SECRET_MIN_LENGTH:
        raise ConfigError(f"SURVEY_SECRET_KEY must be at least {SECRET_MIN_LENGTH} characters, "
                          f"not counting leading or trailing spaces ({SECRET_HINT})")
    distinct = len(set(secret))
    if distinct < SECRET_MIN_DISTINCT:
        raise ConfigError(f"SURVEY_SECRET_KEY is too predictable: {distinct} distinct characters, fewer than {SECRET_MIN_DISTINCT} "
                          f"({SECRET_HINT})")


def _collection_settings(env) -> dict:
    from survey.collection.settings import from_environment as collection_settings

    return collection_settings(env, ConfigError)


SMTP_SECURITY = ("none", "starttls", "ssl")


def _mail_settings(env, mode: str) -> dict:
    """Outgoing mail (issue 4). Development defaults point at the local sink started by `make run`."""
    security = env.get("SURVEY_SMTP_SECURITY", "none" if mode == "development" else "starttls")
    if security not in SMTP_SECURITY:
        raise ConfigError(f"SURVEY_SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}, not {security!r}")
    try:
        port = int(env.get("SURVEY_SMTP_PORT", "8025" if mode == "development" else "587"))
        rate = int(env.get("SURVEY_MAIL_RATE", "600" if mode == "development" else "60"))
    except ValueError:
        raise ConfigError("SURVEY_SMTP_PORT and SURVEY_MAIL_RATE must be whole numbers") from None
    if rate < 0:
        raise ConfigError("SURVEY_MAIL_RATE must be 0 (no limit) or a positive number of messages per minute")
    return {
        "SMTP_HOST": env.get("SURVEY_SMTP_HOST", "127.0.0.1" if mode == "development" else None),
        "SMTP_PORT": port,
        "SMTP_SECURITY": security,
        "SMTP_USER": env.get("SURVEY_SMTP_USER") or None,
        "SMTP_PASSWORD": env.get("SURVEY_SMTP_PASSWORD") or None,
        "MAIL_FROM": env.get("SURVEY_SMTP_FROM", "khao-sat@localhost" if mode == "development" else None),
        "MAIL_RATE": rate,
    }
