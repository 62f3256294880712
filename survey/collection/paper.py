"""Paper forms entered twice: batches, each clerk's pass, the comparison, the supervisor's resolution.

A returned paper form is keyed by two different clerks (two passes). When
the second pass agrees with the first, the form is reconciled at once; when
it differs, the questions that differ wait for a supervisor, who reads the
paper and types what it says. Only a reconciled form is stored, through
``survey.responses.store_response`` with the channel "paper", and a row of
``paper_forms`` (unique per number in a batch, written in the same
transaction) makes sure it is stored once, whatever is clicked twice.

The rules of double entry that the schema cannot hold are checked here
before anything is written, with the batch row locked so that two clerks
keying the same number at the same moment are taken one after the other.
"""

from __future__ import annotations

import enum
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from questionnaires import Question, Questionnaire
from survey.accounts import services as audit
from survey.accounts.models import User
from survey.collection.models import CollectionPoint, PaperBatch, PaperEntry, PaperForm, Procedure
from survey.questionnaire_registry import pinned_questionnaire
from survey.respond import answers as answer_rules
from survey.responses import Written, store_response
from survey.rounds.models import Round, RoundGroup
from survey.timeutil import utcnow

# Keyed for a question left blank on the paper, where a value must be typed (the supervisor's resolution).
BLANK = "-"
MAX_FORM_NUMBER = 9_999_999
# Longer than this between the page and the form keyed is a break, not keying speed.
MAX_SECONDS = 3600
_SEPARATORS = re.compile(r"[\s,;]+")


class EntryRefused(ValueError):
    """Keyed values no form can be stored from; Vietnamese messages by question code, and the procedure's."""

    def __init__(self, messages: dict[str, list[str]], procedure: str | None = None):
        self.messages = messages
        self.procedure = procedure
        super().__init__("; ".join([m for ms in messages.values() for m in ms] + ([procedure] if procedure else [])))


class PaperError(ValueError):
    """A step of double entry that cannot be done; the message says why, in Vietnamese."""


class UnknownProcedure(PaperError):
    """A procedure code (mã thủ tục) that is not in the province's list."""


def questionnaire_of(batch: PaperBatch) -> Questionnaire:
    group = batch.group
    return pinned_questionnaire(group.questionnaire_key, group.questionnaire_version, group.questionnaire_hash)


def create_batch(session: Session, round_: Round, group: RoundGroup, *, point: CollectionPoint | None,
                 collected_on: date, team: str, user: User) -> PaperBatch:
    if group.round_id != round_.id or (point is not None and point.round_id != round_.id):
        raise PaperError("Nhóm đối tượng hoặc điểm khảo sát không thuộc đợt khảo sát này.")
    batch = PaperBatch(round_id=round_.id, group_id=group.id, collection_point_id=point.id if point else None,
                       collected_on=collected_on, team=team.strip(), created_by_id=user.id)
    session.add(batch)
    session.flush()
    audit.record(session, "collection.paper_batch_create", target=f"Lô {batch.id}", round_id=round_.id,
                 province_id=round_.province_id,
                 details={"batch_id": batch.id, "group": group.code, "point_id": batch.collection_point_id,
                          "collected_on": collected_on.isoformat(), "team": batch.team})
    return batch


# --- reading what was keyed -----------------------------------------------------------------

def _codes_keyed(question: Question, raw: str) -> list[str]:
    """Option codes from what a clerk typed: "4", "a c", "A,C" or "AC" (single-character codes)."""
    raw = raw.strip().upper()
    if not raw:
        return []
    parts = [p for p in _SEPARATORS.split(raw) if p]
    by_upper = {code.upper(): code for code in question.scale.valid_codes}
    if (question.kind == "multi" and len(parts) == 1 and parts[0] not in by_upper
            and all(len(code) == 1 for code in by_upper)):
        parts = list(parts[0])  # "AC": codes of one character typed without separators
    return [by_upper.get(p, p) for p in parts]


