"""SIPAS by collection point, agency, procedure, channel and month (issue 16, item 6), on both databases.

Six citizens answer E1.1 and E1.2 (element 1), E2.1 (element 2) and X1 (expectations), at two points,
by two channels, in two months (satisfied = 4 or 5; 9 = don't know, excluded):

    #  point  channel  month    procedure  E1.1 E1.2 E2.1  SI_1 y/x  SI_2 y/x  X1
    1  P1     point    2024-01  PA         4    5    2     2/2       0/1       A, B
    2  P1     point    2024-01  PA         3    9    4     0/1       1/1       A
    3  P1     kiosk    2024-02  PA         5    4    5     2/2       1/1       C
    4  P2     point    2024-02  PB         1    2    4     0/2       1/1       A
    5  P2     kiosk    2024-01  PB         4    4    3     2/2       0/1       A
    6  P2     kiosk    2024-02  PB         4    3    5     1/2       1/1       B

P1: SI_1 = 4/5 = 80, SI_2 = 2/3, service = SIPAS = (80 + 66.67) / 2 = 73.33 (no policy items).
P2: 3/6 = 50, 2/3, 58.33.  Channel point: 2/5 = 40, 2/3, 53.33; kiosk: 5/6, 2/3, 75.
January: 4/5, 1/3, 56.67; February: 3/6, 3/3, 75.  Both procedures belong to Sở Tư pháp: 7/11, 4/6.
Kiosk SI_1 over respondents: R = 5/6, e = 1/3, 1/3, -2/3, Var = 3/2 * (2/3) / 36 = 1/36, t(2) = 4.3027.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import openpyxl
import pytest
from sqlalchemy import select

from analysis import AnalysisOptions
from survey import db
from survey.collection import services
from survey.collection.models import Procedure
from survey.questionnaire_registry import catalog
from survey.reports import computation
from survey.responses import Written, store_response
from survey.rounds.models import Round

JANUARY, FEBRUARY = datetime(2024, 1, 10, 3, tzinfo=UTC), datetime(2024, 2, 14, 3, tzinfo=UTC)
T_975_2 = 4.302652729749464  # Student t, 0.975 quantile, 2 degrees of freedom (tables: 4.303)

# (point, channel, when, procedure, E1.1, E1.2, E2.1, X1)
HAND = [
    ("P1", "point", JANUARY, "PA", "4", "5", "2", ["A", "B"]),
    ("P1", "point", JANUARY, "PA", "3", "9", "4", ["A"]),
    ("P1", "kiosk", FEBRUARY, "PA", "5", "4", "5", ["C"]),
    ("P2", "point", FEBRUARY, "PB", "1", "2", "4", ["A"]),
    ("P2", "kiosk", JANUARY, "PB", "4", "4", "3", ["A"]),
    ("P2", "kiosk", FEBRUARY, "PB", "4", "3", "5", ["B"]),
]
# One more at P2, and one at a third point without a procedure: P3 is below k = 3.
MORE = [
    ("P2", "point", FEBRUARY, "PB", "4", "4", "4", ["A"]),
    ("P3", "point", JANUARY, None, "4", "4", "4", ["A"]),
]


@pytest.fixture
def breakdown_round(app, survey_round):
    """Factory: a round with points P1..P3, procedures PA and PB, and ``rows`` stored; returns
    (round id, {point name: key}, {procedure code: id})."""

    def build(rows=HAND, title="Đợt thử nghiệm"):
        round_id, _ = survey_round(per_group=0, title=title)
        with app.app_context(), db.unit_of_work() as session:
            round_ = session.get(Round, round_id)
            group = next(g for g in round_.groups if g.code == "citizen")
            points = {name: services.create_point(session, round_, group, name=f"Điểm {name}").id
                      for name in ("P1", "P2", "P3")}
            procedures = dict(session.execute(select(Procedure.code, Procedure.id)
                                              .where(Procedure.province_id == round_.province_id)).all())
            for code in {"PA", "PB"} - set(procedures):  # the province's list: shared by its rounds
                procedure = Procedure(province_id=round_.province_id, code=code, name=f"Thủ tục {code}",
                                      field="Tư pháp", agency_name="Sở Tư pháp")
                session.add(procedure)
                session.flush()
                procedures[code] = procedure.id
            questionnaire = catalog().get(group.questionnaire_key, group.questionnaire_version)
            for point, channel, when, procedure, e11, e12, e21, x1 in rows:
                written = store_response(
                    session.connection(), round_id=round_id, group_id=group.id, questionnaire=questionnaire,
                    answers={"E1.1": [e11], "E1.2": [e12], "E2.1": [e21], "X1": x1}, now=when, channel=channel,
                    collection_point_id=points[point], procedure_id=procedures.get(procedure))
                assert written is Written.STORED
        return round_id, {name: str(pid) for name, pid in points.items()}, procedures

    return build


def _breakdown(app, round_id, options):
    with app.app_context(), db.unit_of_work(write=False) as session:
        round_ = session.get(Round, round_id)
        computed = computation.compute(session, round_, catalog(), options)
        return computed, computation.sipas_breakdown(session, round_, computed)


def _value(b, dimension, key, indicator, column="index"):
    i = b.indices
    row = i[(i["dimension"] == dimension) & (i["key"] == key) & (i["indicator"] == indicator)]
    assert len(row) == 1, (dimension, key, indicator)
    return row.iloc[0][column]


def test_indices_per_point_channel_month_agency_and_procedure_are_the_hand_values(app, breakdown_round):
    round_id, point, _ = breakdown_round()
    _, b = _breakdown(app, round_id, AnalysisOptions(min_cell=3))
    expected = {
        ("point", point["P1"]): (80.0, 200 / 3, 220 / 3, 3),
        ("point", point["P2"]): (50.0, 200 / 3, 175 / 3, 3),
        ("channel", "point"): (40.0, 200 / 3, 160 / 3, 3),
        ("channel", "kiosk"): (500 / 6, 200 / 3, 75.0, 3),
        ("month", "2024-01"): (80.0, 100 / 3, 170 / 3, 3),
        ("month", "2024-02"): (50.0, 100.0, 75.0, 3),
        ("procedure", "PA"): (80.0, 200 / 3, 220 / 3, 3),
        ("agency", "Sở Tư pháp"): (700 / 11, 200 / 3, (700 / 11 + 200 / 3) / 2, 6),
    }
    for (dimension, key), (si1, si2, service, n) in expected.items():
        assert _value(b, dimension, key, "SI_1") == pytest.approx(si1)
        assert _value(b, dimension, key, "SI_2") == pytest.approx(si2)
        assert _value(b, dimension, key, "service") == pytest.approx(service)
        assert _value(b, dimension, key, "SIPAS") == pytest.approx(service)  # no policy items answered
        assert _value(b, dimension, key, "SIPAS", "n_respondents") == n
    assert _value(b, "channel", "kiosk", "SI_1", "index_low") == pytest.approx(100 * (5 / 6 - T_975_2 / 6))
    assert not b.indices["suppressed"].any()
    # X1 through the point channel: answered by #1, #2, #4, all chose A, one chose B.
    e = b.expectations.set_index(["dimension", "key", "question", "option"])
    assert e.loc[("channel", "point", "X1", "A"), "share"] == pytest.approx(100.0)
    assert e.loc[("channel", "point", "X1", "B"), "share"] == pytest.approx(100 / 3)
    assert e.loc[("channel", "point", "X1", "A"), "respondents"] == 3
    # Kruskal-Wallis of the respondents' satisfied shares, point 2/3, 1/2, 1/3 against kiosk 1, 2/3, 2/3:
    # rank sums 7 and 14, H = 12/42 * 245/3 - 21 = 7/3, ties (three at 2/3) 1 - 24/210 -> H = 245/93.
    service = b.channel_tests.set_index("indicator").loc["service"]
    assert service["h"] == pytest.approx(245 / 93) and service["dof"] == 1 and service["n"] == 6
    assert service["epsilon_squared"] == pytest.approx(245 / 93 / 5)
    assert b.provenance["questionnaires"]["citizen"]["version"] == "2023.1"
    assert "month" in b.provenance["breakdown"]


def test_a_point_alone_has_the_interval_of_a_round_of_its_responses(app, breakdown_round):
    round_id, point, _ = breakdown_round()
    alone, _, _ = breakdown_round([row for row in HAND if row[0] == "P1"], title="Chỉ điểm P1")
    _, b = _breakdown(app, round_id, AnalysisOptions(min_cell=3))
    computed, _ = _breakdown(app, alone, AnalysisOptions(min_cell=3))
    sipas = computed.result.sipas
    assert _value(b, "point", point["P1"], "service") == pytest.approx(sipas.service_index)
    assert _value(b, "point", point["P1"], "service", "index_low") == pytest.approx(sipas.service_interval[0])
    assert _value(b, "point", point["P1"], "service", "index_high") == pytest.approx(sipas.service_interval[1])
    element = sipas.elements.set_index("code").loc["SI_2"]
    assert _value(b, "point", point["P1"], "SI_2", "index_low") == pytest.approx(element["index_low"])


def test_a_small_point_is_withheld_with_its_complements(app, breakdown_round):
    round_id, point, _ = breakdown_round(HAND + MORE)
    _, b = _breakdown(app, round_id, AnalysisOptions(min_cell=3))
    hidden = {(d, k) for d, k in b.indices.loc[b.indices["suppressed"], ["dimension", "key"]].itertuples(index=False)}
    assert ("point", point["P3"]) in hidden  # 1 respondent < 3
    # The points add up to the published round: P1 (3 respondents, fewer than P2's 4) is withheld too,
    # and procedure PA, whose respondents are exactly P1's, with it.
    assert ("point", point["P1"]) in hidden and ("procedure", "PA") in hidden
    # The response without a procedure is alone: withheld, and the agency dimension (Sở Tư pháp + unknown)
    # adds up to the round, so Sở Tư pháp is withheld as its complement.
    assert {("procedure", ""), ("agency", ""), ("agency", "Sở Tư pháp")} <= hidden
    assert ("point", point["P2"]) not in hidden and ("procedure", "PB") not in hidden
    assert not any(d in ("channel", "month") for d, _ in hidden)
    assert _value(b, "point", point["P3"], "SIPAS") != _value(b, "point", point["P3"], "SIPAS")  # NaN
    assert _value(b, "point", point["P2"], "SI_1") == pytest.approx(62.5)  # 3/6 and 2/2 at #7: 5/8


def test_page_chart_and_files_show_the_breakdown(app, client, breakdown_round, login):
    round_id, point, _ = breakdown_round()
    login("analyst")
    page = client.get(f"/admin/rounds/{round_id}/analysis/sipas?min_cell=3")
    assert page.status_code == 200
    for heading in ("Kênh thu thập", "Tháng", "Điểm khảo sát", "Cơ quan giải quyết", "Thủ tục hành chính"):
        assert f"<h2>{heading}</h2>" in page.text
    assert 'id="sipas-table-point"' in page.text and "Điểm P1" in page.text and "73.3" in page.text
    assert "02/2024" in page.text and "PA – Thủ tục PA" in page.text and "Kruskal–Wallis" in page.text
    assert 'id="sipas-table-channel"' in page.text and "Máy kiosk" in page.text
    assert "/analysis/charts/sipas-months.png" in page.text
    summary = client.get(f"/admin/rounds/{round_id}/analysis?min_cell=3")
    assert f"/admin/rounds/{round_id}/analysis/sipas?" in summary.text
    # With k = 4 every cell of 3 is withheld, on the page too.
    assert "73.3" not in client.get(f"/admin/rounds/{round_id}/analysis/sipas?min_cell=4").text

    chart = client.get(f"/admin/rounds/{round_id}/analysis/charts/sipas-months.png?min_cell=3")
    assert chart.status_code == 200 and chart.mimetype == "image/png"
    from PIL import Image

    image = Image.open(io.BytesIO(chart.data))
    image.load()
    assert image.width > 600

    book = openpyxl.load_workbook(io.BytesIO(client.get(
        f"/admin/rounds/{round_id}/analysis/export/xlsx?min_cell=3").data))
    assert {"SIPAS theo kênh", "SIPAS theo tháng", "SIPAS theo điểm", "SIPAS theo cơ quan", "SIPAS theo thủ tục",
            "SIPAS so sánh kênh", "SIPAS phân tổ - phương pháp"} <= set(book.sheetnames)
    rows = list(book["SIPAS theo điểm"].iter_rows(values_only=True))
    header = rows[0]
    p1 = [dict(zip(header, r)) for r in rows[1:] if r[header.index("Mã")] == point["P1"]]
    service = next(r for r in p1 if r["Mã chỉ số"] == "service")
    assert service["Chỉ số (%)"] == pytest.approx(220 / 3) and service["Số người trả lời hợp lệ"] == 3
    method = {r[1]: r[2] for r in book["SIPAS phân tổ - phương pháp"].iter_rows(values_only=True)}
    assert method["min_cell"] == "3" and "thứ Năm" in method["month"]

    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/admin/rounds/{round_id}/analysis/export/csv?min_cell=3").data))
    assert "sipas_theo_thang.csv" in archive.namelist()
    assert "2024-02" in archive.read("sipas_theo_thang.csv").decode("utf-8-sig")


def test_a_round_without_sipas_answers_shows_no_chart_that_would_not_load(app, client, breakdown_round, login):
    # Seen in the demo (no citizen had answered yet): the month section linked a chart that answered 404.
    round_id, _, _ = breakdown_round(rows=[])
    login("analyst")
    page = client.get(f"/admin/rounds/{round_id}/analysis/sipas")
    assert page.status_code == 200 and "<h2>Tháng</h2>" in page.text and "Chưa có phiếu." in page.text
    assert "sipas-months" not in page.text
    assert client.get(f"/admin/rounds/{round_id}/analysis/charts/sipas-months.png").status_code == 404


def test_focal_points_cannot_read_the_breakdown(app, client, breakdown_round, login):
    round_id, _, _ = breakdown_round()
    login("focal_point")
    assert client.get(f"/admin/rounds/{round_id}/analysis/sipas").status_code == 403
    assert client.get(f"/admin/rounds/{round_id}/analysis/charts/sipas-months.png").status_code == 403


OPTION_A = "Tiếp tục đơn giản hóa thủ tục hành chính, giảm giấy tờ"  # X1's option A (sipas-citizens 2023.1)


def test_expectations_show_the_options_labels_and_exports_keep_the_codes(app, client, breakdown_round, login):
    round_id, _, _ = breakdown_round()
    _, b = _breakdown(app, round_id, AnalysisOptions(min_cell=3))
    e = b.expectations.set_index(["dimension", "key", "question", "option"])
    assert e.loc[("channel", "point", "X1", "A"), "option_label"] == OPTION_A
    login("analyst")
    page = client.get(f"/admin/rounds/{round_id}/analysis/sipas?min_cell=3").text
    assert f"<td>X1</td><td>{OPTION_A}</td>" in page and "<td>X1</td><td>A</td>" not in page
    book = openpyxl.load_workbook(io.BytesIO(client.get(
        f"/admin/rounds/{round_id}/analysis/export/xlsx?min_cell=3").data))
    rows = list(book["SIPAS kỳ vọng theo phân tổ"].iter_rows(values_only=True))
    found = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert {(r["Mã phương án"], r["Phương án"]) for r in found if r["Mã câu hỏi"] == "X1"} >= {("A", OPTION_A)}


def test_the_json_and_the_pdf_carry_the_breakdown_withheld_as_on_the_page(app, client, breakdown_round, login):
    import json
    import subprocess

    round_id, point, _ = breakdown_round(HAND + MORE)
    runner = app.test_cli_runner()
    reply = runner.invoke(args=["analysis", "compute", "--round", str(round_id), "--json", "--min-cell", "3"])
    assert reply.exit_code == 0, reply.output
    out = json.loads(reply.stdout)["sipas_breakdown"]
    assert out["min_cell"] == 3
    rows = {(r["dimension"], r["key"], r["indicator"]): r for r in out["indices"]}
    # P3 (1 respondent) and its complement P1 are withheld: no figure, only the flag; P2 is published.
    for name in ("P3", "P1"):
        hidden = rows[("point", point[name], "SIPAS")]
        assert hidden["suppressed"] is True and hidden["index"] is None and hidden["index_low"] is None
    assert rows[("point", point["P2"], "SI_1")]["index"] == pytest.approx(62.5)
    assert rows[("point", point["P2"], "SI_1")]["suppressed"] is False
    expectation = next(r for r in out["expectations"] if (r["dimension"], r["key"], r["option"])
                       == ("point", point["P3"], "A"))
    assert expectation["suppressed"] is True and expectation["share"] is None and expectation["option_label"] == OPTION_A

    login("analyst")
    pdf = client.get(f"/admin/rounds/{round_id}/analysis/export/pdf?min_cell=3")
    assert pdf.status_code == 200
    text = " ".join(subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True,
                                   check=True).stdout.decode().split())
    assert "CHỈ SỐ HÀI LÒNG (SIPAS) THEO KÊNH, THÁNG, ĐIỂM KHẢO SÁT, CƠ QUAN VÀ THỦ TỤC" in text
    # P2: 4 respondents, SIPAS = service = (62.5 + 75) / 2 = 68.75 (SI_2 3/4 with #7); P1 and P3 withheld.
    assert "Điểm P2 4 68.8" in text
    assert "Điểm P1 3 ẩn ẩn ẩn" in text and "Điểm P3 1 ẩn ẩn ẩn" in text
    assert "Tiếp tục đơn giản hóa" in text
