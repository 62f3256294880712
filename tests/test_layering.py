"""The layers stay apart: checked in fresh interpreters, so other tests' imports do not mask a leak."""

from __future__ import annotations

import subprocess
import sys


def imported_modules(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(output.split())


def test_respondent_pages_never_import_analysis():
    modules = imported_modules("import survey.respond.views, survey.respond.services")
    assert "survey.respond.views" in modules
    assert not {m for m in modules if m == "analysis" or m.startswith("analysis.")}
    assert "pandas" not in modules and "matplotlib" not in modules


def test_analysis_never_imports_flask_or_the_database_layer():
    modules = imported_modules("import analysis, analysis.report, analysis.charts")
    assert "analysis.report" in modules
    assert not {m for m in modules if m.split(".")[0] in {"flask", "sqlalchemy", "survey", "werkzeug"}}
    assert "matplotlib.pyplot" not in modules


def test_questionnaires_are_plain_data_code():
    modules = imported_modules("import questionnaires")
    assert not {m for m in modules if m.split(".")[0] in {"flask", "sqlalchemy", "survey", "analysis"}}
