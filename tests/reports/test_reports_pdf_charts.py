"""Charts and the PDF report from a stored round: the round's group names, never their codes (issue 14)."""

from __future__ import annotations

import re
import subprocess


from survey import db
from survey.questionnaire_registry import catalog
from survey.reports import charts, computation
from survey.rounds.models import Round


def test_question_chart_names_groups_by_the_rounds_labels(app, answered_round):
    round_id = answered_round()
    with app.app_context(), db.unit_of_work(write=False) as session:
        round_ = session.get(Round, round_id)
        labels = {g.code: g.label for g in round_.groups}
        computed = computation.compute(session, round_, catalog())
        figure = charts.chart(computed, "question", "Q1.01", "hdnd")
    ticks = [t.get_text().replace("\n", " ") for t in figure.axes[0].get_yticklabels()]
    assert ticks == [labels["hdnd"]] and labels["hdnd"] != "hdnd"
    assert figure.get_suptitle().startswith("Q1.01. ")  # the question's text follows its code


def test_pdf_export_has_heading_roster_counts_and_labels(app, client, answered_round, login):
    round_id = answered_round(per_group=3)
    login("analyst")
    pdf = client.get(f"/admin/rounds/{round_id}/analysis/export/pdf")
    assert pdf.status_code == 200
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True,
                          check=True).stdout.decode()
    with app.app_context(), db.unit_of_work(write=False) as session:
        round_ = session.get(Round, round_id)
        groups = [(g.code, g.label) for g in round_.groups]
        computed = computation.compute(session, round_, catalog())
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "SỞ NỘI VỤ" in text
    assert "UBND TỈNH LÀO CAI" in text
    for code, label in groups:
        n, roster = computed.response_counts[code], computed.roster_counts[code]
        assert re.search(rf"{re.escape(label)}\s+{roster}\s+{n}\s", text), label
    flat = " ".join(text.split())
    assert "Ngưỡng công bố k = 5" in flat
    # The round's intervals are computed over respondents, and the method says so.
    assert "tính theo người trả lời" in flat and "bootstrap" not in flat
    assert "round_id" not in text
