"""Groups and the default milestone plan are data files; a malformed file is refused by name."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from survey.rounds.datafiles import (DataFileError, default_plan, group_words, parse_group_words, parse_plan)
from survey.rounds.services import default_milestones
from survey.roster.importing import position_group

GROUPS = """
groups:
  - {code: hdnd, label: Đại biểu HĐND tỉnh}
  - {code: commune, label: Lãnh đạo UBND cấp xã}
  - {code: citizen, label: Người dân, needs_agency: false}
positions:
  - {group: commune, pattern: '\\bchu tich (ubnd )?(xa|phuong)\\b'}
words:
  - {group: hdnd, pattern: '\\bhdnd\\b'}
"""


def test_the_shipped_files_give_the_2023_plan_and_groups():
    assert [(m.starts_on, m.due_on) for m in default_milestones(2023)] == [
        (None, date(2023, 12, 10)), (date(2023, 12, 1), date(2023, 12, 25)), (None, date(2024, 1, 5)),
        (None, date(2024, 1, 15)), (None, date(2024, 1, 20))]
    assert default_plan().ministry_deadline == (12, 10)
    words = group_words()
    assert words.without_agency == frozenset({"citizen"})
    assert position_group("Trưởng phòng Cải cách hành chính, Sở Nội vụ") == "division"
    assert position_group("Chủ tịch UBND xã Bản Vược") == "commune"


def test_a_new_group_is_a_data_edit():
    words = parse_group_words(yaml.safe_load(GROUPS))
    assert words.labels == {"hdnd": "Đại biểu HĐND tỉnh", "commune": "Lãnh đạo UBND cấp xã", "citizen": "Người dân"}
    assert [code for code, pattern in words.positions if pattern.search("chu tich ubnd phuong sa pa")] == ["commune"]


@pytest.mark.parametrize("edit, message", [
    (lambda c: c.pop("words"), "“words” must be a non-empty list"),
    (lambda c: c["groups"].append({"code": "hdnd", "label": "Lần hai"}), "a group code is listed twice"),
    (lambda c: c["positions"].append({"group": "district", "pattern": "x"}), "positions entry 2: unknown group “district”"),
    (lambda c: c["words"].append({"group": "hdnd", "pattern": "("}), "words entry 2: bad pattern"),
    (lambda c: c["groups"].append({"code": "x"}), "groups entry 4 lacks label"),
])
def test_a_malformed_groups_file_is_refused_saying_where(edit, message):
    content = yaml.safe_load(GROUPS)
    edit(content)
    with pytest.raises(DataFileError, match=f"^questionnaires/groups.yaml: .*{message[:30]}"):
        parse_group_words(content)


@pytest.mark.parametrize("milestones, message", [
    ([{"label": "Gửi danh sách", "due": "31/02"}], "milestone 1: “31/02” is not a day/month"),
    ([{"label": "Gửi danh sách", "due": "29/02"}], "milestone 1: “29/02” is not a day/month"),
    ([{"label": "Gửi danh sách"}], "milestones entry 1 lacks due"),
    ([{"label": "Tự chấm", "starts": "25/12", "due": "01/12"}], "milestone 1: starts after it is due"),
    ([{"label": "Tự chấm", "due": "01/12", "next_year": "có"}], "milestone 1: next_year must be true or false"),
])
def test_a_malformed_plan_is_refused_saying_where(milestones, message):
    with pytest.raises(DataFileError, match=f"^questionnaires/calendar/default-plan.yaml: {message}"):
        parse_plan({"milestones": milestones, "ministry_deadline": "10/12"})


def test_a_plan_moves_with_the_year_of_the_round():
    plan = parse_plan({"milestones": [{"label": "Báo cáo", "starts": "15/01", "due": "28/02", "next_year": True}],
                       "ministry_deadline": "05/12"})
    assert plan.milestones[0].dates(2027) == (date(2028, 1, 15), date(2028, 2, 28))
    assert plan.ministry_deadline == (12, 5)
