"""Credit pages: the public notice board (/notices: list, detail, Atom feed, CSV and XLSX
exports), regulators' records and objection answers (/regulator/credit), providers' own
records with the objection form (/my/credit); a person's own records are in credit_person.py.

Only published, current records are public. A regulator reaching for another department's
record or provider is refused with 404 (never confirming what exists) and the attempt is written
to the audit log.
"""

from __future__ import annotations

import re
from datetime import datetime

from feedgen.feed import FeedGenerator
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from registry.kernel import clock
from registry.models.credit import CreditKind, CreditRecord, CreditStatus
from registry.policy import PUBLIC, require
from registry.pure.pii import mask_name
from registry.services import credit
from registry.services.errors import Forbidden, NotFound
from registry.web import credit_confirm
from registry.web import objections as objection_pages
from registry.web.credit_forms import (
    AnswerForm,
    CreditRecordForm,
    DraftEditForm,
    ObjectionForm,
    ReviseForm,
    RevokeForm,
)
from registry.web.downloads import send_upload
from registry.web.errors import render_error
from registry.web.exports import csv_bytes, xlsx_bytes
from registry.web.filters import format_datetime
from registry.web.forms import ConfirmForm, options
from registry.web.page_cache import cached_page
from registry.web.params import date_range_problems, filtered_list, notice_filters, prefill
from registry.web.unit_of_work import UnitOfWork, actor, confirmed
from registry.web.urls import external_url

bp = Blueprint("credit", __name__)

NOTICE_FILTERS = ("department", "kind", "year", "date_from", "date_to", "provider", "per_page")
FEED_SIZE = 50
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
STALE_MESSAGE = "该机构的信息刚被他人修改,本次操作未生效,请刷新页面后重试。"


# Another department's (or provider's) record answers 404, never confirming it exists, and the
# attempt goes to the audit log; a concurrent change to the provider row (a blacklisting) asks
# for a retry.
work = UnitOfWork("credit.denied", stale=STALE_MESSAGE)


# ---------------------------------------------------------------------- public notice board


@bp.get("/notices")
@cached_page
@require(PUBLIC)
def list_notices():
    """The public credit notice board: published, current records with filters."""
    return filtered_list(
        "credit/list_notices.html",
        credit.list_notices,
        notice_filters(),
        NOTICE_FILTERS,
        departments=credit.departments_with_notices(),
        kinds=[k.value for k in CreditKind],
        today=credit.today(),
        problems=date_range_problems(("date_from", "发布日期起"), ("date_to", "发布日期止")),
    )


@bp.get("/notices/<number>")
@cached_page
@require(PUBLIC)
def show_notice(number: str):
    """One published notice; a superseded number leads to its current revision."""
    try:
        item = credit.get_public_notice(number)
    except credit.Superseded as moved:
        return redirect(url_for("credit.show_notice", number=moved.current), 301)
    except credit.Revoked as revoked:  # gone, with the revocation and its reason
        return render_error(410, revoked.message)
    except NotFound:
        abort(404)
    if item.number != number:  # another case: the notice's own address
        return redirect(url_for("credit.show_notice", number=item.number), 301)
    return render_template(
        "credit/show_notice.html",
        item=item,
        revisions=[r for r in credit.revisions_of(item) if r.published_at is not None],
        in_disclosure=credit.in_disclosure(item),
        ended_by=credit.ended_early_by(item),
    )


def _xml_text(value: str | None) -> str:
    return _XML_ILLEGAL.sub("", value or "")


@bp.get("/notices.xml")
@cached_page
@require(PUBLIC)
def notices_feed():
    """Atom feed of the latest published notices (the board's filters apply)."""
    items = credit.notices_for_export(notice_filters(strict=True), limit=FEED_SIZE)
    feed = FeedGenerator()
    board = external_url("credit.list_notices")
    feed.id(board)
    feed.title(f"{current_app.config['SITE_NAME']} 信用公示")
    feed.subtitle(
        "行业主管部门发布的中介机构信用记录(表扬、约谈提醒、警示通报、通报批评、黑名单、信用修复)"
    )
    feed.link(href=board, rel="alternate")
    feed.link(href=external_url("credit.notices_feed"), rel="self")
    feed.language("zh-CN")
    feed.author({"name": current_app.config["SITE_SPONSOR"]})
    # Feed readers get Beijing time (+08:00), as the board shows it; an empty feed a fixed instant.
    feed.updated(
        clock.local(items[0].published_at) if items else datetime(2026, 1, 1, tzinfo=clock.ZONE)
    )
    ended = credit.ended_early_of(items)
    for item in items:
        link = external_url("credit.show_notice", number=item.number)
        repair = ended.get(item.id)
        entry = feed.add_entry(order="append")
        entry.id(link)
        entry.title(_xml_text(f"{item.kind}:{item.title}({item.provider_name})"))
        entry.link(href=link)
        entry.published(clock.local(item.published_at))
        # A blacklisting ended early changed then: readers see the entry again, saying so.
        entry.updated(clock.local((repair or item).published_at))
        entry.author({"name": _xml_text(item.department.name)})
        entry.category(term=item.kind)
        term = f"黑名单期限至 {item.term_until}。" if item.term_until else ""
        ended_text = f"{_ended_text(repair)}。" if repair else ""
        entry.summary(
            _xml_text(f"{item.provider_name}({item.provider_uscc}):{term}{ended_text}{item.facts}")
        )
    return Response(feed.atom_str(pretty=True), mimetype="application/atom+xml")