def parse_keyed(questionnaire: Questionnaire, keyed: Mapping[str, str], *, only: set[str] | None = None,
                blank_marker: bool = False) -> dict:
    """Answers from keyed values (by question code), checked by the same rules as an online form.

    An empty value is a question left blank on the paper. With
    ``blank_marker``, every question must be typed and ``BLANK`` says blank.
    """
    form: MultiDict = MultiDict()
    problems: dict[str, list[str]] = {}
    for question in questionnaire.questions:
        if only is not None and question.code not in only:
            continue
        raw = (keyed.get(question.code) or "").strip()
        if blank_marker:
            if not raw:
                problems[question.code] = [f"Câu {question.code}: nhập mã đọc trên phiếu giấy, "
                                           f"hoặc “{BLANK}” nếu câu này để trống."]
                continue
            if raw == BLANK:
                continue
        if question.kind == "text":
            form.add(answer_rules.field_name(question), raw)
            continue
        codes = _codes_keyed(question, raw)
        unknown = [c for c in codes if c not in question.scale.valid_codes]
        if unknown:
            valid = ", ".join(o.code for o in question.scale.options)
            problems[question.code] = [f"Câu {question.code} không có phương án “{unknown[0]}”; "
                                       f"các mã của câu này: {valid}."]
            continue
        for code in codes:
            form.add(answer_rules.field_name(question), code)
    answers: dict = {}
    for section in questionnaire.sections:
        questions = [q for q in section.questions if only is None or q.code in only]
        for question in questions:
            if question.code in problems:
                continue
            try:
                parsed = answer_rules.parse_section(_OneQuestion(question), form, form.getlist)
            except answer_rules.InvalidAnswers as invalid:
                problems[question.code] = invalid.messages
                continue
            answers = answer_rules.merge(answers, parsed)
    if problems:
        raise EntryRefused(problems)
    return answers


@dataclass(frozen=True)
class _OneQuestion:
    """A section of one question, so that each question's problem is reported next to it."""

    question: Question

    @property
    def questions(self):
        return (self.question,)


def keyed_text(question: Question, value) -> str:
    """An answer as a clerk would key it (for showing a pass, or the form again)."""
    if not value:
        return ""
    return value if isinstance(value, str) else " ".join(value)


def procedure_keyed(session: Session, batch: PaperBatch, raw: str, *, blank_marker: bool = False) -> int | None:
    """The id of the province's procedure whose code (mã thủ tục) was keyed; None when none was.

    Codes are compared without regard to case (a clerk types "h35" for "H35").
    With ``blank_marker`` (the supervisor's reading), ``BLANK`` says the paper
    names no procedure and an empty value is refused.
    """
    code = raw.strip()
    if blank_marker and not code:
        raise UnknownProcedure(f"Thủ tục: nhập mã thủ tục đọc trên phiếu giấy, hoặc “{BLANK}” nếu phiếu không ghi.")
    if not code or (blank_marker and code == BLANK):
        return None
    rows = session.execute(select(Procedure.id, Procedure.code).where(
        Procedure.province_id == batch.round.province_id, func.upper(Procedure.code) == code.upper())).all()
    exact = [id_ for id_, stored in rows if stored == code]
    if exact or len(rows) == 1:
        return (exact or [rows[0][0]])[0]
    raise UnknownProcedure(f"Mã thủ tục “{code}” không có trong danh mục thủ tục hành chính của tỉnh; "
                           "kiểm tra lại mã ghi trên phiếu giấy (để trống nếu phiếu không ghi thủ tục).")


def printed_procedure(session: Session, round_: Round, code: str) -> Procedure | None:
    """The province's procedure of ``code`` (exact), to print on forms handed out at its counter."""
    return session.scalars(select(Procedure).where(Procedure.province_id == round_.province_id,
                                                   Procedure.code == code)).one_or_none()


