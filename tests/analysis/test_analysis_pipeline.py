"""compute_round checks its inputs once, scores the answers once, and the PAR-only path agrees with it."""

from __future__ import annotations

import pandas as pd
import pytest

import analysis
from analysis import AnalysisOptions, compute_round, par_of_round
from analysis import _inputs, par, results, scoring, sipas
from tests.analysis.analysis_frames import (LEADER_SCALE, SATISFACTION_SCALE, count_rows, frame, item_rows,
                                            structure)


def _round():
    items = frame(item_rows("lead", "Q1", LEADER_SCALE, "1.1.1") + item_rows("lead", "Q2", LEADER_SCALE, "1.1.2")
                  + item_rows("cit", "E1", SATISFACTION_SCALE, element=1))
    counts = frame(count_rows("lead", "Q1", LEADER_SCALE, [18, 12, 6, 2, 2])
                   + count_rows("lead", "Q2", LEADER_SCALE, [1, 2, 3, 4, 0])
                   + count_rows("cit", "E1", SATISFACTION_SCALE, [1, 1, 2, 3, 3, 0]))
    st = structure([(1, "1.1.1", 1.5, True), (1, "1.1.2", 1.0, True), (1, "1.2.1", 2.0, False)])
    sa = pd.DataFrame({"subcriterion": ["1.2.1"], "points": [1.5]})
    return counts, items, st, sa


def _count_calls(monkeypatch, module, name, calls):
    original = getattr(_inputs if name.startswith("check_") else module, name)

    def counting(*args, **kwargs):
        calls[name] = calls.get(name, 0) + 1
        return original(*args, **kwargs)

    for holder in (_inputs, results, scoring, sipas, par):
        if hasattr(holder, name):
            monkeypatch.setattr(holder, name, counting)


def test_compute_round_checks_inputs_once_and_scores_answers_once(monkeypatch):
    counts, items, st, sa = _round()
    calls: dict[str, int] = {}
    for name in ("check_counts", "check_items", "check_structure", "score_answers"):
        _count_calls(monkeypatch, scoring, name, calls)
    result = compute_round(counts, items, st, AnalysisOptions(min_cell=1), self_assessment=sa)
    assert result.sipas is not None and result.par is not None
    assert calls == {"check_counts": 1, "check_items": 1, "check_structure": 1, "score_answers": 1}


def test_par_of_round_equals_the_full_computation_and_skips_the_rest(monkeypatch):
    counts, items, st, sa = _round()
    options = AnalysisOptions(min_cell=1)
    full = compute_round(counts, items, st, options, self_assessment=sa).par
    # The earlier round's PAR score needs neither frequencies nor SIPAS: make them fail if called.
    monkeypatch.setattr(results, "satisfaction_of", lambda *a, **k: pytest.fail("SIPAS computed"))
    monkeypatch.setattr(results, "_frequencies", lambda *a, **k: pytest.fail("frequencies computed"))
    alone = par_of_round(counts, items, st, sa, options)
    # 1.1.1: 1.5 * 26.4/38 = 1.04; 1.1.2: 1.0 * (1 + 1.2 + 0.6) / 10 = 0.28; self-assessment 1.5
    assert alone.total == pytest.approx(1.04 + 0.28 + 1.5)
    assert alone.total == full.total
    pd.testing.assert_frame_equal(alone.fields, full.fields)
    assert "par_of_round" in analysis.__all__
