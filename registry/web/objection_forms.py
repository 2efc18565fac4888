"""The fields every objection (异议) form shares, to a credit record or to an award notice: the
objector's reason, and the answering side's conclusion (成立 / 不成立) and answer. Each form
names only what its own page says."""

from __future__ import annotations

from enum import StrEnum

from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from registry.web.forms import options

REASON_MAX, ANSWER_MAX = 2000, 5000


def objection_reason(description: str) -> TextAreaField:
    """The objector's reason: required, at most REASON_MAX characters."""
    return TextAreaField(
        "异议理由",
        validators=[
            DataRequired("请填写异议理由。"),
            Length(max=REASON_MAX, message=f"异议理由不超过 {REASON_MAX} 字。"),
        ],
        description=description,
    )


def answer_outcome(label: str, outcomes: type[StrEnum], rejected: str, upheld: str) -> SelectField:
    """The answer's conclusion, nothing preselected: `rejected` and `upheld` say what each
    outcome means on this page (the service refuses an empty choice)."""
    choices = [
        ("", "—"),
        (outcomes["REJECTED"].value, rejected),
        (outcomes["UPHELD"].value, upheld),
    ]
    return SelectField(label, choices=options(choices), validate_choice=False)


def answer_text(required: str, description: str) -> TextAreaField:
    """The answer itself: required (`required` is the message), at most ANSWER_MAX characters."""
    return TextAreaField(
        "答复意见",
        validators=[
            DataRequired(required),
            Length(max=ANSWER_MAX, message=f"答复意见不超过 {ANSWER_MAX} 字。"),
        ],
        description=description,
    )
