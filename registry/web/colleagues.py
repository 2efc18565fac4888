"""An enterprise's colleagues: the accounts acting for it, and inviting one more."""

from __future__ import annotations

from flask import Blueprint, url_for

from registry import policy
from registry.policy import require
from registry.services import registration
from registry.web.account_forms import InviteForm
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("colleagues", __name__)
work = UnitOfWork("colleagues.denied", status=403)


@bp.route("/my/colleagues", methods=["GET", "POST"])
@require("colleagues.invite")
def manage_colleagues():
    """The enterprise's accounts and a form that invites a colleague by e-mail."""
    user = actor()
    form = InviteForm()
    return work.page(
        form,
        lambda: registration.invite(user, form.name.data, form.email.data, form.username.data),
        done=lambda invited: (
            f"已向 {invited.email} 发送邀请邮件,对方通过邮件中的链接设置密码后即可登录。"
        ),
        to=url_for("colleagues.manage_colleagues"),
        template="auth/colleagues.html",
        accounts=registration.colleagues(user),
        may_invite=policy.may_invite_colleagues(user),
        limit=registration.MAX_ENTERPRISE_ACCOUNTS,
    )
