"""The one place that turns database rows into the frames ``analysis`` reads.

Counts are read from ``answer_counts``, which each submission adds to in its
own transaction (``survey.responses.counts``): one row per (group, question,
option) crosses into Python, whatever the number of answers.  Respondent-level
interval moments are one aggregate query over ``answers`` (per response and
cell inside the database, one row per group and cell out).  Only reliability
needs respondent-level data in Python; it is streamed in chunks cut at
response boundaries.

Nothing here reads respondents' identities: ``responses``/``answers`` carry
none, and the roster is read only as a count per group.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Float, Integer, String, case, column, func, literal, select, union_all, values
from sqlalchemy.orm import Session

from analysis.respondents import INDEX_MOMENT_COLUMNS, MOMENT_COLUMNS
from analysis.sipas_breakdown import month_of_week
from questionnaires import Catalog, Questionnaire, Structure
from survey import dialects
from survey.assessment.par_points import round_par_points
from survey.questionnaire_registry import pinned_questionnaire
from survey.collection.models import CHANNEL_LABELS, CollectionPoint, Procedure
from survey.responses.counts import EXTRA_OPTIONS
from survey.respond.models import Answer, AnswerCount, Response
from survey.rounds.models import Round
from survey.roster.models import Respondent

ITEM_COLUMNS = ["group", "question", "option", "weight", "is_missing", "subcriterion", "sipas_element",
                "sipas_policy", "is_expectation"]


@dataclass
class RoundFrames:
    """Everything ``analysis.compute_round`` needs for a round, plus what the pages show beside it."""

    counts: pd.DataFrame
    items: pd.DataFrame
    structure: pd.DataFrame
    group_sizes: pd.DataFrame
    response_counts: dict[str, int]
    roster_counts: dict[str, int]
    group_labels: dict[str, str]
    sipas_respondents: dict[str, int]
    questionnaires: dict[str, Questionnaire]
    structure_model: Structure | None
    provenance: dict
    self_assessment: pd.DataFrame | None


def round_questionnaires(round_: Round, catalog: Catalog | None = None) -> dict[str, Questionnaire]:
    """Group code -> the questionnaire version the group pinned (refused if the file changed)."""
    return {
        g.code: pinned_questionnaire(g.questionnaire_key, g.questionnaire_version, g.questionnaire_hash, catalog)
        for g in round_.groups
    }


def round_structure(questionnaires: dict[str, Questionnaire], catalog: Catalog) -> Structure | None:
    keys = {(q.structure_key, q.structure_version) for q in questionnaires.values() if q.structure_key}
    if len(keys) > 1:
        raise ValueError(f"the round's questionnaires refer to several index structures: {sorted(keys)}")
    if not keys:
        return None
    key, version = keys.pop()
    return catalog.structure(key, version)


def items_frame(questionnaires: dict[str, Questionnaire]) -> pd.DataFrame:
    """One row per option of every closed question of every group's questionnaire."""
    rows = []
    for group, q in questionnaires.items():
        for question in q.questions:
            if question.scale is None:
                continue  # free text: never counted, never exported
            for option in question.scale.options:
                rows.append((
                    group, question.code, option.code,
                    np.nan if option.weight is None else float(option.weight), bool(option.is_missing),
                    question.subcriterion, question.sipas_element, question.sipas_policy,
                    bool(question.is_expectation),
                ))
    out = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    out["sipas_element"] = pd.array(out["sipas_element"], dtype="Int64")
    return out


def structure_frame(structure: Structure | None) -> pd.DataFrame:
    """The index structure; empty (typed) for a SIPAS-only round, which scores no PAR points."""
    rows = [
        (f.number, f.title, c.code, s.code, s.title, float(s.max_points), bool(s.survey_scored), s.sipas_index)
        for f in (structure.fields if structure else ()) for c in f.criteria for s in c.subcriteria
    ]
    out = pd.DataFrame(rows, columns=["field", "field_title", "criterion", "subcriterion", "title", "max_points",
                                      "survey_scored", "sipas_index"])
    return out.astype({"field": "int64", "field_title": str, "criterion": str, "subcriterion": str, "title": str,
                       "max_points": "float64", "survey_scored": bool, "sipas_index": object})


