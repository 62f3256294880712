"""Collection points: defining them, and a citizen's anonymous response at one.

A public submission has no respondent and no ledger entry. What it writes,
in the request's transaction: the response through
``survey.responses.store_response`` (channel, point, procedure), the keyed
hash of the dossier number when the point asks for one (``dossier_digests``)
and the arrival window (``point_arrivals``), neither of which names the
response. Every check comes before the first write, so a refused form writes
nothing.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, cast, delete, func, literal_column, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from survey import dialects
from survey.accounts import services as audit
from survey.collection import procedures
from survey.collection.models import (
    KIOSK_RECEIPT_DAYS, QUOTA_REFUSE, CollectionPoint, DossierDigest, KioskReceipt, PointArrival, Procedure,
)
from survey.questionnaire_registry import QuestionnaireChanged, QuestionnaireMissing, pinned_questionnaire
from survey.respond import answers as answer_rules
from survey.respond.models import Response
from survey.responses import Written, store_response
from survey.rounds.models import Province, Round, RoundGroup, window_state
from survey.timeutil import utcnow

# 10 characters of a 32-letter alphabet without 0/o, 1/l: 50 random bits, short
# enough to type from a poster, far too many to find points by guessing
# (the per-address limit allows a few dozen tries an hour).
TOKEN_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
TOKEN_LENGTH = 10
_TOKEN_SHAPE = re.compile(rf"^[{TOKEN_ALPHABET}]{{{TOKEN_LENGTH}}}$")

# Bursts are counted in windows of this length (the only time an arrival keeps).
ARRIVAL_WINDOW = timedelta(minutes=10)
DEFAULT_BURST_THRESHOLD = 20  # responses from one point in one window (setting SURVEY_POINT_BURST)

# A dossier number as printed on a receipt (e.g. 000.00.12.H35-231120-0001): letters,
# digits and . - / _, 4 to 40 characters once spaces are removed.
_DOSSIER_SHAPE = re.compile(r"^[A-Z0-9][A-Z0-9./_-]{3,39}$")
_DOSSIER_PURPOSE = b"sipas-dossier\x00"


def new_point_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def plausible_token(token: str) -> bool:
    return bool(_TOKEN_SHAPE.match(token))


# A kiosk link is typed once by staff setting up a tablet, never by citizens: long, 120 random bits.
KIOSK_TOKEN_LENGTH = 24
_KIOSK_TOKEN_SHAPE = re.compile(rf"^[{TOKEN_ALPHABET}]{{{KIOSK_TOKEN_LENGTH}}}$")
# A kiosk page's submission id: 128 random bits in hex (survey/static/kiosk.js, or the page itself).
_SUBMISSION_SHAPE = re.compile(r"^[0-9a-f]{32}$")


def plausible_kiosk_token(token: str) -> bool:
    return bool(_KIOSK_TOKEN_SHAPE.match(token))


def new_submission_id() -> str:
    return secrets.token_hex(16)


class PointError(ValueError):
    """A staff action that cannot be done; the message says why, in Vietnamese."""


# --- staff ----------------------------------------------------------------------------------

def create_point(session: Session, round_: Round, group: RoundGroup, *, name: str, place: str = "",
                 quota: int | None = None, quota_policy: str = "accept", asks_dossier: bool = False) -> CollectionPoint:
    if group.round_id != round_.id:
        raise PointError("Nhóm đối tượng không thuộc đợt khảo sát này.")
    point = CollectionPoint(round_id=round_.id, group_id=group.id, name=name.strip(), place=place.strip(),
                            token=new_point_token(), quota=quota, quota_policy=quota_policy,
                            asks_dossier=asks_dossier)
    session.add(point)
    session.flush()
    audit.record(session, "collection.point_create", target=point.name, round_id=round_.id,
                 province_id=round_.province_id,
                 details={"point_id": point.id, "group": group.code, "quota": quota, "quota_policy": quota_policy,
                          "asks_dossier": asks_dossier})
    return point


def import_procedures(session: Session, round_: Round, data: bytes, filename: str) -> procedures.ImportResult:
    """The province's procedures from a spreadsheet (see survey.collection.procedures), audited."""
    result = procedures.import_procedures(session, round_.province_id, data, filename)
    audit.record(session, "collection.procedures_import", target=filename, round_id=round_.id,
                 province_id=round_.province_id,
                 details={"added": result.added, "updated": result.updated, "problems": len(result.problems)})
    return result


