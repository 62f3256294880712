"""Load, validate and cross-check questionnaire and index-structure files.

Every loader collects all problems of a file (and ``load_catalog`` of all files) before
raising, so an operator fixing a file sees the whole list at once. Checking runs in two
stages: the JSON schema first; the semantic checks (codes, weights, totals, references)
only when the schema passes, because they rely on the shapes the schema guarantees.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from .model import (
    Criterion,
    Field,
    LoadError,
    Option,
    Problem,
    Question,
    Questionnaire,
    Scale,
    Section,
    Structure,
    SubCriterion,
)

DEFAULT_ROOT = Path(__file__).resolve().parent
SCHEMA_DIR = DEFAULT_ROOT / "schema"
FORMS_DIR = "forms"
STRUCTURES_DIR = "structures"

# Published totals of Decision 876/QĐ-BNV; a structure file may override them
# (expected_total / expected_survey_total) if a later decision changes the split.
EXPECTED_TOTAL = 100.0
EXPECTED_SURVEY_TOTAL = 32.0
TOLERANCE = 1e-6
DEFAULT_TEXT_MAX_LENGTH = 1000

StructureKey = tuple[str, str]


# --- reading --------------------------------------------------------------------------


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that refuses duplicate mapping keys.

    Plain PyYAML keeps the last of two equal keys silently, which would let a copy-pasted
    question override another without anyone noticing.
    """

    def construct_mapping(self, node, deep=False):  # noqa: ANN001
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r}",
                        key_node.start_mark,
                    )
                seen[key] = 1
            except TypeError:  # unhashable key: let the base class report it
                pass
        return super().construct_mapping(node, deep=deep)


