"""Marketplace pages: an enterprise's projects and selection requests, providers' applications and
sealed quotes, and the public selection announcements, award notices and draw verification."""

from __future__ import annotations

from datetime import UTC

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from registry import policy
from registry.kernel import clock
from registry.models import AwardObjectionOutcome
from registry.policy import PUBLIC, require
from registry.pure import selection_engine
from registry.pure.money import format_money
from registry.sanitize import as_clause
from registry.services import catalogue, market, roadmaps
from registry.services.errors import RegistryError
from registry.web import objections as objection_pages
from registry.web.forms import options
from registry.web.market_forms import (
    AwardAnswerForm,
    AwardObjectionForm,
    CancelRequestForm,
    DecideForm,
    ProjectForm,
    QuoteForm,
    RepostForm,
    RequestForm,
)
from registry.web.params import paged, past_last, prefill
from registry.web.unit_of_work import Confirmation, UnitOfWork, actor, confirmed

bp = Blueprint("market", __name__)
# A refusal by the service (not the owner) is told on the form; pages load records through
# work.found, which answers 404.
work = UnitOfWork(refuses=False)


def _local(value):
    """A naive datetime-local value (Beijing time) as an aware UTC datetime."""
    return value.replace(tzinfo=clock.ZONE).astimezone(UTC)


# ------------------------------------------------------------------ enterprise: projects


@bp.get("/my/projects")
@require("projects.own")
def my_projects():
    """The enterprise's projects."""
    return render_template("market/my_projects.html", projects=market.projects_for(actor()))


def _register_project(user, form: ProjectForm):
    """The enterprise (the first time) and then its project with the category's roadmap."""
    if user.enterprise_id is None:
        if not form.enterprise_name.data or not form.enterprise_uscc.data:
            raise RegistryError("enterprise_uscc", "首次登记项目须填写企业名称和统一社会信用代码。")
        enterprise = market.create_enterprise(
            form.enterprise_name.data, form.enterprise_uscc.data, actor=user
        )
        user.enterprise_id = enterprise.id
    return roadmaps.register_project(user, **form.project())


@bp.route("/my/projects/new", methods=["GET", "POST"])
@require("projects.own")
def new_project():
    """Register a project (and the enterprise, the first time) with its category's roadmap."""
    user = actor()
    form = ProjectForm()
    registered = work.submit(form, lambda: _register_project(user, form))
    if registered:
        code = registered.value.code
        flash(f"项目 {code} 已登记,已按项目类别生成审批路线图。", "success")
        warning = market.land_contract_warning(registered.value.land_contract_date)
        if warning:
            flash(warning, "warning")
        return redirect(url_for("market.show_project", code=code))
    return render_template(
        "market/new_project.html", form=form, needs_enterprise=user.enterprise_id is None
    )


@bp.get("/my/projects/<code>")
@require("projects.own")
def show_project(code: str):
    """One of the enterprise's projects with its selection requests."""
    project = work.found(market.get_project_for, actor(), code)
    requests = market.list_requests(project_id=project.id, per_page=500).items
    return render_template("market/project.html", project=project, requests=requests)


def _fill_request_choices(form: RequestForm) -> None:
    items = catalogue.list_services(catalogue.ServiceFilters(), per_page=1000).items
    form.service.choices = options([("", "—"), *((s.code, f"{s.code} {s.name}") for s in items)])
    form.deadline.description = (
        f"北京时间。须至少提前 {market.min_notice_workdays()} 个工作日(节假日不计),"
        f"最早可设为 {market.earliest_deadline():%Y-%m-%d},最晚 {market.latest_deadline():%Y-%m-%d}。"
        "截止前报价密封,任何人不可查看他人报价。"
    )


def _exclusions(text: str) -> list[tuple[str, str]]:
    rows = []
    for line in (text or "").splitlines():
        if line.strip():
            code, _, reason = line.strip().partition(" ")
            rows.append((code.strip(), reason.strip()))
    return rows


@bp.route("/my/projects/<code>/requests/new", methods=["GET", "POST"])
@require("projects.own")
def new_request(code: str):
    """Open a selection request on the project."""
    user = actor()
    project = work.found(market.get_project_for, user, code)
    form = RequestForm()
    _fill_request_choices(form)
    prefill(form.service, "service", 32)
    opened = work.submit(
        form,
        lambda: market.open_request(
            user,
            project.code,
            service_code=form.service.data,
            method=form.method.data,
            method_reason=form.method_reason.data,
            deadline=_local(form.deadline.data),
            **form.data_of(
                "price_min",
                "price_max",
                "qualification_requirement",
                "requirements",
                "leader_certificate",
                "team_certificates",
            ),
            exclusions=_exclusions(form.exclusions.data),
            alongside=form.alongside.data,
            submission_key=form.submission_key.data or None,
        ),
    )
    if opened:
        flash(f"选取公告 {opened.value.ref} 已发布。", "success")
        return redirect(url_for("market.manage_request", ref=opened.value.ref))
    return render_template("market/new_request.html", form=form, project=project)


