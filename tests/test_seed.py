"""Seeding the real catalogue: counts, idempotency, updates by code, source tags kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from registry.config import PROJECT_ROOT
from registry.extensions import db
from registry.models import ApprovalItem, AuditEntry, Department, ServiceItem, Stage
from registry.services import seeding
from registry.services.errors import RegistryError

SEEDS = PROJECT_ROOT / "seeds" / "catalogue"


def _yaml(name: str) -> list[dict]:
    return yaml.safe_load((SEEDS / name).read_text(encoding="utf-8"))


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def test_seed_loads_the_whole_reference_catalogue(app):
    with app.app_context():
        assert _count(ServiceItem) == 26
        assert _count(ApprovalItem) >= 15
        assert _count(Department) >= 10
        assert [s.name for s in db.session.scalars(select(Stage).order_by(Stage.sequence))] == [
            "立项用地规划许可",
            "工程建设规划许可",
            "施工许可",
            "竣工验收",
        ]
        completion = db.session.scalars(
            select(ApprovalItem).where(ApprovalItem.stages.any(Stage.code == "4"))
        ).all()
        assert {"竣工验收", "规划核实"} <= {a.name for a in completion}


def test_seed_keeps_source_tags_and_unknowns(app):
    with app.app_context():
        for row in _yaml("service_items.yaml"):
            item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == row["code"]))
            assert item.source_note == row["source_note"]
            assert item.source_note.split(";")[0] in {"S", "S-2nd", "GK"}
        # The reference gives no department phone numbers: the 12345 fallback is marked as such.
        sthj = db.session.scalar(select(Department).where(Department.code == "STHJ"))
        assert sthj.phone is None
        assert sthj.complaint_phone == "12345"
        assert sthj.complaint_phone_is_fallback
        eia = db.session.scalar(select(ServiceItem).where(ServiceItem.code == "ZJ-03"))
        assert eia.effective_complaint_phone == ("12345", True)


def test_seed_twice_changes_nothing(app):
    with app.app_context():
        stamps = dict(db.session.execute(select(ServiceItem.code, ServiceItem.updated_at)).all())
        audit_before = _count(AuditEntry)
        report = seeding.seed_catalogue(PROJECT_ROOT / "seeds")
        db.session.commit()
        assert report.changed == 0
        assert report.counts["service_items"] == {
            "created": 0,
            "updated": 0,
            "unchanged": 26,
            "kept": 0,
        }
        assert _count(AuditEntry) == audit_before
        after = dict(db.session.execute(select(ServiceItem.code, ServiceItem.updated_at)).all())
        assert after == stamps


def test_edited_seed_file_updates_rows_by_code(app, tmp_path):
    copy = tmp_path / "seeds"
    shutil.copytree(PROJECT_ROOT / "seeds", copy)
    rows = _yaml("service_items.yaml")
    target = next(r for r in rows if r["code"] == "ZJ-04")
    target["time_limit_note"] = "核对后更新的时限说明"
    (copy / "catalogue" / "service_items.yaml").write_text(
        yaml.safe_dump(rows, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    with app.app_context():
        report = seeding.seed_catalogue(copy)
        db.session.commit()
        assert report.counts["service_items"]["updated"] == 1
        assert _count(ServiceItem) == 26
        item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == "ZJ-04"))
        assert item.time_limit_note == "核对后更新的时限说明"
        entry = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "service_item.update", AuditEntry.object_id == "ZJ-04"
            )
        ).one()
        assert entry.actor_name == "system:seed"
        assert entry.after["time_limit_note"] == "核对后更新的时限说明"
        assert entry.before["time_limit_note"] != entry.after["time_limit_note"]


def test_seed_keeps_what_an_admin_edited_on_the_site(app, runner, make_user, tmp_path):
    """A tester's finding (stop 29): `make run` seeds at every start, and a seed run put every
    row an admin had edited on the site back to its file (ZJ-01's name, a department's phone),
    audited as system:seed. A row whose latest change was an admin's is kept; the others are
    still updated from an edited file."""
    from registry.services import catalogue

    admin = make_user("admin")
    with app.app_context():
        from registry.models import User

        actor = db.session.get(User, admin.id)
        item = catalogue.get_service("ZJ-01")
        data = {**catalogue.SERVICE_ITEMS.snapshot(item), "name": "管理员改过的名称"}
        data["department"] = item.department.code
        data["stages"] = [s.code for s in item.stages]
        data["approval_items"] = [a.code for a in item.approval_items]
        data["last_verified"] = item.last_verified
        assert catalogue.update_service_item(item, data, actor=actor)
        db.session.commit()
    copy = tmp_path / "seeds"
    shutil.copytree(PROJECT_ROOT / "seeds", copy)
    rows = _yaml("service_items.yaml")
    for row in rows:
        if row["code"] in ("ZJ-01", "ZJ-04"):
            row["time_limit_note"] = "种子文件更新的时限说明"
    (copy / "catalogue" / "service_items.yaml").write_text(
        yaml.safe_dump(rows, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    app.config["SEEDS_DIR"] = str(copy)
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "service_items: 新增 0,更新 1,未变 24,已由管理员修改而保留 1" in result.output
    with app.app_context():
        kept = catalogue.get_service("ZJ-01")
        assert kept.name == "管理员改过的名称"
        assert kept.time_limit_note != "种子文件更新的时限说明"
        assert catalogue.get_service("ZJ-04").time_limit_note == "种子文件更新的时限说明"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda rows: rows[0].update(department="NOPE"), "未找到部门"),
        (lambda rows: rows.append(dict(rows[0])), "编码重复"),
        (lambda rows: rows[1].update(stages=["9"]), "未知审批阶段"),
    ],
)
def test_broken_seed_file_is_refused_whole(app, tmp_path, mutate, message):
    copy = tmp_path / "seeds"
    shutil.copytree(PROJECT_ROOT / "seeds", copy)
    rows = _yaml("service_items.yaml")
    rows[0]["name"] = "不应写入的名称"
    mutate(rows)
    (copy / "catalogue" / "service_items.yaml").write_text(
        yaml.safe_dump(rows, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    with app.app_context():
        with pytest.raises(RegistryError, match=message):
            seeding.seed_catalogue(copy)
        db.session.rollback()
        assert (
            db.session.scalar(select(ServiceItem.name).where(ServiceItem.code == rows[0]["code"]))
            != "不应写入的名称"
        )


def test_seed_files_reference_only_known_codes():
    stages = {s["code"] for s in _yaml("stages.yaml")}
    departments = {d["code"] for d in _yaml("departments.yaml")}
    approvals = {a["code"] for a in _yaml("approval_items.yaml")}
    for row in _yaml("service_items.yaml"):
        assert set(row["stages"]) <= stages
        assert row["department"] in departments
        assert set(row["approval_items"]) <= approvals
        assert all("《" not in entry["law"] for entry in row["legal_basis"])


def test_seed_files_are_utf8_without_bom():
    for path in Path(SEEDS).glob("*.yaml"):
        assert not path.read_bytes().startswith(b"\xef\xbb\xbf"), path.name
