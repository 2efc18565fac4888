"""Providers (中介机构): the public directory and profiles, a provider's own entry application
(/my/provider), and the admin entry review (mounted under /admin as admin.providers.*)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from registry.extensions import db
from registry.models import RATING_PARTS, REGIONS, Provider, ProviderStatus, ServiceItem
from registry.models.catalogue import Validity
from registry.policy import PUBLIC, require
from registry.services import credit, evaluations
from registry.services import providers as service
from registry.services.practitioners import public as people
from registry.services.providers import qualification_types
from registry.services.providers.personnel import format_counts
from registry.web.charts import line_chart
from registry.web.downloads import send_upload
from registry.web.filters import format_datetime
from registry.web.forms import (
    ConfirmForm,
    OfferForm,
    ProviderApplicationForm,
    QualificationForm,
    RejectQualificationForm,
    ReturnApplicationForm,
    VersionedForm,
    options,
    parse_version,
    qualification_choices,
)
from registry.web.grades import provider_credit
from registry.web.page_cache import cached_page
from registry.web.params import code_arg, directory_filters, filtered_list
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("providers", __name__)
# Mounted inside the admin blueprint (see registry/web/admin.py), so its endpoints are admin.*.
review_bp = Blueprint("providers", __name__, url_prefix="/providers")

DIRECTORY_FILTERS = ("service", "region", "grade", "qualification", "per_page")
GRADE_LABELS = {**{g: g for g in service.GRADES}, service.UNRATED: "未评级"}
STATUS_HELP = {
    ProviderStatus.DRAFT.value: "申请尚未提交。请补全资料、资质和服务承诺后提交审核。",
    ProviderStatus.PENDING.value: "申请正在审核中。审核通过前,本机构不在中介机构名录中显示,也不能参与选取。",
    ProviderStatus.RETURNED.value: "申请已被退回。请按退回原因修改后重新提交审核。",
    ProviderStatus.ACTIVE.value: "已入驻,在中介机构名录中公开显示。修改名称、统一社会信用代码、法定代表人、"
    "经营范围或资质后,需要重新审核,审核通过前暂不在名录中显示。",
    ProviderStatus.SUSPENDED.value: "入驻资格已暂停,暂不在名录中显示,也不能参与选取。",
}


# Someone else's qualification or offer answers 404, never confirming its id; the attempt is
# audited. Reviewers (admins) may see every provider: nothing of theirs is audited as refused.
work = UnitOfWork("provider.denied", stale=service.STALE_MESSAGE)
review = UnitOfWork(stale=service.STALE_MESSAGE)


# ---------------------------------------------------------------------- public directory


def _service_choices() -> list[ServiceItem]:
    return list(
        db.session.scalars(
            select(ServiceItem)
            .where(ServiceItem.validity != Validity.REPEALED.value)
            .order_by(ServiceItem.code)
        )
    )


@bp.get("/providers")
@cached_page
@require(PUBLIC)
def list_providers():
    """The directory of active providers with filters and pagination."""
    return filtered_list(
        "providers/list_providers.html",
        service.list_directory,
        directory_filters(),
        DIRECTORY_FILTERS,
        services=_service_choices(),
        regions=REGIONS,
        grades=GRADE_LABELS,
        qualification_kinds=service.qualification_kinds(service.today()),
        today=service.today(),
    )


def rating_chart(provider: Provider, ratings) -> str:
    """The owner-rating history as an SVG line chart (average of the five parts per rating)."""
    return line_chart(
        [(format_datetime(r.created_at, with_time=False), r.average) for r in ratings],
        title=f"{provider.name}业主评价历史",
        x_label="评价日期",
        y_label="平均分",
        chart_id="rating-chart",
    )


@bp.get("/providers/<uscc>")
@cached_page
@require(PUBLIC)
def show_provider(uscc: str):
    """A provider's public profile: offers, qualifications, personnel strength (names masked),
    ratings, awards, credit."""
    provider = work.found(service.get_public_provider, uscc)
    ratings = service.rating_history(provider)
    records = credit.published_records(provider.id)
    return render_template(
        "providers/show_provider.html",
        provider=provider,
        offers=[o for o in provider.offers if o.is_active],
        ratings=ratings,
        rating_parts=RATING_PARTS,
        chart=rating_chart(provider, ratings),
        awards=service.awards_of(provider),
        credit_records=records,
        # number → the 信用修复 that ended a blacklisting early (said beside its term)
        ended_early={r.number: e for r in records if (e := credit.ended_early_by(r))},
        credit=provider_credit(provider),
        evaluation_scores=evaluations.public_scores(provider.id),
        personnel=people.personnel_strength(provider),
        today=service.today(),
    )


# ---------------------------------------------------------------------- self-service (/my/provider)


def _own_provider() -> Provider | None:
    return service.provider_for(actor())


def need_provider() -> Provider:
    """The account's provider; without one, off to the application form first."""
    provider = _own_provider()
    if provider is None:
        flash("请先填写并保存入驻申请。", "info")
        abort(redirect(url_for("providers.edit_application")))
    return provider


