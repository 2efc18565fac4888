"""Forms of the credit pages: drafting and revising records, revoking, objecting, answering.
Forms check shape only; the rules (department scope, windows, states) live in services.credit."""

from __future__ import annotations

from flask_wtf.file import MultipleFileField
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from registry.models.credit import CreditKind, ObjectionOutcome
from registry.web.forms import Form, optional_line, optional_text, options, required_reason
from registry.web.objection_forms import answer_outcome, answer_text, objection_reason

KINDS = options([("", "—"), *((k.value, k.value) for k in CreditKind)])
TERM_HINT = (
    "仅“列入黑名单”需要填写:黑名单期限的最后一天(YYYY-MM-DD)。期满自动解除,信用修复可提前解除。"
)


class _ContentForm(Form):
    kind = SelectField("记录类型", choices=KINDS, validate_choice=False)
    title = StringField(
        "标题",
        validators=[DataRequired("请填写标题。"), Length(max=200, message="标题不超过 200 字。")],
    )
    facts = TextAreaField(
        "事实",
        validators=[DataRequired("请填写事实。"), Length(max=5000, message="事实不超过 5000 字。")],
        description="违规(或受表扬)的事实经过:时间、项目、行为。公开发布,请勿填写个人隐私。",
    )
    basis = TextAreaField(
        "依据",
        validators=[DataRequired("请填写依据。"), Length(max=2000, message="依据不超过 2000 字。")],
        description="所依据的法规、文件及条款。",
    )
    term_until = DateField("黑名单期限至", validators=[Optional()], description=TERM_HINT)


class CreditRecordForm(_ContentForm):
    """Draft a record (the provider is chosen among those the department supervises)."""

    provider = SelectField("中介机构", choices=[], validate_choice=False)
    practitioner = SelectField("从业人员(可选)", choices=[], validate_choice=False)


class DraftEditForm(_ContentForm):
    """Edit a draft (the provider is fixed once drafted); `seen` is the draft as the form showed
    it (credit.draft_seen): a save from a stale form is refused."""

    seen = HiddenField()


class ReviseForm(_ContentForm):
    """Publish a corrected revision of a published record."""

    reason = required_reason("修订原因", 2000, "公开显示在新版本上,说明更正了什么、为什么。")


class RevokeForm(Form):
    """Revoke a published record, with the reason."""

    reason = required_reason("撤销原因", 2000)


class ObjectionForm(Form):
    """A provider's objection to a record about itself."""

    reason = objection_reason("说明记录中哪些事实或依据有误,以及您的证据。")
    evidence = MultipleFileField(
        "证据材料(可选)",
        description="最多 5 个文件,每个为 PDF、PNG 或 JPG,不超过 10 MB;主管部门答复时可查看。",
    )


class AnswerForm(_ContentForm):
    """The regulator's answer to an objection; an upheld one revises or revokes the record."""

    outcome = answer_outcome("答复结论", ObjectionOutcome, "异议不成立,维持原记录", "异议成立")
    answer = answer_text("请填写答复意见。", "异议不成立的,须说明理由;答复内容对该机构可见。")
    resolution = SelectField(
        "异议成立时的处理",
        choices=options(
            [("", "—"), ("revise", "修订原记录(发布新版本)"), ("revoke", "撤销原记录")]
        ),
        validate_choice=False,
    )
    # The revision fields are only used when the objection is upheld and the record revised.
    kind = SelectField("修订后的记录类型", choices=KINDS, validate_choice=False)
    title = optional_line("修订后的标题", 200)
    facts = optional_text("修订后的事实", 5000)
    basis = optional_text("修订后的依据", 2000)
