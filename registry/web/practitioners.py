"""A provider's own practitioners (从业人员, /my/provider/practitioners): the roster with IDs shown
only by their last four characters, registering a person, adding a certificate, ending an
employment. Views are thin: parse, one service call through the unit of work, redirect."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for

from registry.models import Provider
from registry.policy import require
from registry.services import practitioners as service
from registry.services import providers
from registry.services.errors import NotFound
from registry.services.practitioners import certificate_types
from registry.services.uploads import upload_content
from registry.web.practitioner_forms import (
    CertificateForm,
    EndEmploymentForm,
    PractitionerForm,
    certificate_choices,
)
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("practitioners", __name__)

# Someone else's person, certificate or employment answers 404 and the attempt is audited. A
# refused 挂证 attempt keeps what it wrote (the behaviour event and its audit entries): keep=True.
work = UnitOfWork("practitioner.denied")
ROSTER = "practitioners.list_practitioners"


def _need_provider() -> Provider:
    """The account's provider; without one, off to the application form first."""
    provider = providers.provider_for(actor())
    if provider is None:
        flash("请先填写并保存入驻申请。", "info")
        abort(redirect(url_for("providers.edit_application")))
    return provider


@bp.get("/my/provider/practitioners")
@require("practitioners.self")
def list_practitioners():
    """The provider's current and former staff, their certificates and the end buttons."""
    provider = _need_provider()
    today = providers.today()
    return render_template(
        "providers/practitioners.html",
        provider=provider,
        staff=service.current_staff(provider),
        former=service.past_staff(provider),
        strength=service.strength(provider, today),
        end_form=EndEmploymentForm(formdata=None),
        today=today,
    )


@bp.route("/my/provider/practitioners/new", methods=["GET", "POST"])
@require("practitioners.self")
def new_practitioner():
    """Register a person (name, ID number, title, start date) on the roster."""
    provider = _need_provider()
    form = PractitionerForm()
    if not form.is_submitted():
        form.started_on.data = providers.today()
    data = form.data_of("name", "id_number", "title", "started_on")
    saved = work.submit(
        form, lambda: service.register_practitioner(provider, data, actor=actor()), keep=True
    )
    if saved:
        flash(f"已登记从业人员 {saved.value.practitioner.name}。", "success")
        return redirect(url_for(ROSTER))
    form.id_number.data = ""  # never sent back to the browser
    return render_template("providers/practitioner_new.html", form=form, provider=provider)


@bp.route(
    "/my/provider/practitioners/<int:practitioner_id>/certificates/new", methods=["GET", "POST"]
)
@require("practitioners.self")
def add_certificate(practitioner_id: int):
    """Add a certificate from the controlled list to one of the provider's people."""
    provider = _need_provider()
    person = work.found(service.own_practitioner, provider, practitioner_id)
    form = CertificateForm()
    codes = [o.service_item.code for o in provider.offers]
    form.kind.choices = certificate_choices(
        certificate_types.names(), certificate_types.for_services(codes)
    )
    data = form.data_of("kind", "number", "issuer", "valid_from", "valid_to")
    saved = work.submit(
        form,
        lambda: service.add_certificate(
            provider, practitioner_id, data, actor=actor(), scan=form.scan.data
        ),
        keep=True,
    )
    if saved:
        flash(f"已为 {person.name} 添加{saved.value.kind}证书。", "success")
        return redirect(url_for(ROSTER))
    return render_template(
        "providers/practitioner_certificate.html", form=form, provider=provider, person=person
    )


@bp.post("/my/provider/employments/<int:employment_id>/end")
@require("practitioners.self")
def end_employment(employment_id: int):
    """End an employment (离职): the person leaves the roster and may join another provider."""
    provider = _need_provider()
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
    if certificate.scan is None:
        abort(404)
    try:
        content = upload_content(certificate.scan)
    except NotFound:
        abort(404)
    return send_file(
        content,
        mimetype=certificate.scan.content_type,
        as_attachment=True,
        download_name=certificate.scan.filename,
    )