@bp.get("/my/requests/<ref>")
@require("projects.own")
def manage_request(ref: str):
    """The owner's view of a request: applicants (sealed until the deadline), decision, repost."""
    user = actor()
    selection = work.found(market.get_request_for_owner, user, ref)
    quotes = market.quotes_visible_to(user, selection)
    applicants = len(market.latest_quotes(selection))
    form = DecideForm()
    form.winner.choices = options(
        [("", "—"), *((q.provider.uscc, f"{q.provider.name}({q.provider.uscc})") for q in quotes)]
    )
    return render_template(
        "market/manage_request.html",
        selection=selection,
        quotes=quotes,
        applicants=applicants,
        form=form,
        repost_form=RepostForm(),
        cancel_form=CancelRequestForm(),
        now=market.utcnow(),
    )


def _on_own_request(ref: str, form, invalid: str, action):
    """action(user) on the signed-in owner's request ref (not theirs: 404) through the unit of
    work; a refusal goes back to the request's page with the reason."""
    user = actor()
    work.found(market.get_request_for_owner, user, ref)
    back = url_for("market.manage_request", ref=ref)
    return work.act(lambda: action(user), form=form, invalid=invalid, back=back)


@bp.post("/my/requests/<ref>/decide")
@require("projects.own")
def decide_request(ref: str):
    """Close the request and choose by its method: first a confirmation page naming the winner
    and amount (or the failure) that become public; only the confirmed POST decides."""
    form = DecideForm()
    chosen = {"chosen_uscc": form.winner.data or None, "reason": form.reason.data}
    if not confirmed():
        work.found(market.get_request_for_owner, actor(), ref)
        return work.confirm(
            lambda: _decision_page(market.plan_decision(actor(), ref, **chosen)),
            form=form,
            invalid="提交未成功,请刷新页面后重试。",
            back=url_for("market.manage_request", ref=ref),
        )
    expect = request.form.get("expect") or None
    decision = _on_own_request(
        ref,
        form,
        "提交未成功,请刷新页面后重试。",
        lambda user: market.decide(user, ref, expect=expect, **chosen),
    )
    if decision.award is None:
        # The outcome the owner confirmed, not an error of theirs.
        flash(
            f"已确定结果:本次选取失败(流标),{as_clause(decision.failure)}。可修改后重新发布。",
            "info",
        )
        return redirect(url_for("market.manage_request", ref=ref))
    flash("已确定中选机构,中选结果已公示。", "success")
    return redirect(url_for("market.show_award", award_id=decision.award.id))


def _decision_page(plan) -> Confirmation:
    """The confirmation page of 确定结果并公示: the winner and amount, or the failure."""
    selection = plan.request
    facts = [
        ("选取公告", f"{selection.ref} · {selection.service_item.name}"),
        ("项目", selection.project.name),
        ("选取方式", selection.method),
        ("有效报名", f"{len(plan.participants)} 家"),
    ]
    on = f"{plan.staffing_on:%Y-%m-%d}"
    facts.append(("人员核对", f"按报名截止日核对人员({on}),截止后的人员变动不影响结果"))
    facts += [(f"不能中选:{name}({uscc})", why) for name, uscc, why in plan.unstaffed]
    carry = {"winner": request.form.get("winner", ""), "reason": request.form.get("reason", "")}
    carry["expect"] = plan.expected
    if plan.winner is None:
        facts.append(("结果", f"选取失败(流标):{plan.failure}"))
        warning = "确认后本次选取即以流标结束并通知业主,不能撤回;可修改后重新发布。"
    else:
        amount = format_money(plan.amount, "未报价")
        facts += [
            ("中选机构", f"{plan.winner.name}({plan.winner.uscc})"),
            ("中选金额", amount),
            ("确定依据", plan.explanation),
        ]
        warning = "确认后中选结果立即公示并通知各报名机构,不能撤回。"
    return Confirmation(title="确定结果并公示", facts=facts, carry=carry, warning=warning)


