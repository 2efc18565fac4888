"""`registry backup` / `registry restore`: a seeded instance with an upload comes back whole in a
fresh one (rows, file bytes, search); a backup with any damaged or unlisted file is refused with
nothing changed; a restore into an instance that holds data needs --force."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.models import ServiceItem, Upload, User
from registry.services import backups
from registry.services.uploads import save_upload, upload_content
from tests.conftest import TEST_TODAY, _pg_admin, _pg_database_url, make_app

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
DIGEST = hashlib.sha256(PDF).hexdigest()


def _add_upload(app) -> None:
    with app.app_context():
        save_upload(FileStorage(io.BytesIO(PDF), filename="资质证书.pdf"), "scan", None)
        db.session.commit()


@pytest.fixture
def fresh(app, tmp_path):
    """A fresh, empty instance of the same database kind as `app`, in its own folders."""
    folder = tmp_path / "fresh"
    folder.mkdir()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql"):
        if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
            pytest.skip("pg_dump / pg_restore not installed")
        name = f"r_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}"')
        target = make_app(_pg_database_url(name), folder)
    else:
        name = None
        target = make_app(f"sqlite:///{folder / 'registry.db'}", folder)
    yield target
    with target.app_context():
        db.session.remove()
        db.engine.dispose()
    if name:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_restores_into_a_fresh_instance(app, runner, make_user, fresh, tmp_path):
    make_user("admin", username="backup-admin")
    _add_upload(app)
    with app.app_context():
        items = db.session.scalar(select(func.count()).select_from(ServiceItem))
    target = tmp_path / "backup"

    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "SECRET_KEY 不在备份中" in result.output
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    kind = (
        "postgresql" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgres") else "sqlite"
    )
    assert manifest["database"] == kind
    # Stamped by the clock (10:00 Beijing time on the tests' day, 02:00 UTC).
    assert manifest["created_at"] == f"{TEST_TODAY.isoformat()}T02:00:00+00:00"
    listed = {entry["path"]: entry for entry in manifest["files"]}
    upload = listed[f"uploads/{DIGEST[:2]}/{DIGEST}"]
    assert (upload["size"], upload["sha256"]) == (len(PDF), DIGEST)
    assert backups.DATABASE_FILES[kind] in listed
    assert "test-secret-key" not in "".join(
        p.read_bytes().decode("latin-1") for p in target.rglob("*") if p.is_file()
    )
    # A second backup to the same place is refused, the first left alone.
    assert runner.invoke(args=["backup", str(target)]).exit_code == 1

    restored = fresh.test_cli_runner().invoke(args=["restore", str(target)])
    assert restored.exit_code == 0, restored.output
    assert "校验和全部相符" in restored.output
    with fresh.app_context():
        assert db.session.scalar(select(func.count()).select_from(ServiceItem)) == items
        assert db.session.scalar(select(User.role).where(User.username == "backup-admin"))
        row = db.session.scalar(select(Upload).where(Upload.sha256 == DIGEST))
        assert (row.filename, row.content_type) == ("资质证书.pdf", "application/pdf")
        assert Path(upload_content(row)).read_bytes() == PDF
    # The search index came back too (Whoosh is rebuilt; PostgreSQL's is in the dump).
    page = fresh.test_client().get("/search?q=环境影响评价").get_data(as_text=True)
    assert "环境影响评价" in page
    assert "没有找到" not in page

    # The instance now holds data: a second restore needs --force.
    again = fresh.test_cli_runner().invoke(args=["restore", str(target)])
    assert again.exit_code == 1
    assert "目标数据库已有数据" in again.output
    # Forced, and into the database back-end: the way from disk uploads to shared ones.
    fresh.config["UPLOAD_STORAGE"] = "database"
    forced = fresh.test_cli_runner().invoke(args=["restore", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    with fresh.app_context():
        row = db.session.scalar(select(Upload).where(Upload.sha256 == DIGEST))
        content = upload_content(row)
        assert isinstance(content, io.BytesIO)
        assert content.read() == PDF


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_manifest(folder: Path, change) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


CORRUPTIONS = {
    "upload bytes": (lambda f: _flip_last_byte(f / "uploads" / DIGEST[:2] / DIGEST), "校验和不符"),
    "database bytes": (lambda f: _flip_last_byte(f / "database.sqlite3"), "校验和不符"),
    "manifest not JSON": (
        lambda f: (f / "manifest.json").write_text("{not json", encoding="utf-8"),
        "无法解析",
    ),
    "manifest checksum": (
        lambda f: _edit_manifest(f, lambda m: m["files"][0].update(sha256="0" * 64)),
        "拒绝恢复",
    ),
    "manifest path escapes": (
        lambda f: _edit_manifest(f, lambda m: m["files"][-1].update(path="../../etc/passwd")),
        "格式不符",
    ),
    "file missing": (
        lambda f: (f / "uploads" / DIGEST[:2] / DIGEST).unlink(),
        "缺少文件",
    ),
    "unlisted file": (lambda f: (f / "uploads" / "extra").write_bytes(b"x"), "清单之外"),
}


def test_backup_of_a_database_without_the_site_is_refused(tmp_path):
    """A tester's finding (stop 29): a mistyped database path gave "已备份到 …" and an empty
    backup, exit 0. A database without the site's tables is refused, and nothing is written."""
    empty = make_app(f"sqlite:///{tmp_path / 'typo.db'}", tmp_path / "typo")
    target = tmp_path / "backup"
    result = empty.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 1
    assert "数据库中没有本站的数据表" in result.output
    assert not target.exists()
    assert not target.with_name("backup.partial").exists()


def test_backup_refuses_a_damaged_backup_and_changes_nothing(tmp_path):
    source = make_app(f"sqlite:///{tmp_path / 'source.db'}", tmp_path / "source")
    with source.app_context():
        db.create_all()
    _add_upload(source)
    good = tmp_path / "good"
    assert source.test_cli_runner().invoke(args=["backup", str(good)]).exit_code == 0

    target = make_app(f"sqlite:///{tmp_path / 'target.db'}", tmp_path / "target")
    for case, (damage, message) in CORRUPTIONS.items():
        folder = tmp_path / case.replace(" ", "-")
        shutil.copytree(good, folder)
        damage(folder)
        result = target.test_cli_runner().invoke(args=["restore", str(folder)])
        assert result.exit_code == 1, case
        assert message in result.output, (case, result.output)
    with target.app_context():
        assert backups.tables_with_rows() == []
        db.session.remove()
        db.engine.dispose()
    assert not Path(target.config["UPLOAD_DIR"]).exists()