def _group_ids(round_: Round) -> dict[int, str]:
    return {g.id: g.code for g in round_.groups}


def counts_frame(session: Session, round_: Round) -> pd.DataFrame:
    """``group, question, option, n``: the round's groups' rows of ``answer_counts``, slots added up."""
    ids = _group_ids(round_)
    query = (
        select(AnswerCount.group_id, AnswerCount.question_code, AnswerCount.option_code, func.sum(AnswerCount.n))
        .where(AnswerCount.group_id.in_(list(ids)), AnswerCount.option_code != EXTRA_OPTIONS)
        .group_by(AnswerCount.group_id, AnswerCount.question_code, AnswerCount.option_code)
    )
    rows = session.execute(query).all()
    out = pd.DataFrame(rows, columns=["group_id", "question", "option", "n"])
    out["group"] = out["group_id"].map(ids).astype(str)
    out["n"] = out["n"].astype("int64")
    out = out[out["n"] > 0]
    return out[["group", "question", "option", "n"]].sort_values(["group", "question", "option"]).reset_index(drop=True)


def response_counts(session: Session, round_: Round) -> dict[str, int]:
    """Submitted responses per group code (every group listed, 0 included).

    Filtered on the group ids, not the round: the count is then read from the
    group index alone, without visiting a million response rows.
    """
    ids = _group_ids(round_)
    rows = session.execute(
        select(Response.group_id, func.count()).where(Response.group_id.in_(list(ids))).group_by(Response.group_id)
    ).all()
    found = {ids[g]: int(n) for g, n in rows}
    return {code: found.get(code, 0) for code in ids.values()}


def roster_counts(session: Session, round_: Round) -> dict[str, int]:
    """People on the roster per group code (a count: no identity leaves the roster)."""
    ids = _group_ids(round_)
    rows = session.execute(
        select(Respondent.group_id, func.count()).where(Respondent.group_id.in_(list(ids)))
        .group_by(Respondent.group_id)
    ).all()
    found = {ids[g]: int(n) for g, n in rows}
    return {code: found.get(code, 0) for code in ids.values()}


def group_sizes_frame(roster: dict[str, int], responses: dict[str, int]) -> pd.DataFrame:
    """``group, population, respondents`` for post-stratification.

    Per group only: responses are anonymous and carry no agency, so a
    group x agency stratification cannot be formed from them.
    """
    rows = [(g, roster[g], responses[g]) for g in roster if roster[g] > 0]
    return pd.DataFrame(rows, columns=["group", "population", "respondents"])


def expectation_respondents(session: Session, round_: Round, items: pd.DataFrame) -> dict[str, int]:
    """Responses that answered each expectation question: the denominator of its shares.

    The options' counts minus the options chosen beyond the first in that
    question (see ``survey.responses.counts``).
    """
    codes = sorted(set(items.loc[items["is_expectation"], "question"]))
    if not codes:
        return {}
    signed = case((AnswerCount.option_code == EXTRA_OPTIONS, -AnswerCount.n), else_=AnswerCount.n)
    rows = session.execute(
        select(AnswerCount.question_code, func.sum(signed))
        .where(AnswerCount.group_id.in_(list(_group_ids(round_))), AnswerCount.question_code.in_(codes))
        .group_by(AnswerCount.question_code)
    ).all()
    return {q: int(n) for q, n in rows if n}


def provenance(round_: Round, questionnaires: dict[str, Questionnaire], structure: Structure | None) -> dict:
    out = {
        "round_id": round_.id,
        "round_title": round_.title,
        "year": round_.year,
        "questionnaires": {
            g: {"key": q.key, "version": q.version, "content_hash": q.content_hash} for g, q in questionnaires.items()
        },
    }
    if structure is not None:
        out["structure"] = {"key": structure.key, "version": structure.version,
                            "content_hash": structure.content_hash, "provisional": structure.provisional}
    return out


