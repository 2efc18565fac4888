"""Forms of joining and of account care: self-registration, password reset by e-mail, and the
admin's account forms. They check shape only; the rules live in services."""

from __future__ import annotations

from wtforms import PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from registry.models.accounts import ROLE_LABELS
from registry.policy import SELF_REGISTERING, may_assign_role
from registry.web.forms import Form, optional_line, options

REGISTER_ROLES = options([(role.value, label) for role, label in SELF_REGISTERING.items()])
ROLE_CHOICES = options(
    [
        ("", "请选择角色"),
        *((r.value, label) for r, label in ROLE_LABELS.items() if may_assign_role(r)),
    ]
)


def _username_field() -> StringField:
    """The user name an account signs in with (self-registration, admin, invitation alike)."""
    return StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64)])


class RegisterForm(Form):
    """An organisation registers its own account."""

    role = RadioField(
        "注册类型",
        choices=REGISTER_ROLES,
        validators=[DataRequired("请选择注册类型。")],
        validate_choice=False,
    )
    org_name = StringField(
        "机构名称(与营业执照一致)",
        validators=[DataRequired("请填写机构名称。"), Length(max=200)],
    )
    org_uscc = StringField(
        "统一社会信用代码",
        validators=[DataRequired("请填写统一社会信用代码。"), Length(max=40)],
    )
    contact_name = StringField(
        "联系人姓名", validators=[DataRequired("请填写联系人姓名。"), Length(max=50)]
    )
    phone = StringField(
        "联系人手机号码", validators=[DataRequired("请填写手机号码。"), Length(max=20)]
    )
    email = StringField("电子邮箱", validators=[DataRequired("请填写电子邮箱。"), Length(max=254)])
    username = _username_field()
    password = PasswordField("密码", validators=[DataRequired("请设置密码。"), Length(max=128)])
    confirm = PasswordField("再次输入密码", validators=[DataRequired("请再次输入密码。")])
    challenge = StringField("验证题", validators=[DataRequired("请回答验证题。"), Length(max=10)])
    # A field people never see: a form that comes back with it filled was filled by a program.
    website = optional_line("网址(请勿填写)", 200)


class ForgotPasswordForm(Form):
    """Ask for a password reset link."""

    email = StringField(
        "注册时填写的电子邮箱",
        validators=[DataRequired("请填写电子邮箱。"), Length(max=254)],
    )


class ResetPasswordForm(Form):
    """Choose a new password through a reset link."""

    password = PasswordField("新密码", validators=[DataRequired("请输入新密码。"), Length(max=128)])
    confirm = PasswordField("再次输入新密码", validators=[DataRequired("请再次输入新密码。")])


def _role_field(label: str) -> SelectField:
    """A role chosen by an admin: required, and no role is preselected."""
    return SelectField(
        label,
        choices=ROLE_CHOICES,
        validators=[DataRequired("请选择角色。")],
        validate_choice=False,
    )


def _department_field() -> SelectField:
    """The department a regulator acts for (the view fills in the choices)."""
    return SelectField("所属部门(仅行业主管部门)", choices=[], validate_choice=False)


class AdminUserForm(Form):
    """Admin creates an account: the role must be chosen (no default)."""

    username = _username_field()
    display_name = optional_line("显示名称", 100)
    role = _role_field("角色")
    department = _department_field()
    password = PasswordField("初始密码", validators=[DataRequired("请填写初始密码。")])


class RoleForm(Form):
    """Admin changes an account's role."""

    role = _role_field("新角色")
    department = _department_field()


class InviteForm(Form):
    """An enterprise's account invites a colleague (who chooses a password through a link)."""

    name = StringField("同事姓名", validators=[DataRequired("请填写同事姓名。"), Length(max=50)])
    email = StringField(
        "同事的电子邮箱", validators=[DataRequired("请填写电子邮箱。"), Length(max=254)]
    )
    username = _username_field()


class PersonInviteForm(Form):
    """Invite a practitioner to open their own account: the address the link goes to and the
    user name they will sign in with (kept as it is when an invitation is resent)."""

    email = StringField(
        "本人电子邮箱", validators=[DataRequired("请填写电子邮箱。"), Length(max=254)]
    )
    username = optional_line("用户名", 64)
