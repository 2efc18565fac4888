"""A provider's own practitioners (从业人员, /my/provider/practitioners): the roster, paged and
filtered by certificate type, with IDs shown only by their last four characters, registering a
person, adding, renewing, correcting and withdrawing a certificate, ending an employment. Views
are thin: parse, one service call through the unit of work, redirect."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user

from registry import policy
from registry.extensions import limiter
from registry.policy import require
from registry.pure.pii import mask_name
from registry.services import practitioners as service
from registry.services import providers
from registry.services.practitioners import certificate_types
from registry.web.downloads import send_upload
from registry.web.params import page_args
from registry.web.practitioner_forms import (
    CertificateForm,
    CorrectCertificateForm,
    EndEmploymentForm,
    PractitionerForm,
    RenewCertificateForm,
    WithdrawCertificateForm,
    certificate_choices,
)
from registry.web.providers import need_provider
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("practitioners", __name__)

# Someone else's person, certificate or employment answers 404 and the attempt is audited. A
# refused 挂证 attempt keeps what it wrote (the behaviour event and its audit entries): keep=True.
work = UnitOfWork("practitioner.denied")
ROSTER = "practitioners.list_practitioners"
bp.add_app_template_global(policy.may_download_scan, "may_download_scan")


def _register_key() -> str:
    """Registration attempts count per signed-in account (per address before sign-in)."""
    return f"practitioner-register:{current_user.get_id() or get_remote_address()}"


@bp.get("/my/provider/practitioners")
@require("practitioners.self")
def list_practitioners():
    """The provider's current staff (one page, optionally holders of one certificate type), their
    certificates and the end buttons, and its former staff."""
    provider = need_provider()
    today = providers.today()
    kind = certificate_types.canonical((request.args.get("certificate") or "")[:100])
    page, per_page = page_args()
    return render_template(
        "providers/practitioners.html",
        provider=provider,
        result=service.staff_page(provider, kind=kind, page=page, per_page=per_page),
        kind=kind,
        kinds=certificate_types.names(),
        args={"certificate": kind} if kind else {},
        # Former staff are masked: the firm no longer has a reason to see them in full.
        former=[(mask_name(e.practitioner.name), e) for e in service.past_staff(provider)],
        strength=service.strength(provider, today),
        end_form=EndEmploymentForm(formdata=None),
        today=today,
    )


@bp.route("/my/provider/practitioners/new", methods=["GET", "POST"])
@require("practitioners.self")
@limiter.limit(
    lambda: current_app.config["PRACTITIONER_REGISTER_LIMIT"],
    key_func=_register_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def new_practitioner():
    """Register a person (name, ID number, title, start date) on the roster."""
    provider = need_provider()
    form = PractitionerForm()
    if not form.is_submitted():
        form.started_on.data = providers.today()
    data = form.data_of("name", "id_number", "title", "started_on")
    return work.page(
        form,
        lambda: service.register_practitioner(provider, data, actor=actor()),
        keep=True,
        done=lambda employment: f"已登记从业人员 {employment.practitioner.name}。",
        to=url_for(ROSTER),
        template="providers/practitioner_new.html",
        provider=provider,
    )


@bp.route(
    "/my/provider/practitioners/<int:practitioner_id>/certificates/new", methods=["GET", "POST"]
)
@require("practitioners.self")
def add_certificate(practitioner_id: int):
    """Add a certificate from the controlled list to one of the provider's people."""
    provider = need_provider()
    person = work.found(service.own_practitioner, provider, practitioner_id)
    form = CertificateForm()
    codes = [o.service_item.code for o in provider.offers]
    form.kind.choices = certificate_choices(
        certificate_types.names(), certificate_types.for_services(codes)
    )
    data = form.data_of("kind", "number", "issuer", "valid_from", "valid_to")
    return work.page(
        form,
        lambda: service.add_certificate(
            provider, practitioner_id, data, actor=actor(), scan=form.scan.data
        ),
        keep=True,
        done=lambda certificate: f"已为 {person.name} 添加{certificate.kind}证书。",
        to=url_for(ROSTER),
        template="providers/practitioner_certificate.html",
        provider=provider,
        person=person,
    )