def round_frames(session: Session, round_: Round, catalog: Catalog) -> RoundFrames:
    questionnaires = round_questionnaires(round_, catalog)
    structure = round_structure(questionnaires, catalog)
    items = items_frame(questionnaires)
    counts = counts_frame(session, round_)
    # Answers to options the pinned questionnaire does not offer cannot exist
    # (the respondent services refuse them); keep only known cells defensively
    # for questions the questionnaire no longer lists as closed.
    known = items[["group", "question", "option"]]
    counts = counts.merge(known, on=["group", "question", "option"], how="inner")
    responses = response_counts(session, round_)
    roster = roster_counts(session, round_)
    par_points = round_par_points(session, round_, structure)
    origin = provenance(round_, questionnaires, structure)
    if par_points is not None:
        # With the options and versions, so that a frozen result says which stage its PAR total counted.
        origin["self_assessment"] = par_points.source
    return RoundFrames(
        counts=counts,
        items=items,
        structure=structure_frame(structure),
        group_sizes=group_sizes_frame(roster, responses),
        response_counts=responses,
        roster_counts=roster,
        group_labels={g.code: g.label for g in round_.groups},
        sipas_respondents=expectation_respondents(session, round_, items),
        questionnaires=questionnaires,
        structure_model=structure,
        provenance=origin,
        self_assessment=par_points.frame if par_points is not None else None,
    )


def responses_wide(session: Session, round_: Round, items: pd.DataFrame, chunk_size: int = 20_000
                   ) -> Iterator[pd.DataFrame]:
    """Item weights per response (NaN for don't know / unanswered), streamed in chunks.

    Only scored questions (every substantive option weighted) are read.  Rows
    arrive ordered by response id through a server-side cursor, and a chunk is
    cut only between responses, so no response is split across chunks.
    """
    ids = _group_ids(round_)
    scored = items[items["weight"].notna() & ~items["is_expectation"]]
    weight = {(g, q, o): w for g, q, o, w in scored[["group", "question", "option", "weight"]].itertuples(index=False)}
    codes = sorted(set(scored["question"]))
    if not codes:
        return
    query = (
        select(Answer.response_id, Answer.group_id, Answer.question_code, Answer.option_code)
        .where(Answer.group_id.in_(list(ids)), Answer.question_code.in_(codes), Answer.option_code.is_not(None))
        .order_by(Answer.response_id)
        .execution_options(stream_results=True, yield_per=chunk_size * 8)
    )
    # Rows come in partitions of the cursor; the last response of a partition may
    # continue in the next one, so it is carried over instead of being cut.
    carry = pd.DataFrame(columns=["response", "group_id", "question", "option"])
    for part in session.execute(query).partitions():
        frame = pd.concat([carry, pd.DataFrame(part, columns=carry.columns)], ignore_index=True)
        last = frame["response"].iat[-1]
        tail = (frame["response"] == last).to_numpy()
        carry, frame = frame[tail], frame[~tail]
        if len(frame):
            yield from _wide_chunks(frame, ids, weight, chunk_size)
    if len(carry):
        yield from _wide_chunks(carry, ids, weight, chunk_size)


def _wide_chunks(frame: pd.DataFrame, ids: dict[int, str], weight: dict, chunk_size: int) -> Iterator[pd.DataFrame]:
    frame = frame.assign(group=frame["group_id"].map(ids))
    keys = pd.MultiIndex.from_frame(frame[["group", "question", "option"]])
    lookup = pd.Series(weight, dtype=float)
    frame["weight"] = lookup.reindex(keys).to_numpy()
    wide = frame.drop_duplicates(["response", "question"]).set_index(["response", "question"])["weight"].unstack()
    wide.columns = [str(c) for c in wide.columns]
    wide["group"] = frame.groupby("response", sort=True)["group"].first().reindex(wide.index)
    for start in range(0, len(wide), chunk_size):
        yield wide.iloc[start:start + chunk_size]