def set_point_closed(session: Session, point: CollectionPoint, closed: bool) -> None:
    """Close a point's link (it then says so plainly) or open it again."""
    point.closed_at = utcnow() if closed else None
    session.flush()
    audit.record(session, "collection.point_close" if closed else "collection.point_reopen", target=point.name,
                 round_id=point.round_id, province_id=point.round.province_id, details={"point_id": point.id})


def set_kiosk(session: Session, point: CollectionPoint, enabled: bool) -> None:
    """Give the point a new kiosk link (any previous one stops working), or turn kiosk mode off."""
    point.kiosk_token = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(KIOSK_TOKEN_LENGTH)) if enabled else None
    session.flush()
    audit.record(session, "collection.kiosk_on" if enabled else "collection.kiosk_off", target=point.name,
                 round_id=point.round_id, province_id=point.round.province_id, details={"point_id": point.id})


def responses_per_point(session: Session, round_id: int) -> dict[int, int]:
    rows = session.execute(select(Response.collection_point_id, func.count())
                           .where(Response.round_id == round_id, Response.collection_point_id.is_not(None))
                           .group_by(Response.collection_point_id))
    return {point_id: n for point_id, n in rows}


@dataclass(frozen=True)
class Burst:
    point_id: int
    window_start: datetime
    responses: int


def bursts(session: Session, round_id: int, threshold: int) -> list[Burst]:
    """Windows in which one point received at least ``threshold`` responses: flagged, never dropped."""
    n = func.count()
    rows = session.execute(
        select(PointArrival.point_id, PointArrival.window_start, n)
        .join(CollectionPoint, CollectionPoint.id == PointArrival.point_id)
        .where(CollectionPoint.round_id == round_id)
        .group_by(PointArrival.point_id, PointArrival.window_start).having(n >= threshold)
        .order_by(PointArrival.window_start.desc()))
    return [Burst(point_id, start, count) for point_id, start, count in rows]


def purge_closed_rounds(session: Session, now: datetime | None = None) -> dict[int, int]:
    """Delete dossier digests, arrival windows and kiosk receipts of every closed round; {round_id: rows}.

    They exist to refuse a second response per dossier and to flag bursts
    while the round runs; once it has closed they only add what could be
    matched against other records. The contacts of citizens sampled from the
    dossier register go at the same time (survey.samples, audited there), and
    their members count among the rows.
    """
    from survey.samples import services as samples  # the samples area builds on this one

    now = now or utcnow()
    purged = samples.purge_closed_rounds(session, now)
    for round_ in session.scalars(select(Round).where(Round.closes_at <= now)):
        points = select(CollectionPoint.id).where(CollectionPoint.round_id == round_.id)
        deleted = session.execute(delete(DossierDigest).where(DossierDigest.round_id == round_.id)).rowcount
        deleted += session.execute(delete(PointArrival).where(PointArrival.point_id.in_(points))).rowcount
        deleted += session.execute(delete(KioskReceipt).where(KioskReceipt.round_id == round_.id)).rowcount
        if deleted:
            purged[round_.id] = purged.get(round_.id, 0) + deleted
            audit.record(session, "collection.purge", round_id=round_.id, province_id=round_.province_id,
                         details={"rows": deleted})
    session.flush()
    return purged


