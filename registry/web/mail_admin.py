"""The mail outbox for admins (/admin/mail): every mail newest first with counts per status, one
mail as it was (or will be) sent, and sending a failed or in-doubt mail again."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from registry.models import MailStatus
from registry.policy import require
from registry.services import mail, notify
from registry.web.forms import ConfirmForm
from registry.web.params import link_args, paged
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("mail", __name__, url_prefix="/admin/mail")
work = UnitOfWork()

STATUSES = [status.value for status in MailStatus]


@bp.get("")
@require("mail.manage")
def list_outbox():
    """The outbox newest first, filtered by status; failed and in-doubt mails stand out."""
    status = request.args.get("status")
    status = status if status in STATUSES else None
    return render_template(
        "admin/mail_outbox.html",
        result=paged(mail.list_outbox, status),
        counts=mail.status_counts(),
        status=status,
        args=link_args(("status", "per_page")),
        resendable=mail.RESENDABLE,
    )


@bp.get("/<int:mail_id>")
@require("mail.manage")
def show_mail(mail_id: int):
    """One mail: its headers as sent and its body (escaped), and the .eml file if written."""
    item = work.found(mail.get_mail, mail_id)
    return render_template(
        "admin/mail_message.html",
        mail=item,
        message=mail.build_message(item),
        written=mail.written_file(item),
        form=ConfirmForm(),
        resendable=item.status in mail.RESENDABLE,
        topic_label=notify.topic_label(item.topic),
        body=mail.body_for_admins(item),
    )


@bp.post("/<int:mail_id>/resend")
@require("mail.manage")
def resend_mail(mail_id: int):
    """Send a failed or in-doubt mail again (audited mail.resend)."""
    back = url_for("mail.show_mail", mail_id=mail_id)
    work.found(mail.get_mail, mail_id)
    return work.press(
        lambda: mail.resend(mail_id, actor()),
        back=back,
        form=ConfirmForm(),
        done="已重新放入待发送队列,处理进程将在下一轮发送。",
    )