def respondent_moments(session: Session, round_: Round, cells: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-respondent sums for the intervals (``analysis.respondents``), computed in the database.

    ``cells`` (``analysis.respondents.index_contributions``) maps each (group,
    question, option) to a cell, a value and what it adds to its respondent's
    service and policy contributions; it travels as a VALUES list with integer
    cell keys, so one GROUP BY per (response, cell) runs inside the database and
    only per (group, cell) sums, and per group the sums of the respondents'
    contributions, come out.  Returns (``MOMENT_COLUMNS`` frame,
    ``INDEX_MOMENT_COLUMNS`` frame).
    """
    ids = _group_ids(round_)
    code_to_id = {code: gid for gid, code in ids.items()}
    cells = cells[cells["group"].isin(code_to_id)]
    if cells.empty:
        return pd.DataFrame(columns=MOMENT_COLUMNS), pd.DataFrame(columns=INDEX_MOMENT_COLUMNS)
    names = sorted(set(cells["cell"]))
    number = {name: i for i, name in enumerate(names)}
    mapping = values(column("group_id", Integer), column("question_code", String), column("option_code", String),
                     column("cell", Integer), column("value", Float), column("counted", Integer), column("u", Float),
                     column("v", Float), column("indexed", Integer), name="answer_cells").data(
        [(code_to_id[g], q, o, number[c], float(y), 0 if m else 1, float(u), float(v), int(i))
         for g, q, o, c, y, m, u, v, i in cells[["group", "question", "option", "cell", "value", "is_missing", "u", "v",
                                                 "indexed"]].itertuples(index=False)]).cte("answer_cells")
    dialect = dialects.of(session)
    # Grouped by bytes, not by the locale's rules: the ids only need to be told apart.
    response = Answer.response_id if dialect.binary_collation is None else Answer.response_id.collate(
        dialect.binary_collation)
    per_cell = (
        select(response.label("response_id"), Answer.group_id.label("group_id"), mapping.c.cell,
               func.count().label("x0"), func.sum(mapping.c.counted).label("x1"), func.sum(mapping.c.value).label("y"),
               func.sum(mapping.c.u).label("u"), func.sum(mapping.c.v).label("v"),
               func.max(mapping.c.indexed).label("indexed"))
        .join(mapping, (mapping.c.group_id == Answer.group_id) & (mapping.c.question_code == Answer.question_code)
              & (mapping.c.option_code == Answer.option_code))
        .where(Answer.group_id.in_(list(ids)))
        .group_by(Answer.group_id, response, mapping.c.cell)
    ).cte("per_cell")
    x0, x1, y = per_cell.c.x0, per_cell.c.x1, per_cell.c.y
    cell_sums = (
        select(per_cell.c.group_id, per_cell.c.cell, func.count(), func.sum(case((x1 > 0, 1), else_=0)),
               func.sum(x0), func.sum(x1), func.sum(y), func.sum(x0 * x0), func.sum(x1 * x1), func.sum(x0 * y),
               func.sum(x1 * y), func.sum(y * y), literal(0).label("kind"))
        .group_by(per_cell.c.group_id, per_cell.c.cell)
    )
    # The same per-cell rows, added up per respondent over the cells that enter the indices.
    per_resp = (
        select(per_cell.c.group_id, func.sum(per_cell.c.u).label("u"), func.sum(per_cell.c.v).label("v"))
        .where(per_cell.c.indexed == 1)
        .group_by(per_cell.c.group_id, per_cell.c.response_id)
    ).subquery()
    u, v = per_resp.c.u, per_resp.c.v
    nothing = literal(None, Float)
    statement = union_all(cell_sums, select(
        per_resp.c.group_id, literal(None, Integer), func.count(), literal(0), func.sum(u), func.sum(u * u),
        func.sum(v), func.sum(v * v), func.sum(u * v), nothing, nothing, nothing, literal(1),
    ).group_by(per_resp.c.group_id))
    with dialect.large_aggregate(session.connection()) as connection:
        rows = connection.execute(statement).all()
    moments = pd.DataFrame([r[:-1] for r in rows if r[-1] == 0], columns=MOMENT_COLUMNS)
    moments["group"] = moments["group"].map(ids)
    moments["cell"] = moments["cell"].map(dict(enumerate(names)))
    index = pd.DataFrame([(r[0], r[2], *r[4:9]) for r in rows if r[-1] == 1], columns=INDEX_MOMENT_COLUMNS)
    index["group"] = index["group"].map(ids)
    for col in MOMENT_COLUMNS[2:]:
        moments[col] = moments[col].astype(float)
    for col in INDEX_MOMENT_COLUMNS[1:]:
        index[col] = index[col].astype(float)
    return moments, index


@dataclass
class SipasResponses:
    """One row per response of the SIPAS groups (no id): its attributes and its sums per SIPAS column
    (``analysis.sipas_breakdown``), and the names to show for points, procedures, agencies and channels."""

    responses: pd.DataFrame
    labels: dict[str, dict[str, str]]


def sipas_responses(session: Session, round_: Round, columns: pd.DataFrame) -> SipasResponses:
    """Per-response SIPAS sums with point, agency, procedure, channel and month, computed in the database.

    ``columns`` (``analysis.sipas_breakdown.response_columns``) says what each answered option adds to
    which column of its response; it travels as a VALUES list, and one GROUP BY per response sums every
    column (CASE per column), so one row per response crosses into Python, not one per answer.
    The month is the month of the week's Thursday (responses keep only their week).
    """
    ids = _group_ids(round_)
    code_to_id = {code: gid for gid, code in ids.items()}
    columns = columns[columns["group"].isin(code_to_id)]
    names = list(dict.fromkeys(columns["column"]))
    position = {name: i for i, name in enumerate(names)}
    attributes = ["group", "channel", "point", "procedure_id", "week"]
    if not names:
        return SipasResponses(pd.DataFrame(columns=["group", "point", "agency", "procedure", "channel", "month"]), {})
    mapping = values(column("group_id", Integer), column("question_code", String), column("option_code", String),
                     column("col", Integer), column("value", Float), name="sipas_columns").data(
        [(code_to_id[g], q, o, position[c], float(v))
         for g, q, o, c, v in columns[["group", "question", "option", "column", "value"]].itertuples(index=False)]
    ).cte("sipas_columns")
    sums = [func.sum(case((mapping.c.col == i, mapping.c.value), else_=0.0)) for i in range(len(names))]
    query = (
        select(Response.group_id, Response.channel, Response.collection_point_id, Response.procedure_id,
               Response.submitted_week, *sums)
        .select_from(Answer)
        .join(mapping, (mapping.c.group_id == Answer.group_id) & (mapping.c.question_code == Answer.question_code)
              & (mapping.c.option_code == Answer.option_code))
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.group_id.in_(sorted({code_to_id[g] for g in columns["group"]})))
        .group_by(Answer.response_id, Response.group_id, Response.channel, Response.collection_point_id,
                  Response.procedure_id, Response.submitted_week)
    )
    frame = pd.DataFrame(session.execute(query).all(), columns=attributes + names)
    for name in names:
        frame[name] = frame[name].astype(float)
    procedures = {pid: (code, name, agency) for pid, code, name, agency in session.execute(
        select(Procedure.id, Procedure.code, Procedure.name, Procedure.agency_name)
        .where(Procedure.id.in_([int(p) for p in frame["procedure_id"].dropna().unique()])))}
    points = dict(session.execute(select(CollectionPoint.id, CollectionPoint.name)
                                  .where(CollectionPoint.round_id == round_.id)).all())
    procedure = frame["procedure_id"].map(lambda p: procedures[int(p)][0] if pd.notna(p) and int(p) in procedures
                                          else "")
    agency = frame["procedure_id"].map(lambda p: procedures[int(p)][2] if pd.notna(p) and int(p) in procedures
                                       else "")
    out = pd.DataFrame({
        "group": frame["group"].map(ids).astype(str),
        "point": frame["point"].map(lambda p: str(int(p)) if pd.notna(p) else ""),
        "agency": agency.astype(str),
        "procedure": procedure.astype(str),
        "channel": frame["channel"].fillna("").astype(str),
        "month": month_of_week(frame["week"]) if len(frame) else pd.Series([], dtype=str),
    })
    out = pd.concat([out, frame[names]], axis=1)
    labels = {
        "point": {str(pid): name for pid, name in points.items()},
        "procedure": {code: f"{code} – {name}" for code, name, _ in procedures.values()},
        "agency": {agency: agency for _, _, agency in procedures.values() if agency},
        "channel": dict(CHANNEL_LABELS),
    }
    return SipasResponses(out, labels)