# A certificate change: its form, the page heading, what is flashed once done, the service call.
CHANGES = {
    "renew": (
        RenewCertificateForm,
        "证书续期",
        "已为 {name} 的{kind}证书续期。",
        service.renew_certificate,
    ),
    "correct": (
        CorrectCertificateForm,
        "更正证书信息",
        "已更正 {name} 的{kind}证书信息。",
        service.correct_certificate,
    ),
    "withdraw": (
        WithdrawCertificateForm,
        "注销证书",
        "已注销 {name} 的{kind}证书。",
        service.withdraw_certificate,
    ),
}
CERTIFICATE = "/my/provider/practitioners/certificates/<int:certificate_id>"


@bp.route(
    f"{CERTIFICATE}/renew",
    methods=["GET", "POST"],
    endpoint="renew_certificate",
    defaults={"change": "renew"},
)
@bp.route(
    f"{CERTIFICATE}/correct",
    methods=["GET", "POST"],
    endpoint="correct_certificate",
    defaults={"change": "correct"},
)
@bp.route(
    f"{CERTIFICATE}/withdraw",
    methods=["GET", "POST"],
    endpoint="withdraw_certificate",
    defaults={"change": "withdraw"},
)
@require("practitioners.self")
def change_certificate(certificate_id: int, change: str):
    """Renew a certificate (new validity, the same number or a new one, a new scan), correct a
    typo in its issuer or validity (audited before and after), or withdraw (注销) it with a
    reason (kept, marked, no longer counted): the form, one service call through the unit of
    work, back to the roster."""
    provider = need_provider()
    certificate = work.found(service.own_certificate, provider, certificate_id)
    form_class, heading, done, call = CHANGES[change]
    form = form_class()
    if not form.is_submitted() and change == "correct":
        form.issuer.data = certificate.issuer
        form.valid_from.data, form.valid_to.data = certificate.valid_from, certificate.valid_to
    names = [n for n in form._fields if n not in ("csrf_token", "scan")]
    data = form.data_of(*names)
    scan = {"scan": form.scan.data} if change == "renew" else {}
    return work.page(
        form,
        lambda: call(provider, certificate_id, data, actor=actor(), **scan),
        keep=True,
        done=lambda _saved: done.format(name=certificate.practitioner.name, kind=certificate.kind),
        to=url_for(ROSTER),
        template="providers/practitioner_certificate_change.html",
        heading=heading,
        certificate=certificate,
        person=certificate.practitioner,
        multipart=change == "renew",
    )


@bp.post("/my/provider/employments/<int:employment_id>/end")
@require("practitioners.self")
def end_employment(employment_id: int):
    """End an employment (离职): the person leaves the roster and may join another provider."""
    provider = need_provider()
    form = EndEmploymentForm()
    return work.press(
        lambda: service.end_employment(
            provider, employment_id, {"ended_on": form.ended_on.data}, actor=actor()
        ),
        form=form,
        invalid="离职日期格式不正确(YYYY-MM-DD)。",
        back=url_for(ROSTER),
        done=lambda e: f"已为 {e.practitioner.name} 办理离职登记。",
    )


@bp.get("/my/provider/practitioners/certificates/<int:certificate_id>/scan")
@require("practitioners.self")
def certificate_scan(certificate_id: int):
    """Download the scan of a certificate of one of the provider's people."""
    provider = providers.provider_for(actor())
    if provider is None:
        abort(404)
    certificate = work.found(service.own_certificate, provider, certificate_id)
    if not policy.may_download_scan(actor(), certificate):
        abort(404)
    return send_upload(certificate.scan)
