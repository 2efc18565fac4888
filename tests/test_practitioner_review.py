"""Review of the practitioner code (issue 17): a masked name cannot be probed for through
search, certificate numbers compare by their letters and digits, public pages turn when staff
change, names are normalised before they are masked, a racing 挂证 is still recorded, and the
register form is no oracle for ID/name pairs."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from registry.extensions import db
from registry.kernel import clock
from registry.models import (
    AuditEntry,
    BehaviourEvent,
    Employment,
    Practitioner,
    PractitionerCertificate,
    Provider,
    ProviderStatus,
    Upload,
    User,
)
from registry.pure import pii
from registry.services import practitioners
from registry.services.errors import RegistryError
from registry.services.practitioners import roster
from tests.conftest import post_form
from tests.test_practitioner_pages import (  # noqa: F401 (staffed: the fixture)
    PEOPLE,
    _certificate,
    id_number,
    staffed,
)


@pytest.fixture
def people(request) -> dict:
    """The two firms and PEOPLE of test_practitioner_pages (its `staffed` fixture)."""
    return request.getfixturevalue("staffed")


def _found(client, query: str) -> list[str]:
    answer = client.get(f"/api/v1/search?q={quote(query)}&type=practitioner").get_json()
    # The API's links are absolute; compared here by their paths.
    return [urlsplit(item["url"]).path for item in answer["items"]]


def test_practitioner_review_search_finds_only_the_whole_name(app, client, people):
    """The full name finds the person; no two-character piece of it (nor a near name) does."""
    for name, *_ in PEOPLE:
        url = f"/practitioners/{people['ids'][name]}"
        assert _found(client, name) == [url], name
        if len(name) < 3:
            continue
        for start in range(len(name) - 1):
            piece = name[start : start + 2]
            assert url not in _found(client, piece), f"{piece} of {name}"
        assert url not in _found(client, name[:-1] + "一"), name
    grouped = client.get("/api/v1/search?q=" + quote("向明") + "&grouped=1").get_json()
    assert "practitioner" not in [g["key"] for g in grouped.get("groups", [])]


@pytest.mark.parametrize("probe", ["龚向", "向明", "龚大", "gongxiangming", "gxm"])
def test_practitioner_review_search_probes_find_nothing(app, client, people, probe):
    """Pieces, pinyin and initials of a hidden name find no person and suggest nothing."""
    answer = client.get(f"/api/v1/search?q={quote(probe)}&type=practitioner").get_json()
    assert answer["items"] == []
    assert "龚向明" not in str(answer)


# ---------------------------------------------------------------- pure rules (not per database)

BASE_NUMBER = "HP-2021-0001"
LOOKALIKE_NUMBERS = [
    "HP-2021-0001\u200b",  # zero-width space
    "HP\u22122021\u22120001",  # minus sign
    "HP\u20132021\u20130001",  # en dash
    "ＨＰ－２０２１－０００１",  # full width
    "HP_2021_0001",
    "HP.2021.0001",
    "HP/2021/0001",
    "hp 2021 0001",
    "НР-2021-0001",  # Cyrillic Н and Р
    "ΗΡ-2021-0001",  # Greek Eta and Rho
    "HP-2021-0001\u00ad",  # soft hyphen
    "\ufeffHP-2021-0001",  # byte order mark
]


@pytest.mark.parametrize("number", LOOKALIKE_NUMBERS)
def test_practitioner_review_number_key_folds_lookalikes(number):
    """Every way of writing the same certificate number gives the same key."""
    assert pii.number_key(number) == pii.number_key(BASE_NUMBER) == "HP20210001"


def test_practitioner_review_number_key_keeps_signs():
    assert pii.number_key("粤 a-123 ４") == "粤A1234"
    assert pii.number_key("HP-2021-OOO1") != pii.number_key(BASE_NUMBER)  # O is not 0
    assert pii.invisible("HP\u200b1")
    assert pii.invisible("HP\u00ad1")
    assert not pii.invisible("HP-1")
    assert pii.number_signs("----") == 0
    assert pii.number_signs("粤A-12") == 3


@pytest.mark.parametrize(
    ("typed", "stored", "masked"),
    [
        ("李 雷", "李雷", "李*"),
        ("张\u3000三", "张三", "张*"),
        ("张\u200b三", "张三", "张*"),
        ("\u200b张三", "张三", "张*"),
        ("张三\u200b", "张三", "张*"),
        (" 龚 向 明 ", "龚向明", "龚*明"),
        ("欧阳小明", "欧阳小明", "欧**明"),
        ("买买提 · 艾力", "买买提·艾力", "买****力"),
        ("买买提・艾力", "买买提·艾力", "买****力"),
        ("John   Smith", "John Smith", "J*******h"),
        ("张", "张", "张"),
    ],
)
def test_practitioner_review_names_normalised_then_masked(typed, stored, masked):
    """Names are normalised at entry, and masking counts only the visible characters."""
    assert pii.normalise_name(typed) == stored
    assert pii.mask_name(typed) == masked
    assert pii.mask_name(stored) == masked


def test_practitioner_review_short_numbers_show_two_at_most():
    assert pii.mask_number("12345") == "***45"
    assert pii.mask_number("HP-20211") == "******11"
    assert pii.mask_number("1234") == "****"
    assert pii.mask_number("A1234567890") == "A1*******90"
    assert pii.mask_number("HP-2021\u200b") == "*****21"


# ---------------------------------------------------------------- the roster (both databases)

EIA = "环境影响评价工程师"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _firm(uscc: str) -> Provider:
    return db.session.scalar(select(Provider).where(Provider.uscc == uscc))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _hung_events(uscc: str) -> int:
    """The 挂证嫌疑 events recorded against the provider uscc."""
    return db.session.scalar(
        select(func.count(BehaviourEvent.id)).where(
            BehaviourEvent.kind == "挂证嫌疑", BehaviourEvent.provider_id == _firm(uscc).id
        )
    )


@pytest.mark.parametrize("number", ["HP-2021-0001\u200b", "HP-2021-0001\u00ad"])
def test_practitioner_review_invisible_certificate_number_refused(app, people, number):
    """A number with an invisible character is refused at entry, whoever holds it."""
    with app.app_context():
        account = db.session.get(User, people["users"][1].id)
        with pytest.raises(RegistryError, match="不可见字符"):
            practitioners.add_certificate(
                _firm(people["firms"][1]),
                people["ids"]["谭静"],
                _certificate(EIA, number, 100),
                actor=account,
            )


def test_practitioner_review_short_certificate_number_refused(app, people):
    with app.app_context():
        account = db.session.get(User, people["users"][1].id)
        with pytest.raises(RegistryError, match="至少应包含 4 位"):
            practitioners.add_certificate(
                _firm(people["firms"][1]),
                people["ids"]["谭静"],
                _certificate(EIA, "1-2-3", 100),
                actor=account,
            )


@pytest.mark.parametrize("number", ["НР-2021-0001", "HP\u22122021\u22120001", "HP_2021_0001"])
def test_practitioner_review_lookalike_number_is_hung(app, people, number):
    """龚向明's EIA number written with Cyrillic letters, a minus sign or underscores is the same
    certificate: refused at the other firm as 挂证 and recorded."""
    with app.app_context():
        account = db.session.get(User, people["users"][1].id)
        before = _hung_events(people["firms"][1])
        with pytest.raises(RegistryError, match="同一证书不能在两家机构同时执业"):
            practitioners.add_certificate(
                _firm(people["firms"][1]),
                people["ids"]["谭静"],
                _certificate(EIA, number, 100),
                actor=account,
            )
        db.session.commit()  # keep=True, as the view does
        assert _hung_events(people["firms"][1]) == before + 1


def test_practitioner_review_name_normalised_at_entry(app, client, people):
    """'李 雷' is stored as 李雷 and shown 李*, never 李*雷."""
    with app.app_context():
        account = db.session.get(User, people["users"][0].id)
        data = {
            "name": "李\u200b 雷",
            "id_number": id_number(77),
            "started_on": clock.today() - timedelta(days=3),
        }
        employment = practitioners.register_practitioner(
            _firm(people["firms"][0]), data, actor=account
        )
        db.session.commit()
        person_id = employment.practitioner_id
        assert db.session.get(Practitioner, person_id).name == "李雷"
    page = client.get(f"/practitioners/{person_id}").get_data(as_text=True)
    assert "李*" in page
    assert "李*雷" not in page
    assert client.get(f"/api/v1/practitioners/{person_id}").get_json()["name"] == "李*"


def test_practitioner_review_certificate_race_records_hung_and_no_upload(app, people, monkeypatch):
    """Both requests passed the check (the race): the loser's unique-index error runs the check
    again, which records the 挂证 attempt, and its scan is not stored."""
    real = roster._check_certificate_free
    calls = []

    def racing(*args, **kwargs):
        calls.append(args)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(roster, "_check_certificate_free", racing)
    with app.app_context():
        account = db.session.get(User, people["users"][1].id)
        before, uploads = _hung_events(people["firms"][1]), _count(Upload)
        scan = FileStorage(io.BytesIO(PDF), filename="scan.pdf", content_type="application/pdf")
        with pytest.raises(RegistryError, match="同一证书不能在两家机构同时执业"):
            practitioners.add_certificate(
                _firm(people["firms"][1]),
                people["ids"]["谭静"],
                _certificate(EIA, "HP-2021-0001", 100),
                actor=account,
                scan=scan,
            )
        db.session.commit()  # keep=True, as the view does
        assert len(calls) == 2
        assert _hung_events(people["firms"][1]) == before + 1
        assert _count(Upload) == uploads


def test_practitioner_review_certificate_with_scan_still_added(app, people):
    with app.app_context():
        account = db.session.get(User, people["users"][1].id)
        scan = FileStorage(io.BytesIO(PDF), filename="scan.pdf", content_type="application/pdf")
        certificate = practitioners.add_certificate(
            _firm(people["firms"][1]),
            people["ids"]["谭静"],
            _certificate(EIA, "HP-2099-0042", 100),
            actor=account,
            scan=scan,
        )
        db.session.commit()
        assert certificate.scan is not None
        assert certificate.scan.filename == "scan.pdf"


def _refusal(app, people, name: str) -> str:
    """What provider 0 is told registering 谭静's ID number (at provider 1) under name."""
    with app.app_context():
        account = db.session.get(User, people["users"][0].id)
        data = {"name": name, "id_number": id_number(23), "started_on": clock.today()}
        with pytest.raises(RegistryError) as refused:
            practitioners.register_practitioner(_firm(people["firms"][0]), data, actor=account)
        db.session.commit()  # keep=True, as the view does
        return refused.value.message


