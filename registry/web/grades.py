"""Credit grades on the web: regulators' behaviour entries (/regulator/behaviour: 投诉属实,
其他违规 for providers their department supervises), the public grade distribution per department
(/departments/<code>/grades, with the scoring rules), and the credit section of a provider's
profile (composite score, its parts and the score trend)."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, url_for
from markupsafe import Markup
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from registry.extensions import db
from registry.models import Provider
from registry.policy import PUBLIC, require
from registry.services import grades as service
from registry.web.charts import bar_chart, series_chart
from registry.web.forms import Form, options
from registry.web.params import paged
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("grades", __name__)

KIND_HELP = {
    "投诉属实": "经核查属实的投诉(例如服务质量、收费或时限方面的投诉)。",
    "其他违规": "其他违反中介服务管理规定的行为。",
}


class BehaviourForm(Form):
    """A regulator records an upheld complaint or another violation."""

    provider = SelectField(
        "中介机构", choices=[], validate_choice=False, validators=[DataRequired("请选择中介机构。")]
    )
    kind = SelectField(
        "行为类型",
        choices=options([("", "请选择"), *((k, k) for k in service.REGULATOR_KINDS)]),
        validate_choice=False,
        validators=[DataRequired("请选择行为类型(投诉属实或其他违规)。")],
    )
    occurred_on = DateField(
        "发生(认定)日期", validators=[InputRequired("请填写发生日期(YYYY-MM-DD)。")]
    )
    facts = TextAreaField(
        "事实和依据",
        validators=[
            DataRequired("请填写事实和依据。"),
            Length(max=service.FACTS_MAX, message=f"最长 {service.FACTS_MAX} 字。"),
        ],
    )
    reference = StringField(
        "文号(可选)",
        validators=[
            Optional(),
            Length(max=service.REFERENCE_MAX, message=f"最长 {service.REFERENCE_MAX} 字。"),
        ],
    )
    key = HiddenField()


# A provider outside the department, or a regulator without one: audited, then 403.
work = UnitOfWork("behaviour.denied", status=403)


# ---------------------------------------------------------------------- regulator pages


@bp.get("/regulator/behaviour")
@require("credit.manage")
def list_behaviour():
    """Behaviour events of the providers the regulator's department supervises."""
    result = work.found(lambda: paged(service.behaviour_events, actor()))
    return render_template(
        "grades/list_behaviour.html",
        result=result,
        department=actor().department,
        deductions=service.settings().deductions,
        providers={p.id: p for p in _providers_of(result.items)},
        regulator_source=service.REGULATOR_SOURCE,
    )


def _providers_of(events) -> list[Provider]:
    ids = {e.provider_id for e in events}
    return [db.session.get(Provider, i) for i in sorted(ids)]


@bp.route("/regulator/behaviour/new", methods=["GET", "POST"])
@require("credit.manage")
def new_behaviour():
    """The entry form; a successful entry lowers the provider's behaviour score at once."""
    user = actor()
    form = BehaviourForm()
    providers = work.found(service.scoped_providers, user)
    form.provider.choices = options(
        [("", "请选择"), *((p.uscc, f"{p.name}({p.uscc})") for p in providers)]
    )
    if not form.is_submitted():
        form.key.data = uuid.uuid4().hex
    if work.submit(
        form,
        lambda: service.record_behaviour(
            user,
            provider_uscc=form.provider.data,
            submission_key=form.key.data,
            **form.data_of("kind", "occurred_on", "facts", "reference"),
        ),
    ):
        flash("行为记录已保存,信用等级已按扣分规则重新计算。", "success")
        return redirect(url_for("grades.list_behaviour"))
    return render_template(
        "grades/new_behaviour.html",
        form=form,
        department=user.department,
        deductions=service.settings().deductions,
        kind_help=KIND_HELP,
        has_providers=bool(providers),
    )


# ---------------------------------------------------------------------- public pages


def distribution_chart(distribution: service.Distribution) -> Markup:
    """The department's grade distribution as an SVG bar chart."""
    return bar_chart(
        distribution.counts,
        title=f"{distribution.department.name}监管领域中介机构信用等级分布",
        x_label="信用等级",
        y_label="机构数(家)",
        chart_id="grade-distribution",
    )


@bp.get("/departments/<code>/grades")
@require(PUBLIC)
def department_grades(code: str):
    """How the active providers offering a department's items spread over the grades, with the
    rules the grades come from."""
    distribution = work.found(service.department_distribution, code)
    return render_template(
        "grades/department_grades.html",
        distribution=distribution,
        chart=distribution_chart(distribution),
        rules=service.settings(),
        part_labels=service.PART_LABELS,
    )


# ---------------------------------------------------------------------- provider profile


def trend_chart(provider: Provider, rows: list[service.TrendRow]) -> Markup:
    """Regulator totals and owner-rating averages per half-year as an SVG line chart."""
    return series_chart(
        [r.label for r in rows],
        [
            ("主管部门考评", [None if r.regulator is None else float(r.regulator) for r in rows]),
            ("业主评价平均分", [None if r.owner is None else float(r.owner) for r in rows]),
        ],
        title=f"{provider.name}得分趋势",
        x_label="考评周期(半年度)",
        y_label="得分",
        chart_id="score-trend",
    )


def provider_credit(provider: Provider) -> dict:
    """What the profile's credit section shows: the composite as of today and the trend."""
    result, rows = service.credit_of(provider)
    return {
        "result": result,
        "trend": rows,
        "trend_chart": trend_chart(provider, rows),
        "part_labels": service.PART_LABELS,
        "settings": service.settings(),
    }
