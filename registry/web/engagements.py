"""Delivery and owner rating pages: the enterprise's engagements (/my/engagements: contract date,
confirm or return the result, rate), the provider's work (/my/work: upload the result), the result
download, a provider's public rating list, and rating moderation (mounted under /admin as
admin.ratings.*)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from wtforms import DateField, HiddenField, IntegerField
from wtforms.validators import InputRequired

from registry.models import RATING_PARTS, Engagement
from registry.policy import PUBLIC, require
from registry.sanitize import FORMAT_HINT
from registry.services import delivery
from registry.services.errors import Forbidden
from registry.services.market import notice_state, people, provider_by_uscc
from registry.web.downloads import send_upload
from registry.web.forms import Form, optional_text, parse_version, required_reason, upload_field
from registry.web.params import paged
from registry.web.practitioner_forms import roster_choice
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("engagements", __name__)
# Mounted inside the admin blueprint (see registry/web/admin.py), so its endpoints are admin.*.
ratings_bp = Blueprint("ratings", __name__, url_prefix="/ratings")
# Another party's engagement answers 404, never confirming its id; the attempt is audited.
work = UnitOfWork("engagement.denied", stale=delivery.STALE_MESSAGE)
OWNER_PAGE, PROVIDER_PAGE = "engagements.show_engagement", "engagements.show_work"


# ---------------------------------------------------------------------- forms


class VersionForm(Form):
    """A button acting on the engagement (or rating) as last seen: carries its version."""

    version = HiddenField()


class ContractForm(VersionForm):
    """The owner records the contract date."""

    contract_date = DateField(
        "签约日期", validators=[InputRequired("请填写签约日期(YYYY-MM-DD)。")]
    )


class ReturnForm(VersionForm):
    """The owner returns the result with a reason."""

    reason = required_reason("退回原因", delivery.REASON_MAX)


class ResultForm(VersionForm):
    """The provider uploads its result."""

    file = upload_field("服务成果文件")
    note = optional_text("成果说明(可选)", delivery.NOTE_MAX)
    signatory = roster_choice(
        "成果签字人", "从中选报价列明的项目负责人和团队成员中选择在成果上签字的人员。"
    )


def _score_field(label: str) -> IntegerField:
    return IntegerField(
        f"{label}(0–100)",
        validators=[InputRequired(f"请填写“{label}”得分。")],
        render_kw={"min": 0, "max": 100, "step": 1, "inputmode": "numeric"},
    )


class RatingForm(VersionForm):
    """The owner's rating: five 0–100 sub-scores and a comment."""

    quality = _score_field("质量")
    timeliness = _score_field("时效")
    attitude = _score_field("态度")
    fee = _score_field("收费")
    conduct = _score_field("规范")
    comment = optional_text("评价意见(可选)", delivery.COMMENT_MAX, FORMAT_HINT)


class HideRatingForm(VersionForm):
    """An admin hides a rating's comment, with the reason for the audit log."""

    reason = required_reason("隐藏原因", 500)


# ---------------------------------------------------------------------- helpers


def _get(engagement_id: int, check) -> Engagement:
    """Load an engagement the current user may act on as owner (check=delivery.is_owner) or
    provider (delivery.is_provider); anything else is a 404."""
    engagement = work.found(delivery.get_engagement_for, actor(), engagement_id)
    if not check(actor(), engagement):
        work.refuse(Forbidden(delivery.NOT_FOUND))
    return engagement


def _versioned(form_class, prefix: str, version: int, *, formdata=None, **data):
    """A fresh form (not bound to the request) carrying the version it is rendered from."""
    form = form_class(prefix=prefix, formdata=formdata, data=data)
    form.version.data = str(version)
    return form


def _act(engagement_id: int, form, call, done: str, page: str):
    """Run the form's action as one unit of work. Success: flash and back to the page; a stale
    page or a rule about the whole engagement: flash and back; a field error: None, for the
    page again (200) with the form's errors and the user's input."""
    url = url_for(page, engagement_id=engagement_id)
    if work.submit(form, lambda: call(form), back=url):
        flash(done, "success")
        return redirect(url)
    return None


def _owner_act(engagement_id: int, name: str, form_class, call, done: str):
    """An owner's action on the engagement page; the form `name` is shown again on an error."""
    form = form_class(prefix=name)
    return _act(engagement_id, form, call, done, OWNER_PAGE) or _owner_page(
        _get(engagement_id, delivery.is_owner), **{f"{name}_form": form}
    )


# ---------------------------------------------------------------------- enterprise (/my/engagements)


