"""Forms of the marketplace: projects, selection requests, quotes, decisions."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from registry.models import AwardObjectionOutcome, ProjectCategory, SelectionMethod
from registry.sanitize import FORMAT_HINT
from registry.services.practitioners import certificate_types
from registry.services.providers import qualification_types
from registry.services.roadmaps.projects import BUILDING_TYPES
from registry.web.forms import (
    Form,
    one_time_key,
    optional_line,
    optional_text,
    options,
    required_reason,
)
from registry.web.objection_forms import answer_outcome, answer_text, objection_reason
from registry.web.practitioner_forms import roster_choice

CATEGORIES = options((c.value, f"{c.value}(目标 {c.target_days} 天)") for c in ProjectCategory)
# No method is preselected: the owner chooses one (an empty choice is refused).
METHODS = options([("", "请选择"), *((m.value, m.value) for m in SelectionMethod)])
BUILDING_CHOICES = options([("", "—"), *((t, t) for t in BUILDING_TYPES)])


def finite_number(form, field) -> None:
    """Refuse NaN and infinity, which Decimal parses happily."""
    if field.data is not None and not field.data.is_finite():
        raise ValidationError("请填写有效的数值。")


class ProjectParticularsMixin:
    """The location and the particulars the roadmap is planned from (shared by registration and
    editing)."""

    location = StringField(
        "建设地点", validators=[DataRequired("请填写建设地点。"), Length(max=300)]
    )
    land_contract_date = DateField(
        "土地出让合同签订日期",
        validators=[Optional()],
        description="格式 YYYY-MM-DD。审批路线图自该日起排期;尚未签订可暂不填写。",
    )
    building_type = SelectField("建筑类型", choices=BUILDING_CHOICES, validators=[Optional()])
    floor_area = DecimalField(
        "建筑面积(㎡)",
        places=2,
        validators=[Optional(), finite_number],
        description="总建筑面积,单位平方米,可含两位小数。",
    )

    def particulars(self) -> dict:
        """The particulars (and the location) as the roadmap services take them."""
        return {
            "location": self.location.data,
            "land_contract_date": self.land_contract_date.data,
            "building_type": self.building_type.data or None,
            "floor_area": self.floor_area.data,
        }


class ProjectForm(ProjectParticularsMixin, Form):
    """Register a project (and, the first time, the enterprise the account acts for)."""

    enterprise_name = optional_line("企业名称", 200)
    enterprise_uscc = optional_line(
        "企业统一社会信用代码", 40, "18 位,首次登记项目时填写,用于关联本账号所属企业。"
    )
    code = StringField(
        "项目代码",
        validators=[DataRequired("请填写项目代码。"), Length(max=40)],
        description="投资项目在线审批监管平台赋予的项目代码,如 2026-120116-47-01-000123。",
    )
    name = StringField("项目名称", validators=[DataRequired("请填写项目名称。"), Length(max=200)])
    category = SelectField("项目类别", choices=CATEGORIES, validators=[DataRequired()])

    def project(self) -> dict:
        """The project as the registration services take it."""
        return {
            "code": self.code.data,
            "name": self.name.data,
            "category": self.category.data,
            **self.particulars(),
        }


def requirement_choices():
    """The request's 资质要求 select: not limited, or one type of the controlled list."""
    return options(
        [("", "不限(持有任一有效资质即可)")]
        + [(n, n) for n in qualification_types.names() if n != qualification_types.OTHER]
    )


class RequestForm(Form):
    """Open a selection request (选取公告)."""

    service = SelectField("中介服务事项", validators=[DataRequired("请选择中介服务事项。")])
    method = SelectField("选取方式", choices=METHODS, validators=[DataRequired("请选择选取方式。")])
    method_reason = optional_text(
        "直接选取理由",
        1000,
        "仅直接选取须填写:说明为何不采用竞争方式,理由随选取公告和中选公示一并公开。",
    )
    price_min = optional_line("价格区间下限(元)", 20)
    price_max = optional_line("价格区间上限(元)", 20)
    deadline = DateTimeLocalField(
        "报名截止时间",
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired("请填写报名截止时间(北京时间)。")],
        description="北京时间。截止前报价密封,任何人不可查看他人报价。",
    )
    qualification_requirement = SelectField(
        "资质要求",
        choices=requirement_choices,
        validate_choice=False,
        description="从资质类型列表中选择;选“不限”表示持有任一有效资质即可。",
    )
    leader_certificate = SelectField(
        "项目负责人证书要求",
        choices=lambda: options([("", "不要求"), *((n, n) for n in certificate_types.names())]),
        validate_choice=False,
        description="项目负责人须持有的有效执业资格证书类型,须适用于所选中介服务事项。",
    )
    team_certificates = optional_text(
        "团队人员要求",
        1000,
        "每行一种证书类型和最少人数,如“注册造价工程师 ×1”;项目负责人计入团队。",
    )
    requirements = optional_text("服务要求", 2000, FORMAT_HINT)
    exclusions = optional_text("回避机构", 2000, "每行一家:统一社会信用代码、空格、回避理由。")
    submission_key = one_time_key()  # the same form sent twice posts one request
    alongside = BooleanField(
        "另行发布",
        description="本项目该事项已有尚未结束的选取公告时,确需再发布一个(如分标段)才勾选。",
    )


class QuoteForm(Form):
    """A provider's application and sealed quote."""

    submission_key = one_time_key()  # the same form sent twice stores one quote
    amount = optional_line("报价(元)", 20)
    proposal = optional_text("服务方案", 5000)
    leader = roster_choice("项目负责人", "从本机构在职且持有有效证书的从业人员中选择。")
    members = roster_choice("团队成员", "可多选;按住 Ctrl(Mac 为 ⌘)选择多人。", SelectMultipleField)


class DecideForm(Form):
    """Close the request and choose by its method (owner-chosen methods need winner and reason)."""

    winner = SelectField("中选机构", validators=[Optional()], validate_choice=False, choices=[])
    reason = optional_text("选择理由", 1000)


class RepostForm(Form):
    """Post a failed request again."""

    deadline = DateTimeLocalField(
        "新的报名截止时间",
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired("请填写新的报名截止时间。")],
    )


class CancelRequestForm(Form):
    """Withdraw (撤销) a request before its deadline; the reason is public on the notice."""

    reason = required_reason(
        "撤销原因", 2000, "公开显示在选取公告上,并通知已报名的机构(报价不开启)。"
    )


class AwardObjectionForm(Form):
    """An objection (异议) to an award during its 公示期, by the owner or a bidder."""

    reason = objection_reason("说明中选结果哪里有误(资格、报价、抽取、程序等)及其依据。")
    evidence = TextAreaField(
        "证据说明(可选)",
        validators=[Optional(), Length(max=5000, message="证据说明不超过 5000 字。")],
        description="列出可核实的证据,如文件名称、证书编号、日期;政务办处理时核对。",
    )


class AwardAnswerForm(Form):
    """Staff's answer to an objection to an award."""

    outcome = answer_outcome(
        "处理结论", AwardObjectionOutcome, "异议不成立,维持中选结果", "异议成立,撤销中选结果"
    )
    answer = answer_text("请填写答复意见(理由)。", "写明认定的事实和理由;答复在中选公示上公开。")
