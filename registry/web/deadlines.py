"""Deadlines across projects: the staff dashboard; everyone's notifications (inbox) and their
choice of which topics also come by e-mail."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from registry.models.roadmap import DeadlineState
from registry.policy import can, is_project_staff, require
from registry.services import market, notify, roadmaps
from registry.web.forms import ConfirmForm
from registry.web.unit_of_work import UnitOfWork, actor

bp = Blueprint("deadlines", __name__)
work = UnitOfWork()


def mine_only() -> bool:
    """The staff toggle: only the projects I serve as 帮办管家 or 审批专家."""
    return request.args.get("mine") == "1" and is_project_staff(current_user)


@bp.app_template_global()
def unread_notifications() -> int:
    """The header badge: unread notifications of the signed-in user (0 for anyone else).
    Called from base.html only inside the can("notifications.read") branch."""
    if not can(current_user, "notifications.read"):
        return 0
    try:
        return roadmaps.unread_count(actor())
    except SQLAlchemyError:
        return 0  # the header must not turn an error page (database down) into a second error


def board_filter(*, mine: bool) -> tuple[roadmaps.BoardFilter, list]:
    """The dashboards' filters from the query string (bad values ignored, with a note) and the
    departments they offer."""
    choices = roadmaps.departments()
    found = roadmaps.read_filter(
        request.args,
        today=market.today(),
        lead=current_app.config["DEADLINE_WARNING_DAYS"],
        mine=mine,
        choices=choices,
    )
    for note in found.notes:
        flash(note, "info")
    return found, choices


def render_board(template: str, paginate, **context):
    """A staff board page: the page of rows paginate(filter, user) finds for the query string's
    filters, in `template` with the filters' department choices and, for project staff, the
    "only my projects" toggle."""
    found, choices = board_filter(mine=mine_only())
    return render_template(
        template,
        page=paginate(found, actor()),
        departments=choices,
        is_staff=is_project_staff(current_user),
        **context,
    )


@bp.get("/staff/deadlines")
@require("deadlines.dashboard")
def show_dashboard():
    """Steps in 到期预警 or 超时 across projects (most urgent first, paged, filtered), and the
    plans of the projects on the page."""
    return render_board(
        "deadlines/dashboard.html", roadmaps.alert_page, DeadlineState=DeadlineState
    )


@bp.get("/my/notifications")
@require("notifications.read")
def list_notifications():
    """Due-date warnings and overdue notices on the user's projects, unread marked."""
    mine = mine_only()
    items = roadmaps.notifications_for(actor(), mine_only=mine)
    return render_template(
        "deadlines/notifications.html",
        items=items,
        unread=sum(1 for _n, was_read in items if not was_read),
        mine=mine,
        is_staff=is_project_staff(current_user),
        form=ConfirmForm(),
    )


@bp.route("/my/notifications/settings", methods=["GET", "POST"])
@require("notifications.read")
def notification_settings():
    """Each topic with its note and whether it also comes by e-mail; POST saves the choice."""
    user = actor()
    if request.method == "POST":
        mailed = {key for key in request.form.getlist("mailed") if key in notify.TOPICS}
        return work.press(
            lambda: notify.set_preferences(user, mailed),
            form=ConfirmForm(),
            invalid="页面已过期,请刷新后重试。",
            back=url_for("deadlines.notification_settings"),
            done=lambda changed: "已保存邮件提醒设置。" if changed else "设置没有变化。",
        )
    return render_template(
        "deadlines/settings.html",
        choices=notify.preferences(user),
        account=user,
        form=ConfirmForm(),
    )


@bp.post("/my/notifications/read")
@require("notifications.read")
def mark_notifications_read():
    """Mark the selected notifications (or all unread ones) read; others' are ignored."""
    user = actor()
    count = work.act(
        lambda: roadmaps.mark_read(user, _chosen_notifications(user)),
        form=ConfirmForm(),
        invalid="页面已过期,请刷新后重试。",
        back=url_for("deadlines.list_notifications"),
    )
    if count:
        flash(f"已将 {count} 条通知标为已读。", "success")
    else:
        flash("没有需要标为已读的通知。", "info")
    mine = request.form.get("mine") == "1"
    return redirect(url_for("deadlines.list_notifications", **({"mine": "1"} if mine else {})))


def _chosen_notifications(user) -> list[int]:
    """The ids the form ticked, or with "all" every unread notification of the user."""
    if request.form.get("all"):
        return [
            n.id for n, was_read in roadmaps.notifications_for(user, limit=10_000) if not was_read
        ]
    return [
        int(v) for v in request.form.getlist("ids") if v.isascii() and v.isdigit() and len(v) < 12
    ]