@bp.get("/my/provider")
@require("providers.self")
def my_provider():
    """The provider's own entry: status, review note, application, qualifications, offers."""
    provider = _own_provider()
    today = service.today()
    return render_template(
        "providers/my_provider.html",
        provider=provider,
        status_help=STATUS_HELP,
        missing=service.missing_for_review(provider, today) if provider else [],
        action_form=ConfirmForm(),
        submit_form=VersionedForm(
            formdata=None, data={"version": provider.version if provider else ""}
        ),
        today=today,
    )


def _application_data(form: ProviderApplicationForm) -> dict:
    return form.data_of(
        "uscc",
        "name",
        "legal_representative",
        "address",
        "region",
        "contact_name",
        "contact_phone",
        "licence_scope",
    )


def _save_application(provider: Provider | None, form: ProviderApplicationForm):
    """Create the application or update it: (provider, changed, was it active before)."""
    if provider is None:
        return service.create_application(_application_data(form), actor=actor()), True, False
    was_active = provider.is_active
    changed = service.update_application(
        provider, _application_data(form), actor=actor(), version=parse_version(form.version.data)
    )
    return provider, changed, was_active


@bp.route("/my/provider/application", methods=["GET", "POST"])
@require("providers.self")
def edit_application():
    """Create or edit the entry application (with optimistic locking on the provider row)."""
    provider = _own_provider()
    form = ProviderApplicationForm(obj=provider if request.method == "GET" else None)
    form.region.choices = options([("", "请选择"), *((r, r) for r in REGIONS)])
    if request.method == "GET" and provider is not None:
        form.version.data = str(provider.version)
    elif request.method == "GET":
        # A self-registered account starts from the organisation it registered.
        user = actor()
        form.uscc.data, form.name.data = user.org_uscc, user.org_name
        form.contact_name.data, form.contact_phone.data = user.display_name, user.phone
    saved = work.submit(form, lambda: _save_application(provider, form))
    if saved:
        provider, changed, was_active = saved.value
        if not changed:
            flash("没有需要保存的修改。", "info")
        elif was_active and not provider.is_active:
            flash(
                "已保存。由于修改了关键信息,本机构已重新进入待审核,审核通过前暂不在名录中显示。",
                "warning",
            )
        else:
            flash("入驻资料已保存。", "success")
        return redirect(url_for("providers.my_provider"))
    return render_template("providers/edit_application.html", form=form, provider=provider)


@bp.route("/my/provider/qualifications/new", methods=["GET", "POST"])
@require("providers.self")
def add_qualification():
    """Add a qualification certificate, optionally with a scan."""
    provider = need_provider()
    form = QualificationForm()
    form.kind.choices = _qualification_choices(provider)
    was_active = provider.is_active
    data = form.data_of(
        "kind", "kind_note", "grade", "certificate_no", "issuer", "valid_from", "valid_to"
    )
    if work.submit(
        form, lambda: service.add_qualification(provider, data, actor=actor(), scan=form.scan.data)
    ):
        if was_active:
            flash("资质已添加。资质变更需要重新审核,审核通过前暂不在名录中显示。", "warning")
        else:
            flash("资质已添加。", "success")
        return redirect(url_for("providers.my_provider"))
    return render_template("providers/edit_qualification.html", form=form, provider=provider)


def _qualification_choices(provider: Provider):
    """The type select for this provider: the types for the services it offers first."""
    codes = [o.service_item.code for o in provider.offers]
    return qualification_choices(
        qualification_types.names(),
        qualification_types.for_services(codes),
        qualification_types.OTHER,
        qualification_types.OTHER_LABEL,
    )