@bp.get("/my/engagements")
@require("projects.own")
def list_engagements():
    """The enterprise's engagements: status, contract and due dates, overdue marker."""
    return _engagement_list(
        "engagements/list_engagements.html", delivery.engagements_for_owner(actor())
    )


def _detail_page(template: str, engagement: Engagement, status: int, **context):
    """An engagement's page for its owner or its provider: the engagement, its timer and the
    rating parts as of today, and the page's own `context`; answered with `status`."""
    today = delivery.today()
    page = render_template(
        template,
        engagement=engagement,
        timer=delivery.timer(engagement, today),
        rating_parts=RATING_PARTS,
        hidden_notice=delivery.HIDDEN_NOTICE,
        today=today,
        **context,
    )
    return page, status


def _engagement_list(template: str, engagements: list[Engagement]):
    """A list of engagements, each with its timer as of today."""
    today = delivery.today()
    rows = [(e, delivery.timer(e, today)) for e in engagements]
    return render_template(template, rows=rows, today=today)


def _owner_page(engagement: Engagement, status: int = 200, **forms):
    """The owner's detail page; forms not given are fresh ones for the current versions."""
    today = delivery.today()
    rating = engagement.rating
    rating_version = rating.version if rating is not None else 0
    if "rating_form" not in forms:
        values = {part: getattr(rating, part) for part, _ in RATING_PARTS} if rating else {}
        if rating is not None:
            values["comment"] = rating.comment_html or ""
        forms["rating_form"] = _versioned(RatingForm, "rating", rating_version, **values)
    defaults = {
        "contract_form": (ContractForm, "contract"),
        "return_form": (ReturnForm, "return"),
        "confirm_form": (VersionForm, "confirm"),
    }
    for name, (form_class, prefix) in defaults.items():
        forms.setdefault(name, _versioned(form_class, prefix, engagement.version))
    return _detail_page(
        "engagements/show_engagement.html",
        engagement,
        status,
        window=delivery.rating_window(engagement, today),
        contract_days=delivery.contract_days(),
        contract_deadline=delivery.contract_deadline(engagement),
        notice=notice_state(engagement.award),
        window_days=delivery.rating_window_days(),
        edit_days=delivery.rating_edit_days(),
        **forms,
    )


@bp.get("/my/engagements/<int:engagement_id>")
@require("projects.own")
def show_engagement(engagement_id: int):
    """One engagement for its owner: facts, the timer, and the forms its status allows."""
    return _owner_page(_get(engagement_id, delivery.is_owner))


# The owner's buttons on the engagement page: (form name and URL, endpoint, form, service, the
# fields it takes after the engagement, what it says when done).
_OWNER_ACTIONS = (
    (
        "contract",
        "record_contract",
        ContractForm,
        delivery.record_contract,
        ("contract_date",),
        "已登记签约日期,服务计时开始。",
    ),
    (
        "return",
        "return_result",
        ReturnForm,
        delivery.return_result,
        ("reason",),
        "已退回服务成果,中介机构可修改后重新提交。",
    ),
    (
        "confirm",
        "confirm_result",
        VersionForm,
        delivery.confirm_result,
        (),
        "已确认服务成果。现在可以对中介机构进行评价。",
    ),
)


def _owner_view(name: str, form_class, change, fields: tuple[str, ...], done: str):
    """The view of one owner button: change(owner, engagement, *fields, version=…)."""

    def view(engagement_id: int):
        _get(engagement_id, delivery.is_owner)
        return _owner_act(
            engagement_id,
            name,
            form_class,
            lambda f: change(
                actor(),
                engagement_id,
                *(f[field].data for field in fields),
                version=parse_version(f.version.data),
            ),
            done,
        )

    return require("projects.own")(view)


def _add_owner_routes() -> None:
    """POST /my/engagements/<id>/contract (the contract date; the service timer starts),
    /return (the result back to the provider, with a reason) and /confirm (the result accepted;
    the rating window opens)."""
    for name, endpoint, form_class, change, fields, done in _OWNER_ACTIONS:
        bp.add_url_rule(
            f"/my/engagements/<int:engagement_id>/{name}",
            endpoint,
            _owner_view(name, form_class, change, fields, done),
            methods=["POST"],
        )


_add_owner_routes()