def purge_expired_receipts(session: Session, now: datetime | None = None) -> int:
    """Delete kiosk receipts older than KIOSK_RECEIPT_DAYS, whatever the round; the number deleted.

    A kiosk page stops retrying a submission after a day (survey/static/kiosk.js),
    so an older receipt can no longer catch a duplicate.
    """
    cutoff = ((now or utcnow()) - timedelta(days=KIOSK_RECEIPT_DAYS)).date()
    return session.execute(delete(KioskReceipt).where(KioskReceipt.received_on < cutoff)).rowcount


# --- a citizen at a point -------------------------------------------------------------------

class Refusal(enum.Enum):
    INVALID = "invalid"  # no such point
    POINT_CLOSED = "point_closed"
    SCHEDULED = "scheduled"
    CLOSED = "closed"
    UNAVAILABLE = "unavailable"  # questionnaire file changed or missing: operator error
    QUOTA = "quota"  # quota reached and the point refuses more


REFUSAL_TEXT = {
    Refusal.INVALID: "Không tìm thấy điểm khảo sát này. Vui lòng kiểm tra lại địa chỉ in trên tờ thông tin.",
    Refusal.POINT_CLOSED: "Điểm khảo sát này đã ngừng nhận ý kiến. Xin cảm ơn sự quan tâm của Ông/Bà.",
    Refusal.SCHEDULED: "Đợt khảo sát chưa mở. Xin vui lòng quay lại sau.",
    Refusal.CLOSED: "Đợt khảo sát đã kết thúc; phiếu không còn nhận câu trả lời.",
    Refusal.UNAVAILABLE: "Phiếu khảo sát tạm thời không khả dụng. Xin vui lòng quay lại sau.",
    Refusal.QUOTA: "Điểm khảo sát này đã nhận đủ số phiếu dự kiến nên không nhận thêm. "
                   "Xin cảm ơn Ông/Bà; câu trả lời chưa được ghi.",
}


class PointRefused(Exception):
    def __init__(self, reason: Refusal):
        self.reason = reason
        super().__init__(reason.value)

    @property
    def message(self) -> str:
        return REFUSAL_TEXT[self.reason]


@dataclass(frozen=True)
class PointVisit:
    """What a point's public page needs: plain values, no ORM objects."""

    id: int
    token: str
    name: str
    place: str
    round_id: int
    round_title: str
    round_year: int  # replaces "[năm]" in the questionnaire's texts (survey.round_year)
    province_id: int
    group_id: int
    questionnaire: Questionnaire
    quota: int | None
    quota_policy: str
    asks_dossier: bool
    # (id, code, name, field), what the page offers; empty when read for a submission, which
    # needs only the one procedure chosen (``with_procedures`` reads them for a page again).
    procedures: tuple[tuple[int, str, str, str], ...]
    # The procedure code a submission chose and its id in the province (None: no such procedure),
    # read with the point in the same statement.
    chosen_procedure: tuple[str, int | None] = ("", None)


# Built once (as survey.respond.services does): building these statements anew on every
# request cost as much as running them.
_points = CollectionPoint.__table__
_procedures = Procedure.__table__
# A submission reads the procedure it chose with the point; a page reads the stamp of the
# province's list (migration 0023: the database replaces it on every write to the list), and reads
# the list itself, as one text (group_concat / string_agg), only for a stamp this process has not
# seen: aggregating the list on every view was more than half of the database's CPU per view. A
# list changed by any write is read, parsed and rendered anew, never served stale.
_CHOSEN = (select(_procedures.c.id)
           .where(_procedures.c.province_id == Round.province_id, _procedures.c.code == bindparam("procedure"))
           .scalar_subquery())
_STAMP = select(Province.procedure_list_stamp).where(Province.id == Round.province_id).scalar_subquery()
_UNIT, _RECORD = "\x1f", "\x1e"  # control characters: the boundary and the import keep them out of names
# Written into the SQL, not bound: the visit is executed with the token alone (dialects.fetch_one).
_unit = literal_column(f"'{_UNIT}'", String)
_LIST = (select(func.aggregate_strings(
    cast(_procedures.c.id, String) + _unit + _procedures.c.code + _unit + _procedures.c.name + _unit
    + func.coalesce(_procedures.c.field, literal_column("''", String)), literal_column(f"'{_RECORD}'", String)))
    .where(_procedures.c.province_id == Province.id).scalar_subquery())
