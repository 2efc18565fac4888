"""WTForms forms. Forms check shape only; rules live in services and come back as RegistryError."""

from __future__ import annotations

import secrets

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from registry.models.catalogue import FeeRegime, TimeUnit, Validity
from registry.sanitize import FORMAT_HINT, without_controls
from registry.services.errors import RegistryError


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]


TRISTATE = options([("", "未明确"), ("yes", "是"), ("no", "否")])


def tristate_value(raw: str | None) -> bool | None:
    """'yes' / 'no' / '' from a select into True / False / None."""
    return {"yes": True, "no": False}.get(raw or "")


def tristate_raw(value: bool | None) -> str:
    """The inverse of tristate_value."""
    return "" if value is None else ("yes" if value else "no")


class Form(FlaskForm):
    """Base form: WTForms' own messages (not a valid integer, date …) in Simplified Chinese, and
    every text field without control or bidi-override characters (a NUL byte or a U+202E in a
    project name was stored and shown as sent)."""

    class Meta:
        locales = ("zh",)

        def bind_field(self, form, unbound_field, options):
            kind = unbound_field.field_class
            if issubclass(kind, StringField) and not issubclass(kind, PasswordField):
                options["filters"] = (*unbound_field.kwargs.get("filters", ()), without_controls)
            return unbound_field.bind(form=form, **options)

        def get_translations(self, form):
            # Flask-WTF would hand this to Flask-Babel; we use WTForms' bundled catalogue.
            from wtforms.i18n import get_translations

            return get_translations(self.locales)

    def data_of(self, *names: str) -> dict:
        """The named fields' values as they came in, by name (what a service takes as keywords)."""
        return {name: self[name].data for name in names}


def parse_version(raw) -> int:
    """The version a hidden form field carries (optimistic locking). A missing or garbled one is
    -1, which no row has: it counts as stale, never as "skip the check"."""
    text = str(raw if raw is not None else "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else -1


def one_time_key() -> HiddenField:
    """A form's one-time key, new each time the form is shown: a service stores what one key
    sent once, so a double click or a form sent from two tabs is not stored twice."""
    return HiddenField(default=lambda: secrets.token_hex(16))


def required_reason(label: str, max_length: int, description: str = "") -> TextAreaField:
    """A reason an act must give (退回, 撤销, 注销 …): a text area, "请填写{label}。" when empty,
    at most `max_length` characters."""
    return TextAreaField(
        label,
        validators=[DataRequired(f"请填写{label}。"), Length(max=max_length)],
        description=description,
    )


def optional_text(label: str, max_length: int, description: str = "") -> TextAreaField:
    """Free text that may be left empty (说明, 依据, 备注 …): a text area of at most `max_length`
    characters (WTForms' own message when longer)."""
    return _optional(TextAreaField, label, max_length, description)


def optional_line(label: str, max_length: int, description: str = "") -> StringField:
    """A one-line entry that may be left empty (简称, 电话, 来源标记, 编号 …): at most `max_length`
    characters (WTForms' own message when longer)."""
    return _optional(StringField, label, max_length, description)


def _optional(field: type[Field], label: str, max_length: int, description: str) -> Field:
    return field(label, validators=[Optional(), Length(max=max_length)], description=description)


UPLOAD_HINT = "PDF、PNG 或 JPG,不超过 10 MB。"


def upload_field(label: str) -> FileField:
    """One uploaded file (a certificate scan, a service result): PDF, PNG or JPG, at most 10 MB;
    the service checks the type and the size."""
    return FileField(label, description=UPLOAD_HINT)


def required_date(label: str, what: str = "") -> DateField:
    """A date that must be given: "请填写{what}(YYYY-MM-DD)。" when empty (`what` is the label
    unless the label says more, as 新的有效期起 does)."""
    return DateField(label, validators=[DataRequired(f"请填写{what or label}(YYYY-MM-DD)。")])


def listed_kind(label: str, listing: str) -> SelectField:
    """A type chosen from a controlled list (资质类型, 证书类型): the view fills the choices, the
    provider's own services' types first; the service checks the value against the list."""
    return SelectField(
        label,
        choices=[],
        validate_choice=False,
        validators=[DataRequired(f"请选择{label}。")],
        description=f"从{listing}列表中选择;本机构所提供服务事项对应的类型列在前面。",
    )


def certificate_number() -> StringField:
    """A certificate's number (证书编号) as printed on it, required."""
    return StringField("证书编号", validators=[DataRequired("请填写证书编号。"), Length(max=100)])


def certificate_issuer() -> StringField:
    """The authority that issued a certificate (发证机关), required."""
    return StringField("发证机关", validators=[DataRequired("请填写发证机关。"), Length(max=200)])


def apply_error(form: FlaskForm, error: RegistryError) -> None:
    """Put a domain error onto its form field, or onto the form as a whole (each of several
    found together onto its own)."""
    for each in getattr(error, "errors", None) or ():
        apply_error(form, each)
    if getattr(error, "errors", None):
        return
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*list(field.errors or []), error.message]
    else:
        form.form_errors.append(error.message)


