"""Backups that restore: one directory with the database (SQLite's online backup API, or
`pg_dump --format=custom`), the uploads kept on disk, and manifest.json listing every file with
its size and SHA-256. A restore checks every checksum before it touches anything, and goes only
into an empty instance unless forced. The secret key is deliberately left out (README, Backups)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump / pg_restore, with argument lists, never a shell
from pathlib import Path, PurePosixPath

from sqlalchemy import inspect, literal_column, select, table, text
from sqlalchemy.engine import URL

from registry.extensions import db
from registry.kernel import clock
from registry.services.audit import record
from registry.storage import DIGEST, disk_storage, get_storage

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
UPLOADS = "uploads"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup that cannot be made or restored; the message is for the operator (Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------- helpers


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _kind() -> str:
    kind = db.engine.dialect.name
    if kind not in DATABASE_FILES:
        raise BackupError(f"不支持的数据库类型:{kind}")
    return kind


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL as libpq reads it (no SQLAlchemy driver name) and an environment carrying the
    password, so that it never shows in the process list."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(program: str, *args: str) -> None:
    """Run pg_dump / pg_restore against the configured database; its complaint on failure."""
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(f"未找到 {program},请安装 PostgreSQL 客户端(postgresql-client)。")
    dsn, env = _libpq(db.engine.url)
    done = subprocess.run(  # noqa: S603 - a fixed program and our own arguments
        [executable, *args, f"--dbname={dsn}"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{program} 失败:{done.stderr.strip()[-2000:]}")


def schema_revision() -> str | None:
    """The Alembic revision the database is at (None for a schema made without migrations)."""
    if not inspect(db.session.connection()).has_table("alembic_version"):
        return None
    return db.session.scalar(text("SELECT version_num FROM alembic_version"))


def tables_with_rows() -> list[str]:
    """The tables of the current database that hold rows (alembic_version aside)."""
    names = sorted(set(inspect(db.session.connection()).get_table_names()) - {"alembic_version"})
    return [
        name
        for name in names
        if db.session.scalar(select(literal_column("1")).select_from(table(name)).limit(1))
    ]


# ---------------------------------------------------------------------- backup


def _dump_database(kind: str, target: Path) -> None:
    if kind == "sqlite":
        # The online backup API: a consistent copy while the site keeps writing (a file copy
        # during writes can lose committed rows that still sit in the WAL).
        source = sqlite3.connect(db.engine.url.database)
        destination = sqlite3.connect(target)
        try:
            with destination:
                source.backup(destination)
            # One self-contained file: reading it later must not leave -wal/-shm files beside it.
            destination.execute("PRAGMA journal_mode=DELETE")
        finally:
            destination.close()
            source.close()
    else:
        _run("pg_dump", "--format=custom", f"--file={target}")


def _copy_uploads(folder: Path) -> list[str]:
    """Copy the disk back-end's files; returns the digests whose bytes no longer match (skipped)."""
    damaged = []
    storage = disk_storage()
    for digest in storage.iter_digests():
        target = folder / UPLOADS / digest[:2] / digest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(storage.path(digest), target)
        if _sha256(target) != digest:
            target.unlink()
            damaged.append(digest)
    return damaged


def create_backup(target: Path) -> dict:
    """Write a backup directory at target (which must not exist); returns its manifest, with
    the upload files found damaged on this node under "damaged" (not in the backup)."""
    if target.exists():
        raise BackupError(f"{target} 已存在,请换一个路径。")
    if not target.parent.is_dir():
        raise BackupError(f"目录 {target.parent} 不存在。")
    partial = target.with_name(f"{target.name}.partial")
    if partial.exists():
        raise BackupError(f"{partial} 已存在(上次备份未完成?),请先删除它。")
    if not inspect(db.session.connection()).has_table("users"):
        # A mistyped database path gave a "successful", empty backup (a tester, stop 29).
        raise BackupError(
            "数据库中没有本站的数据表:请检查 REGISTRY_DATABASE_URL,或先运行 registry init-db。"
        )
    kind = _kind()
    # Only the operator's account may read a backup: it holds every password hash and person.
    partial.mkdir(mode=0o700)
    try:
        manifest = _write_backup(partial, kind)
        # Only a finished backup carries the final name.
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _write_backup(folder: Path, kind: str) -> dict:
    created_at = clock.now()
    revision = schema_revision()
    storage_name = get_storage().name
    db.session.remove()  # no transaction of ours is open while the database is copied
    _dump_database(kind, folder / DATABASE_FILES[kind])
    # Uploads after the database: files are only ever added, so every upload the copied
    # database names is on disk by now (a newer file is harmless). Blobs of the database
    # back-end are inside the dump already.
    damaged = _copy_uploads(folder) if storage_name == "disk" else []
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    manifest = {
        "format": FORMAT,
        "created_at": created_at.isoformat(),
        "schema_revision": revision,
        "database": kind,
        "upload_storage": storage_name,
        "files": [
            {
                "path": file.relative_to(folder).as_posix(),
                "size": file.stat().st_size,
                "sha256": _sha256(file),
            }
            for file in files
        ],
    }
    (folder / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    for path in folder.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    return {**manifest, "damaged": damaged}


# ---------------------------------------------------------------------- verify


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} 中没有 {MANIFEST},不是本系统的备份。")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupError(f"{MANIFEST} 已损坏,无法解析:{error}") from error
    if not isinstance(manifest, dict):
        raise BackupError(f"{MANIFEST} 已损坏或格式不符,拒绝恢复。")
    files = manifest.get("files")
    if (
        manifest.get("format") != FORMAT
        or manifest.get("database") not in DATABASE_FILES
        or not isinstance(files, list)
        or not all(_entry_ok(entry, manifest["database"]) for entry in files)
    ):
        raise BackupError(f"{MANIFEST} 已损坏或格式不符,拒绝恢复。")
    databases = [e for e in files if e["path"] == DATABASE_FILES[manifest["database"]]]
    if len(databases) != 1:
        raise BackupError(f"{MANIFEST} 中没有数据库文件,拒绝恢复。")
    return manifest