# The stamp and the list it stamps, in one statement (one snapshot).
_STAMPED_LIST = select(Province.procedure_list_stamp, _LIST).where(Province.id == bindparam("province"))


def _visit(extra, token):
    return (select(_points.c.id, _points.c.name, _points.c.place, _points.c.closed_at, _points.c.quota,
                   _points.c.quota_policy, _points.c.asks_dossier, Round.id, Round.title, Round.year,
                   Round.province_id, Round.opens_at, Round.closes_at, RoundGroup.id, RoundGroup.questionnaire_key,
                   RoundGroup.questionnaire_version, RoundGroup.questionnaire_hash, extra)
            .join(Round, Round.id == _points.c.round_id).join(RoundGroup, RoundGroup.id == _points.c.group_id)
            .where(token == bindparam("token")))


_VISITS = {(kiosk, page): _visit(_STAMP if page else _CHOSEN, _points.c.kiosk_token if kiosk else _points.c.token)
           for kiosk in (False, True) for page in (False, True)}
_lists: dict[str, tuple] = {}  # the list's stamp -> its rows, sorted as the page shows them
_LISTS_KEPT = 64
_PROCEDURES = (select(_procedures.c.id, _procedures.c.code, _procedures.c.name, _procedures.c.field)
               .where(_procedures.c.province_id == bindparam("province")))
_PROCEDURE_ID = select(_procedures.c.id).where(_procedures.c.province_id == bindparam("province"),
                                               _procedures.c.code == bindparam("code"))


def open_point(connection: Connection, token: str, *, kiosk: bool = False, procedures: bool = True,
               procedure_code: str = "") -> PointVisit:
    """The point behind a public token (or, with ``kiosk``, its kiosk token), open for answers, or PointRefused.

    A submission passes ``procedures=False``, which leaves out the province's list of
    procedures, and the ``procedure_code`` chosen, which is looked up in the same statement.
    """
    if not (plausible_kiosk_token(token) if kiosk else plausible_token(token)):
        raise PointRefused(Refusal.INVALID)
    row = dialects.of(connection).fetch_one(connection, _VISITS[kiosk, procedures],
                                            {"token": token} if procedures else {"token": token, "procedure": procedure_code})
    if row is None:
        raise PointRefused(Refusal.INVALID)
    (point_id, name, place, closed_at, quota, policy, asks_dossier, round_id, title, year, province_id,
     opens_at, closes_at, group_id, q_key, q_version, q_hash, extra) = row
    if closed_at is not None:
        raise PointRefused(Refusal.POINT_CLOSED)
    state = window_state(opens_at, closes_at)
    if state != "open":
        raise PointRefused(Refusal.SCHEDULED if state == "scheduled" else Refusal.CLOSED)
    try:
        questionnaire = pinned_questionnaire(q_key, q_version, q_hash)
    except (QuestionnaireChanged, QuestionnaireMissing) as problem:
        raise PointRefused(Refusal.UNAVAILABLE) from problem
    point = PointVisit(point_id, token, name, place, round_id, title, year, province_id, group_id, questionnaire,
                       quota, policy, bool(asks_dossier), (), ("", None) if procedures else (procedure_code, extra))
    if not procedures:
        return point
    return dataclasses.replace(point, procedures=_province_list(connection, province_id, extra))


