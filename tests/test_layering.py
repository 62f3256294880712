"""The layers stay apart: checked in fresh interpreters, so other tests' imports do not mask a leak."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path


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


ROOT = Path(__file__).resolve().parent.parent
STORAGE = ROOT / "survey" / "responses"
# The SQL behind the storage package, one form per database.
STORAGE_SQL = ROOT / "survey" / "dialects.py"
# Not writers: the migrations (and their test), which build these tables, and one test that
# plants a count no answer backs, so that the check command has a drift to find.
EXEMPT = {ROOT / "survey" / "migrations", ROOT / "tests" / "test_migrations.py",
          ROOT / "tests" / "respond" / "test_counts.py", Path(__file__).resolve()}
STORED_MODELS = {"Response", "Answer", "AnswerCount"}
STORED_TABLES = ("responses", "answers", "answer_counts")
_RAW_WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE(\s+TABLE)?)\s+"
                        rf"({'|'.join(STORED_TABLES)})\b", re.IGNORECASE)


def _python_files():
    for folder in ("survey", "bench", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            if not path.is_relative_to(STORAGE) and path != STORAGE_SQL and not any(path == e or path.is_relative_to(e) for e in EXEMPT):
                yield path


def writes_of_stored_tables(source: str) -> list[str]:
    """What in ``source`` writes responses, answers or answer_counts (by line)."""
    tree = ast.parse(source)
    # Names bound to the models (Flask's Response is another class of the same name).
    models = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              and (node.module or "").startswith("survey.") for alias in node.names if alias.name in STORED_MODELS}

    def is_model(node) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "__table__":
            node = node.value
        if isinstance(node, ast.Attribute) and node.attr in STORED_MODELS:
            return True
        return isinstance(node, ast.Name) and node.id in models

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
            if is_model(function):
                found.append(f"line {node.lineno}: constructs {name}")
            elif name in {"insert", "update", "delete"} and node.args and is_model(node.args[0]):
                found.append(f"line {node.lineno}: {name}() of a stored table")
            elif name in {"insert", "update", "delete"} and isinstance(function, ast.Attribute) \
                    and is_model(function.value):
                found.append(f"line {node.lineno}: .{name}() of a stored table")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _RAW_WRITE.search(node.value):
            found.append(f"line {node.lineno}: SQL writing {_RAW_WRITE.search(node.value).group(3)}")
    return found


def test_only_the_storage_package_writes_responses_answers_and_counts():
    offenders = {str(path.relative_to(ROOT)): found for path in _python_files()
                 if (found := writes_of_stored_tables(path.read_text(encoding="utf-8")))}
    assert offenders == {}, "store responses through survey.responses (store_response, store_responses_in_bulk)"


def test_the_write_detector_sees_each_kind_of_write():
    """The scan above passes on an empty tree too; here each way of writing is seen."""
    assert writes_of_stored_tables("from flask import Response\nResponse('body')\n") == []
    for source in (
        "from survey.respond.models import Response\nResponse(round_id=1)\n",
        "from survey.respond.models import Answer as A\nA(question_code='Q')\n",
        "from survey.respond import models\nmodels.AnswerCount(n=1)\n",
        "from sqlalchemy import insert\nfrom survey.respond.models import Answer\ninsert(Answer)\n",
        "from survey.respond.models import AnswerCount\nupdate(AnswerCount).values(n=2)\n",
        "from survey.respond.models import AnswerCount\nAnswerCount.__table__.insert()\n",
        "from survey.respond.models import Response\ndelete(Response.__table__)\n",
        "c.exec_driver_sql('INSERT INTO answers (response_id) VALUES (?)')\n",
        "c.execute(text('''update answer_counts set n = 0'''))\n",
        "cursor.copy('COPY responses FROM STDIN')\n",
    ):
        assert writes_of_stored_tables(source), source


# Who may end a transaction: the request edge, the unit of work of commands and workers, and the
# dialect code that turns a statement-by-statement connection into a transaction.
TRANSACTION_OWNERS = {ROOT / "survey" / "__init__.py", ROOT / "survey" / "db.py", STORAGE_SQL}


def transaction_ends(source: str) -> list[int]:
    """Lines of ``source`` that call ``.commit()`` or ``.rollback()``."""
    return [node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr in {"commit", "rollback"}]


def test_no_view_or_service_commits_or_rolls_back():
    """Services flush; the request edge (or survey.db.unit_of_work) commits once or rolls back."""
    found = {}
    for path in (ROOT / "survey").rglob("*.py"):
        if path in TRANSACTION_OWNERS or path.is_relative_to(ROOT / "survey" / "migrations"):
            continue
        if calls := transaction_ends(path.read_text(encoding="utf-8")):
            found[str(path.relative_to(ROOT))] = calls
    assert found == {}


def test_the_transaction_scan_sees_commits_and_rollbacks():
    assert transaction_ends("db.session().commit()\nconnection.rollback()\n") == [1, 2]
    assert transaction_ends("session.flush()\n") == []
