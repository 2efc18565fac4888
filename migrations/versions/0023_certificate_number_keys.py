"""practitioner_certificates.number_key recomputed: only Latin letters, digits and Chinese
characters, with Cyrillic and Greek lookalikes read as Latin

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-09 12:00:00.000000

The key below is a snapshot of registry/pure/pii.py number_key when this migration was written
(a migration must do the same thing whenever it runs): NFKC, upper case, Cyrillic and Greek
capitals that look like Latin ones read as Latin, and everything but [0-9A-Z] and Chinese
characters dropped (spaces, punctuation, underscores, minus signs, zero-width and other format
characters). Numbers typed differently but meaning the same certificate (HP_2021_0001 beside
HP-2021-0001, НР-2021-0001 in Cyrillic) then share a key.

Where recomputing gives two rows of one type the same key, the older row (created first, then
lower id) keeps the key and each newer one gets the key with "-DUP<id>" appended: a hyphen never
comes out of the key, so such a row never matches a number typed later, and nothing is lost —
政务办 sees the pair by the suffix and decides which registration is the 挂证 one. Downgrading
puts back the old key (NFKC, upper case, spaces and hyphens removed) for every row.
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_NOT_KEPT = re.compile(rf"[^0-9A-Z{_CJK}]+")
_LOOKALIKES = str.maketrans(
    "АВЕЅІЈКМНОРСТУХΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "ABESIJKMHOPCTYXABEZHIKMNOPTYX",
)
_OLD_GAPS = re.compile(r"[\s\-‐‑‒–—―－]+")
DUPLICATE = "-DUP"

certificates = sa.table(
    "practitioner_certificates",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("number", sa.String),
    sa.column("number_key", sa.String),
    sa.column("created_at", sa.DateTime),
)


def _new_key(number):
    value = unicodedata.normalize("NFKC", number or "").upper().translate(_LOOKALIKES)
    return _NOT_KEPT.sub("", value)


def _old_key(number):
    return _OLD_GAPS.sub("", unicodedata.normalize("NFKC", number or "").upper())


def _rekey(key_of, deduplicate):
    """Set every row's key to key_of(number) in two passes (a temporary unique key first, so
    no row meets another's old key half way); newer duplicates suffixed when asked."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            certificates.c.id,
            certificates.c.kind,
            certificates.c.number,
            certificates.c.number_key,
        ).order_by(certificates.c.created_at, certificates.c.id)
    ).all()
    taken, wanted = set(), {}
    for row in rows:
        key = key_of(row.number)
        if deduplicate and (row.kind, key) in taken:
            suffix = f"{DUPLICATE}{row.id}"
            key = key[: 100 - len(suffix)] + suffix  # the column holds 100 characters
        taken.add((row.kind, key))
        if key != row.number_key:
            wanted[row.id] = key
    update = certificates.update().where(certificates.c.id == sa.bindparam("row_id"))
    for final in (False, True):
        for row_id, key in wanted.items():
            value = key if final else f"~{row_id}"
            bind.execute(update.values(number_key=value), {"row_id": row_id})


def upgrade():
    _rekey(_new_key, deduplicate=True)


def downgrade():
    _rekey(_old_key, deduplicate=False)
