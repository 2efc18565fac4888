"""Forms of a provider's practitioner pages. Forms check shape only; the rules (the ID check
digit, the controlled list, 挂证) live in services/practitioners and come back as RegistryError."""

from __future__ import annotations

from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import TextInput

from registry.web.forms import (
    Form,
    certificate_issuer,
    certificate_number,
    listed_kind,
    optional_line,
    required_date,
    required_reason,
    upload_field,
)


def roster_choice(
    label: str, description: str, field: type[SelectField] = SelectField
) -> SelectField:
    """People chosen from a provider's roster (项目负责人, 团队成员, 成果签字人): optional; the view
    fills the choices and the service checks who may be chosen. `field` is SelectMultipleField
    where several may be."""
    return field(
        label,
        choices=[],
        validate_choice=False,
        validators=[Optional()],
        description=description,
    )


class UnsentTextInput(TextInput):
    """A text box that never sends its value back to the browser, as a password box does: an ID
    number typed into a refused form is not shown again."""

    def __call__(self, field, **kwargs):
        kwargs["value"] = ""
        return super().__call__(field, **kwargs)


class PractitionerForm(Form):
    """Register a person on the provider's roster."""

    name = StringField("姓名", validators=[DataRequired("请填写姓名。"), Length(max=50)])
    id_number = StringField(
        "身份证号",
        validators=[DataRequired("请填写身份证号。"), Length(max=30)],
        description="仅用于识别同一人员:系统只保存其不可还原的摘要和末四位,不保存完整号码。",
        render_kw={"autocomplete": "off"},
        widget=UnsentTextInput(),
    )
    title = optional_line("职务(可选)", 50)
    started_on = required_date("入职日期")


class CertificateForm(Form):
    """Add a certificate from the controlled list, optionally with a scan."""

    kind = listed_kind("证书类型", "证书类型")
    number = certificate_number()
    issuer = certificate_issuer()
    valid_from = required_date("有效期起")
    valid_to = required_date("有效期止")
    scan = upload_field("证书扫描件(可选)")


class RenewCertificateForm(Form):
    """Renew a certificate: the new validity, the number if it changed, a new scan."""

    number = optional_line("证书编号(可选)", 100, "续期后编号不变的不填;换发新编号的填写新编号。")
    issuer = optional_line("发证机关(可选)", 200, "不变的不填。")
    valid_from = required_date("新的有效期起", "有效期起")
    valid_to = required_date("新的有效期止", "有效期止")
    scan = upload_field("续期后的证书扫描件(可选)")


class CorrectCertificateForm(Form):
    """Correct a typo in a certificate's issuer or validity, saying what was wrong."""

    issuer = certificate_issuer()
    valid_from = required_date("有效期起")
    valid_to = required_date("有效期止")
    note = StringField(
        "更正说明",
        validators=[DataRequired("请填写更正说明。"), Length(max=200)],
        description="说明原登记内容哪里有误;更正前后的内容都记入操作日志。",
    )


class WithdrawCertificateForm(Form):
    """Withdraw (注销) a certificate with a reason."""

    reason = required_reason(
        "注销原因",
        200,
        "注销后证书保留并标记为已注销,自今日起不再计入有效执业人员,不能恢复。",
    )


class EndEmploymentForm(Form):
    """End an employment (离职)."""

    ended_on = DateField(
        "离职日期",
        validators=[Optional()],
        description="自该日起不再在本机构执业;不填为今天。",
    )


def certificate_choices(listed: list[str], for_services: list[str]) -> list[SelectChoice]:
    """The type select: the types for the provider's services first, then the rest."""
    first = [n for n in listed if n in for_services]
    rest = [n for n in listed if n not in first]
    group = "其他证书类型" if first else None
    return [
        SelectChoice(value="", label="请选择"),
        *(SelectChoice(value=n, label=n, optgroup="本机构服务事项对应的证书") for n in first),
        *(SelectChoice(value=n, label=n, optgroup=group) for n in rest),
    ]


class VoidRegistrationForm(Form):
    """政务办 voids a registration (an employment or a certificate) with a reason."""

    reason = required_reason(
        "作废原因",
        200,
        "作废记入审计日志;任职记录自今日结束,证书标记为已注销并释放其编号。",
    )
