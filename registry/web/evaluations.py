"""Periodic evaluation pages for regulators (/regulator/evaluations): the department's periods and
the form to open one; a period with its providers, score forms, bulk upload (CSV/XLSX) and
template download, submit, close and publish; a provider's revision history. Another department's
period or provider answers 404, and the attempt is written to the audit log."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, RadioField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from registry.models import EvaluationPeriod, PeriodStatus
from registry.policy import require
from registry.sanitize import plain_text
from registry.services import evaluations as service
from registry.services.errors import Forbidden
from registry.web.downloads import send_attachment
from registry.web.forms import (
    ConfirmForm,
    Form,
    apply_error,
    one_time_key,
    optional_line,
    optional_text,
    options,
    parse_version,
)
from registry.web.unit_of_work import (
    Confirmation,
    UnitOfWork,
    actor,
    record_denial,
)

bp = Blueprint("evaluations", __name__, url_prefix="/regulator/evaluations")


# ---------------------------------------------------------------------- forms


class PeriodForm(Form):
    """Open an evaluation period (defaults: the current half-year)."""

    name = optional_line(
        "周期名称", service.NAME_MAX, "如“某年上半年”;留空则按开始和结束日期所在的半年自动命名。"
    )
    starts_on = DateField("开始日期", validators=[InputRequired("请填写开始日期(YYYY-MM-DD)。")])
    ends_on = DateField("结束日期", validators=[InputRequired("请填写结束日期(YYYY-MM-DD)。")])


class _ScoreForm(Form):
    submission_key = one_time_key()
    based_on = HiddenField()  # the revision the form showed (0: none): a stale save is refused
    note = optional_text("备注(可选)", service.NOTE_MAX)
    reason = optional_text(
        "更正原因",
        service.REASON_MAX,
        "考评结束后修改得分须作为更正提交,并写明原因;更正记录会保留并在历史中显示。",
    )


def _score_rule(name: str):
    """The service's score rule (0–100, two decimals) on each field, so that a form with several
    bad scores is told all of them at once (it was told one per try)."""

    def check(_form, field) -> None:
        try:
            service.parse_score(field.data)
        except ValueError as error:
            raise ValidationError(f"{name}:{error}") from None

    return check


def score_form(period: EvaluationPeriod, **kwargs) -> Form:
    """A form with one field per criterion of the period (c_<code>), 0–100 each."""
    fields = {}
    for criterion in period.criteria:
        fields[f"c_{criterion['code']}"] = StringField(
            f"{criterion['name']}(权重 {_percent(criterion['weight'])})",
            validators=[
                InputRequired(f"请填写“{criterion['name']}”得分。"),
                Length(max=20, message="得分过长。"),
                _score_rule(criterion["name"]),
            ],
            description="0–100,最多两位小数。",
            render_kw={"inputmode": "decimal", "autocomplete": "off"},
        )
    return type("ScoreForm", (_ScoreForm,), fields)(**kwargs)


class UploadForm(Form):
    """Bulk entry from a CSV or XLSX file."""

    file = FileField(
        "得分文件(CSV 或 XLSX)",
        description="请使用本页下载的模板;CSV 可为 UTF-8(含或不含 BOM)或 GBK 编码。"
        "整个文件检查通过才会导入,任一行有误则全部不导入。",
    )
    mode = RadioField(
        "导入为",
        choices=options([("draft", "草稿(可继续修改)"), ("submit", "正式提交")]),
        default="draft",
    )
    reason = optional_text(
        "更正原因(考评结束后导入时必填)", service.REASON_MAX, "适用于备注列未填写原因的各行。"
    )


# ---------------------------------------------------------------------- helpers


# Another department's period or provider answers 404, never confirming its id; the attempt is
# written to the audit log.
work = UnitOfWork("evaluation.denied")


def _period(period_id: int) -> EvaluationPeriod:
    return work.found(service.get_period_for, actor(), period_id)


def _percent(weight: str) -> str:
    return f"{(Decimal(weight) * 100).normalize():f}%"


def _criteria_labels(criteria: list[dict]) -> list[tuple[str, str, str]]:
    """(code, name, weight as a percentage) per criterion."""
    return [(c["code"], c["name"], _percent(c["weight"])) for c in criteria]


def _period_page(
    period: EvaluationPeriod,
    *,
    upload_form=None,
    upload_errors=None,
    upload_message=None,
    status: int = 200,
):
    """The period page: facts, actions, providers with their current scores, bulk upload."""
    providers = service.scorable_providers(period)
    current = service.current_entries(period)
    in_scope = {p.id for p in providers}
    former = [e.provider for e in current.values() if e.provider_id not in in_scope]
    rows = [(p, current.get(p.id), True) for p in providers]
    rows += [(p, current.get(p.id), False) for p in sorted(former, key=lambda p: p.name)]
    form = upload_form or UploadForm()
    drafts = sum(1 for e in current.values() if e.state == "草稿")
    return (
        render_template(
            "evaluations/show_period.html",
            period=period,
            criteria=_criteria_labels(period.criteria),
            rows=rows,
            scored=len(current),
            in_scope_count=len(providers),
            drafts=drafts,
            upload_form=form,
            upload_errors=upload_errors,
            upload_message=upload_message,
            confirm=ConfirmForm(),
            is_open=period.status == PeriodStatus.OPEN.value,
            ended=service.has_ended(period),
        ),
        status,
    )


# ---------------------------------------------------------------------- periods


@bp.get("")
@require("evaluations.enter")
def list_periods():
    """The regulator's department: its evaluation periods and the form to open one."""
    return _dashboard(PeriodForm())