def _province_list(connection: Connection, province_id: int, stamp: str | None) -> tuple:
    """The province's procedures as a page shows them, read only for a stamp not seen before."""
    if stamp is None:
        return ()  # the stamp is set by the first procedure ever written
    rows = _lists.get(stamp)
    if rows is None:
        stamp, text = dialects.of(connection).fetch_one(connection, _STAMPED_LIST, {"province": province_id})
        rows = _parsed_list(text or "")
        if rows is None:  # a name held a separator: the rows themselves
            rows = _province_rows(connection, province_id)
        if stamp is not None:
            if len(_lists) >= _LISTS_KEPT:
                _lists.clear()
            _lists[stamp] = rows
    return rows


def _parsed_list(text: str) -> tuple | None:
    """The rows of a list read as one text, sorted by field and code; None if a name held a separator."""
    rows = tuple(record.split(_UNIT) for record in text.split(_RECORD)) if text else ()
    if any(len(r) != 4 for r in rows):
        return None
    return _as_shown((int(i), code, name, field) for i, code, name, field in rows)


def with_procedures(connection: Connection, point: PointVisit) -> PointVisit:
    """``point`` with the province's procedures, as its page offers them."""
    return dataclasses.replace(point, procedures=_province_rows(connection, point.province_id))


def _province_rows(connection: Connection, province_id: int) -> tuple:
    rows = dialects.of(connection).fetch_plain_rows(connection, _PROCEDURES, {"province": province_id})
    return _as_shown(rows)


def _as_shown(rows) -> tuple:
    # By field, then code, in code-point order whatever the database's collation: the page groups by field.
    return tuple(sorted((tuple(r) for r in rows), key=lambda r: (r[3], r[1])))


def procedure_id_of(connection: Connection, point: PointVisit, code: str) -> int | None:
    """The id of the procedure ``code`` in the point's province, or None."""
    row = dialects.of(connection).fetch_one(connection, _PROCEDURE_ID, {"province": point.province_id, "code": code})
    return row[0] if row is not None else None


def dossier_digest(secret_key: str | bytes, round_id: int, dossier: str) -> str:
    """HMAC-SHA256 of a normalised dossier number, keyed by the app's secret and bound to the round.

    A plain hash of a short, structured number could be reversed by trying
    every number; without the key it cannot.
    """
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(key, _DOSSIER_PURPOSE + f"{round_id}\x00{dossier}".encode(), hashlib.sha256).hexdigest()


def normalise_dossier(raw: str) -> str | None:
    """The dossier number as compared (upper case, no spaces), or None if it cannot be one."""
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw)).upper()
    return value if _DOSSIER_SHAPE.match(value) else None


class FormRefused(ValueError):
    """Answers or fields no response can be stored from; messages in Vietnamese, nothing written."""

    def __init__(self, messages: list[str], answers: dict | None = None):
        self.messages = messages
        self.answers = answers or {}
        super().__init__("; ".join(messages))


class DossierUsed(Exception):
    """This dossier already answered in this round."""


class AlreadyReceived(Exception):
    """A kiosk submission id already stored: the page retried after a lost acknowledgement."""


@dataclass(frozen=True)
class Stored:
    quota_reached: bool  # this response reached or passed the point's expected sample


def read_answers(questionnaire: Questionnaire, form: Mapping[str, str], getlist) -> dict:
    """All sections of a one-page form, checked (survey.respond.answers); FormRefused lists every problem."""
    answers: dict = {}
    errors: list[str] = []
    for section in questionnaire.sections:
        try:
            answers = answer_rules.merge(answers, answer_rules.parse_section(section, form, getlist))
        except answer_rules.InvalidAnswers as invalid:
            errors.extend(invalid.messages)
    if errors:
        raise FormRefused(errors, answers)
    progress = answer_rules.progress(questionnaire, answers)
    if not answers:
        raise FormRefused(["Phiếu chưa có câu trả lời nào."], answers)
    if not progress.is_complete:
        raise FormRefused([f"Câu {q.code} là câu bắt buộc: vui lòng trả lời." for q in progress.missing_required],
                          answers)
    return answers


