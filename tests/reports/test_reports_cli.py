"""`survey analysis compute` and `survey analysis report` over a hand-made round."""

from __future__ import annotations

import json

import pytest


def test_compute_json_prints_the_indices_with_options(app, answered_round):
    round_id = answered_round()
    reply = app.test_cli_runner().invoke(
        args=["analysis", "compute", "--round", str(round_id), "--json", "--min-cell", "2"])
    assert reply.exit_code == 0, reply.output
    out = json.loads(reply.stdout)
    assert out["options"]["min_cell"] == 2 and out["provenance"]["structure"]["key"] == "par-province"
    assert out["responses"]["hdnd"] == 6
    pooled = [r for r in out["subcriterion_points"] if r["subcriterion"] == "1.5.1" and r["is_pooled"]][0]
    assert pooled["score"] == pytest.approx((0.56 + 0.8 + 0.5) / 3)
    assert out["reliability"] is not None


def test_report_writes_every_file_with_progress(app, answered_round, tmp_path):
    round_id = answered_round()
    reply = app.test_cli_runner().invoke(
        args=["analysis", "report", "--round", str(round_id), "--out", str(tmp_path / "out")])
    assert reply.exit_code == 0, reply.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(f"dot-{round_id}-{n}" for n in
                           ["ket-qua.xlsx", "ket-qua-csv.zip", "phieu-an-danh.sav", "bao-cao.pdf"])
    assert "ghi báo cáo PDF" in reply.stderr and "đếm câu trả lời" in reply.stderr


def test_unknown_round_is_a_clear_error(app):
    reply = app.test_cli_runner().invoke(args=["analysis", "compute", "--round", "999999"])
    assert reply.exit_code != 0 and "Không có đợt khảo sát 999999" in reply.stderr


def test_json_blanks_alpha_of_groups_below_the_threshold_like_the_pages(app, answered_round):
    round_id = answered_round()
    reply = app.test_cli_runner().invoke(args=["analysis", "compute", "--round", str(round_id), "--json"])
    assert reply.exit_code == 0, reply.output
    rows = {(r["scale"], r["group"]): r for r in json.loads(reply.stdout)["reliability"]}
    small = rows[("field 1", "division")]  # 2 complete responses, k = 5
    assert small["n"] == 2 and small["suppressed"] is True
    assert small["alpha"] is None and small["alpha_low"] is None and small["alpha_high"] is None


def test_min_cell_zero_is_refused_like_the_page(app, answered_round, client, login):
    round_id = answered_round()
    reply = app.test_cli_runner().invoke(args=["analysis", "compute", "--round", str(round_id), "--min-cell", "0"])
    assert reply.exit_code != 0 and "từ 1 đến 100" in reply.output
    login("analyst")
    assert client.get(f"/admin/rounds/{round_id}/analysis?min_cell=0").status_code == 400


def test_text_output_of_a_round_without_responses_says_so_and_lists_unscored(app, answered_round):
    round_id = answered_round(data={})
    reply = app.test_cli_runner().invoke(args=["analysis", "compute", "--round", str(round_id)])
    assert reply.exit_code == 0, reply.output
    assert "nan" not in reply.stdout
    assert "SIPAS: chưa có dữ liệu" in reply.stdout
    assert "8.1.1 Mức độ hài lòng về tiếp cận dịch vụ: không đo trong đợt này" in reply.stdout
    assert "1.5.1 " in reply.stdout


def test_hidden_groups_option_like_the_page(app, answered_round, client, login):
    round_id = answered_round()
    runner = app.test_cli_runner()
    figures = {}
    for value in ("exclude", "include"):
        reply = runner.invoke(args=["analysis", "compute", "--round", str(round_id), "--json", "--hidden-groups", value])
        assert reply.exit_code == 0, reply.output
        figures[value] = json.loads(reply.stdout)
    default = runner.invoke(args=["analysis", "compute", "--round", str(round_id), "--json"])
    assert json.loads(default.stdout)["options"]["hidden_groups"] == "exclude"

    def pooled(out):
        return [r for r in out["subcriterion_points"] if r["subcriterion"] == "1.5.1" and r["is_pooled"]][0]

    def department(out):
        return [r for r in out["subcriterion_points"] if r["subcriterion"] == "1.5.1" and r["group"] == "department"][0]

    # exclude: the two division leaders (k = 5) are not pooled, (0.56 + 0.8) / 2; include: (0.56 + 0.8 + 0.5) / 3,
    # and the department, the smallest visible group, is hidden as the complement, its alpha with it.
    assert pooled(figures["exclude"])["score"] == pytest.approx(0.68)
    assert pooled(figures["include"])["score"] == pytest.approx((0.56 + 0.8 + 0.5) / 3)
    assert figures["include"]["options"]["hidden_groups"] == "include"
    assert not department(figures["exclude"])["suppressed"] and department(figures["include"])["suppressed"]
    alpha = {value: {(r["scale"], r["group"]): r for r in out["reliability"]} for value, out in figures.items()}
    assert alpha["exclude"][("field 1", "department")]["suppressed"] is False  # 5 complete responses
    assert alpha["include"][("field 1", "department")]["suppressed"] is True
    assert alpha["include"][("field 1", "department")]["alpha"] is None

    refused = runner.invoke(args=["analysis", "compute", "--round", str(round_id), "--hidden-groups", "all"])
    assert refused.exit_code == 2
    assert "Giá trị không hợp lệ cho tùy chọn hidden_groups: 'all'." in refused.output
    login("analyst")
    page = client.get(f"/admin/rounds/{round_id}/analysis?hidden_groups=all")
    assert page.status_code == 400 and "Giá trị không hợp lệ cho tùy chọn hidden_groups" in page.get_data(as_text=True)