def _dashboard(form: PeriodForm, status: int = 200):
    # A regulator without a department may not use these pages at all: 403, audited.
    periods = work.found(service.periods_for, actor(), status=403)
    if not form.is_submitted():
        # The first half-year from today that the department has no period for (the form
        # offered the current one even when it existed, a tester found at stop 30).
        taken = [(p.starts_on, p.ends_on) for p in periods]
        name, starts_on, ends_on = service.half_year(service.today())
        while any(start <= ends_on and starts_on <= end for start, end in taken):
            name, starts_on, ends_on = service.half_year(ends_on + timedelta(days=1))
        form.name.data, form.starts_on.data, form.ends_on.data = name, starts_on, ends_on
    return (
        render_template(
            "evaluations/list_periods.html",
            periods=periods,
            form=form,
            department=actor().department,
            criteria=_criteria_labels(service.criteria_for(actor().department.code)),
        ),
        status,
    )


@bp.post("/open")
@require("evaluations.enter")
def open_period():
    """Open a period for the regulator's department."""
    form = PeriodForm()
    opened = work.submit(
        form,
        lambda: service.open_period(
            actor(), name=form.name.data, starts_on=form.starts_on.data, ends_on=form.ends_on.data
        ),
    )
    if opened:
        flash(f"考评周期“{opened.value.name}”已开始。", "success")
        return redirect(url_for("evaluations.show_period", period_id=opened.value.id))
    return _dashboard(form)


@bp.get("/<int:period_id>")
@require("evaluations.enter")
def show_period(period_id: int):
    """One period: providers in scope with current score and state, and the period's actions."""
    return _period_page(_period(period_id))


# The period page's status buttons: (URL, endpoint, service, what it says when done: a message
# or a function of what the service returned).
_STATUS_CHANGES = (
    (
        "submit",
        "submit_drafts",
        service.submit_drafts,
        lambda count: f"已提交 {count} 家机构的草稿得分。" if count else "没有需要提交的草稿。",
    ),
    (
        "close",
        "close_period",
        # Before the period's end only with a reason (the form's optional field; the service
        # checks and stores it).
        lambda user, period_id: service.close_period(
            user, period_id, reason=request.form.get("reason")
        ),
        "考评已结束。核对无误后即可发布结果;此后修改得分须作为更正提交。",
    ),
)


def _status_view(change, done):
    """The view of one status button: run the change as one unit of work and go back to the
    period page either way."""

    def view(period_id: int):
        return work.press(
            lambda: change(actor(), period_id),
            form=ConfirmForm(),
            invalid="表单已失效,请重新操作。",
            back=url_for("evaluations.show_period", period_id=period_id),
            done=done,
        )

    return require("evaluations.enter")(view)


def _add_status_routes() -> None:
    """POST /<period_id>/submit and /close."""
    for path, endpoint, change, done in _STATUS_CHANGES:
        bp.add_url_rule(
            f"/<int:period_id>/{path}", endpoint, _status_view(change, done), methods=["POST"]
        )


_add_status_routes()


@bp.post("/<int:period_id>/publish")
@require("evaluations.enter")
def publish_period(period_id: int):
    """Publish the results: first a confirmation page naming what becomes public; only the
    confirmed POST publishes."""
    return work.publish(
        lambda: _publication(period_id),
        lambda: service.publish_period(actor(), period_id),
        done="考评结果已发布,各机构的得分已在其公开页面显示。",
        form=ConfirmForm(),
        invalid="表单已失效,请重新操作。",
        back=url_for("evaluations.show_period", period_id=period_id),
    )


def _publication(period_id: int) -> Confirmation:
    """The confirmation page of publishing a period: the period and every score made public."""
    entries = service.publication(actor(), period_id)
    period = _period(period_id)
    facts = [
        ("考评周期", f"{period.department.name} · {period.name}"),
        ("考评期间", f"{period.starts_on:%Y-%m-%d} 至 {period.ends_on:%Y-%m-%d}"),
        ("公开内容", f"以下 {len(entries)} 家机构的各项得分和总分,在其公开页面显示并计入信用评价"),
    ]
    if period.close_reason:
        facts.append(("提前结束原因", period.close_reason))
    return Confirmation(
        title=f"发布“{period.name}”考评结果",
        facts=facts,
        columns=("机构", "统一社会信用代码", "总分"),
        rows=[(e.provider.name, e.provider.uscc, str(e.total)) for e in entries],
        warning="确认后立即公开,不能撤回;此后修改得分只能作为更正提交,写明原因并留痕。",
    )


