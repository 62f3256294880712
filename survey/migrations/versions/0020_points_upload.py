"""points upload retired: each round's uploaded self-assessment points become its cycle's appraised version

The PAR total now counts the self-assessment cycle's points (the Ministry's result, else the
council's frozen appraisal, else the self-assessment), so the points uploaded through the
retired page move there. For every round with rows in ``self_assessments``:

- its assessment cycle is found, or created pinned to the structure the points were checked
  against (its content hash and its scoring rules' hash, as ``start_cycle`` pins them);
- the points become the cycle's frozen version, named after the uploaded file, with
  ``origin_note`` saying where they came from (a new nullable column: NULL for a version the
  council closed on the platform). Every structure sub-criterion gets a row like a closed
  appraisal's; the uploaded value is both its self-assessed and its appraised points, because
  the upload held one number, the appraised one.

A cycle whose council has already closed a version keeps it; its uploaded points stay in
``self_assessments``, which is left as it was (nothing reads it any more), so no upgrade
loses a row and a downgrade finds the table intact.

The downgrade deletes the versions this revision made and the cycles it created, and refuses
while the Ministry's results have been imported onto one of them since (they would go too).

Revision ID: 0020_points_upload
Revises: 0019_dossier_samples
"""

import hashlib
import os
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0020_points_upload'
down_revision = '0019_dossier_samples'
branch_labels = None
depends_on = None

MIGRATED_BY = "nâng cấp dữ liệu 0019"

uploads = sa.table('self_assessments', sa.column('round_id', sa.Integer), sa.column('subcriterion', sa.String),
                   sa.column('points', sa.Float), sa.column('structure_key', sa.String),
                   sa.column('structure_version', sa.String), sa.column('source_filename', sa.String),
                   sa.column('imported_at', sa.DateTime(timezone=True)))
cycles = sa.table('assessment_cycles', sa.column('id', sa.Integer), sa.column('round_id', sa.Integer),
                  sa.column('structure_key', sa.String), sa.column('structure_version', sa.String),
                  sa.column('structure_hash', sa.String), sa.column('rules_hash', sa.String),
                  sa.column('due_on', sa.Date), sa.column('created_at', sa.DateTime(timezone=True)))
versions = sa.table('assessment_frozen_versions', sa.column('id', sa.Integer), sa.column('cycle_id', sa.Integer),
                    sa.column('name', sa.String), sa.column('frozen_at', sa.DateTime(timezone=True)),
                    sa.column('frozen_by', sa.String), sa.column('rows', sa.JSON),
                    sa.column('origin_note', sa.Text))


def upgrade() -> None:
    with op.batch_alter_table('assessment_frozen_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_note', sa.Text(), nullable=True))
    connection = op.get_bind()
    rounds = sorted({r for (r,) in connection.execute(sa.select(uploads.c.round_id).distinct())})
    if not rounds:
        return
    catalog = _catalog()
    for round_id in rounds:
        _move_round(connection, catalog, round_id)


def _catalog():
    from questionnaires import DEFAULT_ROOT, load_catalog

    return load_catalog(Path(os.environ.get("SURVEY_QUESTIONNAIRE_DIR") or DEFAULT_ROOT))