def procedure_codes(session: Session, ids) -> dict[int, str]:
    """Procedure codes by id, for showing what a pass keyed."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(Procedure.id, Procedure.code).where(Procedure.id.in_(wanted))).all())


def read_keyed(session: Session, batch: PaperBatch, keyed: Mapping[str, str], procedure: str | None, *,
               only: set[str] | None = None, blank_marker: bool = False) -> tuple[dict, int | None]:
    """The answers and the procedure's id from what was keyed (``procedure`` None: the form has no procedure).

    EntryRefused lists every problem at once, the procedure's with the questions'.
    """
    procedure_id, unknown = None, None
    if procedure is not None:
        try:
            procedure_id = procedure_keyed(session, batch, procedure, blank_marker=blank_marker)
        except UnknownProcedure as problem:
            unknown = str(problem)
    try:
        answers = parse_keyed(questionnaire_of(batch), keyed, only=only, blank_marker=blank_marker)
    except EntryRefused as refused:
        raise EntryRefused(refused.messages, procedure=unknown) from None
    if unknown:
        raise EntryRefused({}, procedure=unknown)
    return answers, procedure_id


# --- double entry ---------------------------------------------------------------------------

class Outcome(enum.Enum):
    FIRST = "first"  # the first pass: waits for a second clerk
    STORED = "stored"  # the second pass agreed: reconciled and stored
    DIFFERENT = "different"  # the second pass differed: waits for a supervisor


def _lock(session: Session, batch: PaperBatch) -> None:
    # PostgreSQL: the second of two clerks keying the same form waits here and then sees the first's
    # pass. SQLite serialises writers already.
    session.execute(select(PaperBatch.id).where(PaperBatch.id == batch.id).with_for_update()).one()


def _is_stored(session: Session, batch_id: int, number: int) -> bool:
    return session.scalar(select(func.count()).select_from(PaperForm).where(
        PaperForm.batch_id == batch_id, PaperForm.form_number == number)) > 0


def _passes(session: Session, batch_id: int, number: int) -> list[PaperEntry]:
    return list(session.scalars(select(PaperEntry).where(PaperEntry.batch_id == batch_id,
                                                         PaperEntry.form_number == number)
                                .order_by(PaperEntry.pass_number)))


def differing(questionnaire: Questionnaire, first: Mapping, second: Mapping) -> list[str]:
    """Codes of the questions on which two passes differ, in questionnaire order."""
    def same(a, b):
        if isinstance(a, list) and isinstance(b, list):
            return sorted(a) == sorted(b)  # a multiple choice keyed in another order is the same answer
        return (a or None) == (b or None)

    return [q.code for q in questionnaire.questions if not same(first.get(q.code), second.get(q.code))]


def differences(questionnaire: Questionnaire, first: PaperEntry, answers: Mapping, procedure_id: int | None) -> int:
    """How many things a pass reads otherwise than ``answers`` and ``procedure_id``: questions, and the procedure."""
    return len(differing(questionnaire, first.answers, answers)) + (first.procedure_id != procedure_id)


def clamp_seconds(seconds: float | None) -> int | None:
    if seconds is None or seconds < 0:
        return None
    return int(min(seconds, MAX_SECONDS))


def enter_form(session: Session, batch: PaperBatch, clerk: User, number: int, answers: dict,
               *, procedure_id: int | None = None, seconds: int | None = None) -> Outcome:
    """Record one clerk's pass of form ``number``; the second pass compares, and stores if they agree."""
    if not 0 < number <= MAX_FORM_NUMBER:
        raise PaperError("Số phiếu phải là số nguyên dương (in ở góc trên phiếu).")
    if not answers:
        raise PaperError(f"Phiếu số {number} chưa có câu trả lời nào: kiểm tra lại trước khi ghi.")
    _lock(session, batch)
    if _is_stored(session, batch.id, number):
        raise PaperError(f"Phiếu số {number} của lô này đã được đối chiếu và ghi nhận; không nhập lại.")
    passes = _passes(session, batch.id, number)
    if any(p.clerk_id == clerk.id for p in passes):
        raise PaperError(f"Ông/Bà đã nhập phiếu số {number} của lô này. Lần nhập thứ hai phải do "
                         "một cán bộ khác thực hiện.")
    if len(passes) >= 2:
        raise PaperError(f"Phiếu số {number} của lô này đã được nhập đủ hai lần; "
                         "các chỗ khác nhau đang chờ người đối chiếu.")
    entry = PaperEntry(batch_id=batch.id, form_number=number, pass_number=len(passes) + 1, clerk_id=clerk.id,
                       answers=answers, procedure_id=procedure_id, seconds=clamp_seconds(seconds),
                       entered_at=utcnow())
    session.add(entry)
    session.flush()
    if not passes:
        return Outcome.FIRST
    questionnaire = questionnaire_of(batch)
    if differences(questionnaire, passes[0], answers, procedure_id):
        return Outcome.DIFFERENT
    _store(session, batch, questionnaire, number, answers, procedure_id, [passes[0], entry], supervisor=None)
    return Outcome.STORED


