import pytest

from survey.config import ConfigError, from_environment


def test_production_requires_a_secret_key():
    with pytest.raises(ConfigError, match="SURVEY_SECRET_KEY is required"):
        from_environment({"SURVEY_DATABASE_URL": "sqlite://"})


def test_short_secret_key_is_refused():
    with pytest.raises(ConfigError, match="at least 32"):
        from_environment({"SURVEY_SECRET_KEY": "short", "SURVEY_DATABASE_URL": "sqlite://"})


def test_production_requires_a_database_url():
    with pytest.raises(ConfigError, match="SURVEY_DATABASE_URL"):
        from_environment({"SURVEY_SECRET_KEY": "x" * 40})


def test_unknown_mode_is_refused():
    with pytest.raises(ConfigError, match="SURVEY_ENV"):
        from_environment({"SURVEY_ENV": "staging"})


def test_development_generates_and_keeps_a_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SURVEY_INSTANCE_DIR", str(tmp_path))
    first = from_environment({"SURVEY_ENV": "development"})
    second = from_environment({"SURVEY_ENV": "development"})
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) == 64
    assert first["DATABASE_URL"] == f"sqlite:///{tmp_path / 'survey.db'}"