@bp.post("/my/requests/<ref>/cancel")
@require("projects.own")
def cancel_request(ref: str):
    """Withdraw a request before its deadline, with a public reason: first a confirmation page;
    only the confirmed POST withdraws it."""
    form = CancelRequestForm()
    work.found(market.get_request_for_owner, actor(), ref)
    return work.publish(
        lambda: _cancellation(ref, form.reason.data),
        lambda: market.cancel_request(actor(), ref, reason=form.reason.data),
        done=lambda selection: f"选取公告 {selection.ref} 已撤销。可修改后发布新的选取公告。",
        form=form,
        invalid="请填写撤销原因(2000 字以内)。",
        back=url_for("market.manage_request", ref=ref),
    )


def _cancellation(ref: str, reason: str) -> Confirmation:
    """The confirmation page of withdrawing a request: what the notice will say."""
    selection, text = market.cancellable(actor(), ref, reason=reason)
    facts = [
        ("选取公告", f"{selection.ref}({selection.service_item.name})"),
        ("项目", selection.project.name),
        ("已报名机构", f"{len(market.latest_quotes(selection))} 家(报价不开启)"),
        ("撤销原因", text),
    ]
    return Confirmation(
        title=f"撤销选取公告 {selection.ref}",
        facts=facts,
        carry={"reason": reason},
        warning="确认后公告立即撤销,不能恢复;撤销及其原因公开显示,并通知已报名的机构。",
        button="确认撤销",
    )


@bp.post("/my/requests/<ref>/repost")
@require("projects.own")
def repost_request(ref: str):
    """Post a failed request again with a new deadline."""
    form = RepostForm()
    again = _on_own_request(
        ref,
        form,
        "请填写新的报名截止时间。",
        lambda user: market.repost(user, ref, deadline=_local(form.deadline.data)),
    )
    flash(f"已重新发布为 {again.ref}。", "success")
    return redirect(url_for("market.manage_request", ref=again.ref))


# ------------------------------------------------------------------ provider: applications


@bp.get("/my/opportunities")
@require("providers.self")
def opportunities():
    """Open requests this provider may apply to, with its own (sealed) quote status."""
    user = actor()
    provider = work.scope(
        lambda: market.provider_of(user), "market/opportunities.html", provider=None, rows=[]
    )
    rows = []
    open_to, unstaffed = market.opportunities_for(provider)
    for selection in open_to:
        mine = market.quotes_visible_to(user, selection)
        rows.append((selection, mine[0] if mine else None))
    return render_template(
        "market/opportunities.html",
        provider=provider,
        rows=rows,
        unstaffed=unstaffed,
        message=None,
    )


@bp.route("/my/requests/<ref>/quote", methods=["GET", "POST"])
@require("providers.self")
def quote(ref: str):
    """Apply to a request; for price methods with a sealed quote."""
    user = actor()
    selection = work.found(market.get_request, ref)
    form = QuoteForm()
    staff = market.team_choices(user)
    form.leader.choices = options(
        [("", "请选择" if selection.requires_people else "不指定"), *staff]
    )
    form.members.choices = options(staff)
    quoted = work.submit(
        form,
        lambda: market.submit_quote(
            user,
            ref,
            amount=form.amount.data,
            proposal=form.proposal.data,
            submission_key=form.submission_key.data or "",
            leader_id=form.leader.data or None,
            member_ids=form.members.data or [],
        ),
    )
    if quoted:
        flash("已提交。报价在截止前密封,其他机构和业主均不可查看。", "success")
        return redirect(url_for("market.opportunities"))
    mine = market.quotes_visible_to(user, selection)
    return render_template(
        "market/quote.html",
        form=form,
        selection=selection,
        mine=mine,
        gap=market.applicant_gap_of(user, selection),
    )


# ------------------------------------------------------------------ public notices


@bp.get("/requests")
@require(PUBLIC)
def list_requests():
    """Selection announcements (选取公告)."""
    return render_template("market/requests.html", result=paged(market.list_requests))


@bp.get("/requests/<ref>")
@require(PUBLIC)
def show_request(ref: str):
    """One selection announcement."""
    selection = work.found(market.get_request, ref)
    opened = policy.quotes_opened(selection, now=market.utcnow())
    applicants = len(market.latest_quotes(selection)) if opened else None
    return render_template("market/request.html", selection=selection, applicants=applicants)


@bp.get("/awards")
@require(PUBLIC)
def list_awards():
    """Award notices (中选公示), newest first."""
    result = paged(market.list_awards)
    if (last := past_last(result)) is not None:
        return last
    return render_template("market/awards.html", result=result, notice_state=market.notice_state)