def _move_round(connection, catalog, round_id: int) -> None:
    rows = connection.execute(sa.select(uploads).where(uploads.c.round_id == round_id)
                              .order_by(uploads.c.subcriterion)).mappings().all()
    first = rows[0]
    try:
        structure = catalog.structure(first['structure_key'], first['structure_version'])
    except Exception as error:  # the catalogue's own lookup error, whatever its class
        raise RuntimeError(
            f"0019: round {round_id} has uploaded self-assessment points for index structure "
            f"{first['structure_key']} {first['structure_version']}, which the questionnaire folder no longer "
            f"holds ({error}); restore that structure file and upgrade again (nothing was changed)") from None
    cycle = connection.execute(sa.select(cycles).where(cycles.c.round_id == round_id)).mappings().first()
    if cycle is None:
        cycle_id = _create_cycle(connection, structure, round_id)
    else:
        cycle_id = cycle['id']
        closed = connection.execute(sa.select(versions.c.id).where(versions.c.cycle_id == cycle_id)).first()
        if closed is not None:
            return  # the council's own version stands; the upload stays in self_assessments
    uploaded = {r['subcriterion']: float(r['points']) for r in rows}
    entries = dict(connection.execute(sa.text(
        "SELECT subcriterion, points FROM assessment_entries WHERE cycle_id = :cycle AND points IS NOT NULL"),
        {"cycle": cycle_id}).all())
    agencies = dict(connection.execute(sa.text(
        "SELECT a.subcriterion, g.name FROM assessment_assignments a JOIN agencies g ON g.id = a.agency_id "
        "WHERE a.cycle_id = :cycle"), {"cycle": cycle_id}).all())
    imported_at = first['imported_at']
    day = imported_at.strftime('%d/%m/%Y') if imported_at else "không rõ ngày"
    filename = first['source_filename'] or "không rõ tên tệp"
    connection.execute(versions.insert().values(
        cycle_id=cycle_id, name=f"Điểm đã thẩm định nhập từ tệp {filename}"[:255],
        frozen_at=imported_at or datetime.now(timezone.utc), frozen_by=MIGRATED_BY,
        rows=[_row(structure, f, c, s, uploaded, entries, agencies)
              for f in structure.fields for c in f.criteria for s in c.subcriteria],
        origin_note=(f"Chuyển từ chức năng nhập điểm tự đánh giá cũ: tệp “{filename}” nhập ngày {day}, "
                     f"{len(uploaded)} tiêu chí thành phần. Điểm không qua quy trình thẩm định trên nền tảng; "
                     "điểm tự đánh giá ghi bằng điểm đã nhập.")))


def _row(structure, field, criterion, sub, uploaded: dict, entries: dict, agencies: dict) -> dict:
    """One sub-criterion as ``close_appraisal`` writes it."""
    points = None if sub.survey_scored else uploaded.get(sub.code)
    self_points = entries.get(sub.code, points)
    return {"field": field.number, "criterion": criterion.code, "code": sub.code, "title": sub.title,
            "max_points": sub.max_points, "survey_scored": sub.survey_scored, "agency": agencies.get(sub.code, ""),
            "self_points": None if sub.survey_scored else self_points, "appraised": points,
            "survey_points": None, "explanation": "", "evidence": []}


def _create_cycle(connection, structure, round_id: int) -> int:
    from survey.assessment.rules import RulesError, load_rules
    from survey.rounds.datafiles import default_plan

    try:
        rules_hash = hashlib.sha256(load_rules(structure).content.encode("utf-8")).hexdigest()
    except RulesError:
        rules_hash = ""  # no rules file: the cycle's pages say the rules changed, the points stay readable
    planned = default_plan().marked("self_assessment_reports_due")
    year = connection.execute(sa.text("SELECT year FROM rounds WHERE id = :id"), {"id": round_id}).scalar_one()
    due_on = connection.execute(sa.text("SELECT due_on FROM round_milestones WHERE round_id = :id AND label = :label"),
                                {"id": round_id, "label": planned.label}).scalar() if planned else None
    if due_on is None:
        due_on = planned.dates(year)[1] if planned else date(year + 1, 1, 5)
    return connection.execute(cycles.insert().values(
        round_id=round_id, structure_key=structure.key, structure_version=structure.version,
        structure_hash=structure.content_hash, rules_hash=rules_hash, due_on=due_on, created_at=datetime.now(timezone.utc))
        .returning(cycles.c.id)).scalar_one()


def downgrade() -> None:
    connection = op.get_bind()
    official = connection.execute(sa.text(
        "SELECT DISTINCT c.round_id FROM assessment_official_results o JOIN assessment_cycles c ON c.id = o.cycle_id "
        "WHERE o.cycle_id IN (SELECT cycle_id FROM assessment_frozen_versions WHERE origin_note IS NOT NULL)"
    )).scalars().all()
    if official:
        raise RuntimeError(
            f"0019 downgrade: the Ministry's results were imported onto the migrated versions of rounds "
            f"{sorted(official)}; they would be lost. Export them, delete them, then downgrade.")
    # A cycle this revision created has no assignments: start_cycle assigns every self-assessed sub-criterion.
    created_ids = connection.execute(sa.text(
        "SELECT v.cycle_id FROM assessment_frozen_versions v WHERE v.origin_note IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM assessment_assignments a WHERE a.cycle_id = v.cycle_id)")).scalars().all()
    connection.execute(versions.delete().where(versions.c.origin_note.is_not(None)))
    if created_ids:
        connection.execute(cycles.delete().where(cycles.c.id.in_(created_ids)))
    with op.batch_alter_table('assessment_frozen_versions', schema=None) as batch_op:
        batch_op.drop_column('origin_note')
