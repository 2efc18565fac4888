"""Upload storage: the same round trip on this node's disk and in the shared database, and a
qualification scan uploaded through the provider's form downloads from either."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Provider, UploadBlob
from registry.storage import get_storage
from tests.conftest import post_form
from tests.test_providers import PDF, USCC_A, application, qualification_form

STORAGES = [{"UPLOAD_STORAGE": "disk"}, {"UPLOAD_STORAGE": "database"}]


def _files(app) -> list[Path]:
    return [f for f in Path(app.config["UPLOAD_DIR"]).rglob("*") if f.is_file()]


@pytest.mark.parametrize("app_config", STORAGES, indirect=True, ids=["disk", "database"])
def test_storage_round_trip(app):
    digest = hashlib.sha256(PDF).hexdigest()
    with app.app_context():
        storage = get_storage()
        assert not storage.exists(digest)
        assert storage.read(digest) is None
        storage.put(digest, PDF)
        storage.put(digest, PDF)  # the same bytes again: nothing new
        db.session.commit()
    with app.app_context():
        storage = get_storage()
        assert storage.exists(digest)
        assert storage.read(digest) == PDF
        assert list(storage.iter_digests()) == [digest]
        blobs = db.session.scalar(select(func.count()).select_from(UploadBlob))
    if app.config["UPLOAD_STORAGE"] == "disk":
        assert _files(app) == [Path(app.config["UPLOAD_DIR"]) / digest[:2] / digest]
        assert blobs == 0
    else:
        assert _files(app) == []
        assert blobs == 1


def test_storage_database_put_is_rolled_back_with_its_transaction(app):
    app.config["UPLOAD_STORAGE"] = "database"
    digest = hashlib.sha256(b"never committed").hexdigest()
    with app.app_context():
        get_storage().put(digest, b"never committed")
        assert get_storage().exists(digest)
        db.session.rollback()
        assert not get_storage().exists(digest)


@pytest.mark.parametrize("app_config", STORAGES, indirect=True, ids=["disk", "database"])
def test_storage_qualification_scan_downloads(app, client, make_user, login):
    login(make_user("provider"))
    assert post_form(client, "/my/provider/application", application()).status_code == 302
    response = post_form(
        client,
        "/my/provider/qualifications/new",
        {**qualification_form(), "scan": (io.BytesIO(PDF), "证书.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        provider = db.session.scalar(select(Provider).where(Provider.uscc == USCC_A))
        qualification_id = provider.qualifications[0].id
        scan_id = provider.qualifications[0].scan_id
        blobs = db.session.scalar(select(func.count()).select_from(UploadBlob))
    scan = client.get(f"/my/provider/qualifications/{qualification_id}/scan")
    assert scan.status_code == 200
    assert scan.data == PDF
    assert scan.mimetype == "application/pdf"
    assert "attachment" in scan.headers["Content-Disposition"]
    assert scan.headers["Content-Disposition"] == (
        f"attachment; filename=\"file-{scan_id}.pdf\"; filename*=UTF-8''%E8%AF%81%E4%B9%A6.pdf"
    )
    scan.close()
    on_disk = app.config["UPLOAD_STORAGE"] == "disk"
    assert (len(_files(app)), blobs) == ((1, 0) if on_disk else (0, 1))