EXPORT_HEADER = (
    "公示编号",
    "记录类型",
    "标题",
    "中介机构",
    "统一社会信用代码",
    "监管部门",
    "事实",
    "依据",
    "黑名单期限至",
    "发布时间",
    "公示期至",
    "异议截止",
    "修订自",
    "链接",
    # Last, so that the columns before keep their places for existing readers (stop 30).
    "提前结束",
)


def _ended_text(repair: CreditRecord | None) -> str:
    """How a blacklisting ended before its term, in the export's and the feed's words."""
    if repair is None:
        return ""
    return f"已于 {clock.local_date(repair.published_at)} 经信用修复({repair.number})提前结束"


def export_rows(items: list[CreditRecord]) -> list[list[str]]:
    """The rows of a CSV / XLSX export (the same strings in both); a blacklisting ended early by
    信用修复 says so (an export read as still blacklisted a firm whose term had ended, stop 30)."""
    ended = credit.ended_early_of(items)
    return [
        [
            item.number,
            item.kind,
            item.title,
            item.provider_name,
            item.provider_uscc,
            item.department.name,
            item.facts,
            item.basis,
            item.term_until.isoformat() if item.term_until else "",
            format_datetime(item.published_at),
            item.disclosure_until.isoformat() if item.disclosure_until else "",
            item.objection_until.isoformat() if item.objection_until else "",
            item.revises.number if item.revises else "",
            external_url("credit.show_notice", number=item.number),
            _ended_text(ended.get(item.id)),
        ]
        for item in items
    ]


def _download(body: bytes, mimetype: str, extension: str) -> Response:
    name = f"credit-notices-{credit.today():%Y%m%d}.{extension}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/notices.csv")
@require(PUBLIC)
@cached_page
def export_csv():
    """The board (with its filters) as CSV: UTF-8 with BOM, formula-looking cells neutralised."""
    rows = export_rows(credit.notices_for_export(notice_filters(strict=True)))
    return _download(csv_bytes(EXPORT_HEADER, rows), "text/csv", "csv")