@dataclass(frozen=True)
class Disagreement:
    number: int
    first: PaperEntry
    second: PaperEntry
    codes: tuple[str, ...]
    procedure_differs: bool


def disagreement(session: Session, batch: PaperBatch, number: int) -> Disagreement:
    """The two passes of a form waiting for a supervisor, and where they differ."""
    if _is_stored(session, batch.id, number):
        raise PaperError(f"Phiếu số {number} của lô này đã được đối chiếu và ghi nhận.")
    passes = _passes(session, batch.id, number)
    if len(passes) < 2:
        raise PaperError(f"Phiếu số {number} chưa được nhập đủ hai lần.")
    codes = differing(questionnaire_of(batch), passes[0].answers, passes[1].answers)
    return Disagreement(number, passes[0], passes[1], tuple(codes),
                        passes[0].procedure_id != passes[1].procedure_id)


def resolve(session: Session, batch: PaperBatch, number: int, keyed: Mapping[str, str], supervisor: User,
            *, procedure: str = "") -> None:
    """Store form ``number`` with the supervisor's reading of the paper where the two passes differ.

    ``procedure`` is the procedure code read on the paper, used only when the
    passes keyed different procedures. Refused with nothing written if a value
    is not an option of its question or not a procedure of the province
    (EntryRefused), or if the form was stored meanwhile (PaperError).
    """
    _lock(session, batch)
    found = disagreement(session, batch, number)
    questionnaire = questionnaire_of(batch)
    read, procedure_id = read_keyed(session, batch, keyed, procedure if found.procedure_differs else None,
                                    only=set(found.codes), blank_marker=True)
    if not found.procedure_differs:
        procedure_id = found.first.procedure_id
    final = {code: value for code, value in found.first.answers.items() if code not in found.codes}
    final.update(read)
    form = _store(session, batch, questionnaire, number, final, procedure_id, [found.first, found.second],
                  supervisor=supervisor)
    audit.record(session, "collection.paper_resolve", target=f"Lô {batch.id}, phiếu số {number}",
                 round_id=batch.round_id, province_id=batch.round.province_id,
                 details={"batch_id": batch.id, "form_number": number, "differences": form.differences})