@bp.get("/awards/<int:award_id>")
@require(PUBLIC)
def show_award(award_id: int):
    """An award notice: names with codes, Beijing time, its 公示期 and objections with their
    answers, and for draws the public inputs, the seed and how to re-run it, in Chinese."""
    award = work.found(market.get_award, award_id)
    inputs = award.draw_inputs or {}
    signed_in = current_user.is_authenticated
    return render_template(
        "market/award.html",
        award=award,
        state=market.notice_state(award),
        names=market.candidate_names([award]),
        leader=market.award_leader(award),
        seed_text=selection_engine.seed_text(
            inputs["request"], inputs["candidates"], inputs["deadline"]
        )
        if award.seed
        else None,
        party=market.objector(actor(), award) if signed_in else None,
        mine=market.objections_of(actor(), award) if signed_in else [],
        algorithm_doc=selection_engine.draw.__doc__,
        seed_doc=selection_engine.draw_seed.__doc__,
    )


@bp.get("/awards/<int:award_id>/verify")
@require(PUBLIC)
def verify_award(award_id: int):
    """Re-run the draw from the stored public inputs and show whether it gives the same winner."""
    award = work.found(market.get_award, award_id)
    return render_template(
        "market/verify.html",
        award=award,
        check=market.verify_award(award),
        names=market.candidate_names([award]),
    )


def _objector_of(award_id: int):
    """The award and the party the signed-in account objects for (403 for anyone else)."""
    award = work.found(market.get_award, award_id)
    party = market.objector(actor(), award)
    if party is None:
        work.refuse(RegistryError(None, "只有该选取的项目业主和报名机构可以提出异议"), 403)
    return award, party


@bp.route("/awards/<int:award_id>/object", methods=["GET", "POST"])
@require("awards.object")
def object_award(award_id: int):
    """The owner or a bidder objects to an award during its 公示期."""
    award, party = _objector_of(award_id)
    form = AwardObjectionForm()
    return work.page(
        form,
        lambda: market.object_to_award(
            actor(), award_id, reason=form.reason.data, evidence=form.evidence.data
        ),
        done="异议已提交。政务办将在答复期限内处理,结果在中选公示上公开。",
        to=url_for("market.show_award", award_id=award_id),
        template="market/object_award.html",
        award=award,
        party=party,
        state=market.notice_state(award),
    )


def _answering(objection, text: str) -> Confirmation:
    """The confirmation page of answering an objection to an award: the answer as the notice
    will show it, and for 成立 that the award is withdrawn."""
    award = objection.award
    request_ = award.request
    upheld = request.form.get("outcome") == AwardObjectionOutcome.UPHELD.value
    facts = [
        ("选取公告", f"{request_.ref}({request_.service_item.name})"),
        ("中选机构", f"{award.provider.name}({award.provider.uscc})"),
        ("异议人", objection.party_name),
        ("处理结论", "异议成立" if upheld else "异议不成立"),
        ("答复意见" if upheld else "不成立的理由", text),
    ]
    warning = "确认后答复立即在中选公示上公开并通知相关各方,不能更改。"
    if upheld:
        warning += (
            f"中选结果随之撤销,{award.provider.name}回避,服务项目随之撤销,由业主重新确定结果。"
        )
    return objection_pages.answer_confirmation(objection, facts, warning)


@bp.get("/office/award-objections")
@require("awards.handle")
def award_objections():
    """政务办's queue of objections to awards: open ones first by answer deadline."""
    rows = market.objections_queue(actor())
    return objection_pages.queue_page("market/award_objections.html", rows)


@bp.route("/office/award-objections/<int:objection_id>", methods=["GET", "POST"])
@require("awards.handle")
def answer_award_objection(objection_id: int):
    """Read an objection to an award and answer it (成立 withdraws the award)."""
    objection = work.found(market.get_objection_for, actor(), objection_id)
    form = AwardAnswerForm()
    answer = {"outcome": form.outcome.data or None, "answer": form.answer.data}
    return objection_pages.answer_page(
        work,
        objection,
        form,
        lambda: market.answer_objection(actor(), objection_id, **answer),
        confirm=lambda: _answering(*market.answer_preview(actor(), objection_id, **answer)),
        done="已答复。答复意见已在中选公示上公开,并已通知相关各方。",
        to=url_for("market.answer_award_objection", objection_id=objection_id),
        template="market/answer_award_objection.html",
    )
