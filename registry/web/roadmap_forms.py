"""Forms of the roadmap pages: progress entry, step options, project particulars, and staff
registering a project for an enterprise (招商推送) with its concierge and expert."""

from __future__ import annotations

from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from registry.models.roadmap import StepStatus
from registry.web.forms import Form, optional_line, options
from registry.web.market_forms import ProjectForm, ProjectParticularsMixin

PROGRESS_STATUSES = options(
    [
        (StepStatus.STARTED.value, StepStatus.STARTED.value),
        (StepStatus.SUBMITTED.value, StepStatus.SUBMITTED.value),
        (StepStatus.DONE.value, StepStatus.DONE.value),
        (StepStatus.PENDING.value, "未开始(清除已填日期)"),
    ]
)
DATE_HINT = "格式 YYYY-MM-DD,不得晚于今天,不得早于土地出让合同签订日。"


class _StaffChoices:
    """The 帮办管家 and 审批专家 selects; the view fills their choices with active staff accounts."""

    concierge = SelectField("帮办管家", choices=[], validators=[Optional()])
    expert = SelectField("审批专家", choices=[], validators=[Optional()])


class StaffProjectForm(_StaffChoices, ProjectForm):
    """Staff register a project pushed by investment promotion (招商推送) for an enterprise."""

    enterprise_uscc = StringField(
        "企业统一社会信用代码",
        validators=[DataRequired("请填写企业统一社会信用代码。"), Length(max=40)],
        description="已登记的企业直接关联;尚未登记的企业请同时填写企业名称,系统将新建企业。",
    )
    enterprise_name = optional_line("企业名称(新企业必填)", 200)


class AssignForm(_StaffChoices, Form):
    """Change the project's concierge and expert."""


class ParticularsForm(ProjectParticularsMixin, Form):
    """Edit the land-contract date and the project's particulars (the roadmap is re-planned)."""


class ProgressForm(Form):
    """Enter a step's progress; `version` is the step as the user saw it (optimistic locking)."""

    version = HiddenField()
    status = SelectField("办理状态", choices=PROGRESS_STATUSES, validators=[DataRequired()])
    started_on = DateField("开始日期", validators=[Optional()], description=DATE_HINT)
    submitted_on = DateField("提交日期", validators=[Optional()])
    finished_on = DateField("办结日期", validators=[Optional()])


class OptionsForm(Form):
    """Whether a step applies, is covered by the regional assessment, or is self-prepared."""

    version = HiddenField()
    applicable = BooleanField("本项目适用")
    covered_by_regional = BooleanField("已由区域评估覆盖(无需单独办理)")
    self_prepared = BooleanField("企业自行编制")