def test_practitioner_review_no_id_name_oracle(app, people):
    """A wrong name and the right name of someone at another firm get the same answer, which
    names no firm; both attempts are audited."""
    wrong, right = _refusal(app, people, "张三"), _refusal(app, people, "谭静")
    assert wrong == right
    with app.app_context():
        other = _firm(people["firms"][1])
        assert other.name not in wrong
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.outcome == "refused")
        ).all()
    assert "practitioner.register_refused" in actions
    assert "practitioner.certificate_refused" in actions


@pytest.mark.parametrize("app_config", [{"PRACTITIONER_REGISTER_LIMIT": "2 per day"}])
def test_practitioner_review_register_attempts_limited_per_account(app, client, login, people):
    """Refused registrations count per provider account and day; then 429."""
    login(people["users"][0])
    form = {"name": "张三", "id_number": id_number(23), "started_on": clock.today().isoformat()}
    answers = [
        post_form(client, "/my/provider/practitioners/new", form).status_code for _ in range(3)
    ]
    assert answers == [200, 200, 429]
    assert client.get("/my/provider/practitioners/new").status_code == 200


# ---------------------------------------------------------------- public pages


def _end_employment(app, people, name: str, firm: int) -> None:
    with app.app_context():
        account = db.session.get(User, people["users"][firm].id)
        provider = _firm(people["firms"][firm])
        employment = db.session.scalar(
            select(Employment).where(
                Employment.practitioner_id == people["ids"][name], Employment.ended_on.is_(None)
            )
        )
        practitioners.end_employment(provider, employment.id, {}, actor=account)
        db.session.commit()


