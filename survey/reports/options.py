"""Analysis options as chosen on a page or on the command line: one parser, one set of rules."""

from __future__ import annotations

from collections.abc import Mapping

from analysis import AnalysisOptions

OPTION_CHOICES = {
    "dont_know": {"exclude": "Loại trừ (không tính)", "zero": "Tính là 0 điểm"},
    "pooling": {"equal": "Trọng số bằng nhau", "size": "Theo số câu trả lời của nhóm"},
    "weighting": {"none": "Không gia quyền", "group": "Gia quyền hậu phân tầng theo nhóm"},
    "hidden_groups": {"exclude": "Không tính nhóm bị ẩn vào điểm gộp", "include": "Tính cả nhóm bị ẩn (ẩn bổ sung một nhóm)"},
}


class OptionsError(ValueError):
    """Analysis options that cannot be used; the message is Vietnamese."""


def parse_options(args: Mapping[str, str]) -> AnalysisOptions:
    """Options from a form or query string; defaults for what is absent."""
    values = {}
    for name, choices in OPTION_CHOICES.items():
        value = (args.get(name) or "").strip()
        if value:
            if value not in choices:
                raise OptionsError(f"Giá trị không hợp lệ cho tùy chọn {name}: {value!r}.")
            values[name] = value
    k = (args.get("min_cell") or "").strip()
    if k:
        if not k.isdigit() or not 1 <= int(k) <= 100:
            raise OptionsError("Ngưỡng ẩn ô nhỏ (k) phải là số nguyên từ 1 đến 100.")
        values["min_cell"] = int(k)
    return AnalysisOptions(**values)


def options_query(options: AnalysisOptions) -> dict[str, str]:
    """The options as URL parameters, so that downloads and charts use what the page showed."""
    return {"dont_know": options.dont_know, "pooling": options.pooling, "weighting": options.weighting,
            "hidden_groups": options.hidden_groups, "min_cell": str(options.min_cell)}
