"""Frozen results: the computation a round sent to the council and the Ministry, kept as it was.

A freeze computes once and stores everything needed to show and prove that result later: the
options, the questionnaire and structure versions with their content hashes, the figures (the
same JSON as `survey analysis compute --json`), every export file, and a SHA-256 over all of it.

The files are kept in the database, not under the instance folder by content hash (as evidence
uploads are). A freeze is a handful of files of a few hundred kilobytes, a few times a year; in the
database they are written in the freeze's own transaction (a refused or failed freeze leaves no
file behind) and go into the same backup as the row that vouches for them, so an official result
cannot lose its files to a forgotten folder. Export bytes are not reproducible (the PDF carries its
issue date, the workbook its creation time), which is why they are stored rather than rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from analysis.options import AnalysisOptions
from questionnaires import Catalog
from survey.accounts.models import User
from survey.accounts.services import record
from survey.reports import computation
from survey.reports.computation import Computed
from survey.reports.exports import EXPORTS, export_bytes
from survey.reports.models import FrozenFile, FrozenResult
from survey.rounds.models import Round

NAME_MAX = 255
# Rows of the result tables are matched by these columns, so that a changed figure is named by
# its group, question or sub-criterion rather than by a row number that shifts when rows appear.
KEY_COLUMNS = ("field", "criterion", "subcriterion", "element", "policy", "scale", "group", "question",
               "option", "is_pooled", "is_total")
# Labels, not figures: renaming the round must not make its official result look different.
NOT_COMPARED = ("provenance.round_title",)


class FreezeError(ValueError):
    """A freeze that cannot be made; the message is Vietnamese."""


class FrozenFileCorrupt(RuntimeError):
    """A stored file no longer matches the hash recorded when it was frozen."""


@dataclass(frozen=True)
class Change:
    """One figure that differs between a frozen result and a recomputation."""

    path: str
    old: object
    new: object


def figures(computed: Computed) -> dict:
    """The result as JSON-ready data: what `survey analysis compute --json` prints."""
    out = computed.result.to_json_dict()
    out["responses"] = {str(group): int(n) for group, n in computed.response_counts.items()}
    return out


def canonical_json(value) -> str:
    """One spelling per value (sorted keys, no spaces), so that equal figures hash equal."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_hash(figures_sha256: str, reliability: bool, files: list[tuple[str, str, str]]) -> str:
    """SHA-256 over the figures (which carry the options and versions) and every file's hash and name."""
    manifest = {"figures_sha256": figures_sha256, "reliability": reliability,
                "files": {kind: {"filename": filename, "sha256": sha} for kind, filename, sha in files}}
    return _sha256(canonical_json(manifest).encode())


def freeze(session: Session, round_: Round, catalog: Catalog, options: AnalysisOptions, name: str, *,
           reliability: bool = True, actor: User | None = None,
           progress: Callable[[str], None] | None = None) -> FrozenResult:
    """Compute the round once, produce every export, and keep it all under ``name``; audited.

    Raises FreezeError for a missing or taken name, and OptionsError for options that cannot be used.
    """
    name = name.strip()
    if not name:
        raise FreezeError("Vui lòng đặt tên cho kết quả chính thức.")
    if len(name) > NAME_MAX:
        raise FreezeError(f"Tên kết quả chính thức dài tối đa {NAME_MAX} ký tự.")
    taken = session.scalar(select(FrozenResult.id).where(FrozenResult.round_id == round_.id,
                                                          FrozenResult.name == name))
    if taken is not None:
        raise FreezeError(f"Đợt này đã có kết quả chính thức tên “{name}”. Kết quả đã khóa không thể "
                          "ghi đè; hãy đặt tên khác.")
    notify = progress or (lambda step: None)
    computed = computation.compute(session, round_, catalog, options, reliability=reliability, progress=notify)
    text = canonical_json(figures(computed))
    figures_sha256 = _sha256(text.encode())
    files = []
    for kind in EXPORTS:
        notify(kind)
        # The freeze is audited once, below, with every file's hash; not as four downloads.
        payload, filename, mimetype = export_bytes(session, round_, computed, kind, audit=False)
        files.append(FrozenFile(kind=kind, filename=filename, mimetype=mimetype, size=len(payload),
                                sha256=_sha256(payload), content=payload))
    frozen = FrozenResult(
        round_id=round_.id, name=name, options=computed.result.options.as_dict(), reliability=reliability,
        provenance=computed.result.to_json_dict()["provenance"], figures=text, figures_sha256=figures_sha256,
        content_sha256=content_hash(figures_sha256, reliability, [(f.kind, f.filename, f.sha256) for f in files]),
        frozen_by=actor.email if actor else "hệ thống", frozen_by_id=actor.id if actor else None,
    )
    session.add(frozen)
    session.flush()
    for file in files:
        file.frozen_result_id = frozen.id
    session.add_all(files)
    session.flush()
    record(session, "reports.freeze", target=name, round_id=round_.id, province_id=round_.province_id,
           actor=actor, details={"frozen_result_id": frozen.id, "options": frozen.options,
                                 "reliability": reliability, "content_sha256": frozen.content_sha256,
                                 "files": {f.kind: f.sha256 for f in files}})
    return frozen