def test_practitioner_review_public_pages_turn_when_staff_leave(app, client, people):
    """The page cache turns on a practitioner write: the person page, the filtered list, the API
    and the firm's profile all show that 谭静 has left."""
    uscc, person_id = people["firms"][1], people["ids"]["谭静"]
    with app.app_context():
        firm_name = _firm(uscc).name
    urls = [f"/practitioners/{person_id}", f"/practitioners?provider={uscc}"]
    before = {url: client.get(url).get_data(as_text=True) for url in urls}
    assert firm_name in before[urls[0]]
    assert "谭*" in before[urls[1]]
    assert client.get(f"/api/v1/practitioners/{person_id}").get_json()["provider"] is not None
    assert "谭*" in client.get(f"/providers/{uscc}").get_data(as_text=True)
    _end_employment(app, people, "谭静", 1)
    assert firm_name not in client.get(urls[0]).get_data(as_text=True)
    assert "谭*" not in client.get(urls[1]).get_data(as_text=True)
    assert client.get(f"/api/v1/practitioners/{person_id}").get_json()["provider"] is None
    assert "谭*" not in client.get(f"/providers/{uscc}").get_data(as_text=True)


def test_practitioner_review_provider_filter_only_public_firms(app, client, people):
    """?provider= finds no one at a provider that is not public (draft, pending)."""
    uscc = people["firms"][1]
    assert client.get(f"/api/v1/practitioners?provider={uscc}").get_json()["total"] == 1
    with app.app_context():
        _firm(uscc).status = ProviderStatus.PENDING.value
        db.session.commit()
    assert client.get(f"/api/v1/practitioners?provider={uscc}").get_json()["total"] == 0
    assert "谭*" not in client.get(f"/practitioners?provider={uscc}").get_data(as_text=True)