@bp.post("/my/provider/qualifications/<int:qualification_id>/remove")
@require("providers.self")
def remove_qualification(qualification_id: int):
    """Remove one of the provider's own qualifications."""
    provider = need_provider()
    was_active = provider.is_active
    back = url_for("providers.my_provider")
    work.act(
        lambda: service.remove_qualification(provider, qualification_id, actor=actor()),
        form=ConfirmForm(),
        back=back,
    )
    flash(
        "资质已删除。"
        + ("资质变更需要重新审核,审核通过前暂不在名录中显示。" if was_active else ""),
        "warning" if was_active else "success",
    )
    return redirect(back)


@bp.get("/my/provider/qualifications/<int:qualification_id>/scan")
@require("providers.self")
def own_scan(qualification_id: int):
    """Download the scan of one of the provider's own qualifications."""
    provider = _own_provider()
    if provider is None:
        abort(404)
    return send_upload(work.found(service.get_qualification, provider, qualification_id).scan)


def _offer_data(form: OfferForm) -> dict:
    return form.data_of(
        "service_item", "committed_days", "fee_quote", "fee_basis", "promise", "personnel"
    )


def _offer_form(offer=None) -> OfferForm:
    form = OfferForm(obj=offer if request.method == "GET" else None)
    form.service_item.choices = options(
        [("", "请选择"), *((s.code, f"{s.code} {s.name}") for s in _service_choices())]
    )
    if offer is not None:
        form.service_item.data = offer.service_item.code
        if request.method == "GET" and offer.fee_quote is not None:
            form.fee_quote.data = str(offer.fee_quote)
        if request.method == "GET":
            form.personnel.data = format_counts(offer.personnel)
    elif request.method == "GET" and request.args.get("service"):
        form.service_item.data = code_arg("service") or ""
    return form


def _save_offer(provider: Provider, offer=None):
    form = _offer_form(offer)
    offer_id = offer.id if offer is not None else None
    if work.submit(
        form,
        lambda: service.save_offer(provider, _offer_data(form), actor=actor(), offer_id=offer_id),
    ):
        flash("服务承诺已保存。", "success")
        return redirect(url_for("providers.my_provider"))
    return render_template("providers/edit_offer.html", form=form, provider=provider, offer=offer)


@bp.route("/my/provider/offers/new", methods=["GET", "POST"])
@require("providers.self")
def create_offer():
    """Add a service offer for one service item."""
    return _save_offer(need_provider())


@bp.route("/my/provider/offers/<int:offer_id>/edit", methods=["GET", "POST"])
@require("providers.self")
def edit_offer(offer_id: int):
    """Edit one of the provider's own offers."""
    provider = need_provider()
    return _save_offer(provider, work.found(service.get_offer, provider, offer_id))


@bp.post("/my/provider/offers/<int:offer_id>/deactivate")
@require("providers.self")
def deactivate_offer(offer_id: int):
    """Withdraw one of the provider's own offers."""
    provider = need_provider()
    return work.press(
        lambda: service.deactivate_offer(provider, offer_id, actor=actor()),
        form=ConfirmForm(),
        back=url_for("providers.my_provider"),
        done="已停止提供该项服务。",
    )


@bp.post("/my/provider/submit")
@require("providers.self")
def submit_application():
    """Send the application to review."""
    provider = need_provider()
    form = VersionedForm()
    return work.press(
        lambda: service.submit_for_review(
            provider, actor=actor(), today=service.today(), version=parse_version(form.version.data)
        ),
        form=form,
        back=url_for("providers.my_provider"),
        done="已提交审核。审核结果将在本页显示。",
    )


# ---------------------------------------------------------------------- admin review


def _reviewed(provider_id: int) -> Provider:
    return review.found(service.get_provider, provider_id)


@review_bp.get("")
@require("providers.review")
def review_queue():
    """Applications waiting for review (待审核), oldest first, with how long each has waited."""
    today = service.today()
    queue = service.review_queue()
    return render_template(
        "admin/provider_queue.html",
        queue=queue,
        qualifications=service.pending_qualifications(),
        waited={p.id: service.waiting_days(p, today) for p in queue},
        counts=service.status_counts(),
        today=today,
    )


