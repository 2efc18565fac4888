"""The audit log's filter: an action chosen by its Chinese name, an object and Beijing dates."""

from __future__ import annotations

from wtforms import DateField, SelectField
from wtforms.validators import Optional, ValidationError

from registry.models.audit import ACTION_LABELS
from registry.web.forms import Form, optional_line, options
from registry.web.params import EARLIEST_DAY, LATEST_DAY

DATE_MESSAGE = "日期格式应为 YYYY-MM-DD(北京时间),例如 2026-12-01。"


def _in_range(form, field) -> None:
    if field.data is not None and not EARLIEST_DAY <= field.data <= LATEST_DAY:
        raise ValidationError(f"日期须在 {EARLIEST_DAY} 至 {LATEST_DAY} 之间。")


class AuditFilterForm(Form):
    """Read from the query string (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    action = SelectField("操作类型", validators=[Optional()], validate_choice=False)
    object_id = optional_line("对象编号", 64, "例如事项编码 ZJ-03。")
    date_from = DateField(
        "起始日期", validators=[Optional(), _in_range], description="北京时间,含当天。"
    )
    date_to = DateField(
        "截止日期", validators=[Optional(), _in_range], description="北京时间,含当天。"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        by_label = sorted(ACTION_LABELS.items(), key=lambda item: item[0])
        self.action.choices = options([("", "全部操作"), *by_label])
        for field in (self.date_from, self.date_to):
            # WTForms' own message names no format; say which one, in Chinese.
            field.process_errors = [DATE_MESSAGE if e else e for e in field.process_errors]

    def validate_action(self, field) -> None:
        if field.data and field.data not in ACTION_LABELS:
            raise ValidationError("请从列表中选择操作类型。")

    def validate_date_to(self, field) -> None:
        start = self.date_from.data
        if field.data and start and field.data < start:
            raise ValidationError("截止日期不能早于起始日期。")
