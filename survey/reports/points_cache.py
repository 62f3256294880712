"""A round's survey points per sub-criterion, computed once per state of its answers.

The consolidation board (Tổng hợp) shows them on every request, and computing them (pandas:
scoring, pooling, the SIPAS-fed sub-criteria) cost about four fifths of the page. They are a
pure function of what :func:`survey.reports.computation.survey_points` reads, so the cache key
is that input itself, never a guess at when it changes:

* the round's ``answer_counts``, slots added up (one row per group, question and option: its
  size follows the questionnaires, not the number of responses). Every stored response adds
  to them in its own transaction, a recount rewrites them, a deleted group takes its rows
  with it: whatever changes the counts changes the key;
* the groups and the versions and content hashes of their pinned questionnaires, and the
  index structure's key, version and content hash;
* the analysis options;
* with post-stratification by group, the responses and roster people per group as well.

A process holds its own entries (each gunicorn worker computes a state once); with the key
being the whole input, an entry can be served for any database or request that presents the
same input, and can never be stale. A round still collecting answers changes its key with
every response, so the page then computes as before; a closed or quiet round is served from
here.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analysis.options import AnalysisOptions
from questionnaires import Catalog
from survey.reports import computation, frames
from survey.respond.models import AnswerCount
from survey.rounds.models import Round

MAX_ENTRIES = 64  # a few rounds × options × recent states; each entry is ~100 numbers

_entries: OrderedDict[tuple, dict[str, float]] = OrderedDict()
_lock = threading.Lock()
# Computations done and entries served since the process started (the tests read them).
stats = {"computed": 0, "served": 0}


def clear() -> None:
    """Forget every entry (a test that counts computations starts from an empty cache)."""
    with _lock:
        _entries.clear()


def _counts_digest(session: Session, group_ids: list[int]) -> str:
    rows = session.execute(
        select(AnswerCount.group_id, AnswerCount.question_code, AnswerCount.option_code, func.sum(AnswerCount.n))
        .where(AnswerCount.group_id.in_(group_ids))
        .group_by(AnswerCount.group_id, AnswerCount.question_code, AnswerCount.option_code)
        .order_by(AnswerCount.group_id, AnswerCount.question_code, AnswerCount.option_code)).all()
    digest = hashlib.sha256()
    for group_id, question, option, n in rows:
        if n:  # a cell at zero is no cell (counts_frame drops it too)
            digest.update(f"{group_id}\x1f{question}\x1f{option}\x1f{int(n)}\x1e".encode())
    return digest.hexdigest()


def key(session: Session, round_: Round, catalog: Catalog, options: AnalysisOptions) -> tuple:
    """Everything the survey points of ``round_`` are computed from, reduced to a hashable tuple."""
    questionnaires = frames.round_questionnaires(round_, catalog)  # refuses a changed questionnaire file
    structure = frames.round_structure(questionnaires, catalog)
    groups = tuple((g.id, g.code, questionnaires[g.code].key, questionnaires[g.code].version,
                    questionnaires[g.code].content_hash) for g in round_.groups)
    out = (round_.id, groups,
           None if structure is None else (structure.key, structure.version, structure.content_hash),
           options, _counts_digest(session, [g[0] for g in groups]))
    if options.weighting == "group":
        out += (tuple(sorted(frames.response_counts(session, round_).items())),
                tuple(sorted(frames.roster_counts(session, round_).items())))
    return out


def survey_points(session: Session, round_: Round, catalog: Catalog,
                  options: AnalysisOptions | None = None) -> dict[str, float]:
    """``{sub-criterion: points}`` (pooled, rounded to 2 decimals) of the sub-criteria with a valid answer.

    Raises what the computation raises (``OptionsError``, ``ValueError``); failures are not kept.
    """
    options = options or AnalysisOptions()
    wanted = key(session, round_, catalog, options)
    with _lock:
        found = _entries.get(wanted)
        if found is not None:
            _entries.move_to_end(wanted)
            stats["served"] += 1
            return dict(found)
    frame = computation.survey_points(session, round_, catalog, options)
    pooled = frame[frame["is_pooled"]] if "is_pooled" in frame.columns else frame
    points = {row.subcriterion: round(float(row.points), 2) for row in pooled.itertuples()
              if row.points == row.points}  # NaN: no valid answer yet
    with _lock:
        _entries[wanted] = points
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
        stats["computed"] += 1
    return dict(points)
