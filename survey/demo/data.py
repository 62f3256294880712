"""Demo data: Lào Cai's 2023 round with a few respondents per group.

The round's window is set around today so that the demo links can be answered.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from questionnaires import Catalog
from survey.respond.links import issue_links
from survey.respond.models import Submission
from survey.rounds.models import Round
from survey.rounds.agencies import get_or_create_agency
from survey.rounds.services import GroupBinding, create_round, default_milestones, get_or_create_province
from survey.roster.models import Respondent
from survey.roster.people import add_respondent
from survey.timeutil import utcnow

DEMO_TITLE = "Khảo sát xã hội học Chỉ số CCHC năm 2023 (dữ liệu minh họa)"

DEMO_BINDINGS = [
    GroupBinding("par-hdnd-delegates", "2023.1"),
    GroupBinding("par-department-leaders", "2023.1"),
    GroupBinding("par-division-leaders", "2023.1"),
    GroupBinding("par-district-leaders", "2023.1"),
    GroupBinding("sipas-citizens", "2023.1"),
]

# Lào Cai's departments, Council office and districts/town/city as of 2023 (data, not code).
AGENCIES_FILE = Path(__file__).with_name("lao_cai_agencies_2023.csv")


def _agencies() -> list[tuple[str, str, str]]:
    with AGENCIES_FILE.open(encoding="utf-8", newline="") as handle:
        return [(row["code"], row["name"], row["kind"]) for row in csv.DictReader(handle)]


AGENCIES = _agencies()


def demo_contact(index: int, name: str) -> tuple[str, str]:
    """A name-based @demo.example.vn address and a well-formed mobile number for demo respondent ``index``."""
    from survey.roster.normalise import fold

    return f"{fold(name).replace(' ', '.')}@demo.example.vn", f"0912{index:06d}"


# (group code, name, position, agency code)
PEOPLE = [
    ("hdnd", "Nguyễn Văn An", "Đại biểu HĐND tỉnh", "HDND"),
    ("hdnd", "Trần Thị Bích", "Đại biểu HĐND tỉnh", "HDND"),
    ("hdnd", "Lò Văn Cường", "Đại biểu HĐND tỉnh", "HDND"),
    ("department", "Phạm Minh Đức", "Giám đốc Sở", "SNV"),
    ("department", "Hoàng Thị Hạnh", "Phó Giám đốc Sở", "STP"),
    ("department", "Vũ Quốc Khánh", "Phó Giám đốc Sở", "STC"),
    ("division", "Đỗ Thị Lan", "Trưởng phòng Cải cách hành chính", "SNV"),
    ("division", "Giàng A Lử", "Trưởng phòng Kiểm soát TTHC", "VPUB"),
    ("division", "Bùi Thu Mai", "Phó Trưởng phòng Ngân sách", "STC"),
    ("district", "Sần Văn Nam", "Chủ tịch UBND huyện", "BATXAT"),
    ("district", "Lý Thị Oanh", "Phó Chủ tịch UBND thị xã", "SAPA"),
    ("district", "Vàng Văn Phúc", "Phó Chủ tịch UBND huyện", "BACHA"),
    ("citizen", "Ngô Thị Quỳnh", "Người dân", None),
    ("citizen", "Đặng Văn Sơn", "Đại diện doanh nghiệp", None),
    ("citizen", "Hà Thị Thu", "Người dân", None),
]


@dataclass(frozen=True)
class DemoLink:
    group_label: str
    full_name: str
    token: str


def load_demo(session: Session, catalog: Catalog) -> tuple[Round, list[DemoLink]]:
    """Create (once) the demo round, then issue fresh links to those who have not submitted.

    Tokens are not stored, so each run revokes the previous demo links and prints new ones.
    """
    province = get_or_create_province(session, "LCI", "tỉnh Lào Cai")
    agencies = {code: get_or_create_agency(session, province, code, name, kind) for code, name, kind in AGENCIES}
    round_ = session.scalar(select(Round).where(Round.province_id == province.id, Round.title == DEMO_TITLE))
    if round_ is None:
        now = utcnow()
        round_ = create_round(
            session, catalog, province=province, year=2023, title=DEMO_TITLE,
            opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=60), bindings=DEMO_BINDINGS,
        )
        # The questionnaires are 2023's, but the plan's dates follow today's
        # calendar, so the dashboard shows a live countdown, not three years of delays.
        cycle = now.date().year if now.date() <= date(now.year, 12, 10) else now.year + 1
        round_.ministry_deadline = date(cycle, 12, 10)
        round_.milestones = default_milestones(cycle)
        groups = {g.code: g for g in round_.groups}
        for index, (group_code, name, position, agency_code) in enumerate(PEOPLE, start=1):
            email, phone = demo_contact(index, name)
            add_respondent(
                session, round_, groups[group_code], full_name=name, position=position,
                agency=agencies.get(agency_code), email=email, phone=phone,
            )
    respondents = session.scalars(
        select(Respondent)
        .where(Respondent.round_id == round_.id, ~exists().where(Submission.respondent_id == Respondent.id))
        .order_by(Respondent.group_id, Respondent.id)
    ).all()
    tokens = issue_links(session, [r.id for r in respondents])
    links = [DemoLink(r.group.label, r.full_name, tokens[r.id]) for r in respondents]
    return round_, links


DEMO_POINT_NAME = "Bộ phận Một cửa — Trung tâm Phục vụ hành chính công tỉnh (minh họa)"


def demo_point(session: Session, round_: Round):
    """The demo round's collection point for citizens, with a kiosk link (created once): neither needs a sign-in."""
    from survey.collection.models import CollectionPoint
    from survey.collection.services import create_point, set_kiosk

    point = session.scalar(select(CollectionPoint).where(CollectionPoint.round_id == round_.id,
                                                         CollectionPoint.name == DEMO_POINT_NAME))
    if point is None:
        citizens = next(g for g in round_.groups if g.code == "citizen")
        point = create_point(session, round_, citizens, name=DEMO_POINT_NAME, place="Thành phố Lào Cai")
        set_kiosk(session, point, True)
    return point


# A demo password is printed by `make run`; demo accounts exist only in demo databases.
DEMO_PASSWORD = "demo-laocai-2023"

DEMO_ACCOUNTS = [
    ("quantri@demo.example.vn", "Quản trị hệ thống (minh họa)", "system_admin", None),
    ("sonoivu@demo.example.vn", "Sở Nội vụ Lào Cai (minh họa)", "province_admin", None),
    ("daumoi.stp@demo.example.vn", "Đầu mối Sở Tư pháp (minh họa)", "focal_point", "STP"),
    ("phantich@demo.example.vn", "Cán bộ phân tích (minh họa)", "analyst", None),
]


def load_demo_accounts(session: Session) -> list[tuple[str, str]]:
    from survey.accounts.models import ROLE_LABELS, User
    from survey.accounts.services import create_user
    from survey.rounds.models import Agency

    province = get_or_create_province(session, "LCI", "tỉnh Lào Cai")
    created = []
    for email, name, role, agency_code in DEMO_ACCOUNTS:
        if session.scalar(select(User).where(User.email == email)) is None:
            agency = session.scalar(select(Agency).where(Agency.province_id == province.id, Agency.code == agency_code)) if agency_code else None
            create_user(session, email=email, full_name=name, password=DEMO_PASSWORD, role=role,
                        province=None if role == "system_admin" else province, agency=agency)
        created.append((email, ROLE_LABELS[role]))
    return created
