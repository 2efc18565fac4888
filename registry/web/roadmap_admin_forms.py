"""The admin form for one step of a roadmap template (shape only; the rules are in services)."""

from __future__ import annotations

import re

from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from registry.models.catalogue import TimeUnit
from registry.models.roadmap import STAGE_NAMES
from registry.web.forms import Form, optional_line, optional_text, options

_CODES = re.compile(r"[、,,;;\s]+")


def parse_codes(raw: str | None) -> list[str]:
    """Step or service codes separated by commas, 、, semicolons or spaces; upper-cased, in order,
    without repeats."""
    seen: list[str] = []
    for code in _CODES.split(raw or ""):
        code = code.strip().upper()
        if code and code not in seen:
            seen.append(code)
    return seen


class TemplateStepForm(Form):
    """Add or change a step of a category's roadmap template."""

    version = HiddenField()
    key = optional_line(
        "步骤编号", 16, "审批事项用 SP-xx,中介服务用 ZJ-xx;与清单编码一致时自动关联部门和事项。"
    )
    name = StringField("步骤名称", validators=[DataRequired("请填写步骤名称。"), Length(max=200)])
    stage = SelectField("审批阶段", choices=options(STAGE_NAMES.items()))
    duration = IntegerField(
        "时长",
        validators=[InputRequired("请填写时长。"), NumberRange(0, 730, "时长须在 0–730 之间。")],
    )
    unit = SelectField("时长单位", choices=options((u.value, u.value) for u in TimeUnit))
    duration_source = optional_text(
        "时长来源", 1000, "法定、二手来源或规划值,并保留来源标记 [S] / [S-2nd] / [GK]。"
    )
    depends_on = optional_line(
        "前置步骤",
        500,
        "前置步骤编号,用逗号或空格分隔,如 SP-01, ZJ-11;留空表示自土地出让合同签订日起并联办理。",
    )
    services = optional_line("所需中介服务", 500, "中介服务事项编码,用逗号或空格分隔,如 ZJ-03。")
    conditional = BooleanField("仅特定情形适用(项目默认“不适用”)")
    applies_when = optional_text("适用情形", 1000)
    regional_assessment = BooleanField("可由区域评估覆盖")
    self_prepare_duration = IntegerField(
        "企业自行编制时的时长",
        validators=[Optional(), NumberRange(0, 730, "时长须在 0–730 之间。")],
        description="仅可由企业自行编制的步骤填写,单位同上,不超过原时长。",
    )
    note = optional_text("备注", 1000)

    def values(self) -> dict:
        """The step's values as the service takes them."""
        return {
            "name": (self.name.data or "").strip(),
            "stage": self.stage.data,
            "duration": self.duration.data,
            "unit": self.unit.data,
            "duration_source": self.duration_source.data or None,
            "depends_on": parse_codes(self.depends_on.data),
            "services": parse_codes(self.services.data),
            "conditional": bool(self.conditional.data),
            "applies_when": self.applies_when.data or None,
            "regional_assessment": bool(self.regional_assessment.data),
            "self_prepare_duration": self.self_prepare_duration.data,
            "note": self.note.data or None,
        }


class TemplateStepDeleteForm(Form):
    """Delete a step (the CSRF token, and the version the admin saw)."""

    version = HiddenField()
