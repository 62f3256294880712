"""The round's year in questionnaire texts ("[năm]") and the warning for a version of another year."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from markupsafe import Markup

from survey import create_app, db
from survey.questionnaire_registry import DEFAULT_ROOT, catalog
from survey.round_year import PLACEHOLDER, with_round_year, year_warning
from survey.rounds.services import GroupBinding, create_round, get_or_create_province
from survey.roster.people import add_respondent
from survey.timeutil import utcnow
from tests.conftest import make_test_config
from tests.databases import empty_all_tables

PLACEHOLDER_FORMS = Path(__file__).parent / "questionnaires" / "year_placeholder" / "forms"


def test_the_filter_replaces_the_placeholder_in_text_and_in_markup():
    assert with_round_year("Kế hoạch năm [năm] và [năm]", 2024) == "Kế hoạch năm 2024 và 2024"
    markup = with_round_year(Markup("<legend>năm [năm] &amp; khác</legend>"), 2024)
    assert isinstance(markup, Markup) and markup == Markup("<legend>năm 2024 &amp; khác</legend>")
    assert with_round_year(None, 2024) is None and with_round_year("năm [năm]", None) == "năm [năm]"


@pytest.fixture
def app(database_url, tmp_path):
    """The shipped questionnaires plus the test version that says "[năm]", and a SIPAS copy saying it too."""
    root = tmp_path / "questionnaires"
    shutil.copytree(DEFAULT_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(PLACEHOLDER_FORMS, root / "forms", dirs_exist_ok=True)
    sipas = (root / "forms" / "sipas-citizens" / "2023.1.yaml").read_text(encoding="utf-8")
    sipas = sipas.replace('version: "2023.1"', 'version: "2024.1"', 1).replace(
        'title: "Yếu tố 1. Tiếp cận dịch vụ"', 'title: "Yếu tố 1. Tiếp cận dịch vụ năm [năm]"', 1)
    (root / "forms" / "sipas-citizens" / "2024.1.yaml").write_text(sipas, encoding="utf-8")
    app = create_app(make_test_config(database_url, QUESTIONNAIRE_DIR=str(root)))
    yield app
    empty_all_tables(app.extensions["survey.engine"])
    db.dispose(app)


def _round_2024(app, bindings):
    from survey.respond.links import issue_link

    with app.app_context(), db.unit_of_work() as session:
        province = get_or_create_province(session, "LCI", "tỉnh Lào Cai")
        now = utcnow()
        round_ = create_round(session, catalog(), province=province, year=2024, title="Đợt 2024",
                              opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30), bindings=bindings)
        tokens = {}
        for group in round_.groups:
            person = add_respondent(session, round_, group, full_name=f"Người {group.code}")
            tokens[group.questionnaire_key] = issue_link(session, person)
        return round_.id, tokens


def test_respondents_read_the_rounds_year_where_the_texts_say_placeholder(app):
    round_id, tokens = _round_2024(app, [GroupBinding("par-department-leaders", "2024.1")])
    client = app.test_client()
    token = tokens["par-department-leaders"]
    pages = {
        "landing": client.get(f"/r/{token}").text,
        "section": client.get(f"/r/{token}/section/1").text,
        "review": client.get(f"/r/{token}/review").text,
    }
    for name, page in pages.items():
        assert PLACEHOLDER not in page, name
        assert "kết quả cải cách hành chính năm 2024" in page, name  # the title, in the masthead
    assert "(PAR Index) năm 2024 của tỉnh" in pages["landing"] and "trước ngày 25/12/2024" in pages["landing"]
    section = pages["section"]
    assert "điều hành cải cách hành chính năm 2024</h1>" in section
    assert "Các câu hỏi về kế hoạch cải cách hành chính năm 2024." in section
    assert "kế hoạch cải cách hành chính năm 2024 của tỉnh" in section and "Kế hoạch năm 2024 do UBND" in section
    assert "kế hoạch cải cách hành chính năm 2024 của tỉnh" in pages["review"]  # a required question not answered


def test_a_point_page_reads_the_rounds_year_too(app):
    from survey.collection import services
    from survey.rounds.models import Round

    round_id, _ = _round_2024(app, [GroupBinding("sipas-citizens", "2024.1")])
    with app.app_context(), db.unit_of_work() as session:
        round_ = session.get(Round, round_id)
        point = services.create_point(session, round_, round_.groups[0], name="Một cửa", place="Tầng 1")
        token = point.token
    page = app.test_client().get(f"/p/{token}").text
    assert "Yếu tố 1. Tiếp cận dịch vụ năm 2024" in page and PLACEHOLDER not in page


def test_the_round_page_warns_when_a_version_was_written_for_another_year(app, client, login):
    round_id, _ = _round_2024(app, [GroupBinding("par-hdnd-delegates", "2023.1"),
                                    GroupBinding("par-department-leaders", "2024.1"),
                                    GroupBinding("sipas-citizens", "2024.1")])
    login("province_admin")
    page = client.get(f"/admin/rounds/{round_id}").text
    assert page.count('class="warning year-warning"') == 1
    assert ("Phiếu par-hdnd-delegates 2023.1 được soạn cho năm 2023, khác năm của đợt (2024): người trả lời sẽ "
            "thấy các câu ghi năm 2023.") in page
    with app.app_context():
        cat = catalog()
        assert year_warning(cat.get("par-department-leaders", "2024.1"), 2024) is None
        # One version serving the next year: warned softly, since its texts follow the round.
        softly = year_warning(cat.get("par-department-leaders", "2024.1"), 2025)
        assert "các chỗ “[năm]” trong phiếu sẽ hiện năm 2025" in softly
