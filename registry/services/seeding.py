"""Loading the real catalogue from seeds/catalogue/*.yaml; idempotent, updating rows by code
(but never a row an admin has edited on the site since)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from registry import yamlfile
from registry.extensions import db
from registry.models.audit import AuditEntry
from registry.models.catalogue import ApprovalItem, Department, ServiceItem, Stage
from registry.services import catalogue
from registry.services.errors import RegistryError

SEED_ACTOR = "system:seed"


@dataclass
class SeedReport:
    """What a seed run did, per kind: created, updated, unchanged, and kept as an admin edited
    them on the site."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def note(self, kind: str, outcome: str) -> None:
        """Count one row's outcome."""
        counts = {"created": 0, "updated": 0, "unchanged": 0, "kept": 0}
        self.counts.setdefault(kind, counts)[outcome] += 1

    @property
    def changed(self) -> int:
        """Rows created or updated in all kinds."""
        return sum(c["created"] + c["updated"] for c in self.counts.values())


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        data = yamlfile.read(path)
    except (OSError, yaml.YAMLError) as error:
        raise RegistryError(None, f"无法读取种子文件 {path.name}:{error}") from None
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise RegistryError(None, f"种子文件 {path.name} 须为对象列表")
    codes = [str(row.get("code")) for row in data]
    duplicates = {c for c in codes if codes.count(c) > 1}
    if duplicates:
        raise RegistryError(
            None, f"种子文件 {path.name} 中编码重复:{', '.join(sorted(duplicates))}"
        )
    return data


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class _SeedActor:
    """Stands in for a user in audit entries written by the seed command."""

    id = None
    username = SEED_ACTOR


def _edited_on_site(update, item) -> bool:
    """Whether the row's latest audited change was made on the site (an admin), not by a seed
    run: the seed then leaves it as the admin left it. `make run` seeds at every start, and a
    seed run used to put every edited row back to its file (a tester's finding, stop 29)."""
    object_type = update.__self__.object_type  # the catalogue's EntryKind
    latest = db.session.scalar(
        select(AuditEntry.actor_name)
        .where(AuditEntry.object_type == object_type, AuditEntry.object_id == item.code)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    return latest is not None and latest != SEED_ACTOR


def _upsert(
    kind: str,
    model: type,
    rows: list[dict],
    create,
    update,
    report: SeedReport,
    prepare=None,
) -> None:
    for row in rows:
        data = prepare(dict(row)) if prepare else dict(row)
        data["code"] = str(data["code"])
        # in any case, as codes are unique (catalogue._unique_code): zj-99 made on the site is ZJ-99
        existing = db.session.scalar(
            select(model).where(func.upper(model.code) == data["code"].upper())
        )
        try:
            if existing is None:
                create(data, actor=_SeedActor())
                report.note(kind, "created")
            elif _edited_on_site(update, existing):
                report.note(kind, "kept")
            elif update(existing, data, actor=_SeedActor()):
                report.note(kind, "updated")
            else:
                report.note(kind, "unchanged")
        except RegistryError as error:
            raise RegistryError(error.field, f"{kind} {data['code']}:{error.message}") from None


def _prepare_service(row: dict) -> dict:
    row["code"] = str(row["code"])
    row["stages"] = [str(s) for s in row.get("stages") or []]
    row["approval_items"] = [str(s) for s in row.get("approval_items") or []]
    row["last_verified"] = _date(row.get("last_verified"))
    return row


def _prepare_approval(row: dict) -> dict:
    row["stages"] = [str(s) for s in row.get("stages") or []]
    return row


# The catalogue's files in the order they load (a row refers to rows of the files before it):
# kind, model, file, the catalogue's create and update, and how a YAML row becomes form data.
CATALOGUE_FILES = (
    ("stages", Stage, "stages.yaml", catalogue.create_stage, catalogue.update_stage, None),
    (
        "departments",
        Department,
        "departments.yaml",
        catalogue.create_department,
        catalogue.update_department,
        None,
    ),
    (
        "approval_items",
        ApprovalItem,
        "approval_items.yaml",
        catalogue.create_approval_item,
        catalogue.update_approval_item,
        _prepare_approval,
    ),
    (
        "service_items",
        ServiceItem,
        "service_items.yaml",
        catalogue.create_service_item,
        catalogue.update_service_item,
        _prepare_service,
    ),
)


def seed_catalogue(seeds_dir: Path) -> SeedReport:
    """Create or update stages, departments, approval items and service items from YAML, then
    check the qualification and certificate types' lists against the service items."""
    folder = Path(seeds_dir) / "catalogue"
    report = SeedReport()
    for kind, model, filename, create, update, prepare in CATALOGUE_FILES:
        _upsert(kind, model, _load(folder / filename), create, update, report, prepare)
    known = set(db.session.scalars(select(ServiceItem.code)))
    for row in load_qualification_types(folder / QUALIFICATION_TYPES_FILE):
        unknown = sorted(set(row["services"]) - known)
        if unknown:
            raise RegistryError(
                None, f"资质类型 {row['code']} 所列服务事项不存在:{', '.join(unknown)}"
            )
    for row in load_certificate_types(folder / CERTIFICATE_TYPES_FILE):
        unknown = sorted(set(row["services"]) - known)
        if unknown:
            raise RegistryError(
                None, f"证书类型 {row['code']} 所列服务事项不存在:{', '.join(unknown)}"
            )
    return report


QUALIFICATION_TYPES_FILE = "qualification_types.yaml"
OTHER_QUALIFICATION = "其他"


def load_qualification_types(path: Path) -> list[dict[str, Any]]:
    """The controlled list of qualification types (services/providers/qualification_types.py
    reads it through here, once per process): code, name, services, basis, source_note,
    aliases; names unique after normalisation, exactly one entry named 其他 and serving nothing."""
    from registry.pure.qualification_names import normalise
    from registry.services.controlled_lists import check_rows

    rows = check_rows(path, _load(Path(path)), "资质类型", normalise)
    for row in rows:
        if normalise(row["name"]) != row["name"]:
            raise RegistryError(None, f"{path.name}:资质类型名称 {row['name']} 须为规范写法")
    others = [r for r in rows if r["name"] == OTHER_QUALIFICATION]
    if len(others) != 1 or others[0]["services"]:
        raise RegistryError(None, f"{path.name}:须有且只有一条不对应服务事项的“其他”")
    return rows


CERTIFICATE_TYPES_FILE = "certificate_types.yaml"


def load_certificate_types(path: Path) -> list[dict[str, Any]]:
    """The controlled list of practitioners' certificate types
    (services/practitioners/certificate_types.py reads it through here, once per process): code,
    name, services (at least one), basis, source_note, aliases; names and aliases unique after
    NFKC and whitespace removal."""
    from registry.pure.qualification_names import spelling_key
    from registry.services.controlled_lists import check_rows

    rows = check_rows(path, _load(Path(path)), "证书类型", spelling_key)
    for row in rows:
        if not row["services"]:
            raise RegistryError(None, f"{path.name}:证书类型 {row['code']} 须对应服务事项")
    return rows
