"""Creating rounds and binding their groups to questionnaire versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from questionnaires import Catalog
from survey.rounds.models import Agency, Province, Round, RoundGroup


class RoundError(ValueError):
    pass


@dataclass(frozen=True)
class GroupBinding:
    questionnaire_key: str
    questionnaire_version: str
    code: str | None = None  # defaults to the questionnaire's group code
    label: str | None = None


def get_or_create_province(session: Session, code: str, name: str) -> Province:
    province = session.scalar(select(Province).where(Province.code == code))
    if province is None:
        province = Province(code=code, name=name)
        session.add(province)
        session.flush()
    return province


def get_or_create_agency(session: Session, province: Province, code: str, name: str, kind: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.province_id == province.id, Agency.code == code))
    if agency is None:
        agency = Agency(province_id=province.id, code=code, name=name, kind=kind)
        session.add(agency)
        session.flush()
    return agency


def create_round(
    session: Session,
    catalog: Catalog,
    *,
    province: Province,
    year: int,
    title: str,
    opens_at: datetime,
    closes_at: datetime,
    bindings: list[GroupBinding],
) -> Round:
    if closes_at <= opens_at:
        raise RoundError("Thời điểm đóng phải sau thời điểm mở.")
    round_ = Round(province_id=province.id, year=year, title=title, opens_at=opens_at, closes_at=closes_at)
    session.add(round_)
    seen: set[str] = set()
    for position, binding in enumerate(bindings):
        try:
            questionnaire = catalog.get(binding.questionnaire_key, binding.questionnaire_version)
        except KeyError:
            raise RoundError(
                f"Không có phiếu {binding.questionnaire_key} phiên bản {binding.questionnaire_version}."
            ) from None
        code = binding.code or questionnaire.group_code
        if code in seen:
            raise RoundError(f"Nhóm đối tượng “{code}” bị khai báo hai lần.")
        seen.add(code)
        round_.groups.append(
            RoundGroup(
                code=code,
                label=binding.label or questionnaire.group_label,
                position=position,
                questionnaire_key=questionnaire.key,
                questionnaire_version=questionnaire.version,
                questionnaire_hash=questionnaire.content_hash,
            )
        )
    session.flush()
    return round_