@bp.post("/my/engagements/<int:engagement_id>/rating")
@require("projects.own")
def rate_engagement(engagement_id: int):
    """Rate the provider (or edit the rating once)."""
    engagement = _get(engagement_id, delivery.is_owner)
    first = engagement.rating is None
    return _owner_act(
        engagement_id,
        "rating",
        RatingForm,
        lambda f: delivery.rate(
            actor(),
            engagement_id,
            {part: f[part].raw_data[0] if f[part].raw_data else None for part, _ in RATING_PARTS},
            f.comment.data,
            version=parse_version(f.version.data),
        ),
        "评价已提交。" if first else "评价已修改(只能修改一次)。",
    )


# ---------------------------------------------------------------------- provider (/my/work)


@bp.get("/my/work")
@require("providers.self")
def list_work():
    """The provider's engagements: status, due date, overdue marker."""
    return _engagement_list(
        "engagements/list_work.html", delivery.engagements_for_provider(actor())
    )


def _provider_page(engagement: Engagement, form: ResultForm | None = None, status: int = 200):
    form = form or _versioned(ResultForm, "result", engagement.version)
    named = people.signatory_choices(engagement.award)
    form.signatory.choices = [("", "请选择"), *((str(i), label) for i, label in named)]
    return _detail_page("engagements/show_work.html", engagement, status, form=form)


@bp.get("/my/work/<int:engagement_id>")
@require("providers.self")
def show_work(engagement_id: int):
    """One engagement for the awarded provider: facts, return reason, the upload form."""
    return _provider_page(_get(engagement_id, delivery.is_provider))


@bp.post("/my/work/<int:engagement_id>/result")
@require("providers.self")
def submit_result(engagement_id: int):
    """Upload the service result for the owner to confirm."""
    _get(engagement_id, delivery.is_provider)
    form = ResultForm(prefix="result")
    done = _act(
        engagement_id,
        form,
        lambda f: delivery.submit_result(
            actor(),
            engagement_id,
            f.file.data,
            f.note.data,
            version=parse_version(f.version.data),
            signatory_id=f.signatory.data or None,
        ),
        "服务成果已提交,等待业主确认。",
        PROVIDER_PAGE,
    )
    return done or _provider_page(_get(engagement_id, delivery.is_provider), form)


# ---------------------------------------------------------------------- result download


@bp.get("/engagements/<int:engagement_id>/result")
@require("engagements.result")
def download_result(engagement_id: int):
    """The result file, for the owner, the awarded provider and admins only."""
    return send_upload(work.found(delivery.result_for, actor(), engagement_id))


# ---------------------------------------------------------------------- public rating list


@bp.get("/providers/<uscc>/ratings")
@require(PUBLIC)
def list_provider_ratings(uscc: str):
    """A provider's owner ratings with their comments (hidden ones replaced by a notice)."""
    provider = work.found(provider_by_uscc, uscc)
    if not provider.is_active:
        abort(404)
    return render_template(
        "engagements/provider_ratings.html",
        provider=provider,
        ratings=delivery.ratings_of(provider),
        rating_parts=RATING_PARTS,
        public_comment=delivery.public_comment,
        names=delivery.people_named(provider),
        local_date=delivery.local_date,
        window_days=delivery.rating_window_days(),
    )


# ---------------------------------------------------------------------- admin moderation


def _hide_form(rating, formdata=None) -> HideRatingForm:
    return _versioned(HideRatingForm, f"hide-{rating.id}", rating.version, formdata=formdata)


@ratings_bp.get("")
@require("ratings.moderate")
def list_ratings():
    """Every owner rating, newest first, each with a form to hide its comment."""
    return _ratings_page(paged(delivery.list_ratings))


def _ratings_page(result, failed: HideRatingForm | None = None, failed_id: int | None = None):
    forms = {r.id: _hide_form(r) for r in result.items if not r.hidden}
    if failed is not None and failed_id in forms:
        forms[failed_id] = failed
    return render_template(
        "engagements/admin_ratings.html",
        result=result,
        forms=forms,
        rating_parts=RATING_PARTS,
        local_date=delivery.local_date,
    )


@ratings_bp.post("/<int:rating_id>/hide")
@require("ratings.moderate")
def hide_rating(rating_id: int):
    """Hide a rating's comment (kept, audited; the scores still count)."""
    rating = work.found(delivery.get_rating, rating_id)
    form = HideRatingForm(prefix=f"hide-{rating.id}")
    back = url_for("admin.ratings.list_ratings")
    if work.submit(
        form,
        lambda: delivery.hide_rating(
            actor(), rating_id, form.reason.data, version=parse_version(form.version.data)
        ),
        back=back,
    ):
        flash("已隐藏该评价内容;评价记录和分数保留。", "success")
        return redirect(back)
    return _ratings_page(paged(delivery.list_ratings), form, rating_id)