def frozen_results(session: Session, round_: Round) -> list[FrozenResult]:
    """The round's frozen results, oldest first."""
    return list(session.scalars(select(FrozenResult).where(FrozenResult.round_id == round_.id)
                                .order_by(FrozenResult.frozen_at, FrozenResult.id)))


def frozen_result(session: Session, round_: Round, frozen_id: int) -> FrozenResult | None:
    """One frozen result of the round (None for another round's, so that it stays unrevealed)."""
    frozen = session.get(FrozenResult, frozen_id)
    return frozen if frozen is not None and frozen.round_id == round_.id else None


def stored_figures(frozen: FrozenResult) -> dict:
    return json.loads(frozen.figures)


def is_intact(frozen: FrozenResult) -> bool:
    """Do the stored figures and file hashes still give the recorded content hash?"""
    figures_sha256 = _sha256(frozen.figures.encode())
    files = [(f.kind, f.filename, f.sha256) for f in frozen.files]
    return (figures_sha256 == frozen.figures_sha256
            and content_hash(figures_sha256, frozen.reliability, files) == frozen.content_sha256)


def download(session: Session, frozen: FrozenResult, kind: str) -> FrozenFile | None:
    """The stored file of ``kind`` (None if the freeze has none), checked against its hash; audited."""
    file = session.scalars(select(FrozenFile).options(undefer(FrozenFile.content))
                           .where(FrozenFile.frozen_result_id == frozen.id, FrozenFile.kind == kind)).first()
    if file is None:
        return None
    if _sha256(file.content) != file.sha256:
        raise FrozenFileCorrupt(f"frozen result {frozen.id}: stored {kind} file does not match its hash")
    record(session, "reports.frozen_download", target=file.filename, round_id=frozen.round_id,
           details={"frozen_result_id": frozen.id, "kind": kind, "sha256": file.sha256})
    return file


def frozen_options(frozen: FrozenResult) -> AnalysisOptions:
    """The options the result was frozen with, to recompute it alike (options added since take their defaults)."""
    known = {f.name for f in fields(AnalysisOptions)}
    return AnalysisOptions(**{k: v for k, v in frozen.options.items() if k in known})


def same_options(frozen: FrozenResult, options: AnalysisOptions) -> bool:
    return frozen.options == options.as_dict()


def compare(frozen: FrozenResult, computed: Computed) -> list[Change]:
    """Every figure of ``frozen`` that a recomputation gives otherwise (old -> new).

    Cronbach's alpha is compared only when both computed it (the pages skip it by default).
    """
    old, new = stored_figures(frozen), figures(computed)
    if old.get("reliability") is None or new.get("reliability") is None:
        old.pop("reliability", None)
        new.pop("reliability", None)
    return differences(old, new)


def comparisons(frozen: list[FrozenResult], computed: Computed) -> list[tuple[FrozenResult, list[Change] | None]]:
    """Each frozen result with its changes against ``computed``; None where the options differ."""
    options = computed.result.options
    return [(f, compare(f, computed) if same_options(f, options) else None) for f in frozen]


def differences(old: dict, new: dict) -> list[Change]:
    """Leaf values that differ between two figure trees, named by path; absent reads as None."""
    a, b = _flatten(old), _flatten(new)
    changes = []
    for path in list(a) + [p for p in b if p not in a]:
        if path in NOT_COMPARED:
            continue
        before, after = a.get(path), b.get(path)
        if not _same(before, after):
            changes.append(Change(path, before, after))
    return changes


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        # Summation order may differ between databases; a change in the last bits is not a change.
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def _flatten(value, path: str = "", out: dict | None = None) -> dict:
    out = {} if out is None else out
    if isinstance(value, dict):
        for key in value:
            _flatten(value[key], f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        seen: set[str] = set()
        for i, record_ in enumerate(value):
            label = ", ".join(f"{c}={record_[c]}" for c in KEY_COLUMNS if c in record_ and record_[c] is not None)
            if not label or label in seen:
                label = f"{label}#{i}" if label else str(i)
            seen.add(label)
            for key, v in record_.items():
                if key not in KEY_COLUMNS:
                    _flatten(v, f"{path}[{label}].{key}", out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(v, f"{path}[{i}]", out)
    else:
        out[path] = value
    return out
