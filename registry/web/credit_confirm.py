"""The confirmation pages of the credit acts that publish for good (web/credit.py): a first
publication, a revision, a revocation and an objection's answer, each naming what becomes public
before 确认发布 / 确认撤销 / 确认答复. They only read (the services check as the acts will)."""

from __future__ import annotations

from flask import request

from registry.models import CreditKind, CreditRecord, ObjectionOutcome
from registry.pure import workdays
from registry.services import credit
from registry.web.objections import answer_confirmation
from registry.web.unit_of_work import Confirmation, actor


def publishing(number: str) -> Confirmation:
    """The confirmation page of publishing a draft: the record as the notice board will show it."""
    item = credit.publishable(actor(), number)
    windows = credit.windows_from_today()
    firm = ("中介机构", f"{item.provider.name}({item.provider.uscc})")
    facts = [("公示编号", item.number), ("记录类型", item.kind)]
    if item.is_about_person:
        facts += [("从业人员", item.person_masked), ("记录时所在机构", firm[1])]
        where = "该从业人员的信用页面和其所在机构的主页(姓名遮蔽)"
        barred = "列入黑名单的从业人员将立即不能在报价中列名。"
    else:
        facts.append(firm)
        where, barred = "信用公示", "列入黑名单的机构将立即不能参与选取。"
    facts += [
        ("发布部门", item.department.name),
        ("标题", item.title),
        ("事实", item.facts),
        ("依据", item.basis),
    ]
    warning = (
        f"确认后立即在{where}中公开,不能撤回;发布后不能修改,只能发布修订版本或撤销,均公开留痕。"
    )
    if item.kind == CreditKind.BLACKLIST.value:
        facts.append(("黑名单期限至", f"{item.term_until:%Y-%m-%d}"))
        warning += barred
    # Marked 暂定 as the published record will be (it was not: a tester, stop 29).
    facts += [
        (
            label,
            f"{day:%Y-%m-%d}{'(暂定)' if workdays.spans_provisional(credit.today(), day) else ''}",
        )
        for label, day in (
            ("公示期至", windows["disclosure_until"]),
            ("异议截止", windows["objection_until"]),
        )
    ]
    return Confirmation(title=f"发布信用记录 {item.number}", facts=facts, warning=warning)


def revising(item: CreditRecord, reason: str, content: dict) -> Confirmation:
    """The confirmation page of a revision: the new content as it will be published."""
    item, content = credit.revision_preview(actor(), item.number, reason=reason, **content)
    facts = [
        ("原记录", f"{item.number}({item.kind}):{item.title}"),
        ("修订后类型", content["kind"]),
    ]
    facts += [("标题", content["title"]), ("事实", content["facts"]), ("依据", content["basis"])]
    if content.get("term_until"):
        facts.append(("黑名单期限至", f"{content['term_until']:%Y-%m-%d}"))
    facts.append(("修订原因", reason))
    carry = {k: v for k, v in request.form.items() if k != "csrf_token"}
    warning = (
        f"确认后修订版本立即公开,原记录 {item.number} 标记为已修订;不能撤回,只能再次修订或撤销。"
    )
    return Confirmation(
        title=f"发布信用记录 {item.number} 的修订版本", facts=facts, carry=carry, warning=warning
    )


def revoking(item: CreditRecord, reason: str) -> Confirmation:
    """The confirmation page of revoking a published record."""
    item = credit.changeable_record(actor(), item.number, "撤销")
    facts = [
        ("公示编号", item.number),
        ("记录类型", item.kind),
        ("标题", item.title),
        ("撤销原因", reason),
    ]
    warning = "确认后该记录立即撤销、不再公示,不能恢复;撤销及其原因公开留痕。"
    if item.kind == CreditKind.BLACKLIST.value:
        warning += "黑名单随之解除。"
    return Confirmation(
        title=f"撤销信用记录 {item.number}",
        facts=facts,
        carry={"reason": reason},
        warning=warning,
        button="确认撤销",
    )


def answering(answer: credit.Answering) -> Confirmation:
    """The confirmation page of answering an objection: the answer, and for 成立 what happens to
    the record (its revision as it will be published, or its revocation)."""
    item, objection = answer.record, answer.objection
    upheld = answer.outcome == ObjectionOutcome.UPHELD.value
    whom = "本人" if item.is_about_person else "该机构"
    facts = [
        ("所涉记录", f"{item.number}({item.kind}):{item.title}"),
        ("答复结论", "异议成立" if upheld else "异议不成立(维持原记录)"),
        ("答复意见" if upheld else "不予采纳的理由", answer.text),
    ]
    warning = f"确认后答复立即送达{whom},不能更改。"
    if answer.content is not None:
        content = answer.content
        facts += [
            ("原记录处理", f"修订原记录 {item.number}"),
            ("修订后类型", content["kind"]),
            ("标题", content["title"]),
            ("事实", content["facts"]),
            ("依据", content["basis"]),
        ]
        if content.get("term_until"):
            facts.append(("黑名单期限至", f"{content['term_until']:%Y-%m-%d}"))
        warning += f"修订版本立即公开,原记录 {item.number} 标记为已修订;只能再次修订或撤销。"
    elif upheld:
        facts.append(("原记录处理", f"撤销原记录 {item.number}"))
        warning += "原记录随之撤销、不再公示,不能恢复;撤销及其原因公开留痕。"
        if item.kind == CreditKind.BLACKLIST.value:
            warning += "黑名单随之解除。"
    return answer_confirmation(objection, facts, warning)