class LoginForm(Form):
    """Sign in."""

    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=128)])


class ChangePasswordForm(Form):
    """Change one's own password."""

    current_password = PasswordField("当前密码", validators=[DataRequired("请输入当前密码。")])
    new_password = PasswordField("新密码", validators=[DataRequired("请输入新密码。")])
    confirm = PasswordField("再次输入新密码", validators=[DataRequired("请再次输入新密码。")])


class ConfirmForm(Form):
    """An empty form that only carries the CSRF token (logout, enable/disable)."""


class RetireForm(Form):
    """Retire an entry, with a reason for the audit log."""

    reason = StringField("原因", validators=[DataRequired("请填写原因。"), Length(max=200)])


_UNITS = options([("", "—"), *((u.value, u.value) for u in TimeUnit)])
_VALIDITY = options((v.value, v.value) for v in Validity)


class DepartmentForm(Form):
    """Create or edit a department."""

    code = StringField("部门编码", validators=[DataRequired("请填写编码。"), Length(max=32)])
    name = StringField("部门全称", validators=[DataRequired("请填写部门全称。"), Length(max=100)])
    short_name = optional_line("简称", 50)
    phone = optional_line("咨询电话", 50)
    complaint_phone = optional_line("投诉电话", 50)
    complaint_phone_is_fallback = BooleanField("投诉电话为兜底热线(非部门直线)")
    complaint_phone_note = optional_text("投诉电话说明", 500)
    source_note = optional_line("来源标记", 500)


class _CatalogueEntryForm(Form):
    code = StringField("编码", validators=[DataRequired("请填写编码。"), Length(max=32)])
    stages = SelectMultipleField("审批阶段", choices=[], validate_choice=False)
    stage_note = optional_line("阶段说明", 500)
    department = SelectField("部门", choices=[], validate_choice=False)
    legal_basis = optional_text("设定依据(每行一条:法规名称 | 条款 | 版本 | 备注)", 5000)
    applicability = optional_text("适用条件", 2000)
    time_limit_days = IntegerField(
        "时限(数值)",
        validators=[Optional(), NumberRange(0, 3650, "时限须在 0–3650 之间。")],
    )
    time_limit_unit = SelectField("时限单位", choices=_UNITS)
    time_limit_note = optional_text("时限说明", 1000)
    notes_html = optional_text("办事说明(可含简单格式)", 20000)
    source_note = optional_line("来源标记(S / S-2nd / GK)", 500)
    validity = SelectField("有效性", choices=_VALIDITY)


class ServiceItemForm(_CatalogueEntryForm):
    """Create or edit an intermediary service item."""

    name = StringField("事项名称", validators=[DataRequired("请填写事项名称。"), Length(max=200)])
    abbreviations = optional_line("简称 / 俗称(用、或逗号分隔)", 300)
    approval_items = SelectMultipleField("服务的审批事项", choices=[], validate_choice=False)
    serves_note = optional_line("服务的审批事项(原文)", 500)
    may_self_prepare = SelectField("企业可自行编制", choices=TRISTATE)
    self_prepare_note = optional_text("自行编制说明", 1000)
    covered_by_regional_assessment = SelectField("区域评估已覆盖", choices=TRISTATE)
    regional_assessment_note = optional_text("区域评估说明", 1000)
    fee_regime = SelectField(
        "收费性质", choices=options([("", "待核实"), *((f.value, f.value) for f in FeeRegime)])
    )
    fee_regime_note = optional_line("收费性质说明", 500)
    fee_basis = optional_text("收费依据", 1000)
    department_note = optional_line("监管部门说明", 500)
    complaint_phone = optional_line("投诉电话(留空则用部门投诉电话)", 50)
    qualification_required = optional_text("实施机构资质要求", 1000)
    last_verified = DateField("最近核对日期", validators=[Optional()])


