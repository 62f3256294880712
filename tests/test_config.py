import os
import subprocess
import sys
from pathlib import Path

import pytest

from survey.config import ConfigError, from_environment
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent


def test_production_requires_a_secret_key():
    with pytest.raises(ConfigError, match="SURVEY_SECRET_KEY is required"):
        from_environment({"SURVEY_DATABASE_URL": "sqlite://"})


def test_short_secret_key_is_refused():
    with pytest.raises(ConfigError, match="at least 32"):
        from_environment({"SURVEY_SECRET_KEY": "short", "SURVEY_DATABASE_URL": "sqlite://"})


def test_production_requires_a_database_url():
    with pytest.raises(ConfigError, match="SURVEY_DATABASE_URL"):
        from_environment({"SURVEY_SECRET_KEY": TEST_SECRET})


def test_unknown_mode_is_refused():
    with pytest.raises(ConfigError, match="SURVEY_ENV"):
        from_environment({"SURVEY_ENV": "staging"})


def test_development_generates_and_keeps_a_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_DIR", str(tmp_path))
    first = from_environment({"SURVEY_ENV": "development"})
    second = from_environment({"SURVEY_ENV": "development"})
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) == 64
    assert first["DATABASE_URL"] == f"sqlite:///{tmp_path / 'survey.db'}"


@pytest.mark.parametrize("secret", [" " * 32, "x" * 40, "ab" * 20, "01234567" * 5])
def test_guessable_secret_keys_are_refused(secret):
    with pytest.raises(ConfigError, match="SURVEY_SECRET_KEY"):
        from_environment({"SURVEY_SECRET_KEY": secret, "SURVEY_DATABASE_URL": "sqlite://"})


def test_a_random_key_is_accepted():
    import secrets

    for _ in range(100):
        from_environment({"SURVEY_SECRET_KEY": secrets.token_hex(16), "SURVEY_DATABASE_URL": "sqlite://"})


def test_evidence_folder_and_size_come_from_the_environment(tmp_path):
    base = {"SURVEY_SECRET_KEY": TEST_SECRET, "SURVEY_DATABASE_URL": "sqlite://"}
    unset = from_environment(base)
    assert "ASSESSMENT_EVIDENCE_DIR" not in unset and "ASSESSMENT_EVIDENCE_MAX_BYTES" not in unset
    config = from_environment({**base, "SURVEY_ASSESSMENT_EVIDENCE_DIR": str(tmp_path / "evidence"),
                               "SURVEY_ASSESSMENT_EVIDENCE_MAX_BYTES": "5242880"})
    assert config["ASSESSMENT_EVIDENCE_DIR"] == str(tmp_path / "evidence")
    assert config["ASSESSMENT_EVIDENCE_MAX_BYTES"] == 5 * 1024 * 1024


@pytest.mark.parametrize("name, value, message", [
    ("SURVEY_ASSESSMENT_EVIDENCE_DIR", "instance/evidence", "absolute path"),
    ("SURVEY_ASSESSMENT_EVIDENCE_DIR", str(ROOT / "survey" / "static" / "evidence"), "outside survey/static"),
    ("SURVEY_ASSESSMENT_EVIDENCE_MAX_BYTES", "20MB", "whole number of bytes"),
    ("SURVEY_ASSESSMENT_EVIDENCE_MAX_BYTES", "0", "from 1024"),
    ("SURVEY_ASSESSMENT_EVIDENCE_MAX_BYTES", str(60 * 1024 * 1024), "from 1024"),
])
def test_bad_evidence_settings_are_refused(name, value, message):
    with pytest.raises(ConfigError, match=f"{name}.*{message}"):
        from_environment({"SURVEY_SECRET_KEY": TEST_SECRET, "SURVEY_DATABASE_URL": "sqlite://", name: value})


def test_the_evidence_setting_reaches_the_upload_check(tmp_path, monkeypatch):
    from survey import create_app
    from survey.assessment import evidence

    monkeypatch.setenv("SURVEY_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("SURVEY_DATABASE_URL", f"sqlite:///{tmp_path / 'survey.db'}")
    monkeypatch.setenv("SURVEY_ASSESSMENT_EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.setenv("SURVEY_ASSESSMENT_EVIDENCE_MAX_BYTES", "2048")
    with create_app().app_context():
        assert evidence.storage_dir() == tmp_path / "evidence" and evidence.max_bytes() == 2048


def _refused_start(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SURVEY_")}
    # 32 spaces: long enough for the length check this key used to pass.
    env.update({"SURVEY_SECRET_KEY": " " * 32, "SURVEY_DATABASE_URL": f"sqlite:///{tmp_path / 'survey.db'}",
                "HOME": str(tmp_path)})
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("arguments", [["db", "current"], ["--help"], []])
def test_the_command_line_refuses_a_bad_configuration_in_one_line(arguments, tmp_path):
    result = _refused_start([str(Path(sys.executable).parent / "survey"), *arguments], tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: configuration: SURVEY_SECRET_KEY must be at least 32 characters, not counting leading or trailing "
        "spaces (generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))')"
    ]


def test_gunicorn_refuses_a_bad_configuration_in_one_line_and_stops(tmp_path):
    result = _refused_start([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", "127.0.0.1:0", "wsgi:app"],
                            tmp_path)
    # The master stops (APP_LOAD_ERROR) rather than booting workers again and again.
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "SURVEY_SECRET_KEY" in line]
    assert lines and set(lines) == {
        "survey: configuration: SURVEY_SECRET_KEY must be at least 32 characters, not counting leading or trailing "
        "spaces (generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))')"
    }