def _store(session: Session, batch: PaperBatch, questionnaire: Questionnaire, number: int, answers: dict,
           procedure_id: int | None, passes: list[PaperEntry], *, supervisor: User | None) -> PaperForm:
    # The reconciliation row first: its unique constraint is what makes a second store impossible,
    # even from a transaction that read before this one committed (it then fails and rolls back).
    form = PaperForm(batch_id=batch.id, form_number=number,
                     differences=differences(questionnaire, passes[0], passes[1].answers, passes[1].procedure_id)
                     if len(passes) == 2 else 0,
                     reconciled_by_id=supervisor.id if supervisor else None, reconciled_at=utcnow())
    session.add(form)
    for entry in passes:
        entry.mismatches = differences(questionnaire, entry, answers, procedure_id)
    session.flush()
    written = store_response(session.connection(), round_id=batch.round_id, group_id=batch.group_id,
                             questionnaire=questionnaire, answers=answers, channel="paper",
                             collection_point_id=batch.collection_point_id, procedure_id=procedure_id)
    if written is not Written.STORED:  # no ledger, no draft: no guard can refuse it
        raise RuntimeError(f"a paper form was refused: {written}")
    return form


# --- what the pages show --------------------------------------------------------------------

@dataclass(frozen=True)
class BatchProgress:
    keyed_once: list[tuple[int, str]]  # (form number, clerk's name) waiting for a second clerk
    waiting: list[tuple[int, int]]  # (form number, questions differing) waiting for a supervisor
    stored: int


def batch_progress(session: Session, batch: PaperBatch) -> BatchProgress:
    stored_numbers = set(session.scalars(select(PaperForm.form_number).where(PaperForm.batch_id == batch.id)))
    by_number: dict[int, list[PaperEntry]] = {}
    for entry in session.scalars(select(PaperEntry).where(PaperEntry.batch_id == batch.id)
                                 .order_by(PaperEntry.form_number, PaperEntry.pass_number)):
        if entry.form_number not in stored_numbers:
            by_number.setdefault(entry.form_number, []).append(entry)
    clerks = {es[0].clerk_id for es in by_number.values()}
    names = dict(session.execute(select(User.id, User.full_name).where(User.id.in_(clerks))).all())
    questionnaire = questionnaire_of(batch)
    once = [(n, names.get(es[0].clerk_id, "")) for n, es in by_number.items() if len(es) == 1]
    waiting = [(n, differences(questionnaire, es[0], es[1].answers, es[1].procedure_id))
               for n, es in by_number.items() if len(es) == 2]
    return BatchProgress(once, waiting, len(stored_numbers))


@dataclass(frozen=True)
class ClerkStats:
    name: str
    passes: int
    median_seconds: float | None
    compared: int  # passes of reconciled forms
    disagreed: int  # ... of forms whose two passes differed
    mismatches: int  # questions where this clerk's pass differed from the paper as reconciled

    @property
    def forms_per_hour(self) -> float | None:
        return 3600 / self.median_seconds if self.median_seconds else None

    @property
    def disagreement_rate(self) -> float | None:
        return self.disagreed / self.compared if self.compared else None


def clerk_stats(session: Session, round_id: int) -> list[ClerkStats]:
    """Entry speed and disagreement per clerk over a round's batches."""
    rows = session.execute(
        select(User.full_name, PaperEntry.seconds, PaperEntry.mismatches, PaperForm.differences)
        .join(PaperBatch, PaperBatch.id == PaperEntry.batch_id)
        .join(User, User.id == PaperEntry.clerk_id)
        .outerjoin(PaperForm, (PaperForm.batch_id == PaperEntry.batch_id)
                   & (PaperForm.form_number == PaperEntry.form_number))
        .where(PaperBatch.round_id == round_id))
    per: dict[str, list] = {}
    for name, seconds, mismatches, differences in rows:
        per.setdefault(name, []).append((seconds, mismatches, differences))
    stats = []
    for name, passes in sorted(per.items()):
        timed = [s for s, _, _ in passes if s is not None]
        reconciled = [(m, d) for _, m, d in passes if d is not None]
        stats.append(ClerkStats(name, len(passes), statistics.median(timed) if timed else None, len(reconciled),
                                sum(1 for _, d in reconciled if d), sum(m or 0 for m, _ in reconciled)))
    return stats