class ApprovalItemForm(_CatalogueEntryForm):
    """Create or edit an approval item."""

    name = StringField("审批事项名称", validators=[DataRequired("请填写名称。"), Length(max=200)])
    approving_body = optional_line("审批机关(原文)", 200)
    commitment_approval = SelectField("可告知承诺", choices=TRISTATE)
    accept_with_deficiency = SelectField("可容缺受理", choices=TRISTATE)
    tianjin_note = optional_text("天津 / 高新区目标或备注", 1000)


# ------------------------------------------------------------------ providers (入驻)


class ProviderApplicationForm(Form):
    """A provider's entry application (created and edited by its own account)."""

    version = HiddenField()
    uscc = StringField(
        "统一社会信用代码",
        validators=[DataRequired("请填写统一社会信用代码。"), Length(max=30)],
        description="18 位,见营业执照;系统会按国家标准核对其中的校验位(第 17 位组织机构代码校验码和第 18 位校验码)。",
    )
    name = StringField(
        "机构名称(与营业执照一致)",
        validators=[DataRequired("请填写机构名称。"), Length(max=200)],
    )
    legal_representative = StringField(
        "法定代表人", validators=[DataRequired("请填写法定代表人。"), Length(max=50)]
    )
    address = StringField("地址", validators=[DataRequired("请填写地址。"), Length(max=300)])
    region = SelectField("所在区域", choices=[], validate_choice=False)
    contact_name = StringField(
        "联系人", validators=[DataRequired("请填写联系人。"), Length(max=50)]
    )
    contact_phone = StringField(
        "联系电话", validators=[DataRequired("请填写联系电话。"), Length(max=50)]
    )
    licence_scope = TextAreaField(
        "营业执照经营范围",
        validators=[DataRequired("请填写经营范围。"), Length(max=5000)],
    )


class QualificationForm(Form):
    """Add a qualification certificate, optionally with a scan (PDF, PNG or JPG)."""

    # Choices from qualification_choices(); the service checks the value against the list.
    kind = listed_kind("资质类别", "资质类型")
    kind_note = StringField(
        "资质说明",
        validators=[Optional(), Length(max=200, message="资质说明不超过 200 字。")],
        description="选择“其他(请注明)”时必填:写明证书上的资质名称。",
    )
    grade = optional_line("资质等级", 50)
    certificate_no = certificate_number()
    issuer = certificate_issuer()
    valid_from = required_date("有效期起")
    valid_to = required_date("有效期止")
    scan = upload_field("证书扫描件(可选)")


def qualification_choices(listed, for_services, other: str, other_label: str):
    """The qualification type select: the types for the provider's services first, then the
    rest of the list (as optgroups), 其他 last; a provider offering nothing yet sees the list."""
    first = [n for n in for_services if n != other]
    rest = [n for n in listed if n not in first and n != other]
    group = "其他资质类型" if first else None
    return [
        SelectChoice(value="", label="请选择"),
        *(SelectChoice(value=n, label=n, optgroup="本机构服务事项对应的资质") for n in first),
        *(SelectChoice(value=n, label=n, optgroup=group) for n in rest),
        SelectChoice(value=other, label=other_label, optgroup=group),
    ]


class OfferForm(Form):
    """A service offer (服务承诺) for one service item."""

    service_item = SelectField("中介服务事项", choices=[], validate_choice=False)
    committed_days = IntegerField(
        "承诺办理时限(工作日)",
        validators=[
            InputRequired("请填写承诺办理时限。"),
            NumberRange(1, 3650, "承诺办理时限须为 1–3650 个工作日。"),
        ],
        description="按工作日计算:中选后自签约日期起算,节假日顺延。",
    )
    fee_quote = optional_line(
        "报价(元)", 20, "填写金额;按标准或面议收费的,可留空并在“收费依据”中说明。"
    )
    fee_basis = optional_text("收费依据", 1000)
    promise = optional_text("服务承诺", 5000, FORMAT_HINT)
    personnel = optional_text(
        "关键人员承诺",
        1000,
        "每行一种执业资格证书类型和人数,如“环境影响评价工程师 ×2”;"
        "不能超过本机构在职且持有有效证书的人数。",
    )


class VersionedForm(Form):
    """A button that acts on a provider as last seen (carries its version)."""

    version = HiddenField()


class RejectQualificationForm(Form):
    """Admin refuses a qualification a listed provider added, with the reason it will see."""

    reason = required_reason("不予通过的原因", 2000)


class ReturnApplicationForm(VersionedForm):
    """Admin returns an application with the reason the applicant will see."""

    reason = required_reason("退回原因", 2000)
