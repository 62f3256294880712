"""Analysis options recorded with every computed result.

The scoring rules of the PAR Index survey and of SIPAS are partly provisional
(see the domain brief): whether "don't know" answers are excluded or scored 0,
how respondent groups are pooled, whether post-stratification weights are used,
and the disclosure threshold.  They are therefore explicit options, and every
result object carries the options it was computed with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["AnalysisOptions"]


@dataclass(frozen=True)
class AnalysisOptions:
    """Options of one analysis run.

    Attributes
    ----------
    dont_know : {"exclude", "zero"}
        ``"exclude"``: "don't know / no answer" is not a valid answer (domain rule
        used by the Yên Bái app).  ``"zero"``: it is a valid answer with weight 0.
    pooling : {"equal", "size"}
        Group weights alpha_g when several respondent groups rate one sub-criterion:
        equal (1/G) or proportional to the number of valid answers of the group.
    weighting : {"none", "group"}
        ``"group"``: counts must carry post-stratification weighted counts
        (column ``n_weighted``, see :func:`analysis.weighting.apply_weights`).
    min_cell : int
        Breakdowns backed by fewer responses than this are suppressed.
    hidden_groups : {"exclude", "include"}
        Whether a group row withheld for having fewer than ``min_cell`` responses
        still counts in the pooled sub-criterion score.  ``"exclude"`` (default):
        the pooled score, its counts and alpha_g are over the published groups
        only, so it can be recomputed from what is published and reveals nothing
        of the hidden group, and three people do not carry 1/G of the weight.
        ``"include"``: every group counts; the pooled row is then one equation in
        the hidden group's score, so a second group is hidden alongside
        (complementary suppression, see :mod:`analysis.suppression`).
    confidence : float
        Confidence level of every interval, in (0, 1).
    bootstrap_samples : int
        Number of bootstrap resamples (SIPAS index intervals).
    seed : int
        Seed of the numpy Generator used by every resampling step.
    """

    dont_know: Literal["exclude", "zero"] = "exclude"
    pooling: Literal["equal", "size"] = "equal"
    weighting: Literal["none", "group"] = "none"
    min_cell: int = 5
    hidden_groups: Literal["exclude", "include"] = "exclude"
    confidence: float = 0.95
    bootstrap_samples: int = 2000
    seed: int = 20231210

    def __post_init__(self) -> None:
        errors = []
        if self.dont_know not in ("exclude", "zero"):
            errors.append(f"dont_know must be 'exclude' or 'zero', got {self.dont_know!r}")
        if self.pooling not in ("equal", "size"):
            errors.append(f"pooling must be 'equal' or 'size', got {self.pooling!r}")
        if self.weighting not in ("none", "group"):
            errors.append(f"weighting must be 'none' or 'group', got {self.weighting!r}")
        if self.hidden_groups not in ("exclude", "include"):
            errors.append(f"hidden_groups must be 'exclude' or 'include', got {self.hidden_groups!r}")
        if isinstance(self.min_cell, bool) or not isinstance(self.min_cell, int) or self.min_cell < 0:
            errors.append(f"min_cell must be an integer >= 0, got {self.min_cell!r}")
        if not isinstance(self.confidence, (int, float)) or not 0 < self.confidence < 1:
            errors.append(f"confidence must be in (0, 1), got {self.confidence!r}")
        if (
            isinstance(self.bootstrap_samples, bool)
            or not isinstance(self.bootstrap_samples, int)
            or self.bootstrap_samples < 1
        ):
            errors.append(f"bootstrap_samples must be a positive integer, got {self.bootstrap_samples!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            errors.append(f"seed must be a non-negative integer, got {self.seed!r}")
        if errors:
            raise ValueError("; ".join(errors))

    def choices(self) -> list[tuple[str, str]]:
        """What the platform does where the method leaves room, in Vietnamese, for the methodology
        sheet and page (key, text).  Said outright because a reader cannot infer it from the figures."""
        weighting = {
            "none": "Không gia quyền.",
            "group": ("Gia quyền hậu phân tầng theo nhóm: trọng số không đổi trong một nhóm nên điểm của từng nhóm "
                      "không đổi; khi gộp nhóm " + ("bằng nhau, gia quyền không làm thay đổi điểm gộp"
                                                     if self.pooling == "equal" else
                                                     "theo số câu trả lời, số câu trả lời đã gia quyền được dùng, "
                                                     "tức là mỗi nhóm nặng theo quy mô danh sách của nhóm")
                      + "; các chỉ số SIPAS gộp câu trả lời của các nhóm theo trọng số."),
        }[self.weighting]
        dont_know = ("tính 0 điểm trong điểm và chỉ số" if self.dont_know == "zero"
                     else "không phải câu trả lời hợp lệ")
        return [
            ("multiple_choice", "Câu hỏi nhiều lựa chọn: tỷ lệ mỗi phương án tính trên số người trả lời câu hỏi, "
                                "không tính trên tổng số lựa chọn (tổng các tỷ lệ có thể vượt 100 %)."),
            ("dont_know", f"\"Không biết\": {dont_know}. Độ tin cậy (Cronbach alpha) và kiểm định so sánh nhóm "
                          "luôn bỏ \"không biết\" (không phải một mức trên thang đo), kể cả khi chọn tính 0 điểm."),
            ("weighting", weighting),
            ("hidden_groups", "Nhóm có dưới k phiếu (bị ẩn): " + (
                "không tính vào điểm gộp của tiêu chí thành phần; điểm gộp chỉ gồm các nhóm được công bố."
                if self.hidden_groups == "exclude" else
                "vẫn tính vào điểm gộp của tiêu chí thành phần; khi đó một nhóm khác cũng bị ẩn để không suy "
                "ra được điểm của nhóm nhỏ.")),
            ("intervals", "Khoảng tin cậy của tiêu chí thành phần và chỉ số SIPAS tính theo người trả lời "
                          "(mỗi người trả lời nhiều câu của cùng một tiêu chí), không coi từng câu trả lời là độc lập."),
        ]

    def as_dict(self) -> dict:
        """Plain dict of the options (JSON-serialisable)."""
        return asdict(self)