@bp.get("/notices.xlsx")
@require(PUBLIC)
@cached_page
def export_xlsx():
    """The board (with its filters) as XLSX: every cell a string, neutralised as in the CSV."""
    rows = export_rows(credit.notices_for_export(notice_filters(strict=True)))
    return _download(
        xlsx_bytes(EXPORT_HEADER, rows, title="信用公示"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    )


# ---------------------------------------------------------------------- regulators


def _record_for(number: str) -> CreditRecord:
    return work.found(credit.get_record_for, actor(), number)


def _to_record(item: CreditRecord) -> str:
    return url_for("credit.manage_record", number=item.number)


def _departmental(load):
    """What load(user) gives the signed-in regulator; one without a department is sent to the
    dashboard with the reason."""
    try:
        return load(actor())
    except Forbidden as error:
        flash(error.message, "error")
        abort(redirect(url_for("credit.regulator_records")))


@bp.get("/regulator/credit")
@require("credit.manage")
def regulator_records():
    """The department's credit dashboard: overdue and open objections, then every record."""
    user = actor()
    department = work.scope(
        lambda: credit.regulator_department(user), "credit/regulator_records.html"
    )
    status = request.args.get("status") or None
    objections = credit.objections_for_department(user, open_only=True)
    return render_template(
        "credit/regulator_records.html",
        message=None,
        department=department,
        records=credit.records_for_department(user, status=status),
        status=status if status in {s.value for s in CreditStatus} else None,
        statuses=[s.value for s in CreditStatus],
        objections=objections,
        overdue=[o for o in objections if credit.is_overdue(o)],
        today=credit.today(),
    )


def _provider_choices(form: CreditRecordForm) -> None:
    providers = credit.supervised_providers(actor())
    form.provider.choices = options(
        [("", "—"), *((p.uscc, f"{p.name}({p.uscc})") for p in providers)]
    )
    # People by masked name and the last four of the ID number: picking one shows nothing more.
    form.practitioner.choices = options(
        [
            ("", "—(针对机构的记录)"),
            *(
                (
                    str(e.practitioner_id),
                    f"{mask_name(e.practitioner.name)}(证件尾号 {e.practitioner.id_tail})"
                    f"— {e.provider.name}",
                )
                for e in credit.supervised_staff(actor())
            ),
        ]
    )


def _practitioner_id(form: CreditRecordForm) -> int | None:
    value = (form.practitioner.data or "").strip()
    return int(value) if value.isdigit() else None


def _content(form) -> dict:
    return {
        "kind": form.kind.data or None,
        **form.data_of("title", "facts", "basis", "term_until"),
    }


def _record_page(mode: str, form, item: CreditRecord | None, call, done):
    """The record form (new, edit, revise): once saved, on to the record the service returned
    (`done` says what happened); otherwise the form again with its errors."""
    return work.page(
        form,
        call,
        done=done,
        to=_to_record,
        template="credit/edit_record.html",
        item=item,
        mode=mode,
    )


@bp.route("/regulator/credit/new", methods=["GET", "POST"])
@require("credit.manage")
def new_record():
    """Draft a record about a provider the department supervises, or against a person working
    at one."""
    _departmental(credit.regulator_department)
    form = CreditRecordForm()
    _provider_choices(form)
    prefill(form.provider, "provider", 18)
    prefill(form.practitioner, "practitioner", 12)
    # A provider outside the department (a forged choice) is audited and told on the form.
    return _record_page(
        "new",
        form,
        None,
        lambda: credit.draft_record(
            actor(),
            provider_uscc=form.provider.data,
            practitioner_id=_practitioner_id(form),
            **_content(form),
        ),
        lambda drafted: f"草稿 {drafted.number} 已保存。发布后才会公开。",
    )


@bp.get("/regulator/credit/<number>")
@require("credit.manage")
def manage_record(number: str):
    """One record of the department: content, state, revisions, objections and actions."""
    item = _record_for(number)
    return render_template(
        "credit/manage_record.html",
        item=item,
        revisions=credit.revisions_of(item),
        ended_by=credit.ended_early_by(item),
        publish_form=ConfirmForm(),
        revoke_form=RevokeForm(),
        today=credit.today(),
        is_overdue=credit.is_overdue,
    )


# What an existing record's form needs (edit: a draft; revise: a published, current record).
_CHANGES = {
    "edit": (DraftEditForm, "is_draft", "不能再修改;如需更正请发布修订。"),
    "revise": (ReviseForm, "is_published", "只有已发布的现行记录可以修订。"),
}


@bp.route(
    "/regulator/credit/<number>/edit",
    methods=["GET", "POST"],
    endpoint="edit_record",
    defaults={"mode": "edit"},
)
@bp.route(
    "/regulator/credit/<number>/revise",
    methods=["GET", "POST"],
    endpoint="revise_record",
    defaults={"mode": "revise"},
)
@require("credit.manage")
def change_record(number: str, mode: str):
    """Change a draft (edit), or publish a corrected revision of a published record (revise: a
    new record; the old one is kept, marked superseded)."""
    item = _record_for(number)
    form_class, allowed, why = _CHANGES[mode]
    if not getattr(item, allowed):
        flash(f"记录 {item.number} {item.status},{why}", "error")
        return redirect(_to_record(item))
    # The revision's reason starts empty; the content starts as the record's.
    form = form_class(obj=item if request.method == "GET" else None, reason="")
    if mode == "edit":
        if request.method == "GET":
            form.seen.data = credit.draft_seen(item)
        return _record_page(
            mode,
            form,
            item,
            lambda: credit.update_draft(
                actor(), number, seen=form.seen.data or "", **_content(form)
            ),
            "草稿已保存。",
        )
    if request.method == "POST" and not confirmed() and form.validate_on_submit():
        # Published at once and for good: first a confirmation page, as a first publication has.
        return work.confirm_form(
            form,
            lambda: credit_confirm.revising(item, form.reason.data, _content(form)),
            back=_to_record(item),
            template="credit/edit_record.html",
            item=item,
            mode=mode,
        )
    return _record_page(
        mode,
        form,
        item,
        lambda: credit.revise_record(actor(), number, reason=form.reason.data, **_content(form)),
        lambda revision: f"已发布修订版本 {revision.number},原记录标记为已修订。",
    )


@bp.post("/regulator/credit/<number>/publish")
@require("credit.manage")
def publish_record(number: str):
    """Publish a draft: first a confirmation page naming what becomes public; only the
    confirmed POST publishes."""
    _record_for(number)
    return work.publish(
        lambda: credit_confirm.publishing(number),
        lambda: credit.publish_record(actor(), number),
        done=lambda item: (
            f"已发布。公示期至 {item.disclosure_until:%Y-%m-%d},"
            f"异议截止 {item.objection_until:%Y-%m-%d}。"
        ),
        form=ConfirmForm(),
        invalid="提交未成功,请刷新页面后重试。",
        back=url_for("credit.manage_record", number=number),
    )


@bp.post("/regulator/credit/<number>/discard")
@require("credit.manage")
def discard_record(number: str):
    """Delete a draft made by mistake (never a published record)."""
    _record_for(number)
    return work.press(
        lambda: credit.discard_draft(actor(), number),
        form=ConfirmForm(),
        invalid="提交未成功,请刷新页面后重试。",
        back=url_for("credit.manage_record", number=number),
        done=lambda item: f"已删除草稿 {item.number}({item.title})。",
        to=url_for("credit.regulator_records"),
    )


@bp.post("/regulator/credit/<number>/revoke")
@require("credit.manage")
def revoke_record(number: str):
    """Revoke a published record, with the reason."""
    item = _record_for(number)
    form = RevokeForm()
    return work.publish(
        lambda: credit_confirm.revoking(item, form.reason.data),
        lambda: credit.revoke_record(actor(), number, reason=form.reason.data),
        form=form,
        invalid="请填写撤销原因。",
        back=url_for("credit.manage_record", number=number),
        done="已撤销。该记录不再公示。",
    )


@bp.get("/regulator/credit/objections")
@require("credit.manage")
def regulator_objections():
    """Objections to the department's records: open ones (overdue marked) first."""
    rows = _departmental(credit.objections_for_department)
    return objection_pages.queue_page("credit/regulator_objections.html", rows)


@bp.route("/regulator/credit/objections/<int:objection_id>", methods=["GET", "POST"])
@require("credit.manage")
def answer_objection(objection_id: int):
    """Read an objection and answer it."""
    user = actor()
    objection = work.found(credit.get_objection_for, user, objection_id)
    item = objection.record
    # The answer starts empty; the revision fields start as the record's content.
    form = AnswerForm(obj=item if request.method == "GET" else None, answer="")
    answer = {
        "outcome": form.outcome.data or None,
        "answer": form.answer.data,
        "resolution": form.resolution.data or None,
        "revision": _content(form),
    }
    return objection_pages.answer_page(
        work,
        objection,
        form,
        lambda: credit.answer_objection(user, objection_id, **answer),
        confirm=lambda: credit_confirm.answering(
            credit.answer_preview(user, objection_id, **answer)
        ),
        done="已答复。答复意见对该机构可见。",
        to=url_for("credit.answer_objection", objection_id=objection_id),
        template="credit/answer_objection.html",
        item=item,
    )


# ---------------------------------------------------------------------- providers


@bp.get("/my/credit")
@require("credit.object")
def my_records():
    """Records about the provider (everything ever published), with objections and answers."""
    user = actor()
    return render_template(
        "credit/my_records.html",
        provider=credit.provider_of(user),
        records=credit.records_about(user),
        can_object=credit.can_object,
        today=credit.today(),
    )


@bp.route("/my/credit/<number>/object", methods=["GET", "POST"])
@require("credit.object")
def object_record(number: str):
    """Object to a record about the provider within the objection window."""
    return objection_page(number, "credit.my_records")


def objection_page(number: str, records: str, page_of=lambda item: {}):
    """The objection form for a record about the acting account (a provider, or a person on
    their own account), back to the account's record list (endpoint `records`) once submitted;
    `page_of(item)` is what the person's page adds (their name, its address, its breadcrumb)."""
    user = actor()
    item = work.found(credit.get_record_about, user, number)
    form = ObjectionForm()
    if work.submit(
        form,
        lambda: credit.object_to_record(
            user, number, reason=form.reason.data, evidence=form.evidence.data
        ),
    ):
        flash("异议已提交。主管部门将在答复期限内答复,结果可在本页查看。", "success")
        return redirect(url_for(records))
    return render_template(
        "credit/object_record.html",
        item=item,
        form=form,
        open_now=credit.can_object(item),
        today=credit.today(),
        **page_of(item),
    )


@bp.get("/credit/objections/<int:objection_id>/files/<int:upload_id>")
@require("credit.evidence")
def objection_file(objection_id: int, upload_id: int):
    """An objection's evidence file, for the objecting provider and the department's regulators."""
    return send_upload(work.found(credit.evidence_file, actor(), objection_id, upload_id))