def _entry_ok(entry: object, kind: str) -> bool:
    """A file entry: a known name (the database file, or uploads/<sha[:2]>/<sha> with sha its
    own checksum), a size and a checksum."""
    if not isinstance(entry, dict):
        return False
    path, size, checksum = entry.get("path"), entry.get("size"), entry.get("sha256")
    if not (isinstance(path, str) and isinstance(size, int) and isinstance(checksum, str)):
        return False
    if not DIGEST.fullmatch(checksum) or size < 0:
        return False
    if path == DATABASE_FILES[kind]:
        return True
    parts = PurePosixPath(path).parts
    return (
        len(parts) == 3
        and parts[0] == UPLOADS
        and parts[2] == checksum
        and parts[1] == checksum[:2]
    )


def verify_backup(folder: Path) -> dict:
    """The backup's manifest, once every file it lists is there with its size and checksum and
    nothing else is in the folder; BackupError otherwise."""
    if not folder.is_dir():
        raise BackupError(f"{folder} 不是备份目录。")
    manifest = _read_manifest(folder)
    listed = {entry["path"] for entry in manifest["files"]}
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    extra = sorted(present - listed - {MANIFEST})
    if extra:
        raise BackupError(f"备份中有清单之外的文件:{', '.join(extra[:10])},拒绝恢复。")
    for entry in manifest["files"]:
        file = folder / entry["path"]
        if not file.is_file():
            raise BackupError(f"备份缺少文件 {entry['path']},拒绝恢复。")
        if file.stat().st_size != entry["size"] or _sha256(file) != entry["sha256"]:
            raise BackupError(f"文件 {entry['path']} 的校验和不符(已损坏),拒绝恢复。")
    return manifest


# ---------------------------------------------------------------------- restore


def _load_database(kind: str, source: Path) -> None:
    db.session.remove()
    db.engine.dispose()
    if kind == "sqlite":
        target = Path(db.engine.url.database)
        target.parent.mkdir(parents=True, exist_ok=True)
        origin = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        destination = sqlite3.connect(target)
        try:
            with destination:
                origin.backup(destination)
        finally:
            destination.close()
            origin.close()
    else:
        # One transaction: a restore that fails half-way leaves the database as it was.
        _run(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            str(source),
        )
    db.engine.dispose()


def other_sessions() -> list[str]:
    """PostgreSQL: the other client sessions using this database at this moment (a site or worker
    on any node, an operator's psql), as "application (address)"; SQLite has no such list (see
    running.py). A snapshot: a node that connects after it is not seen (README, Backups)."""
    if db.engine.dialect.name != "postgresql":
        return []
    db.session.remove()
    db.engine.dispose()  # our own pooled connections are not "others"
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT coalesce(nullif(application_name, ''), '?'),"
                " coalesce(host(client_addr), 'local') FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                # Clients only: autovacuum workers and replication senders are the server's own.
                " AND backend_type = 'client backend'"
            )
        ).all()
    db.engine.dispose()
    return [f"{name} ({address})" for name, address in rows]


def restore_backup(folder: Path, force: bool = False) -> dict:
    """Bring a verified backup into this instance: the database, then the upload files into the
    configured storage (blobs are added to the session), and an audit entry saying so (the
    caller commits). Refused while other sessions use a PostgreSQL database: their writes would
    land in tables about to be replaced. Returns the manifest."""
    manifest = verify_backup(folder)
    kind = _kind()
    if manifest["database"] != kind:
        raise BackupError(
            f"备份来自 {manifest['database']} 数据库,当前实例使用 {kind},无法直接恢复。"
        )
    others = other_sessions()
    if others:
        shown = "、".join(others[:5]) + (" 等" if len(others) > 5 else "")
        raise BackupError(
            f"数据库仍有其他连接({shown}):请先停止所有节点的站点与 worker,再恢复备份。"
        )
    filled = tables_with_rows()
    if filled and not force:
        shown = "、".join(filled[:5]) + (" 等" if len(filled) > 5 else "")
        raise BackupError(
            f"目标数据库已有数据(非空的表:{shown})。恢复只用于空实例;确需覆盖请加 --force。"
        )
    _load_database(kind, folder / DATABASE_FILES[kind])
    storage = get_storage()
    for entry in manifest["files"]:
        if entry["path"].startswith(f"{UPLOADS}/"):
            storage.put(entry["sha256"], (folder / entry["path"]).read_bytes())
    # Recorded in the restored database: its history now jumps back to the backup's day.
    record(
        "system.restore",
        actor_name="system:restore",
        object_type="backup",
        object_id=manifest["created_at"],
        after={
            "path": str(folder.resolve()),
            "created_at": manifest["created_at"],
            "schema_revision": manifest["schema_revision"],
            "forced": bool(filled),
        },
    )
    return manifest