# Counting a point's responses locks the point row first (PostgreSQL; SQLite's writer
# queue already serialises writers), so that a quota that refuses is never overshot.
_LOCK_POINT = select(_points.c.id).where(_points.c.id == bindparam("point")).with_for_update()
_COUNT = select(func.count()).select_from(Response.__table__).where(Response.collection_point_id == bindparam("point"))
# The same SQL on both databases: a second response for the dossier inserts nothing.
_ADD_DOSSIER = text("INSERT INTO dossier_digests (round_id, digest) VALUES (:round, :digest) ON CONFLICT DO NOTHING")
_ADD_RECEIPT = text("INSERT INTO kiosk_receipts (round_id, submission_id, received_on) "
                    "VALUES (:round, :submission, :day) ON CONFLICT DO NOTHING")


def submit_at_point(connection: Connection, point: PointVisit, answers: dict, *, channel: str = "point",
                    procedure_code: str = "", dossier: str = "", secret_key: str | bytes = b"",
                    submission_id: str | None = None) -> Stored:
    """Store one citizen's response at ``point``: FormRefused, PointRefused(QUOTA) or DossierUsed refuse it.

    With ``submission_id`` (a kiosk page's), a second post of the same id
    stores nothing and raises AlreadyReceived: the receipt is written in the
    same transaction as the response, so either both are there or neither.
    """
    problems = []
    if submission_id is not None and not _SUBMISSION_SHAPE.match(submission_id):
        problems.append("Phiếu gửi từ máy kiosk thiếu mã lượt gửi; xin vui lòng tải lại trang.")
    procedure_id = None
    if procedure_code:
        code, known = point.chosen_procedure
        procedure_id = known if code == procedure_code else procedure_id_of(connection, point, procedure_code)
        if procedure_id is None:
            problems.append("Thủ tục đã chọn không có trong danh mục thủ tục hành chính của tỉnh.")
    digest = None
    if point.asks_dossier:
        number = normalise_dossier(dossier or "")
        if number is None:
            problems.append("Mã hồ sơ không hợp lệ: vui lòng nhập đúng mã in trên giấy tiếp nhận hồ sơ "
                            "(chữ, số và các dấu . - /).")
        else:
            digest = dossier_digest(secret_key, point.round_id, number)
    if problems:
        raise FormRefused(problems, answers)

    if submission_id is not None or point.quota is not None or digest is not None:
        # Their guards and the response are one transaction. Without any, the response is one
        # statement, atomic on its own: on a statement-by-statement connection, no BEGIN or COMMIT.
        dialects.of(connection).begin_writes(connection)
    if submission_id is not None and connection.execute(_ADD_RECEIPT, {
            "round": point.round_id, "submission": submission_id, "day": utcnow().date()}).rowcount != 1:
        raise AlreadyReceived()
    collected = None
    if point.quota is not None:
        # Only a quota needs the count, and the lock that keeps it exact: without one, submissions at
        # a point neither wait for each other nor count every earlier response.
        connection.execute(_LOCK_POINT, {"point": point.id}).first()
        collected = connection.execute(_COUNT, {"point": point.id}).scalar_one()
        if collected >= point.quota and point.quota_policy == QUOTA_REFUSE:
            raise PointRefused(Refusal.QUOTA)
    if digest is not None and connection.execute(_ADD_DOSSIER, {"round": point.round_id, "digest": digest}).rowcount != 1:
        raise DossierUsed()
    written = store_response(connection, round_id=point.round_id, group_id=point.group_id,
                             questionnaire=point.questionnaire, answers=answers, channel=channel,
                             collection_point_id=point.id, procedure_id=procedure_id,
                             arrival_window=arrival_window(utcnow()))
    if written is not Written.STORED:  # no ledger, no draft: no guard can refuse it
        raise RuntimeError(f"an anonymous response was refused: {written}")
    return Stored(quota_reached=collected is not None and collected + 1 >= point.quota)


def arrival_window(moment: datetime) -> datetime:
    step = int(ARRIVAL_WINDOW.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // step * step, tz=moment.tzinfo)