def _display_name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def _read_yaml(path: Path, name: str) -> tuple[Any, list[Problem]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(name, "", f"cannot read file: {exc.strerror or exc}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(name, "", f"file is not valid UTF-8 (byte {exc.start}); save it as UTF-8")]
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc)
        if mark is not None:
            message = f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {what}"
        else:
            message = f"invalid YAML: {what}"
        return None, [Problem(name, "", message)]
    if not isinstance(doc, dict):
        return None, [Problem(name, "", "the file must contain a YAML mapping (key: value) at the top level")]
    return doc, []


def content_hash(doc: Any) -> str:
    """sha256 of the canonical JSON of a parsed document: blind to comments and layout."""
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def format_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _schema_problems(doc: Any, schema: str, name: str) -> list[Problem]:
    errors = sorted(
        _validator(schema).iter_errors(doc),
        key=lambda e: ([str(p) for p in e.absolute_path], e.message),
    )
    return [Problem(name, format_path(e.absolute_path), e.message) for e in errors]


def _fmt(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else str(x)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE


def _location_problems(doc: dict, path: Path, name: str, kind: str) -> list[Problem]:
    """The file must live at ``<kind>/<key>/<version>.yaml`` so a path alone identifies it."""
    problems = []
    key, version = doc.get("key"), doc.get("version")
    if isinstance(key, str) and key != path.parent.name:
        problems.append(Problem(name, "key", f"key '{key}' does not match the folder '{path.parent.name}' "
                                             f"(expected {kind}/{key}/<version>.yaml)"))
    if isinstance(version, str) and version != path.stem:
        problems.append(Problem(name, "version", f"version '{version}' does not match the file name "
                                                 f"'{path.name}' (expected {version}.yaml)"))
    return problems


def _infer_root(path: Path, kind: str) -> Path | None:
    parents = path.resolve().parents
    if len(parents) >= 3 and parents[1].name == kind:
        return parents[2]
    return None


# --- structures -----------------------------------------------------------------------


def _read_checked(path: Path, name: str, kind: str, folder: str) -> dict:
    """The parsed file, valid against its schema and stored where its key and version say; else LoadError."""
    doc, problems = _read_yaml(path, name)
    if doc is None:
        raise LoadError(problems)
    problems = _schema_problems(doc, kind, name) + _location_problems(doc, path, name, folder)
    if problems:
        raise LoadError(problems)
    return doc


def load_structure(path: Path | str, root: Path | None = None) -> Structure:
    path = Path(path)
    root = root if root is not None else _infer_root(path, STRUCTURES_DIR)
    name = _display_name(path, root)
    doc = _read_checked(path, name, "structure", STRUCTURES_DIR)
    problems = _structure_problems(doc, name)
    if problems:
        raise LoadError(problems)
    return _build_structure(doc, path)


def _structure_problems(doc: dict, name: str) -> list[Problem]:
    problems: list[Problem] = []

    def add(where: str, message: str) -> None:
        problems.append(Problem(name, where, message))

    numbers: dict[int, int] = {}
    codes: dict[str, str] = {}  # every criterion and sub-criterion code -> where it first appears

    def claim(code: str, where: str, kind: str, parent: str, parent_name: str) -> None:
        """A code must be unique in the structure and numbered under its parent ('<parent>.<n>')."""
        if code in codes:
            add(f"{where}.code", f"code '{code}' is used twice (also {codes[code]})")
        codes.setdefault(code, where)
        if code.rsplit(".", 1)[0] != parent:
            add(f"{where}.code", f"{kind} '{code}' is not numbered under {parent_name} (expected '{parent}.<n>')")

    total = survey_total = 0.0
    for fi, fld in enumerate(doc["fields"]):
        fpath = f"fields[{fi}]"
        number = fld["number"]
        if number in numbers:
            add(f"{fpath}.number", f"field number {number} is used twice (also fields[{numbers[number]}])")
        numbers.setdefault(number, fi)
        criteria_sum = 0.0
        for ci, crit in enumerate(fld["criteria"]):
            cpath = f"{fpath}.criteria[{ci}]"
            ccode = crit["code"]
            claim(ccode, cpath, "criterion", str(number), f"field {number}")
            sub_sum = 0.0
            for si, sub in enumerate(crit["subcriteria"]):
                spath = f"{cpath}.subcriteria[{si}]"
                claim(sub["code"], spath, "sub-criterion", ccode, f"criterion '{ccode}'")
                sub_sum += sub["max_points"]
                if sub.get("sipas_index") and not sub["survey_scored"]:
                    add(f"{spath}.sipas_index", f"sub-criterion '{sub['code']}' is fed by a SIPAS index "
                                                "but is not survey_scored")
                if sub["survey_scored"]:
                    survey_total += sub["max_points"]
            if not _close(sub_sum, crit["max_points"]):
                add(f"{cpath}.max_points", f"criterion '{ccode}' has max_points {_fmt(crit['max_points'])} "
                                           f"but its sub-criteria sum to {_fmt(sub_sum)}")
            criteria_sum += crit["max_points"]
        if not _close(criteria_sum, fld["max_points"]):
            add(f"{fpath}.max_points", f"field {number} has max_points {_fmt(fld['max_points'])} "
                                       f"but its criteria sum to {_fmt(criteria_sum)}")
        total += fld["max_points"]
    expected_total = doc.get("expected_total", EXPECTED_TOTAL)
    expected_survey = doc.get("expected_survey_total", EXPECTED_SURVEY_TOTAL)
    if not _close(total, expected_total):
        add("fields", f"fields sum to {_fmt(total)}, expected {_fmt(expected_total)}")
    if not _close(survey_total, expected_survey):
        add("fields", f"survey-scored sub-criteria sum to {_fmt(survey_total)}, expected {_fmt(expected_survey)}")
    return problems


def _build_structure(doc: dict, path: Path) -> Structure:
    fields = tuple(
        Field(
            number=f["number"],
            title=f["title"],
            owner=f["owner"],
            max_points=float(f["max_points"]),
            criteria=tuple(
                Criterion(
                    code=c["code"],
                    title=c["title"],
                    max_points=float(c["max_points"]),
                    subcriteria=tuple(
                        SubCriterion(
                            code=s["code"],
                            title=s["title"],
                            max_points=float(s["max_points"]),
                            survey_scored=s["survey_scored"],
                            provisional=s.get("provisional", False),
                            sipas_index=s.get("sipas_index"),
                        )
                        for s in c["subcriteria"]
                    ),
                )
                for c in f["criteria"]
            ),
        )
        for f in doc["fields"]
    )
    return Structure(
        key=doc["key"],
        version=doc["version"],
        title=doc["title"],
        fields=fields,
        content_hash=content_hash(doc),
        path=path,
    )


# --- questionnaires -------------------------------------------------------------------


def _structure_index(structures: Mapping[StructureKey, Structure] | Iterable[Structure]) -> dict[StructureKey, Structure]:
    if isinstance(structures, Mapping):
        return dict(structures)
    return {(s.key, s.version): s for s in structures}


def load_questionnaire(
    path: Path | str,
    structures: Mapping[StructureKey, Structure] | Iterable[Structure] | None = None,
    root: Path | None = None,
) -> Questionnaire:
    """Load one questionnaire file.

    ``structures`` are the index structures it may reference; when omitted, the referenced
    structure is loaded from ``<root>/structures/<key>/<version>.yaml`` (root inferred from
    the file location, else :data:`DEFAULT_ROOT`).
    """
    path = Path(path)
    inferred = _infer_root(path, FORMS_DIR)
    root = root if root is not None else inferred
    if structures is not None:
        index = _structure_index(structures)

        def resolve(key: StructureKey) -> tuple[Structure | None, str | None, list[Problem]]:
            return index.get(key), "does not exist", []
    else:
        base = root or DEFAULT_ROOT

        def resolve(key: StructureKey) -> tuple[Structure | None, str | None, list[Problem]]:
            spath = base / STRUCTURES_DIR / key[0] / f"{key[1]}.yaml"
            if not spath.is_file():
                return None, f"does not exist (no file {STRUCTURES_DIR}/{key[0]}/{key[1]}.yaml)", []
            try:
                return load_structure(spath, root=base), None, []
            except LoadError as exc:
                return None, "could not be loaded; fix it first", exc.problems

    return _load_questionnaire(path, _display_name(path, root), resolve)


def _load_questionnaire(path: Path, name: str, resolve) -> Questionnaire:  # noqa: ANN001
    """``resolve(key)`` -> (structure or None, why it would be missing, the structure's own problems)."""
    doc = _read_checked(path, name, "questionnaire", FORMS_DIR)
    problems: list[Problem] = []
    structure: Structure | None = None
    ref = doc.get("structure")
    if ref is not None:
        structure, why, structure_problems = resolve((ref["key"], ref["version"]))
        if structure is None:
            problems.append(Problem(name, "structure", f"structure '{ref['key']}' version "
                                                       f"'{ref['version']}' {why}"))
            problems.extend(structure_problems)

    problems += _questionnaire_problems(doc, name, structure, check_refs=structure is not None)
    if problems:
        raise LoadError(problems)
    return _build_questionnaire(doc, path)


def _questionnaire_problems(doc: dict, name: str, structure: Structure | None, check_refs: bool) -> list[Problem]:
    problems: list[Problem] = []

    def add(where: str, message: str) -> None:
        problems.append(Problem(name, where, message))

    survey = doc["survey"]
    scales = doc["scales"]
    for scode, scale in scales.items():
        scored = scale.get("scored", True)
        seen: dict[str, int] = {}
        for oi, opt in enumerate(scale["options"]):
            opath = f"scales.{scode}.options[{oi}]"
            ocode = opt["code"]
            if ocode in seen:
                add(f"{opath}.code", f"option code '{ocode}' is used twice in scale '{scode}' "
                                     f"(also options[{seen[ocode]}])")
            seen.setdefault(ocode, oi)
            weight = opt.get("weight")
            if opt.get("missing", False):
                if weight is not None:
                    add(f"{opath}.weight", f"option '{ocode}' is a don't-know/no-answer option "
                                           "(missing: true) and must not have a weight")
            elif not scored:
                if weight is not None:
                    add(f"{opath}.weight", f"scale '{scode}' is not scored (scored: false); "
                                           f"option '{ocode}' must not have a weight")
            elif weight is None:
                add(f"{opath}.weight", f"option '{ocode}' of scored scale '{scode}' needs a weight "
                                       "between 0 and 1 (or missing: true for don't know)")
            elif not 0 <= weight <= 1:
                add(f"{opath}.weight", f"weight {_fmt(weight)} is out of range; weights must be between 0 and 1")

    policies = doc.get("policies", {})
    question_codes: dict[str, str] = {}
    section_codes: dict[str, int] = {}
    for si, section in enumerate(doc["sections"]):
        spath = f"sections[{si}]"
        if section["code"] in section_codes:
            add(f"{spath}.code", f"section code '{section['code']}' is used twice "
                                 f"(also sections[{section_codes[section['code']]}])")
        section_codes.setdefault(section["code"], si)
        field_no = section.get("field")
        if field_no is not None:
            if survey != "par":
                add(f"{spath}.field", "only PAR questionnaires have sections tied to a field of the index")
            elif check_refs and structure.field(field_no) is None:
                add(f"{spath}.field", f"field {field_no} does not exist in structure "
                                      f"'{structure.key}' version '{structure.version}'")
        for qi, q in enumerate(section["questions"]):
            qpath = f"{spath}.questions[{qi}]"
            code = q["code"]
            if code in question_codes:
                add(f"{qpath}.code", f"duplicate question code '{code}' (also {question_codes[code]})")
            question_codes.setdefault(code, qpath)
            kind = q.get("kind", "single")
            scale_code = q.get("scale")
            if kind == "text":
                if scale_code is not None:
                    add(f"{qpath}.scale", "a text question has no scale")
            elif scale_code is None:
                add(f"{qpath}.scale", f"a {kind} question needs a scale")
            elif scale_code not in scales:
                add(f"{qpath}.scale", f"unknown scale '{scale_code}'")
            scale = scales.get(scale_code) if scale_code else None
            if "max_choices" in q:
                if kind != "multi":
                    add(f"{qpath}.max_choices", f"max_choices is only allowed on multi questions, not {kind}")
                elif scale is not None:
                    answerable = sum(1 for o in scale["options"] if not o.get("missing", False))
                    if q["max_choices"] > answerable:
                        add(f"{qpath}.max_choices", f"max_choices {q['max_choices']} exceeds the "
                                                    f"{answerable} options of scale '{scale_code}'")
            if "max_length" in q and kind != "text":
                add(f"{qpath}.max_length", f"max_length is only allowed on text questions, not {kind}")

            sub = q.get("subcriterion")
            if sub is not None:
                if survey != "par":
                    add(f"{qpath}.subcriterion", "only PAR questionnaires score sub-criteria")
                elif check_refs:
                    found = structure.subcriterion(sub)
                    if found is None:
                        add(f"{qpath}.subcriterion", f"unknown sub-criterion '{sub}' in structure "
                                                     f"'{structure.key}' version '{structure.version}'")
                    elif not found.survey_scored:
                        add(f"{qpath}.subcriterion", f"sub-criterion '{sub}' is not survey-scored "
                                                     "(it is scored by self-assessment)")
                    elif field_no is not None and structure.field_of(sub).number != field_no:
                        add(f"{qpath}.subcriterion", f"sub-criterion '{sub}' belongs to field "
                                                     f"{structure.field_of(sub).number}, but the section "
                                                     f"is for field {field_no}")
                if scale is not None and not scale.get("scored", True):
                    add(f"{qpath}.scale", f"question scores sub-criterion '{sub}' but scale "
                                          f"'{scale_code}' is not scored")
            for key in ("sipas_element", "sipas_policy"):
                if key in q and survey != "sipas":
                    add(f"{qpath}.{key}", f"{key} is only allowed in SIPAS questionnaires")
            pol = q.get("sipas_policy")
            if pol is not None and survey == "sipas" and pol not in policies:
                add(f"{qpath}.sipas_policy", f"policy group '{pol}' is not declared under 'policies'")
            if q.get("is_expectation") and q.get("is_profile"):
                add(qpath, "a question cannot be both an expectation and a profile question")
    return problems


def _build_questionnaire(doc: dict, path: Path) -> Questionnaire:
    scales = {
        code: Scale(
            code=code,
            options=tuple(
                Option(
                    code=o["code"],
                    label=o["label"],
                    weight=None if o.get("weight") is None else float(o["weight"]),
                    is_missing=o.get("missing", False),
                )
                for o in s["options"]
            ),
            scored=s.get("scored", True),
        )
        for code, s in doc["scales"].items()
    }
    sections = []
    for s in doc["sections"]:
        questions = []
        for q in s["questions"]:
            kind = q.get("kind", "single")
            questions.append(
                Question(
                    code=q["code"],
                    text=q["text"],
                    kind=kind,
                    scale=scales[q["scale"]] if kind != "text" else None,
                    required=q.get("required", True),
                    subcriterion=q.get("subcriterion"),
                    sipas_element=q.get("sipas_element"),
                    sipas_policy=q.get("sipas_policy"),
                    is_expectation=q.get("is_expectation", False),
                    is_profile=q.get("is_profile", False),
                    max_choices=q.get("max_choices"),
                    max_length=q.get("max_length", DEFAULT_TEXT_MAX_LENGTH) if kind == "text" else None,
                    help=q.get("help"),
                )
            )
        sections.append(
            Section(
                code=s["code"],
                title=s["title"],
                description=s.get("description"),
                field=s.get("field"),
                questions=tuple(questions),
            )
        )
    structure = doc.get("structure") or {}
    return Questionnaire(
        key=doc["key"],
        version=doc["version"],
        title=doc["title"],
        group_code=doc["group"]["code"],
        group_label=doc["group"]["label"],
        structure_key=structure.get("key"),
        structure_version=structure.get("version"),
        intro=doc["intro"],
        deadline_note=doc.get("deadline_note"),
        sections=tuple(sections),
        content_hash=content_hash(doc),
        path=path,
        survey=doc["survey"],
        scales=scales,
        policies=dict(doc.get("policies", {})),
    )


# --- catalog --------------------------------------------------------------------------


@dataclass
class Catalog:
    questionnaires: dict[tuple[str, str], Questionnaire] = field(default_factory=dict)
    structures: dict[tuple[str, str], Structure] = field(default_factory=dict)

    def get(self, key: str, version: str) -> Questionnaire:
        try:
            return self.questionnaires[(key, version)]
        except KeyError:
            raise KeyError(f"no questionnaire '{key}' version '{version}'") from None

    def versions(self, key: str) -> list[Questionnaire]:
        return sorted((q for (k, _), q in self.questionnaires.items() if k == key),
                      key=lambda q: q.version_tuple)

    def latest(self, key: str) -> Questionnaire:
        versions = self.versions(key)
        if not versions:
            raise KeyError(f"no questionnaire '{key}'")
        return versions[-1]

    def structure(self, key: str, version: str) -> Structure:
        try:
            return self.structures[(key, version)]
        except KeyError:
            raise KeyError(f"no structure '{key}' version '{version}'") from None

    def keys(self) -> list[str]:
        return sorted({k for k, _ in self.questionnaires})


def _data_files(root: Path, kind: str) -> list[Path]:
    base = root / kind
    if not base.is_dir():
        return []
    return sorted(p for p in base.glob("*/*") if p.is_file() and p.suffix in (".yaml", ".yml"))


def load_catalog(root: Path | str = DEFAULT_ROOT) -> Catalog:
    """Load every structure, then every questionnaire, under ``root``.

    Raises one LoadError listing the problems of all files.
    """
    root = Path(root)
    catalog = Catalog()
    problems: list[Problem] = []
    for path in _data_files(root, STRUCTURES_DIR):
        if path.suffix != ".yaml":
            problems.append(Problem(_display_name(path, root), "", "data files must end in .yaml"))
            continue
        try:
            s = load_structure(path, root=root)
        except LoadError as exc:
            problems.extend(exc.problems)
            continue
        catalog.structures[(s.key, s.version)] = s
    # Structure files that exist but failed have their problems listed already; a
    # questionnaire referencing one must say "could not be loaded", not "does not exist".
    failed = {(p.parent.name, p.stem) for p in _data_files(root, STRUCTURES_DIR)} - set(catalog.structures)

    def resolve(key: StructureKey) -> tuple[Structure | None, str | None, list[Problem]]:
        if key in failed:
            return None, "could not be loaded; fix it first", []
        return catalog.structures.get(key), "does not exist", []

    for path in _data_files(root, FORMS_DIR):
        name = _display_name(path, root)
        if path.suffix != ".yaml":
            problems.append(Problem(name, "", "data files must end in .yaml"))
            continue
        try:
            q = _load_questionnaire(path, name, resolve)
        except LoadError as exc:
            problems.extend(exc.problems)
            continue
        catalog.questionnaires[(q.key, q.version)] = q
    if problems:
        raise LoadError(problems)
    return catalog
