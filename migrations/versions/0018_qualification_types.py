"""Qualification types from a controlled list: qualifications.kind_note keeps the type as typed;
existing free-text kinds are merged onto their canonical names

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 16:00:00.000000

A kind is normalised (NFKC full-width to half-width, bracketed remarks and whitespace removed)
and looked up among the canonical names and aliases below, a snapshot of
seeds/catalogue/qualification_types.yaml when this migration was written (a migration must do
the same thing whenever it runs). A kind that differs from its canonical name moves to
kind_note, the canonical name takes its place; a kind on no list becomes 其他 with the typed
text as its note. Nothing typed is lost: downgrading puts each typed spelling back into kind
(a remark on a listed type goes back as the kind's bracketed remark).
"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OTHER = '其他'
# Canonical name → other spellings (seeds/catalogue/qualification_types.yaml, 2026-12-07).
CANONICAL = {
    '工程咨询单位资信': ('工程咨询资信',),
    '环境影响评价单位': ('环评单位', '环评信用平台登记'),
    '水土保持方案编制单位水平评价': (),
    '水土保持监测单位水平评价': (),
    '水资源论证单位水平评价': (),
    '地质灾害危险性评估单位资质': ('地质灾害防治单位资质',),
    '工程勘察资质': ('工程勘察资质证书',),
    '测绘资质': ('测绘资质证书',),
    '工程设计资质': ('工程设计资质证书',),
    '施工图审查机构认定': (),
    '安全评价机构资质': (),
    '职业卫生技术服务机构资质': (),
    '雷电防护装置检测资质': ('防雷装置检测资质',),
    '考古发掘资质': (),
    '招标代理机构信息登记': (),
    '工程监理资质': (),
    '工程造价咨询企业登记': (),
    '建设工程质量检测机构资质': ('质量检测机构资质',),
    OTHER: (),
}
_REMARK = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕")


def _normalise(text):
    value = unicodedata.normalize('NFKC', text or '')
    previous = None
    while previous != value:
        previous, value = value, _REMARK.sub('', value)
    return re.sub(r'\s+', '', value)


_LOOKUP = {}
for _name, _aliases in CANONICAL.items():
    for _spelling in (_name, *_aliases):
        _LOOKUP.setdefault(_normalise(_spelling), _name)

qualifications = sa.table(
    'qualifications',
    sa.column('id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('kind_note', sa.String),
)


def merged(kind):
    """(canonical kind, note) for a stored free-text kind."""
    name = _LOOKUP.get(_normalise(kind), OTHER)
    return name, (None if kind == name else kind[:200])


def upgrade():
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind_note', sa.String(length=200), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(qualifications.c.id, qualifications.c.kind)).all()
    for row_id, kind in rows:
        name, note = merged(kind)
        if name != kind:
            bind.execute(
                qualifications.update()
                .where(qualifications.c.id == row_id)
                .values(kind=name, kind_note=note)
            )


def unmerged(kind, note):
    """The free-text kind for a (kind, note) pair: the note when it is the typed spelling or
    describes an 其他 type, else the kind with the note as its bracketed remark."""
    if kind == OTHER or _LOOKUP.get(_normalise(note)) == kind:
        return note[:100]
    return f'{kind}({note})'[:100]


def downgrade():
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(qualifications.c.id, qualifications.c.kind, qualifications.c.kind_note).where(
            qualifications.c.kind_note.is_not(None)
        )
    ).all()
    for row_id, kind, note in rows:
        bind.execute(
            qualifications.update()
            .where(qualifications.c.id == row_id)
            .values(kind=unmerged(kind, note))
        )
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.drop_column('kind_note')
