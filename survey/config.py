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
    elif len(secret) < 32:
        raise ConfigError("SURVEY_SECRET_KEY must be at least 32 characters")

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
    }