# ---------------------------------------------------------------------- one provider


@bp.route("/<int:period_id>/providers/<uscc>/score", methods=["GET", "POST"])
@require("evaluations.enter")
def enter_score(period_id: int, uscc: str):
    """The score form for one provider (draft or submit; a correction once the period ended)."""
    user = actor()
    period = _period(period_id)
    provider, history = work.found(service.score_history, user, period, uscc)
    if not service.is_scorable(period, provider):
        work.refuse(Forbidden(service.OUT_OF_SCOPE))
    current = history[-1] if history else None
    form = score_form(period)
    if request.method == "GET":
        form.based_on.data = str(current.revision if current is not None else 0)
        if current is not None:
            for criterion in period.criteria:
                getattr(form, f"c_{criterion['code']}").data = str(
                    current.scores.get(criterion["code"], "")
                )
    scores = {c["code"]: getattr(form, f"c_{c['code']}").data for c in period.criteria}
    return work.page(
        form,
        lambda: service.enter_scores(
            user,
            period_id,
            uscc,
            scores,
            submit=request.form.get("action") == "submit",
            submission_key=form.submission_key.data or "",
            reason=form.reason.data,
            note=form.note.data,
            based_on=parse_version(form.based_on.data),
        ),
        done=lambda entry: (
            f"已保存 {provider.name} 的得分(第 {entry.revision} 版,{entry.state},"
            f"总分 {entry.total})。"
        ),
        to=url_for("evaluations.show_period", period_id=period_id),
        template="evaluations/enter_score.html",
        period=period,
        provider=provider,
        current=current,
        criteria=_criteria_labels(period.criteria),
        is_open=period.status == PeriodStatus.OPEN.value,
    )


@bp.get("/<int:period_id>/providers/<uscc>")
@require("evaluations.enter")
def score_history(period_id: int, uscc: str):
    """Every revision of one provider's scores in the period (drafts and corrections included)."""
    period = _period(period_id)
    provider, history = work.found(service.score_history, actor(), period, uscc)
    return render_template(
        "evaluations/score_history.html",
        period=period,
        provider=provider,
        history=history,
        criteria=_criteria_labels(period.criteria),
        can_enter=service.is_scorable(period, provider),
    )


# ---------------------------------------------------------------------- files


@bp.get("/<int:period_id>/template.<any(csv, xlsx):fmt>")
@require("evaluations.enter")
def download_template(period_id: int, fmt: str):
    """The period's score template (CSV or XLSX), listing the providers in scope."""
    content, name, mimetype = work.found(service.template_file, actor(), period_id, fmt)
    fallback = f"score-template-{period_id}.{fmt}"
    return send_attachment(io.BytesIO(content), mimetype, name, fallback)


@bp.post("/<int:period_id>/upload")
@require("evaluations.enter")
def upload_scores(period_id: int):
    """Import a whole score file: every row checked first, nothing stored unless all pass."""
    period = _period(period_id)
    form = UploadForm()
    if not form.validate_on_submit():
        return _period_page(period, upload_form=form)
    upload = form.file.data
    if upload is None or not upload.filename:
        form.file.errors = ["请选择要上传的文件。"]
        return _period_page(period, upload_form=form)
    from flask import current_app

    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        form.file.errors = [f"文件超过 {limit // (1024 * 1024)} MB 的上限。"]
        return _period_page(period, upload_form=form)
    uploaded = work.run(
        lambda: service.upload_scores(
            actor(),
            period_id,
            data,
            upload.filename,
            submit=form.mode.data == "submit",
            reason=form.reason.data,
        )
    )
    if not uploaded:
        return _upload_refused(period_id, form, uploaded.error)
    result = uploaded.value
    name = plain_text(upload.filename)
    if result.stored:
        message = f"已导入“{name}”:保存 {result.stored} 家机构的得分"
    else:
        message = f"“{name}”中没有需要保存的变化"
    extras = []
    if result.unchanged:
        extras.append(f"{result.unchanged} 家与当前得分相同,未重复保存")
    if result.blank:
        extras.append(f"{result.blank} 行未填写得分,已跳过")
    flash(message + ("(" + ";".join(extras) + ")" if extras else "") + "。", "success")
    return redirect(url_for("evaluations.show_period", period_id=period_id))


def _upload_refused(period_id: int, form: UploadForm, error):
    """The period page again with why nothing was imported: the file's row errors, or the
    form's; naming providers outside the department is audited."""
    if not isinstance(error, service.UploadRejected):
        apply_error(form, error)
        return _period_page(_period(period_id), upload_form=form)
    if error.denied:
        record_denial(
            f"score upload names providers outside the department: {', '.join(error.denied)}",
            action="evaluation.denied",
        )
    return _period_page(
        _period(period_id),
        upload_form=form,
        upload_errors=error.errors,
        upload_message=error.message,
    )