def test_practitioner_review_people_not_for_crawlers(app, client, people):
    """Person pages and the list say noindex; robots.txt disallows them; no sitemap lists them."""
    noindex = '<meta name="robots" content="noindex">'
    for url in ["/practitioners", f"/practitioners/{people['ids']['龚向明']}"]:
        assert noindex in client.get(url).get_data(as_text=True), url
    assert "Disallow: /practitioners" in client.get("/robots.txt").get_data(as_text=True)
    assert "/practitioners" not in client.get("/sitemap.xml").get_data(as_text=True)


# ---------------------------------------------------------------- migration 0023


def test_practitioner_review_migration_rekeys_and_suffixes_duplicates(app, people):
    """0023 recomputes number_key; two rows that now share a key keep the older one's and the
    newer one's is suffixed; downgrading gives back the old keys."""
    from flask_migrate import downgrade, stamp, upgrade
    from sqlalchemy import text

    with app.app_context():
        account = db.session.get(User, people["users"][1].id)
        newer = practitioners.add_certificate(
            _firm(people["firms"][1]),
            people["ids"]["谭静"],
            _certificate(EIA, "HP-2099-0009", 100),
            actor=account,
        )
        db.session.commit()
        newer_id = newer.id
        older_id = db.session.scalar(
            select(PractitionerCertificate.id).where(
                PractitionerCertificate.number == "HP-2021-0001"
            )
        )
        db.session.remove()
        stamp()
        downgrade(revision="0022")
        # Entered before the new key: the same number in Cyrillic and with underscores.
        db.session.execute(
            text("UPDATE practitioner_certificates SET number = :n, number_key = :k WHERE id = :i"),
            {"n": "НР_2021_0001", "k": "НР_2021_0001", "i": newer_id},
        )
        db.session.commit()
        upgrade()
        query = select(PractitionerCertificate.id, PractitionerCertificate.number_key)
        keys = {row.id: row.number_key for row in db.session.execute(query)}
        assert keys[older_id] == "HP20210001"
        assert keys[newer_id] == f"HP20210001-DUP{newer_id}"
        assert "ZJ77886655" in keys.values()
        db.session.remove()
        downgrade(revision="0022")
        old = dict(
            db.session.execute(text("SELECT id, number_key FROM practitioner_certificates")).all()
        )
        assert old[older_id] == "HP20210001"
        assert old[newer_id] == "НР_2021_0001"
        db.session.remove()
        upgrade()