def _review_page(provider: Provider, failed: tuple | None = None):
    """The review page with fresh approve and return forms for the provider's version, or the
    (prefix, form) that `failed`, with its errors, in place of its fresh one."""
    forms = {
        "approve": VersionedForm(prefix="approve", formdata=None),
        "return": ReturnApplicationForm(prefix="return", formdata=None),
    }
    for form in forms.values():
        form.version.data = str(provider.version)
    if failed is not None:
        forms[failed[0]] = failed[1]
    today = service.today()
    return render_template(
        "admin/provider_review.html",
        provider=provider,
        approve_form=forms["approve"],
        return_form=forms["return"],
        check_form=ConfirmForm(),
        reject_form=RejectQualificationForm(formdata=None),
        missing=service.missing_for_review(provider, today),
        uncovered=service.uncovered_offers(provider, today),
        today=today,
    )


@review_bp.get("/<int:provider_id>")
@require("providers.review")
def review_provider(provider_id: int):
    """One application in full, with the approve and return forms."""
    return _review_page(_reviewed(provider_id))


# The review's two decisions: (URL and form prefix, endpoint, form, decide(provider, form), verb).
_DECISIONS = (
    (
        "approve",
        "approve_provider",
        VersionedForm,
        lambda provider, form: service.approve(
            provider, actor=actor(), today=service.today(), version=parse_version(form.version.data)
        ),
        "通过",
    ),
    (
        "return",
        "return_provider",
        ReturnApplicationForm,
        lambda provider, form: service.return_application(
            provider, form.reason.data, actor=actor(), version=parse_version(form.version.data)
        ),
        "退回",
    ),
)


def _decision_view(prefix: str, form_class, decide, verb: str):
    """The view of one decision: done, on to the queue; a refusal is flashed on the review page,
    or shown on the form when it names one of its fields."""

    def view(provider_id: int):
        provider = _reviewed(provider_id)
        form = form_class(prefix=prefix)
        if review.submit(
            form,
            lambda: decide(provider, form),
            back=url_for("admin.providers.review_provider", provider_id=provider_id),
        ):
            flash(f"已{verb} {provider.name} 的入驻申请。", "success")
            return redirect(url_for("admin.providers.review_queue"))
        return _review_page(_reviewed(provider_id), (prefix, form))

    return require("providers.review")(view)


def _add_decision_routes() -> None:
    """POST /<provider_id>/approve (the provider becomes active and enters the directory) and
    /return (the application back, with a reason the applicant sees)."""
    for prefix, endpoint, form_class, decide, verb in _DECISIONS:
        review_bp.add_url_rule(
            f"/<int:provider_id>/{prefix}",
            endpoint,
            _decision_view(prefix, form_class, decide, verb),
            methods=["POST"],
        )


_add_decision_routes()


# The check of a qualification a listed provider added: (form, what an invalid one asks for, the
# service call, what it says when done).
_QUALIFICATION_CHECKS = {
    "accept": (
        ConfirmForm,
        "表单已失效,请重新操作。",
        lambda provider, qid, form: service.accept_qualification(provider, qid, actor=actor()),
        "已核验通过该资质,该资质自即日起计入。",
    ),
    "reject": (
        RejectQualificationForm,
        "请填写不予通过的原因(2000 字以内)。",
        lambda provider, qid, form: service.reject_qualification(
            provider, qid, form.reason.data, actor=actor()
        ),
        "已退回该资质,已通知该机构。",
    ),
}


@review_bp.post(
    "/<int:provider_id>/qualifications/<int:qualification_id>/<any(accept, reject):verdict>"
)
@require("providers.review")
def check_qualification(provider_id: int, qualification_id: int, verdict: str):
    """Accept a qualification a listed provider added (it counts from now on), or refuse it with
    the reason the provider will see."""
    provider = _reviewed(provider_id)
    form_class, invalid, decide, done = _QUALIFICATION_CHECKS[verdict]
    form = form_class()
    return review.press(
        lambda: decide(provider, qualification_id, form),
        form=form,
        invalid=invalid,
        back=url_for("admin.providers.review_provider", provider_id=provider_id),
        done=done,
    )


@review_bp.get("/<int:provider_id>/qualifications/<int:qualification_id>/scan")
@require("providers.review")
def download_scan(provider_id: int, qualification_id: int):
    """Download a qualification scan while reviewing."""
    provider = _reviewed(provider_id)
    return send_upload(review.found(service.get_qualification, provider, qualification_id).scan)
