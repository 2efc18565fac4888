"""Objections with evidence: a provider attaches files to its objection; the department's
regulators read them (and are told of the objection); nobody else reaches the files."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from registry.extensions import db
from registry.models import Notification, Objection, ObjectionFile
from registry.services import credit
from tests.conftest import post_form
from tests.test_credit import _client, _published, _user, _world
from tests.test_credit import clock as clock  # noqa: F401 - the credit tests' frozen day

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _object(client, number, files, reason="报告数据系业主提供,非本机构差错。"):
    return post_form(
        client,
        f"/my/credit/{number}/object",
        {"reason": reason, "evidence": [(io.BytesIO(data), name) for name, data in files]},
        content_type="multipart/form-data",
    )


def _inbox(app, made):
    with app.app_context():
        return db.session.scalars(select(Notification).where(Notification.user_id == made.id)).all()


def test_objection_evidence_reaches_the_regulator_and_no_one_else(app, make_user, login, clock):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc)
    provider = _client(app, login, world.account)
    answer = _object(provider, number, [("业主来函.pdf", PDF), ("现场照片.png", PNG)])
    assert answer.status_code == 302
    with app.app_context():
        objection = db.session.scalar(select(Objection))
        objection_id = objection.id
        assert sorted(f.filename for f in objection.files) == ["业主来函.pdf", "现场照片.png"]
        pdf_id = next(f.id for f in objection.files if f.filename.endswith(".pdf"))

    # The department's regulator is told, reads the objection with its files and downloads one.
    told = _inbox(app, world.sthj)
    assert [n.kind for n in told] == ["收到异议"]
    assert number in told[0].message
    assert "附证据材料 2 份" in told[0].message
    assert told[0].link == f"/regulator/credit/objections/{objection_id}"
    assert _inbox(app, world.sw) == []
    regulator = _client(app, login, world.sthj)
    page = regulator.get(told[0].link).get_data(as_text=True)
    assert "业主来函.pdf" in page
    assert "现场照片.png" in page
    link = f"/credit/objections/{objection_id}/files/{pdf_id}"
    assert link in page
    for client in (regulator, provider):  # the provider sees its own files too
        download = client.get(link)
        assert (download.status_code, download.data) == (200, PDF)
        download.close()
    # Another department and another provider do not.
    assert _client(app, login, world.sw).get(link).status_code == 404
    assert _client(app, login, world.other_account).get(link).status_code == 404
    assert app.test_client().get(link).status_code in (302, 401)

    # The answer reaches the provider's inbox.
    with app.app_context():
        credit.answer_objection(
            _user(world.sthj), objection_id, outcome="维持", answer="经复核,维持原记录。"
        )
        db.session.commit()
    answered = _inbox(app, world.account)
    answered = [n for n in answered if n.kind == "异议答复"]
    assert len(answered) == 1
    assert "异议不成立" in answered[0].message
    assert answered[0].link == "/my/credit"


def test_objection_with_a_file_that_is_not_evidence_keeps_nothing(app, make_user, login, clock):
    world = _world(app, make_user)
    number = _published(app, world.sthj, world.uscc)
    provider = _client(app, login, world.account)
    page = _object(provider, number, [("说明.pdf", b"just text, not a pdf")])
    assert page.status_code == 200
    assert "只接受 PDF、PNG 或 JPG 文件" in page.get_data(as_text=True)
    too_many = _object(provider, number, [(f"{i}.pdf", PDF + bytes([i])) for i in range(6)])
    assert "证据材料最多 5 个文件" in too_many.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Objection.id))) == 0
        assert db.session.scalar(select(func.count(ObjectionFile.objection_id))) == 0
    assert _inbox(app, world.sthj) == []
    # Without files the objection still goes in (evidence is optional).
    assert _object(provider, number, []).status_code == 302
    assert re.search("收到异议", _inbox(app, world.sthj)[0].kind)
